"""The owner of a reviewed document is emailed, through a real SMTP server (aiosmtpd): from the
real documents service's events, once even when an event is delivered twice, and nobody when
the owner has no email."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

import servicekit.rpc  # noqa: F401  registers our errors so the RPC client raises them
from contracts.envelope import new_envelope
from contracts.events import DocumentCheckedV1, DocumentRejectedV1
from contracts.common.formatting import PARIS, date_fr
from services.documents.service import DocumentsService
from tests.support.documents import b64, pdf_bytes
from tests.support.integration import AGENT
from tools.waiting import wait_until

pytestmark = pytest.mark.integration

ORG = {"user_id": "u-org", "role": "organisation_user", "funder_id": "f1",
       "organisation_id": "o1", "email": "depot@organisme.example.org", "rights": ["documents"]}
REVIEWED = dict(document_id="doc-1", category="kbis", category_label="Extrait KBIS",
                label="KBIS 2026", funder_id="f1", organisation_id="o1", owner_user_id="u-org")


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_check_and_reject_by_the_real_documents_service_email_the_owner(
        notifications, smtp, service_env, container_factory, rpc):
    service_env("documents")
    container_factory(DocumentsService)
    document_id = rpc.documents.upload(ORG, {
        "category": "kbis", "filename": "kbis.pdf", "label": "KBIS 2026",
        "content_base64": b64(pdf_bytes())})["document_id"]

    rpc.documents.check_document(AGENT, document_id)
    wait_until(lambda: len(smtp.messages) >= 1)
    checked = smtp.messages[0]
    assert checked["To"] == "depot@organisme.example.org"
    assert checked["Subject"] == "Document contrôlé : KBIS 2026"
    today = date_fr(datetime.now(timezone.utc).astimezone(PARIS))
    assert f"Votre document « KBIS 2026 » a été contrôlé le {today}" in text_of(checked)

    rpc.documents.reject_document(AGENT, document_id, {"reason_code": "illegible",
                                                       "reason_text": "copie floue"})
    wait_until(lambda: len(smtp.messages) >= 2)
    rejected = smtp.messages[1]
    assert rejected["Subject"] == "Document non conforme : KBIS 2026"
    assert "Votre document « KBIS 2026 » n'est pas conforme : copie floue" in text_of(rejected)


def deliver(container, amqp_uri, handler: str, name: str, envelope: dict) -> None:
    with entrypoint_waiter(container, handler, timeout=30) as result:
        event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})("documents", name,
                                                                      envelope)
    result.get()


def test_a_redelivered_review_emails_once(notifications, smtp, rpc, amqp_uri):
    data = DocumentRejectedV1(**REVIEWED, owner_email="depot@organisme.example.org",
                              rejected_at=datetime.now(timezone.utc), rejected_by="agent",
                              reason_code="expired", reason_text="KBIS de plus de 3 mois")
    envelope = new_envelope("documents", "document_rejected", 1, data,
                            subject="doc-1").model_dump(mode="json")
    deliver(notifications, amqp_uri, "on_document_rejected", "document_rejected", envelope)
    deliver(notifications, amqp_uri, "on_document_rejected", "document_rejected", envelope)
    wait_until(lambda: smtp.messages)
    emails = rpc.notifications.list_emails(AGENT, event_id=envelope["id"])
    assert [(e["to"], e["template"]) for e in emails] == [
        ("depot@organisme.example.org", "document_rejected")]
    wait_until(lambda: rpc.notifications.list_emails(AGENT, event_id=envelope["id"])[0][
        "status"] == "sent")
    assert len(smtp.messages) == 1
    assert "n'est pas conforme : KBIS de plus de 3 mois" in text_of(smtp.messages[0])


def test_an_owner_without_email_is_not_emailed(notifications, smtp, rpc, amqp_uri):
    data = DocumentCheckedV1(**REVIEWED, owner_email=None, checked_at=datetime.now(timezone.utc),
                             checked_by="agent")
    envelope = new_envelope("documents", "document_checked", 1, data).model_dump(mode="json")
    deliver(notifications, amqp_uri, "on_document_checked", "document_checked", envelope)
    assert rpc.notifications.list_emails(AGENT, event_id=envelope["id"]) == []
    assert smtp.messages == []
