"""notifications on real RabbitMQ + PostgreSQL, delivering to a real SMTP server (aiosmtpd)."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

import servicekit.rpc  # noqa: F401  registers our errors so the RPC client raises them
from contracts.common.errors import Forbidden, InvalidInput
from services.notifications.service import NotificationsService
from tests.support.integration import AGENT, certified_envelope
from tools.smtp import free_port
from tools.waiting import wait_until

pytestmark = pytest.mark.integration


def test_certified_emails_beneficiary_and_employer_once(notifications, smtp, rpc, amqp_uri):
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})
    envelope = certified_envelope()

    def deliver():
        with entrypoint_waiter(notifications, "on_certified", timeout=30) as result:
            dispatch("certification", "certified", envelope)
        result.get()

    deliver()
    wait_until(lambda: len(smtp.messages) >= 2)
    assert sorted(m["To"] for m in smtp.messages) == ["michelle@example.org", "rh@acme.example"]
    for message in smtp.messages:
        assert message["Subject"] == "Certificat de réalisation de septembre 2026 – dossier 20X000703"
        body = message.get_body(("plain",)).get_content()
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
    wait_until(lambda: smtp.messages)
    [message] = smtp.messages
    assert message["To"] == "jeanne@example.org"
    assert "Mot de passe provisoire : Provisoire-123" in message.get_body(("plain",)).get_content()
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
    wait_until(tried)
    assert {e["status"] for e in tried()} == {"pending"}  # next attempt in a minute


def test_without_smtp_emails_are_written_as_eml_files(service_env, container_factory, amqp_uri):
    from servicekit import config
    service_env("notifications")
    deliver_certified(container_factory(NotificationsService), amqp_uri)
    mail_dir = config.load().mail_dir
    wait_until(lambda: mail_dir.exists() and len(list(mail_dir.glob("*.eml"))) == 2)
    recipients = sorted(message_from_bytes(path.read_bytes(), policy=default_policy)["To"]
                        for path in mail_dir.glob("*.eml"))
    assert recipients == ["michelle@example.org", "rh@acme.example"]
