"""notifications after certification on real RabbitMQ + PostgreSQL + SMTP: the funder's
email at certification (its settings) and a contest's emails, each sent exactly once."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, HoursContestedV1
from tests.support.integration import AGENT, certified_envelope
from tools.waiting import wait_until

pytestmark = pytest.mark.integration


def deliver(container, amqp_uri: str, method: str, name: str, envelope: dict) -> None:
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})
    with entrypoint_waiter(container, method, timeout=30) as result:
        dispatch("certification", name, envelope)
    result.get()


def test_the_funder_is_emailed_once_at_certification(notifications, smtp, rpc, amqp_uri):
    base = CertifiedV1.model_validate(certified_envelope()["data"])
    data = base.model_copy(update={"funder_notification_email": "suivi@tp.example",
                                   "validations": ["beneficiary"]})
    envelope = new_envelope("certification", "certified", 1, data).model_dump(mode="json")
    deliver(notifications, amqp_uri, "on_certified", "certified", envelope)
    wait_until(lambda: len(smtp.messages) >= 3)
    funder = [m for m in smtp.messages if m["To"] == "suivi@tp.example"]
    assert [m["Subject"] for m in funder] == [
        "Certificat de réalisation certifié – dossier 20X000703 – septembre 2026"]
    assert "attendent la validation du bénéficiaire" in funder[0].get_body(("plain",)).get_content()
    beneficiary = next(m for m in smtp.messages if m["To"] == "michelle@example.org")
    assert "valider ces heures depuis votre espace" in beneficiary.get_body(("plain",)).get_content()

    deliver(notifications, amqp_uri, "on_certified", "certified", envelope)  # redelivered
    emails = rpc.notifications.list_emails(AGENT, event_id=envelope["id"])
    assert sorted(e["template"] for e in emails) == [
        "certified_beneficiary", "certified_employer", "certified_funder"]
    assert len(smtp.messages) == 3


def test_a_contest_emails_the_organisation_and_the_funder_once(notifications, smtp, rpc,
                                                               amqp_uri):
    data = HoursContestedV1(
        certificate_id=str(uuid.uuid4()), dossier_id="d1", dossier_number="20X000703",
        funder_id="f1", organisation_id="o1", organisation_name="Formations Exemple",
        organisation_email="contact@of.example", funder_notification_email="suivi@tp.example",
        month="2026-09", party="beneficiary", party_name="DUBOIS Michelle",
        reason="Absente le 3 septembre", contested_by="u9",
        contested_at=datetime.now(timezone.utc))
    envelope = new_envelope("certification", "hours_contested", 1, data).model_dump(
        mode="json")
    deliver(notifications, amqp_uri, "on_hours_contested", "hours_contested", envelope)
    wait_until(lambda: len(smtp.messages) >= 2)
    assert sorted(m["To"] for m in smtp.messages) == ["contact@of.example", "suivi@tp.example"]
    body = smtp.messages[0].get_body(("plain",)).get_content()
    assert "par le bénéficiaire (Michelle DUBOIS)" in body
    assert "Motif : Absente le 3 septembre" in body
    deliver(notifications, amqp_uri, "on_hours_contested", "hours_contested", envelope)
    assert len(rpc.notifications.list_emails(AGENT, event_id=envelope["id"])) == 2
    assert len(smtp.messages) == 2
