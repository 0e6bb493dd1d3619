"""notifications on real RabbitMQ + PostgreSQL, delivering to a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import socket
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from email import message_from_bytes
from email.policy import default as default_policy

import eventlet
import pytest
from aiosmtpd.controller import Controller
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

import servicekit.rpc  # noqa: F401  registers our errors so the RPC client raises them
from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, MonthHours, Party
from contracts.common.errors import Forbidden, InvalidInput
from services.notifications.service import NotificationsService

pytestmark = pytest.mark.integration

AGENT = {"user_id": "agent", "role": "funder_agent", "funder_id": "f1"}


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("JALON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JALON_SMTP_PORT", str(port))
    yield inbox
    controller.stop()


@pytest.fixture
def notifications(smtp, service_env, container_factory):
    service_env("notifications")
    return container_factory(NotificationsService)


def certified_envelope() -> dict:
    data = CertifiedV1(
        certificate_id=str(uuid.uuid4()), dossier_id="d1", dossier_number="20X000703",
        funder_id="f1", organisation_id="o1", organisation_name="Formations Exemple",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="michelle@example.org"),
        employer=Party(id="e1", name="ACME Industries", email="rh@acme.example"),
        training_title="Développeur web", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"), absence=Decimal("0")),
        method=2, certified_by="user-42", certified_at=datetime.now(timezone.utc))
    return new_envelope("certification", "certified", 1, data, subject="d1/2026-09").model_dump(
        mode="json")


def wait_for(predicate, seconds: float = 30):
    with eventlet.Timeout(seconds):
        while not predicate():
            eventlet.sleep(0.05)


def test_certified_emails_beneficiary_and_employer_once(notifications, smtp, rpc, amqp_uri):
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})
    envelope = certified_envelope()

    def deliver():
        with entrypoint_waiter(notifications, "on_certified", timeout=30) as result:
            dispatch("certification", "certified", envelope)
        result.get()

    deliver()
    wait_for(lambda: len(smtp.messages) >= 2)
    assert sorted(m["To"] for m in smtp.messages) == ["michelle@example.org", "rh@acme.example"]
    for message in smtp.messages:
        assert message["Subject"] == "Certificat de réalisation de septembre 2026 – dossier 20X000703"
        body = message.get_content()
        assert "Formations Exemple a certifié" in body and "147,00\u00a0h" in body

    deliver()  # redelivered: no new email is queued
    emails = rpc.notifications.list_emails(AGENT, event_id=envelope["id"])
    assert len(emails) == 2
    assert {e["status"] for e in emails} == {"sent"}
    assert {e["template"] for e in emails} == {"certified_beneficiary", "certified_employer"}
    assert len(smtp.messages) == 2


def test_direct_email_is_sent_and_its_secret_not_listed(notifications, smtp, rpc):
    reply = rpc.notifications.send_direct_email({
        "to": "jeanne@example.org", "template": "account_credentials",
        "context": {"name": "Jeanne", "identifier": "jeanne", "password": "Provisoire-123"}})
    assert reply["id"]
    wait_for(lambda: smtp.messages)
    [message] = smtp.messages
    assert message["To"] == "jeanne@example.org"
    assert "Mot de passe provisoire : Provisoire-123" in message.get_content()
    # Direct emails have no funder: the funder's email log never shows them.
    assert rpc.notifications.list_emails(AGENT) == []


def test_direct_email_refuses_unknown_templates(notifications, rpc):
    with pytest.raises(InvalidInput) as refused:
        rpc.notifications.send_direct_email({"to": "a@example.org", "template": "certified_employer"})
    assert refused.value.code == "unknown_template"
    with pytest.raises(InvalidInput) as invalid:
        rpc.notifications.send_direct_email({"to": "not an email", "template": "account_credentials"})
    assert invalid.value.code == "invalid_payload"


def test_email_log_is_for_funder_staff(notifications, rpc):
    organisation_user = {"user_id": "u", "role": "organisation_user", "funder_id": "f1",
                         "organisation_id": "o1"}
    with pytest.raises(Forbidden):
        rpc.notifications.list_emails(organisation_user)


def deliver_certified(container, amqp_uri) -> dict:
    envelope = certified_envelope()
    with entrypoint_waiter(container, "on_certified", timeout=30) as result:
        event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(
            "certification", "certified", envelope)
    result.get()
    return envelope


def test_unreachable_smtp_is_retried_later(service_env, container_factory, rpc, amqp_uri,
                                            monkeypatch):
    monkeypatch.setenv("JALON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JALON_SMTP_PORT", str(free_port()))  # nobody listens there
    service_env("notifications")
    envelope = deliver_certified(container_factory(NotificationsService), amqp_uri)

    def tried():
        emails = rpc.notifications.list_emails(AGENT, event_id=envelope["id"])
        return len(emails) == 2 and all(e["attempts"] >= 1 for e in emails) and emails
    wait_for(tried)
    assert {e["status"] for e in tried()} == {"pending"}  # next attempt in a minute


def test_without_smtp_emails_are_written_as_eml_files(service_env, container_factory, amqp_uri):
    from servicekit import config
    service_env("notifications")
    deliver_certified(container_factory(NotificationsService), amqp_uri)
    mail_dir = config.load().mail_dir
    wait_for(lambda: mail_dir.exists() and len(list(mail_dir.glob("*.eml"))) == 2)
    recipients = sorted(message_from_bytes(path.read_bytes(), policy=default_policy)["To"]
                        for path in mail_dir.glob("*.eml"))
    assert recipients == ["michelle@example.org", "rh@acme.example"]
