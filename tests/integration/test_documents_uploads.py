"""documents' uploads on real RabbitMQ + PostgreSQL: receipts, content-addressed storage,
refusals that store nothing, listing and search, the funder's review and its events, the
owner's changes, and no leak across organisations or funders.

dossiers is outside what is tested here: a small fake service with the same name answers
get_dossier with the same scoping rules."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime

import pytest
from nameko.rpc import rpc as rpc_entrypoint
from sqlalchemy import func, select

import servicekit.rpc  # noqa: F401  registers our errors so the RPC client raises them
from contracts.common import ALL_RIGHTS
from servicekit import config
from servicekit.db import make_engine
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from servicekit.events import subscribe
from services.documents.domain import blob_path
from services.documents.models import metadata
from services.documents.service import DocumentsService
from tests.support.documents import (CORRUPT_PDF, b64, corrupt_png, image_bytes, pdf_bytes)
from tools.demo import scanned_pdf
from tests.support.integration import Recorded, dependency
from tools.waiting import wait_until

pytestmark = pytest.mark.integration


def actor(role: str = "organisation_user", funder: str = "f1", **extra) -> dict:
    defaults = {"organisation_user": {"organisation_id": "o1", "email": "of@example.org",
                                      "rights": list(ALL_RIGHTS)},
                "beneficiary": {"party_id": "b1"}, "employer": {"party_id": "e1"}}
    return {"user_id": f"u-{role}-{funder}", "role": role, "funder_id": funder,
            **defaults.get(role, {}), **extra}


ORG = actor()
OTHER_ORG = actor(organisation_id="o2", user_id="u-o2", email="o2@example.org")
AGENT = actor("funder_agent")
OTHER_FUNDER_AGENT = actor("funder_agent", funder="f2")
BENEFICIARY = actor("beneficiary")
EMPLOYER = actor("employer")
OTHER_EMPLOYER = actor("employer", party_id="e2", user_id="u-e2")

DOSSIERS = {
    "d1": {"id": "d1", "number": "20X000703", "funder_id": "f1", "organisation_id": "o1",
           "organisation_name": "Formations du Lac",
           "beneficiary": {"id": "b1", "name": "UDERZO Falbala", "email": "f@example.org",
                           "kind": "beneficiary", "funder_id": "f1"},
           "employer": {"id": "e1", "name": "ACME", "email": "rh@example.org",
                        "kind": "employer", "funder_id": "f1"},
           "training_title": "Pharmacie", "session_start": "2026-01-05",
           "session_end": "2026-12-18", "status": "in_progress"},
}


class FakeDossiers:
    name = "dossiers"

    @rpc_entrypoint
    def get_dossier(self, actor, dossier_id):
        dossier = DOSSIERS.get(dossier_id)
        narrowed = {"organisation_user": ("organisation_id", actor.get("organisation_id")),
                    "beneficiary": ("beneficiary", actor.get("party_id")),
                    "employer": ("employer", actor.get("party_id"))}.get(actor["role"])
        if dossier is None or dossier["funder_id"] != actor["funder_id"] or (
                narrowed and _party(dossier, narrowed[0]) != narrowed[1]):
            raise NotFound("dossier_not_found", "Dossier introuvable.")
        return dossier


def _party(dossier: dict, field: str):
    value = dossier.get(field)
    return value["id"] if isinstance(value, dict) else value


class Observer:
    name = "observer"
    reviews = Recorded()  # the envelopes of documents' events

    @subscribe("documents", "document_uploaded")
    def on_uploaded(self, event):
        self.reviews.append(event.envelope.model_dump(mode="json"))

    @subscribe("documents", "document_checked")
    def on_checked(self, event):
        self.reviews.append(event.envelope.model_dump(mode="json"))

    @subscribe("documents", "document_rejected")
    def on_rejected(self, event):
        self.reviews.append(event.envelope.model_dump(mode="json"))


@pytest.fixture
def documents(service_env, container_factory):
    url = service_env("documents")
    container_factory(FakeDossiers)
    container_factory(DocumentsService)
    return url


def count(url: str, table: str) -> int:
    with make_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata.tables[table])).scalar()


def stored_files() -> list:
    root = config.load().files_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def kbis(**fields) -> dict:
    return {"category": "kbis", "filename": "KBIS 2026.pdf",
            "content_base64": b64(pdf_bytes()), **fields}


def signed(**fields) -> dict:
    return {"category": "signed_certificate", "filename": "certificat-fevrier.pdf",
            "content_base64": b64(scanned_pdf()), "dossier_id": "d1",
            "period_start": "2026-02-01", "period_end": "2026-02-28", **fields}


def test_upload_returns_a_receipt_and_stores_the_bytes_once(documents, rpc):
    content = pdf_bytes()
    receipt = rpc.documents.upload(ORG, kbis(content_base64=b64(content),
                                             filename="../../etc/KBIS.pdf"))
    assert set(receipt) >= {"document_id", "sha256", "received_at", "category", "filename",
                            "size"}
    assert (receipt["category"], receipt["filename"], receipt["size"]) == (
        "kbis", "KBIS.pdf", len(content))
    assert datetime.fromisoformat(receipt["received_at"]).utcoffset().total_seconds() == 0
    path = blob_path(config.load().files_dir, receipt["sha256"])
    assert path.read_bytes() == content

    again = rpc.documents.upload(ORG, kbis(content_base64=b64(content)))
    assert again["document_id"] != receipt["document_id"]
    assert again["sha256"] == receipt["sha256"]
    assert stored_files() == [path]  # same bytes, one file
    assert count(documents, "documents") == 2

    downloaded = rpc.documents.get_document_content(ORG, receipt["document_id"])
    assert base64.b64decode(downloaded["content_base64"]) == content
    assert downloaded["document"]["status"] == "deposited"
    assert downloaded["document"]["status_label"] == "Déposé par vous"

    document = rpc.documents.get_document(ORG, receipt["document_id"])
    assert (document["label"], document["category_label"], document["uploaded_by"]) == (
        "KBIS", "Extrait KBIS", ORG["user_id"])
    assert document["can_modify"] and document["can_delete"]


REFUSED = [  # who, payload, error, code
    (ORG, kbis(content_base64="pas du base64 !"), InvalidInput, "invalid_base64"),
    (ORG, kbis(content_base64=b64(b"GIF89a" + b"\x00" * 20)), InvalidInput,
     "unsupported_file_type"),
    (ORG, kbis(content_base64=b64(CORRUPT_PDF)), InvalidInput, "unreadable_pdf"),
    (ORG, kbis(content_base64=b64(corrupt_png())), InvalidInput, "unreadable_image"),
    (ORG, {**kbis(), "category": "logo"}, InvalidInput, "type_not_allowed"),
    (ORG, {**kbis(), "category": "logo", "content_base64": "A" * 3_000_000}, InvalidInput,
     "file_too_large"),
    (ORG, signed(dossier_id=None), InvalidInput, "missing_fields"),
    (ORG, signed(period_end=None), InvalidInput, "missing_fields"),
    (ORG, kbis(category="nope"), NotFound, "category_not_found"),
    (ORG, kbis(category="completion_certificate"), Forbidden, "category_not_allowed"),
    (BENEFICIARY, kbis(), Forbidden, "category_not_allowed"),
    (OTHER_ORG, signed(), NotFound, "dossier_not_found"),
    (ORG, signed(dossier_id="unknown"), NotFound, "dossier_not_found"),
    (ORG, kbis(organisation_id="o2"), Forbidden, "organisation_not_allowed"),
    (ORG, kbis(filename=""), InvalidInput, "invalid_payload"),
]


def test_a_refused_upload_stores_nothing(documents, rpc):
    for who, payload, error, code in REFUSED:
        with pytest.raises(error) as refused:
            rpc.documents.upload(who, payload)
        assert refused.value.code == code, (code, refused.value)
        assert count(documents, "documents") == 0, code
        assert stored_files() == [], code


def test_listing_defaults_search_and_grouping(documents, rpc):
    loose = rpc.documents.upload(ORG, kbis())
    certificate = rpc.documents.upload(ORG, signed())
    invoice = rpc.documents.upload(ORG, {"category": "invoice", "filename": "f.pdf",
                                         "content_base64": b64(pdf_bytes()), "dossier_id": "d1",
                                         "label": "Facture n° 42"})
    ids = lambda documents: {d["id"] for d in documents}  # noqa: E731

    assert ids(rpc.documents.list_documents(ORG)) == {loose["document_id"]}
    dossier_docs = {certificate["document_id"], invoice["document_id"]}
    assert ids(rpc.documents.list_documents(ORG, "d1")) == dossier_docs
    assert ids(rpc.documents.list_documents(ORG, dossier_id="d1")) == dossier_docs
    for query, expected in [("uderzo", dossier_docs), ("20x0007", dossier_docs),
                            ("FACTURE", {invoice["document_id"]}),  # category label and label
                            ("n° 42", {invoice["document_id"]}),
                            ("kbis", {loose["document_id"]}),  # category code
                            ("signed_cert", {certificate["document_id"]}),
                            ("nothing like it", set())]:
        assert ids(rpc.documents.list_documents(ORG, query=query)) == expected, query
    assert ids(rpc.documents.list_documents(ORG, "d1", "facture")) == {invoice["document_id"]}

    groups = rpc.documents.documents_by_category(ORG, "d1")
    assert [(g["category"], g["category_label"], len(g["documents"])) for g in groups] == [
        ("signed_certificate", "Certificat de réalisation signé", 1), ("invoice", "Facture", 1)]
    assert groups[0]["documents"][0]["period_start"] == "2026-02-01"

    # The dossier's parties see its documents, never the organisation's loose ones.
    for party in (BENEFICIARY, EMPLOYER):
        assert ids(rpc.documents.list_documents(party, "d1")) == dossier_docs
        assert rpc.documents.list_documents(party) == []
    assert rpc.documents.list_documents(OTHER_EMPLOYER, "d1") == []


def test_categories_listed_and_added_by_funder_staff(documents, rpc):
    listed = {c["code"]: c for c in rpc.documents.list_categories(ORG)}
    assert {"kbis", "consent_letter", "logo", "stamp", "signed_certificate", "attendance_sheet",
            "bank_details", "invoice", "training_programme", "other", "completion_certificate",
            "remittance_advice"} <= set(listed)
    assert listed["kbis"]["may_upload"] and not listed["completion_certificate"]["may_upload"]
    assert listed["logo"]["content_types"] == ["image/png", "image/jpeg"]
    assert listed["signed_certificate"]["requires_dossier"]
    assert listed["kbis"]["instructions"].startswith("Déposez")

    new = {"code": "cpf_ptp", "label": "CPF PTP", "instructions": "Le volet organisme signé.",
           "upload_roles": ["organisation_user"], "content_types": ["application/pdf"],
           "max_size": 1_000_000, "requires_label": True}
    with pytest.raises(Forbidden):
        rpc.documents.create_category(ORG, new)
    made = rpc.documents.create_category(AGENT, new)
    assert (made["funder_id"], made["code"]) == ("f1", "cpf_ptp")
    with pytest.raises(Conflict) as refused:
        rpc.documents.create_category(AGENT, new)
    assert refused.value.code == "category_exists"
    with pytest.raises(Conflict):
        rpc.documents.create_category(AGENT, {**new, "code": "kbis"})

    assert "cpf_ptp" in {c["code"] for c in rpc.documents.list_categories(ORG)}
    assert "cpf_ptp" not in {c["code"] for c in rpc.documents.list_categories(
        actor("funder_agent", funder="f2"))}
    receipt = rpc.documents.upload(ORG, kbis(category="cpf_ptp", label="Volet organisme"))
    assert rpc.documents.get_document(ORG, receipt["document_id"])["category_label"] == "CPF PTP"
    with pytest.raises(NotFound):  # another funder's category does not exist for them
        rpc.documents.upload(actor(funder="f2"), kbis(category="cpf_ptp", label="x"))


def test_check_and_reject_publish_their_events(documents, rpc, container_factory):
    reviews = dependency(container_factory(Observer), Recorded).calls
    receipt = rpc.documents.upload(ORG, signed())
    document_id = receipt["document_id"]
    with pytest.raises(Forbidden):
        rpc.documents.check_document(ORG, document_id)
    with pytest.raises(NotFound):
        rpc.documents.check_document(OTHER_FUNDER_AGENT, document_id)

    checked = rpc.documents.check_document(AGENT, document_id)
    assert checked["status"] == "checked"
    assert checked["status_label"].startswith("Contrôlé le ")
    with pytest.raises(Conflict) as refused:
        rpc.documents.check_document(AGENT, document_id)
    assert refused.value.code == "document_already_checked"
    rejected = rpc.documents.reject_document(AGENT, document_id, {
        "reason_code": "illegible", "reason_text": "Signature illisible"})
    assert (rejected["status"], rejected["status_label"], rejected["reason_code"]) == (
        "rejected", "Non conforme : Signature illisible", "illegible")
    with pytest.raises(InvalidInput):
        rpc.documents.reject_document(AGENT, document_id, {"reason_code": "because"})

    events = wait_until(lambda: len(found := reviews_of(reviews, document_id)) >= 3 and found)
    by_type = {e["type"]: e["data"] for e in events}
    data = by_type["fr.jalon.documents.document_uploaded"]
    assert (data["category"], data["funder_id"], data["organisation_id"], data["dossier_id"],
            data["uploaded_by"]) == ("signed_certificate", "f1", "o1", "d1", ORG["user_id"])
    assert "content_base64" not in data and "sha256" not in data
    data = by_type["fr.jalon.documents.document_checked"]
    assert (data["owner_user_id"], data["owner_email"], data["funder_id"],
            data["organisation_id"], data["category"], data["dossier_number"]) == (
        ORG["user_id"], "of@example.org", "f1", "o1", "signed_certificate", "20X000703")
    assert data["checked_by"] == AGENT["user_id"]
    data = by_type["fr.jalon.documents.document_rejected"]
    assert (data["reason_code"], data["reason_text"]) == ("illegible", "Signature illisible")
    assert count(documents, "outbox") == 3  # uploaded, checked, rejected


def reviews_of(reviews: list[dict], document_id: str) -> list[dict]:
    return [e for e in reviews if e["data"]["document_id"] == document_id]


def test_owner_changes_replaces_and_deletes_within_the_rules(documents, rpc):
    receipt = rpc.documents.upload(ORG, kbis())
    document_id = receipt["document_id"]
    renamed = rpc.documents.update_document(ORG, document_id, {"label": "KBIS mars 2026"})
    assert renamed["label"] == "KBIS mars 2026"
    moved = rpc.documents.update_document(ORG, document_id, {"category": "bank_details"})
    assert (moved["category"], moved["category_label"]) == ("bank_details", "RIB")
    with pytest.raises(InvalidInput) as refused:
        rpc.documents.update_document(ORG, document_id, {"category": "logo"})
    assert refused.value.code == "type_not_allowed"

    rpc.documents.reject_document(AGENT, document_id, {"reason_code": "expired"})
    new_content = pdf_bytes(3)
    replaced = rpc.documents.replace_document(ORG, document_id, {
        "filename": "rib.pdf", "content_base64": b64(new_content)})
    assert replaced["sha256"] != receipt["sha256"] and replaced["size"] == len(new_content)
    assert blob_path(config.load().files_dir, replaced["sha256"]).read_bytes() == new_content
    after = rpc.documents.get_document(ORG, document_id)
    assert (after["status"], after["reason_code"], after["filename"]) == (
        "deposited", None, "rib.pdf")
    with pytest.raises(InvalidInput) as refused:
        rpc.documents.replace_document(ORG, document_id, {
            "filename": "x.pdf", "content_base64": b64(CORRUPT_PDF)})
    assert refused.value.code == "unreadable_pdf"

    rpc.documents.check_document(AGENT, document_id)
    for attempt in (lambda: rpc.documents.delete_document(ORG, document_id),
                    lambda: rpc.documents.replace_document(ORG, document_id, {
                        "filename": "y.pdf", "content_base64": b64(pdf_bytes())})):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "document_checked"
    assert rpc.documents.get_document(ORG, document_id)["can_delete"] is False

    other = rpc.documents.upload(ORG, kbis())["document_id"]
    assert rpc.documents.delete_document(ORG, other) is None
    with pytest.raises(NotFound):
        rpc.documents.get_document(ORG, other)


def test_deposits_need_the_documents_right(documents, rpc):
    deposited = rpc.documents.upload(ORG, kbis())["document_id"]
    without = actor(rights=["enter_hours"])
    attempts = {
        "upload": lambda: rpc.documents.upload(without, kbis()),
        "update": lambda: rpc.documents.update_document(without, deposited, {"label": "x"}),
        "replace": lambda: rpc.documents.replace_document(without, deposited, {
            "filename": "k.pdf", "content_base64": b64(pdf_bytes())}),
        "delete": lambda: rpc.documents.delete_document(without, deposited)}
    for name, attempt in attempts.items():
        with pytest.raises(Forbidden) as refused:
            attempt()
        assert (refused.value.code, refused.value.details) == (
            "missing_right", {"right": "documents"}), name
    assert rpc.documents.get_document(without, deposited)["label"] != "x"  # reading stays open


def test_nobody_changes_someone_else_s_documents(documents, rpc):
    by_funder = rpc.documents.upload(AGENT, kbis(organisation_id="o1", label="Convention"))
    seen = rpc.documents.get_document(ORG, by_funder["document_id"])
    assert (seen["status"], seen["status_label"], seen["can_modify"]) == (
        "deposited_by_funder", "Inscrit par votre AT Pro", False)
    for attempt in (lambda i: rpc.documents.delete_document(ORG, i),
                    lambda i: rpc.documents.update_document(ORG, i, {"label": "x"}),
                    lambda i: rpc.documents.replace_document(ORG, i, {
                        "filename": "y.pdf", "content_base64": b64(pdf_bytes())})):
        with pytest.raises(Forbidden) as refused:
            attempt(by_funder["document_id"])
        assert refused.value.code == "not_owner"

    beneficiary_doc = rpc.documents.upload(BENEFICIARY, {
        "category": "other", "filename": "attestation.png", "label": "Attestation",
        "content_base64": b64(image_bytes()), "dossier_id": "d1"})
    with pytest.raises(Forbidden) as refused:
        rpc.documents.delete_document(ORG, beneficiary_doc["document_id"])
    assert refused.value.code == "not_owner"
    assert rpc.documents.get_document(ORG, beneficiary_doc["document_id"])["status_label"] == \
        "Déposé"
    rpc.documents.delete_document(BENEFICIARY, beneficiary_doc["document_id"])


def test_no_leak_across_organisations_and_funders(documents, rpc):
    mine = rpc.documents.upload(ORG, kbis(label="Secret de l'organisme 1"))["document_id"]
    on_dossier = rpc.documents.upload(ORG, signed())["document_id"]
    outsiders = (OTHER_ORG, OTHER_FUNDER_AGENT, actor(funder="f2"), OTHER_EMPLOYER,
                 actor("beneficiary", party_id="b2"))
    for outsider in outsiders:
        assert rpc.documents.list_documents(outsider) == []
        assert rpc.documents.list_documents(outsider, "d1") == []
        assert rpc.documents.list_documents(outsider, query="secret") == []
        assert rpc.documents.list_documents(outsider, query="uderzo") == []
        assert rpc.documents.documents_by_category(outsider, "d1") == []
        for document_id in (mine, on_dossier):
            for call in (lambda: rpc.documents.get_document(outsider, document_id),
                         lambda: rpc.documents.get_document_content(outsider, document_id),
                         lambda: rpc.documents.update_document(outsider, document_id,
                                                               {"label": "x"}),
                         lambda: rpc.documents.replace_document(outsider, document_id, {
                             "filename": "x.pdf", "content_base64": b64(pdf_bytes())}),
                         lambda: rpc.documents.delete_document(outsider, document_id),
                         lambda: rpc.documents.check_document(outsider, document_id),
                         lambda: rpc.documents.reject_document(outsider, document_id,
                                                               {"reason_code": "other"})):
                with pytest.raises(NotFound) as refused:
                    call()
                assert refused.value.code == "document_not_found"
    # The organisation's own colleague sees and owns it; the beneficiary sees only the
    # dossier's.
    colleague = actor(user_id=str(uuid.uuid4()))
    assert rpc.documents.get_document(colleague, mine)["status_label"] == "Déposé par vous"
    with pytest.raises(NotFound):
        rpc.documents.get_document(BENEFICIARY, mine)
    assert rpc.documents.get_document(BENEFICIARY, on_dossier)["status_label"] == "Déposé"
