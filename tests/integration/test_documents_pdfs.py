"""Every generated PDF on real RabbitMQ + PostgreSQL: the real documents and certification
services (dossiers and identity faked, tests/support/integration.py), each PDF read back with
pypdf."""
from __future__ import annotations

import base64
import io
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from PIL import Image
from pypdf import PdfReader

from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, MonthHours, Party
from contracts.common.errors import Conflict, Forbidden, NotFound
from services.certification.service import CertificationService
from services.documents.service import DocumentsService
from tests.support.documents import b64, pdf_text
from tests.support.integration import (FUNDER, HOURS, ORG_USER, ORGANISATION, FakeDossiers,
                                       FakeIdentity, actor)
from tools.demo import scanned_pdf
from tools.waiting import wait_until

pytestmark = pytest.mark.integration

MONTH = "2026-09"
STAFF = actor("funder_agent", None)
OTHER_ORGANISATION = actor(organisation="o-other")


def make_dossier(neighbours) -> dict:
    return neighbours.dossier(number="16/0/5756",
                              training_title="Titre professionnel Développeur web",
                              session_start="2026-09-01", session_end="2027-01-31")


def png(size: tuple[int, int], color: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def upload_image(rpc, category: str, size: tuple[int, int]) -> str:
    receipt = rpc.documents.upload(ORG_USER, {"category": category, "filename": f"{category}.png",
                                              "content_base64": png(size, "navy")})
    return receipt["document_id"]


def image_sizes(pdf: bytes) -> set[tuple[int, int]]:
    return {image.image.size for page in PdfReader(io.BytesIO(pdf)).pages
            for image in page.images}


def content_of(rpc, who: dict, document_id: str) -> bytes:
    return base64.b64decode(rpc.documents.get_document_content(who, document_id)
                            ["content_base64"])


@pytest.fixture
def services(service_env, container_factory, neighbours):
    """documents and certification, with dossiers and identity faked."""
    service_env("documents")
    service_env("certification")
    for service in (FakeDossiers, FakeIdentity, DocumentsService, CertificationService):
        container_factory(service, NEIGHBOURS=neighbours)


@pytest.fixture
def documents(service_env, container_factory):
    """documents alone (each container takes seconds to stop: start only what is used)."""
    service_env("documents")
    return container_factory(DocumentsService)


CERTIFICATE_TEXTS = (
    "Formations du Lac", "SIRET : 732 829 320 00074", "12 rue du Lac",
    "Je soussigné(e) Jeanne MARTIN, représentant légal du dispensateur",
    "DUBOIS beneficiary salarié(e) de l'entreprise DUBOIS employer",
    "a suivi l'action Titre professionnel Développeur web", "☒ action de formation",
    "du 01/09/2026 au 31/01/2027", "septembre 2026", "147,00 h", "3,50 h", "Fait à Strasbourg",
)


def test_draft_certificate_through_certification(services, rpc, neighbours):
    dossier = make_dossier(neighbours)
    with pytest.raises(Conflict) as refused:
        rpc.certification.draft_certificate(ORG_USER, dossier["id"], MONTH)
    assert refused.value.code == "hours_not_entered"
    rpc.certification.enter_hours(ORG_USER, dossier["id"], MONTH, HOURS)
    upload_image(rpc, "logo", (200, 80))
    upload_image(rpc, "stamp", (90, 90))
    rejected = upload_image(rpc, "stamp", (60, 60))
    rpc.documents.reject_document(STAFF, rejected, {"reason_code": "illegible"})

    draft = rpc.certification.draft_certificate(ORG_USER, dossier["id"], MONTH)

    assert draft["filename"] == "certificat-realisation-16-0-5756-2026-09-projet.pdf"
    assert draft["content_type"] == "application/pdf"
    pdf = base64.b64decode(draft["content_base64"])
    text = pdf_text(pdf)
    for expected in CERTIFICATE_TEXTS:
        assert expected in text
    assert "PROJET" in text and "JAL-" not in text
    assert image_sizes(pdf) == {(200, 80), (90, 90)}  # the logo, the stamp not rejected
    # Rendered on demand, never stored: the dossier has no document.
    assert rpc.documents.list_documents(STAFF, dossier["id"]) == []

    for outsider in (OTHER_ORGANISATION, STAFF):  # the organisation of the dossier only
        with pytest.raises((NotFound, Forbidden)):
            rpc.certification.draft_certificate(outsider, dossier["id"], MONTH)
    with pytest.raises(Forbidden):  # documents checks too, whoever calls it
        rpc.documents.render_certificate_draft(OTHER_ORGANISATION, {
            "dossier": {"dossier_id": dossier["id"], "dossier_number": "1", "funder_id": FUNDER,
                        "organisation_id": ORGANISATION,
                        "beneficiary": {"id": "b", "name": "X"}, "training_title": "T",
                        "session_start": "2026-09-01", "session_end": "2026-09-30"},
            "organisation": {"name": "Formations du Lac"}, "month": MONTH,
            "hours": {"training": "1", "internship": "0", "absence": "0"}})


def test_certify_stores_the_final_certificate_with_a_verification_reference(
        services, rpc, neighbours):
    dossier = make_dossier(neighbours)
    rpc.certification.enter_hours(ORG_USER, dossier["id"], MONTH, HOURS)
    # Method 1: the draft printed, signed and scanned, deposited as the signed certificate.
    rpc.documents.upload(ORG_USER, {
        "category": "signed_certificate", "filename": "signe.pdf", "dossier_id": dossier["id"],
        "content_base64": b64(scanned_pdf()), "period_start": f"{MONTH}-01",
        "period_end": f"{MONTH}-30"})
    rpc.certification.certify(ORG_USER, dossier["id"], MONTH, {"attest": True})

    [document] = wait_until(lambda: [d for d in rpc.documents.list_documents(
        ORG_USER, dossier["id"]) if d["category"] == "completion_certificate"])
    assert document["category"] == "completion_certificate"
    text = pdf_text(content_of(rpc, ORG_USER, document["id"]))
    for expected in CERTIFICATE_TEXTS:
        assert expected in text
    assert "PROJET" not in text
    assert "Certification électronique" not in text  # method 1: signed by hand
    reference = text.split("Référence de vérification : ")[1].split()[0]

    verified = rpc.documents.verify_certificate(reference.lower())
    assert verified == {"valid": True, "dossier_number": "16/0/5756", "month": MONTH,
                        "sha256": document["sha256"], "issued_at": verified["issued_at"],
                        "superseded": False, "superseded_at": None, "superseded_reason": None}
    assert datetime.fromisoformat(verified["issued_at"]).tzinfo is not None
    for unknown in ("JAL-AAAAAAAAAAAA", "nonsense", ""):
        assert rpc.documents.verify_certificate(unknown) == {
            "valid": False, "dossier_number": None, "month": None, "sha256": None,
            "issued_at": None, "superseded": False, "superseded_at": None,
            "superseded_reason": None}


def method_2_event(dossier: dict) -> dict:
    data = CertifiedV1(
        certificate_id=str(uuid.uuid4()), dossier_id=dossier["id"], dossier_number="16/0/5756",
        funder_id=FUNDER, organisation_id=ORGANISATION, organisation_name="Formations du Lac",
        beneficiary=Party(id=dossier["beneficiary"]["id"], name="DUBOIS Michelle",
                          email="m@example.org"),
        employer=None, training_title="Titre professionnel Développeur web",
        session_start=datetime(2026, 9, 1).date(), session_end=datetime(2027, 1, 31).date(),
        month=MONTH, hours=MonthHours(training=Decimal("147"), internship=Decimal("0"),
                                      absence=Decimal("0")),
        method=2, certified_by="u-certifier",
        certified_at=datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc),
        certified_from_ip="192.0.2.10", organisation_siret="73282932000074",
        organisation_address="12 rue du Lac\n67000 Strasbourg",
        legal_representative="Jeanne MARTIN")
    return new_envelope("certification", "certified", 1, data).model_dump(mode="json")


def test_method_2_final_certificate_carries_the_electronic_block(documents, rpc, amqp_uri,
                                                                 neighbours):
    dossier = make_dossier(neighbours)
    with entrypoint_waiter(documents, "on_certified", timeout=60) as result:
        event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(
            "certification", "certified", method_2_event(dossier))
    result.get()

    [document] = rpc.documents.list_documents(STAFF, dossier["id"])
    text = pdf_text(content_of(rpc, STAFF, document["id"]))
    for expected in ("Certification électronique",
                     "Certifié par u-certifier, le 02/10/2026 à 16:05 (heure de Paris)",
                     "depuis l'adresse IP 192.0.2.10",
                     "code à usage unique envoyé par courriel",
                     "Fait à Strasbourg, le 02/10/2026", "Jeanne MARTIN",
                     "SIRET : 732 829 320 00074", "Référence de vérification : JAL-"):
        assert expected in text
    assert "PROJET" not in text


ATTENDANCE_DAYS = [{"day": "2026-09-01", "morning": "3.5", "afternoon": "3.5"},
                   {"day": "2026-09-02", "morning": "3.5"}]


def attendance_request(dossier: dict, days=ATTENDANCE_DAYS) -> dict:
    return {"dossier": {
        "dossier_id": dossier["id"], "dossier_number": dossier["number"], "funder_id": FUNDER,
        "organisation_id": ORGANISATION,
        "beneficiary": {"id": dossier["beneficiary"]["id"], "name": "DUBOIS Michelle"},
        "training_title": dossier["training_title"], "session_start": dossier["session_start"],
        "session_end": dossier["session_end"]},
        "organisation_name": "Formations du Lac", "month": MONTH, "granularity": "half_day",
        "days": days}


def test_attendance_sheet_is_stored_and_seen_by_the_dossiers_parties(documents, rpc, neighbours):
    dossier = make_dossier(neighbours)
    made = rpc.documents.render_attendance_sheet(ORG_USER, attendance_request(dossier))
    document = made["document"]
    assert (document["category"], document["status"]) == ("attendance_sheet", "generated")
    text = pdf_text(base64.b64decode(made["content_base64"]))
    for expected in ("FICHE DE PRÉSENCE", "septembre 2026", "DUBOIS Michelle",
                     "mardi 01", "Matin 3,50 h", "Après-midi 3,50 h", "mercredi 02",
                     "Total 10,50 h", "Signature du stagiaire", "Signature du formateur"):
        assert expected in text

    beneficiary = actor("beneficiary", None, party_id=dossier["beneficiary"]["id"])
    assert content_of(rpc, beneficiary, document["id"])[:5] == b"%PDF-"
    again = rpc.documents.render_attendance_sheet(
        ORG_USER, attendance_request(dossier, ATTENDANCE_DAYS[:1]))
    assert again["document"]["id"] == document["id"]  # replaced, not piled up
    assert "Total 7,00 h" in pdf_text(content_of(rpc, ORG_USER, document["id"]))
    assert len(rpc.documents.list_documents(ORG_USER, dossier["id"])) == 1
    with pytest.raises(Forbidden):
        rpc.documents.render_attendance_sheet(OTHER_ORGANISATION, attendance_request(dossier))


def test_remittance_advice_is_filed_only_from_payments(documents, rpc):
    """A call that no payments entrypoint made (here a standalone proxy, as the gateway's
    would be) files nothing, whoever's actor it names (tests/e2e/test_remittance_advice.py
    reads the advices payments has filed)."""
    request = {
        "payment_id": "p107", "payment_number": "107", "payment_date": "2019-08-23",
        "funder_id": FUNDER, "organisation_id": ORGANISATION,
        "organisation_name": "Formations du Lac", "lines": [{
            "dossier_number": "16/0/5756", "beneficiary_name": "DUBOIS Michelle",
            "period": {"start": "2019-07-01", "end": "2019-07-31"}, "hours_paid": "147.00",
            "amount": "10503.34"}], "amount": "10503.34"}
    for who in (STAFF, ORG_USER):
        with pytest.raises(Forbidden) as refused:
            rpc.documents.render_remittance_advice(who, request)
        assert refused.value.code == "remittance_from_payments_only"
    assert rpc.documents.list_documents(STAFF, query="107") == []
