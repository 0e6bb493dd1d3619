"""documents on real RabbitMQ + PostgreSQL: a `certified` event becomes a stored PDF certificate."""
from __future__ import annotations

import base64
import io
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from eventlet import patcher
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from pypdf import PdfReader

import servicekit.rpc  # noqa: F401  registers our errors so the RPC client raises them
from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, MonthHours, Party
from servicekit import config
from contracts.common.errors import NotFound
from services.documents import adapters
from services.documents.domain import blob_path
from services.documents.service import DocumentsService
from tools.waiting import wait_until

pytestmark = pytest.mark.integration

FUNDER_AGENT = {"user_id": "agent", "role": "funder_agent", "funder_id": "f1"}
BENEFICIARY = {"user_id": "ben", "role": "beneficiary", "funder_id": "f1", "party_id": "b1"}
OTHER_ORGANISATION = {"user_id": "of2", "role": "organisation_user", "funder_id": "f1",
                      "organisation_id": "o2"}


def certified_envelope(dossier_id: str) -> dict:
    data = CertifiedV1(
        certificate_id=str(uuid.uuid4()), dossier_id=dossier_id, dossier_number="16/0/5756",
        funder_id="f1", organisation_id="o1", organisation_name="Formations Exemple",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="michelle@example.org"),
        employer=Party(id="e1", name="ACME Industries", email="rh@acme.example"),
        training_title="Titre professionnel Développeur web", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"),
                         absence=Decimal("3.5")),
        method=1, certified_by="user-42", certified_at=datetime.now(timezone.utc))
    envelope = new_envelope("certification", "certified", 1, data, subject=f"{dossier_id}/2026-09")
    return envelope.model_dump(mode="json")


@pytest.fixture
def documents(service_env, container_factory, amqp_uri):
    service_env("documents")
    container = container_factory(DocumentsService)
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})

    def deliver(envelope: dict) -> None:
        """Publish as certification's relay does, and wait until the handler is done."""
        with entrypoint_waiter(container, "on_certified", timeout=60) as result:
            dispatch("certification", "certified", envelope)
        result.get()  # re-raises if the handler failed

    return deliver


def test_certified_event_stores_one_pdf_certificate(documents, rpc):
    envelope = certified_envelope("d-" + uuid.uuid4().hex[:8])
    dossier_id = envelope["data"]["dossier_id"]
    documents(envelope)

    listed = rpc.documents.list_documents(FUNDER_AGENT, dossier_id)
    assert len(listed) == 1
    document = listed[0]
    assert document["category"] == "completion_certificate"
    assert document["label"] == "Certificat de réalisation – septembre 2026"
    assert document["filename"] == "certificat-realisation-16-0-5756-2026-09.pdf"
    stored = blob_path(config.load().files_dir, document["sha256"])
    assert stored.read_bytes()[:5] == b"%PDF-"

    content = rpc.documents.get_document_content(BENEFICIARY, document["id"])
    pdf = base64.b64decode(content["content_base64"])
    assert len(pdf) == document["size"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("DUBOIS Michelle", "ACME Industries", "septembre 2026", "147,00",
                     "3,50", "Nature de l'action", "05/01/2026", "user-42"):
        assert expected in text

    documents(envelope)  # redelivered: nothing more
    assert len(rpc.documents.list_documents(FUNDER_AGENT, dossier_id)) == 1


def test_documents_are_scoped(documents, rpc):
    envelope = certified_envelope("d-" + uuid.uuid4().hex[:8])
    documents(envelope)
    dossier_id = envelope["data"]["dossier_id"]
    [document] = rpc.documents.list_documents(BENEFICIARY, dossier_id)

    assert rpc.documents.list_documents(OTHER_ORGANISATION, dossier_id) == []
    with pytest.raises(NotFound) as refused:
        rpc.documents.get_document_content(OTHER_ORGANISATION, document["id"])
    assert refused.value.code == "document_not_found"
    with pytest.raises(NotFound):
        rpc.documents.get_document_content(FUNDER_AGENT, str(uuid.uuid4()))


def test_health_answers_while_a_pdf_is_being_rendered(service_env, container_factory, amqp_uri,
                                                       rpc, monkeypatch):
    """The render is held in the middle (on a native lock): health() must still answer."""
    native = patcher.original("threading")
    started, release = native.Event(), native.Event()
    released_by_test = []
    render = adapters._html_to_pdf

    def held_render(html, toolkit):
        started.set()
        # Were the render on the event loop, the test could not run to release it: this
        # wait would time out and record False.
        released_by_test.append(release.wait(20))
        return render(html, toolkit)

    monkeypatch.setattr(adapters, "_html_to_pdf", held_render)
    service_env("documents")
    container = container_factory(DocumentsService)
    envelope = certified_envelope("d-" + uuid.uuid4().hex[:8])
    with entrypoint_waiter(container, "on_certified", timeout=60) as result:
        event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(
            "certification", "certified", envelope)
        wait_until(started.is_set, message="the render started")
        try:
            assert rpc.documents.health() == {"service": "documents", "status": "ok",
                                              "database": "ok"}
            assert not release.is_set()  # the render was still in progress meanwhile
        finally:
            release.set()
    result.get()
    assert released_by_test == [True]
    assert len(rpc.documents.list_documents(FUNDER_AGENT, envelope["data"]["dossier_id"])) == 1
