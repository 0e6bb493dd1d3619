"""Email delivery through faults between a send and its record, on real PostgreSQL and a real
SMTP server (tools/smtp.py, its own process): at most the email in flight is sent twice, and
a copy carries the same Message-ID."""
from __future__ import annotations

import uuid
from collections import Counter

import eventlet
import pytest
from eventlet.event import Event
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from servicekit.db import driver_url, utcnow
from services.notifications import adapters, domain
from services.notifications.domain import Email
from services.notifications.models import start_mappers
from services.notifications.service import NotificationsService
from tests.support.notifications import count_smtp_sessions
from tools.smtp import SmtpServer
from tools.waiting import wait_until

pytestmark = pytest.mark.integration

QUEUED, DIES_AFTER = 6, 3


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    server = SmtpServer(tmp_path)
    monkeypatch.setenv("JALON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JALON_SMTP_PORT", str(server.port))
    yield server
    server.stop()


class FaultAfterSend:
    """The SMTP transport, sending for real, with `fault()` right after its n-th send."""

    def __init__(self, sends: int, fault):
        self.sends = sends
        self.fault = fault
        self.sent = 0
        self.in_flight = None  # the recipient of the send the fault struck after
        self._send = adapters.SmtpConnection.send

    def patch(self, monkeypatch) -> None:
        monkeypatch.setattr(adapters.SmtpConnection, "send",
                            lambda connection, message: self(connection, message))

    def __call__(self, connection, message):
        self._send(connection, message)
        self.sent += 1
        if self.sent == self.sends:
            self.in_flight = message["To"]
            self.fault()


def queue_emails(url: str, count: int) -> dict[str, str]:
    """Pending emails, as the event handlers write them; returns recipient -> email id."""
    start_mappers()
    now = utcnow()
    emails = [domain.new_email(str(uuid.uuid4()),
                               domain.Planned(f"person{n}@example.org", "certified_beneficiary", {}),
                               domain.Rendered(f"Sujet {n}", "Corps\n"), now)
              for n in range(count)]
    engine = create_engine(driver_url(url))
    with Session(engine, expire_on_commit=False) as session, session.begin():
        session.add_all(emails)
    engine.dispose()
    return {email.recipient: email.id for email in emails}


def stored_emails(url: str) -> dict[str, Email]:
    engine = create_engine(driver_url(url))
    with Session(engine) as session:
        found = {email.recipient: email for email in session.scalars(select(Email))}
    engine.dispose()
    return found


def received_once_but(smtp_server, ids: dict[str, str]) -> list[str]:
    """Check every queued email arrived with its stable Message-ID; return who got copies."""
    messages = smtp_server.emails()
    for message in messages:
        assert message["Message-ID"] == f"<{ids[message['To']]}@jalon.local>"
    received = Counter(message["To"] for message in messages)
    assert set(received) == set(ids)
    assert all(count <= 2 for count in received.values())
    return [to for to, count in received.items() if count > 1]


def all_sent(url: str) -> bool:
    return {email.status for email in stored_emails(url).values()} == {domain.SENT}


def test_a_crash_between_send_and_record_repeats_only_the_email_in_flight(
        smtp_server, service_env, container_factory, monkeypatch):
    monkeypatch.setenv("JALON_EMAIL_LEASE_SECONDS", "3")
    url = service_env("notifications")
    ids = queue_emails(url, QUEUED)
    crashed = Event()

    def die():  # as under SIGKILL: the delivery loop runs no other line
        eventlet.spawn(crashed.wait().kill)
        eventlet.sleep(60)  # the kill ends this green thread here

    transport = FaultAfterSend(DIES_AFTER, die)
    transport.patch(monkeypatch)
    crashed.send(container_factory(NotificationsService))
    with eventlet.Timeout(30):
        crashed.wait().wait()
    assert transport.sent == DIES_AFTER

    container_factory(NotificationsService)  # the replica (or the restart) that takes over
    wait_until(lambda: all_sent(url), 60)
    # The email whose send was never recorded went out again once its lease passed; no other.
    assert received_once_but(smtp_server, ids) == [transport.in_flight]
    assert stored_emails(url)[transport.in_flight].attempts == 2


def test_a_database_away_after_a_send_repeats_nothing(
        smtp_server, service_env, container_factory, monkeypatch, postgres):
    """The database restarts between a send and its record: the record waits for it (while
    the claim lasts) instead of letting the lease pass and the email go twice."""
    monkeypatch.setenv("JALON_EMAIL_LEASE_SECONDS", "20")
    url = service_env("notifications")
    ids = queue_emails(url, QUEUED)
    name = url.rsplit("/", 1)[1]

    def allow_connections(allowed: bool) -> None:
        with postgres.engine.connect() as admin:
            admin.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed)}'))
            if not allowed:  # and cut the service's open ones
                admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE datname = :name AND pid <> pg_backend_pid()"),
                              {"name": name})
            admin.commit()

    back = Event()

    def database_back() -> None:
        allow_connections(True)
        back.send(True)

    def database_away_for_two_seconds():
        allow_connections(False)
        eventlet.spawn_after(2, database_back)

    transport = FaultAfterSend(DIES_AFTER, database_away_for_two_seconds)
    transport.patch(monkeypatch)
    container_factory(NotificationsService)
    wait_until(lambda: transport.in_flight is not None, 60)
    back.wait()  # the test may read the database again
    wait_until(lambda: all_sent(url), 60)
    assert received_once_but(smtp_server, ids) == []


def test_the_loop_sends_a_run_of_emails_on_one_session_and_ends_it_once_idle(
        smtp_server, service_env, container_factory, monkeypatch):
    opened = count_smtp_sessions(monkeypatch)
    url = service_env("notifications")
    ids = queue_emails(url, QUEUED)
    container_factory(NotificationsService)
    wait_until(lambda: all_sent(url), 60)
    assert received_once_but(smtp_server, ids) == []
    assert len(opened) == 1
    wait_until(lambda: opened[0].sock is None, 10)  # quit once nothing was left to send
