"""The SMTP session kept across a run of emails (services/notifications/adapters.py), against
a real SMTP server (tools/smtp.py): one session for the run, a new one after the server closed
the kept one or after a failed send, every email received once with its Message-ID."""
from __future__ import annotations

import smtplib
import uuid

import pytest

from servicekit.db import utcnow
from services.notifications import domain
from services.notifications.adapters import SmtpConnection, message_id, to_message
from tests.support.notifications import count_smtp_sessions
from tools.smtp import SmtpServer
from tools.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path):
    server = SmtpServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def sessions(monkeypatch) -> list:
    return count_smtp_sessions(monkeypatch)


def new_email(n: int = 0) -> domain.Email:
    planned = domain.Planned(f"person{n}@example.org", "certified_beneficiary", {})
    return domain.new_email(str(uuid.uuid4()), planned, domain.Rendered("Sujet", "Corps\n"),
                            utcnow())


def messages(count: int):
    emails = [new_email(n) for n in range(count)]
    return emails, [to_message(email, "noreply@jalon.example") for email in emails]


def received_once(server: SmtpServer, emails) -> bool:
    got = sorted(message["Message-ID"] for message in server.emails())
    return got == sorted(message_id(email.id) for email in emails)


def test_a_run_of_emails_goes_through_one_session_closed_at_its_end(server, sessions):
    connection = SmtpConnection("127.0.0.1", server.port)
    emails, run = messages(3)
    for message in run:
        connection.send(message)
    connection.close()
    assert len(sessions) == 1
    assert sessions[0].sock is None  # quit
    wait_until(lambda: received_once(server, emails))


def test_a_session_the_server_closed_since_is_opened_again_for_the_next_email(server, sessions):
    connection = SmtpConnection("127.0.0.1", server.port)
    emails, (first, second) = messages(2)
    connection.send(first)
    sessions[0].docmd("QUIT")  # the server ends the session, as its idle timeout does
    connection.send(second)
    connection.close()
    assert len(sessions) == 2
    wait_until(lambda: received_once(server, emails))


def test_after_a_failed_send_the_next_email_starts_a_session_of_its_own(server, sessions):
    connection = SmtpConnection("127.0.0.1", server.port)
    emails, (first, second) = messages(2)
    refused = to_message(new_email(), "noreply@jalon.example")
    del refused["To"]  # no recipient: refused on the open session, after its MAIL FROM
    connection.send(first)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        connection.send(refused)
    assert sessions[0].sock is None  # the failed send's session is closed
    connection.send(second)
    connection.close()
    assert len(sessions) == 2
    wait_until(lambda: received_once(server, emails))
