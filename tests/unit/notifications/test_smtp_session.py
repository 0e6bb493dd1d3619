"""adapters.SmtpConnection's choice after a failure on a kept session, the SMTP server played
by a script (the real server's paths: tests/integration/test_notifications_smtp.py): a session
the server ended is replaced for the email at hand; a refusal or a reply that never came is
the send's failure, retried later by the delivery loop."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from services.notifications.adapters import SmtpConnection

ENDED = smtplib.SMTPSenderRefused(421, b"4.7.0 Too many messages, closing", "noreply@x")
REFUSED = smtplib.SMTPSenderRefused(550, b"5.7.1 Sender refused", "noreply@x")


class ScriptedServer:
    """Each send answers the next outcome of `script`: None (taken) or an exception; "timeout"
    is a reply that never came, as smtplib reports it."""

    def __init__(self, *script):
        self.script = list(script)
        self.sessions: list[list[str]] = []  # per session, the subjects it took

    def session(self, host, port, timeout) -> ScriptedSession:
        self.sessions.append([])
        return ScriptedSession(self.script, self.sessions[-1])


class ScriptedSession:
    """The part of smtplib.SMTP that SmtpConnection uses."""

    def __init__(self, script: list, taken: list[str]):
        self.script, self.taken = script, taken

    def send_message(self, message) -> None:
        outcome = self.script.pop(0)
        if outcome == "timeout":
            try:
                raise TimeoutError("timed out")
            except TimeoutError:  # smtplib's own words, the timeout as context
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out")
        if outcome is not None:
            raise outcome
        self.taken.append(message["Subject"])

    def quit(self) -> None:
        pass


def message(subject: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = subject
    return email


@pytest.fixture
def server(monkeypatch):
    def install(*script) -> ScriptedServer:
        scripted = ScriptedServer(*script)
        monkeypatch.setattr(smtplib, "SMTP", scripted.session)
        return scripted
    return install


def test_a_421_on_the_kept_session_sends_the_email_on_a_new_one(server):
    scripted = server(None, ENDED, None)
    connection = SmtpConnection("smtp.example.org", 25)
    connection.send(message("first"))
    connection.send(message("second"))
    assert scripted.sessions == [["first"], ["second"]]


def test_a_refusal_is_the_send_s_failure_and_the_next_email_takes_a_new_session(server):
    scripted = server(None, REFUSED, None)
    connection = SmtpConnection("smtp.example.org", 25)
    connection.send(message("first"))
    with pytest.raises(smtplib.SMTPSenderRefused):
        connection.send(message("refused"))
    connection.send(message("third"))
    assert scripted.sessions == [["first"], ["third"]]


def test_a_reply_that_never_came_is_not_tried_again_at_once(server):
    scripted = server(None, "timeout")
    connection = SmtpConnection("smtp.example.org", 25)
    connection.send(message("first"))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        connection.send(message("unanswered"))
    assert scripted.sessions == [["first"]]
