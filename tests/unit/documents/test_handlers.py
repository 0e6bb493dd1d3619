"""documents' use cases on an in-memory store and fake ports: replies, stored rows, files and
published events, without broker, database or weasyprint."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.common import Role
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.documents import (PNG, DocumentChange, NewCategory, NewUpload, Rejection,
                                 Replacement)
from contracts.pdfs import CertificateFacts
from services.documents import domain, handlers
from services.documents.domain import CHECKED, DEPOSITED, GENERATED, REJECTED, Document, pdfs
from tests.support.documents import (actor, file_certificate, b64, category, certified, database,
                                     dossier_facts, dossier_reply, image_bytes, pdf_bytes,
                                     ports, pro_forma, remittance, sheet)
from tests.support.fakes import FakeClock
from tools.demo import scanned_pdf

ORG = actor(email="of@example.org")
OTHER_ORG = actor(organisation_id="o2", user_id="u-o2")
AGENT = actor(Role.funder_agent)
OTHER_FUNDER_AGENT = actor(Role.funder_agent, funder_id="f2")
BENEFICIARY = actor(Role.beneficiary)
KBIS, LOGO = category(), category("logo", label="Logo", content_types=[PNG])
SIGNED = category("signed_certificate", requires_dossier=True, requires_period=True)
REMITTANCE = category(pdfs.REMITTANCE_ADVICE, label="Avis de virement", system=True)
PRO_FORMA = category(pdfs.CREDIT_NOTE_PRO_FORMA, label="Facture pro forma avoir", system=True)
EARLIER = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def deposited(document_id: str = "doc-1", by=ORG, **fields) -> Document:
    """A document `by` deposited earlier, without dossier."""
    defaults = dict(
        id=document_id, category="kbis", label="Extrait KBIS", filename="kbis.pdf",
        content_type="application/pdf", size=10, sha256="a" * 64, created_at=EARLIER,
        funder_id="f1", organisation_id="o1", status=DEPOSITED, uploaded_by=by.user_id,
        uploaded_by_role=by.role.value, uploaded_by_email=by.email,
        uploader_organisation_id=by.organisation_id)
    return Document(**{**defaults, **fields})


def stored(db, document_id: str) -> Document | None:
    return db.repositories["documents"].get(document_id)


# ---- the certificate of a certified month -------------------------------------------------

def test_a_certified_month_stores_its_certificate_with_a_reference():
    db, fakes = database(), ports()
    file_certificate(db, fakes, certified())
    [document] = db.repositories["documents"].items.values()
    assert (document.category, document.month, document.status) == (
        domain.COMPLETION_CERTIFICATE, "2026-09", GENERATED)
    assert fakes.files.get(document.sha256) == b"%PDF-1.7 certificate.html"
    assert pdfs.normalise_reference(document.verification_reference) is not None
    [(template, context, _)] = fakes.renderer.calls
    assert (template, context["draft"], context["reference"]) == (
        "certificate.html", False, document.verification_reference)


def test_a_month_certified_again_replaces_its_certificate_and_reference():
    db, fakes = database(), ports()
    for _ in range(2):
        file_certificate(db, fakes, certified())
        fakes.clock.advance(days=1)
    [document] = db.repositories["documents"].items.values()
    references = [context["reference"] for _, context, _ in fakes.renderer.calls]
    assert references[0] != references[1] == document.verification_reference
    assert document.created_at == FakeClock().now.replace(day=3)


def test_the_certificate_prints_and_lists_the_reference_of_the_hours_it_certifies():
    db, fakes = database(), ports()
    file_certificate(db, fakes, certified(hours_reference="A1B2C3"))
    assert fakes.renderer.calls[-1][1]["hours_reference"] == "A1B2C3"
    [listed] = handlers.list_documents(db, actor(Role.funder_agent), dossier_id="d1")
    assert (listed["hours_reference"], listed["superseded"]) == ("A1B2C3", False)


def test_the_certificate_prints_the_organisation_s_logo_but_not_a_rejected_stamp():
    logo = image_bytes("PNG")
    fakes = ports()
    sha256 = fakes.files.put(logo)
    db = database(documents=[
        deposited("logo", category="logo", sha256=sha256),
        deposited("stamp", category="stamp", sha256="b" * 64, status=REJECTED)])
    file_certificate(db, fakes, certified())
    [(_, context, images)] = fakes.renderer.calls
    assert (context["letterhead"]["logo_url"], context["stamp_url"]) == (
        pdfs.image_url(sha256), None)
    assert images == {sha256: logo}


# ---- categories ---------------------------------------------------------------------------

def test_categories_are_the_global_ones_and_the_funder_s_own():
    own = category("invoice", funder_id="f1", label="Facture")
    elsewhere = category("secret", funder_id="f2", label="Secret")
    db = database(categories=[KBIS, own, elsewhere])
    replies = handlers.list_categories(db, BENEFICIARY)
    assert [(c["code"], c["funder_id"], c["may_upload"]) for c in replies] == [
        ("kbis", None, False), ("invoice", "f1", False)]
    assert [c["may_upload"] for c in handlers.list_categories(db, ORG)] == [True, True]


def test_funder_staff_add_a_category_whose_code_is_free():
    db = database(categories=[KBIS])
    request = NewCategory(code="cpf_ptp", label="CPF PTP", upload_roles=[Role.organisation_user],
                          content_types=["application/pdf"], max_size=1000)
    reply = handlers.create_category(db, ports(), AGENT, request)
    assert (reply["code"], reply["funder_id"]) == ("cpf_ptp", "f1")
    assert db.repositories["categories"].get("f1", "cpf_ptp").created_at == FakeClock().now
    with pytest.raises(Conflict) as refused:
        handlers.create_category(db, ports(), AGENT, request.model_copy(update={"code": "kbis"}))
    assert refused.value.code == "category_exists"


# ---- uploads ------------------------------------------------------------------------------

def upload_request(**fields) -> dict:
    return NewUpload(**{"category": "kbis", "filename": "../kbis.pdf",
                        "content_base64": b64(pdf_bytes()), **fields}).model_dump(mode="json")


def signed_upload() -> dict:
    """Method 1's evidence: the signed draft, scanned, for February."""
    return upload_request(category="signed_certificate", dossier_id="d1",
                          period_start="2026-02-01", period_end="2026-02-28",
                          content_base64=b64(scanned_pdf()))


def test_the_hours_right_deposits_the_signed_certificate_and_nothing_else():
    """Seed 002: method 1 (print, sign, deposit) needs only the hours right."""
    hours_only = actor(user_id="u-hours", rights=["enter_hours"])
    db, fakes = database(categories=[KBIS, SIGNED]), ports(dossier_reply())
    with pytest.raises(Forbidden) as refused:
        handlers.upload(db, fakes, hours_only, upload_request())
    assert (refused.value.code, refused.value.details) == ("missing_right",
                                                           {"right": "documents"})
    with pytest.raises(Forbidden):  # neither right: not even the signed certificate
        handlers.upload(db, fakes, actor(rights=[]), signed_upload())
    receipt = handlers.upload(db, fakes, hours_only, signed_upload())
    assert stored(db, receipt["document_id"]).category == "signed_certificate"


def test_an_upload_is_stored_published_and_kept_as_the_reply():
    db, fakes = database(categories=[KBIS]), ports(dossier_reply())
    receipt = handlers.upload(db, fakes, ORG, upload_request(dossier_id="d1"))
    document = stored(db, receipt["document_id"])
    assert (document.filename, document.dossier_number, document.employer_id) == (
        "kbis.pdf", "20X000703", "e1")
    assert fakes.files.get(receipt["sha256"]) == pdf_bytes()
    [event] = db.events("document_uploaded")
    assert (event.document_id, event.uploaded_by) == (document.id, ORG.user_id)


def test_a_refused_upload_leaves_no_row_no_file_no_event():
    db, fakes = database(categories=[KBIS]), ports(dossier_reply(funder_id="f2"))
    with pytest.raises(InvalidInput) as refused:
        handlers.upload(db, fakes, ORG, upload_request(content_base64=b64(b"junk")))
    assert refused.value.code == "unsupported_file_type"
    with pytest.raises(NotFound) as refused:  # a dossier of another funder
        handlers.upload(db, fakes, ORG, upload_request(dossier_id="d1"))
    assert refused.value.code == "dossier_not_found"
    with pytest.raises(NotFound):
        handlers.upload(db, fakes, ORG, upload_request(category="unknown"))
    assert (db.repositories["documents"].items, fakes.files.blobs, db.published) == ({}, {}, [])


# ---- reading ------------------------------------------------------------------------------

def test_listing_opens_on_unattached_documents_and_searches_the_rest():
    on_dossier = deposited("doc-2", dossier_id="d1", dossier_number="20X000703",
                           beneficiary_id="b1")
    invoice = deposited("doc-3", category="invoice", label="Pièce")
    db = database(categories=[KBIS, category("invoice", label="Facture")],
                  documents=[deposited(), on_dossier, invoice])
    assert [d["id"] for d in handlers.list_documents(db, ORG)] == ["doc-1", "doc-3"]
    assert [d["id"] for d in handlers.list_documents(db, ORG, query="20x0007")] == ["doc-2"]
    assert [d["id"] for d in handlers.list_documents(db, ORG, query="FACT")] == ["doc-3"]
    assert [d["id"] for d in handlers.list_documents(db, ORG, dossier_id="d1")] == ["doc-2"]
    assert handlers.list_documents(db, OTHER_ORG) == []


def test_a_dossier_s_documents_by_category_in_label_order():
    db = database(categories=[KBIS, LOGO], documents=[
        deposited(dossier_id="d1"), deposited("doc-2", category="logo", dossier_id="d1"),
        deposited("doc-3", dossier_id="d2")])
    groups = handlers.documents_by_category(db, ORG, "d1")
    assert [(g["category_label"], [d["id"] for d in g["documents"]]) for g in groups] == [
        ("Extrait KBIS", ["doc-1"]), ("Logo", ["doc-2"])]


def test_a_document_reads_as_its_viewer_sees_it_and_outsiders_get_not_found():
    db = database(categories=[KBIS], documents=[deposited()])
    mine, theirs = handlers.get_document(db, ORG, "doc-1"), handlers.get_document(db, AGENT,
                                                                                   "doc-1")
    assert (mine["status_label"], mine["can_delete"], mine["category_label"]) == (
        "Déposé par vous", True, "Extrait KBIS")
    assert (theirs["status_label"], theirs["can_modify"]) == ("Déposé", False)
    with pytest.raises(NotFound):
        handlers.get_document(db, OTHER_ORG, "doc-1")


def test_a_document_s_content_comes_from_the_file_store():
    fakes = ports()
    sha256 = fakes.files.put(pdf_bytes())
    db = database(categories=[KBIS], documents=[deposited(sha256=sha256)])
    reply = handlers.get_document_content(db, fakes, ORG, "doc-1")
    assert (reply["document"]["id"], reply["content_base64"]) == ("doc-1", b64(pdf_bytes()))
    with pytest.raises(NotFound):
        handlers.get_document_content(db, fakes, OTHER_FUNDER_AGENT, "doc-1")


# ---- the owner's changes ------------------------------------------------------------------

def test_the_owner_renames_and_recategorises_and_nobody_else_does():
    db = database(categories=[KBIS, category("bank_details", label="RIB")],
                  documents=[deposited()])
    reply = handlers.update_document(db, ORG, "doc-1",
                                     DocumentChange(label="KBIS 2026", category="bank_details"))
    assert (reply["label"], reply["category_label"]) == ("KBIS 2026", "RIB")
    with pytest.raises(Forbidden) as refused:
        handlers.update_document(db, AGENT, "doc-1", DocumentChange(label="x"))
    assert refused.value.code == "not_owner"
    assert stored(db, "doc-1").label == "KBIS 2026"


def test_a_rejected_document_replaced_is_deposited_again_and_published():
    db, fakes = database(categories=[KBIS], documents=[
        deposited(status=REJECTED, reason_code="illegible", reason_text="flou")]), ports()
    receipt = handlers.replace_document(db, fakes, ORG, "doc-1",
                                        Replacement(filename="net.pdf",
                                                    content_base64=b64(pdf_bytes(2))))
    document = stored(db, "doc-1")
    assert (document.status, document.filename, document.reason_code) == (
        DEPOSITED, "net.pdf", None)
    assert fakes.files.get(receipt["sha256"]) == pdf_bytes(2)
    assert [e.uploaded_by for e in db.events("document_uploaded")] == [ORG.user_id]


def test_a_checked_document_is_not_replaced_nor_deleted():
    db = database(categories=[KBIS], documents=[deposited(status=CHECKED, reviewed_at=EARLIER)])
    replacement = Replacement(filename="x.pdf", content_base64=b64(pdf_bytes()))
    for attempt in (lambda: handlers.replace_document(db, ports(), ORG, "doc-1", replacement),
                    lambda: handlers.delete_document(db, ORG, "doc-1")):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "document_checked"
    assert stored(db, "doc-1").sha256 == "a" * 64 and db.published == []


def test_the_owner_deletes_a_document():
    db = database(documents=[deposited()])
    with pytest.raises(Forbidden):
        handlers.delete_document(db, AGENT, "doc-1")
    handlers.delete_document(db, ORG, "doc-1")
    assert stored(db, "doc-1") is None


# ---- the funder's review ------------------------------------------------------------------

def test_funder_staff_check_a_deposit_and_its_owner_is_told():
    db, fakes = database(categories=[KBIS], documents=[deposited()]), ports()
    reply = handlers.check_document(db, fakes, AGENT, "doc-1")
    assert (reply["status"], stored(db, "doc-1").reviewed_at) == (CHECKED, fakes.clock.now)
    [event] = db.events("document_checked")
    assert (event.owner_user_id, event.owner_email, event.category_label, event.checked_by) == (
        ORG.user_id, "of@example.org", "Extrait KBIS", AGENT.user_id)
    with pytest.raises(Conflict) as refused:
        handlers.check_document(db, fakes, AGENT, "doc-1")
    assert refused.value.code == "document_already_checked"


def test_only_funder_staff_review():
    db = database(categories=[KBIS], documents=[deposited()])
    with pytest.raises(Forbidden):
        handlers.check_document(db, ports(), ORG, "doc-1")
    with pytest.raises(Forbidden):
        handlers.reject_document(db, ports(), ORG, "doc-1", Rejection(reason_code="other"))
    assert (stored(db, "doc-1").status, db.published) == (DEPOSITED, [])


def test_a_rejection_without_text_gives_the_reason_s_name():
    anonymous = actor(user_id="u-anonymous")  # no email on the account
    db = database(categories=[KBIS], documents=[deposited(by=anonymous)])
    reply = handlers.reject_document(db, ports(), AGENT, "doc-1",
                                     Rejection(reason_code="expired"))
    assert reply["status_label"] == "Non conforme : document périmé"
    [event] = db.events("document_rejected")
    assert (event.reason_code, event.reason_text, event.owner_email) == (
        "expired", "document périmé", None)


# ---- generated PDFs -----------------------------------------------------------------------

def test_a_draft_certificate_is_rendered_not_stored():
    db, fakes = database(), ports()
    facts = CertificateFacts.model_validate(
        {"dossier": dossier_facts(), "organisation": {"name": "Formations du Lac"},
         "month": "2026-09", "hours": {"training": "1", "internship": "0", "absence": "0"}})
    reply = handlers.render_certificate_draft(db, fakes, ORG, facts)
    assert reply["filename"] == "certificat-realisation-16-0-5756-2026-09-projet.pdf"
    assert fakes.renderer.calls[0][1]["draft"] is True
    assert db.repositories["documents"].items == {} and fakes.files.blobs == {}
    with pytest.raises(Forbidden):
        handlers.render_certificate_draft(db, fakes, OTHER_ORG, facts)


def test_an_attendance_sheet_is_stored_once_per_dossier_month():
    db, fakes = database(), ports()
    first = handlers.render_attendance_sheet(db, fakes, ORG, sheet())
    again = handlers.render_attendance_sheet(db, fakes, AGENT, sheet())
    assert first["document"]["id"] == again["document"]["id"]
    [document] = db.repositories["documents"].items.values()
    assert (document.category, document.month, document.status) == (
        pdfs.ATTENDANCE_SHEET, "2026-09", GENERATED)
    with pytest.raises(Forbidden):
        handlers.render_attendance_sheet(db, fakes, OTHER_ORG, sheet())


def test_an_attendance_sheet_whose_total_differs_from_the_month_s_hours_is_warned():
    db, fakes = database(), ports()
    differs = handlers.render_attendance_sheet(db, fakes, ORG, sheet(
        month_presence={"hours": "147", "certified": True}))
    [warning] = differs["document"]["warnings"]
    assert warning == {"code": "attendance_total_differs", "message": (
        "Le total de cette fiche de présence (10,50\u00a0h) diffère des heures de présence "
        "certifiées pour le mois (147,00\u00a0h).")}
    assert fakes.renderer.calls[-1][1]["total_differs"] == warning["message"]
    same = handlers.render_attendance_sheet(db, fakes, ORG, sheet(
        month_presence={"hours": "10.5", "certified": False}))
    assert same["document"]["warnings"] == []
    assert fakes.renderer.calls[-1][1]["total_differs"] is None


def test_a_remittance_advice_is_filed_from_payments_for_the_paying_funder_s_staff():
    db, fakes = database(categories=[REMITTANCE]), ports()
    reply = handlers.render_remittance_advice(db, fakes, AGENT, remittance(), "payments")
    assert (reply["label"], reply["category_label"], reply["status_label"]) == (
        "AVIS DE VIREMENT n° 107 du 23/08/2019", "Avis de virement", "Inscrit par votre AT Pro")
    for outsider, caller in ((ORG, "payments"), (OTHER_FUNDER_AGENT, "payments"),
                             (AGENT, "gateway"), (AGENT, None)):
        with pytest.raises(Forbidden):
            handlers.render_remittance_advice(db, fakes, outsider, remittance(), caller)
    again = handlers.render_remittance_advice(db, fakes, AGENT, remittance(), "payments")
    assert again["id"] == reply["id"]  # the payment's advice replaced, not duplicated
    assert len(db.repositories["documents"].items) == 1
    # The organisation finds it in its documents, under no dossier.
    assert [d["id"] for d in handlers.list_documents(db, ORG)] == [reply["id"]]


def test_a_remittance_advice_prints_the_funder_s_own_logo_only():
    funder_logo = deposited("logo-f", by=AGENT, category=pdfs.LOGO, organisation_id=None,
                            sha256="e" * 64)
    organisation_logo = deposited("logo-o", category=pdfs.LOGO, sha256="f" * 64)
    db = database(categories=[REMITTANCE], documents=[funder_logo, organisation_logo])
    fakes = ports()
    fakes.files.blobs.update({"e" * 64: b"funder logo", "f" * 64: b"organisation logo"})
    for logo_id, expected in (("logo-f", {"e" * 64: b"funder logo"}), ("logo-o", {}),
                              ("missing", {})):
        advice = remittance(payer={"name": "Transitions Pro", "logo_document_id": logo_id})
        handlers.render_remittance_advice(db, fakes, AGENT, advice, "payments")
        assert fakes.renderer.calls[-1][2] == expected


def test_a_credit_note_s_pro_forma_is_filed_with_the_organisation_from_payments():
    db, fakes = database(categories=[PRO_FORMA, REMITTANCE]), ports()
    reply = handlers.render_credit_note_pro_forma(db, fakes, AGENT, pro_forma(), "payments")
    assert (reply["label"], reply["category"], reply["category_label"], reply["status"],
            reply["status_label"], reply["filename"]) == (
        "FACTURE PRO FORMA AVOIR n° PRO-100 du 26/11/2026", "credit_note_pro_forma",
        "Facture pro forma avoir", "deposited_by_funder", "Inscrit par votre AT Pro",
        "pro-forma-avoir-PRO-100.pdf")
    [(template, context, images)] = fakes.renderer.calls
    assert (template, context["pro_forma_number"], images) == (
        "credit_note_pro_forma.html", "PRO-100", {})
    document = stored(db, reply["id"])
    assert fakes.files.get(document.sha256) == b"%PDF-1.7 credit_note_pro_forma.html"
    assert (document.organisation_id, document.dossier_id, document.uploaded_by) == (
        "o1", None, AGENT.user_id)
    # The organisation finds it among its documents, under no dossier, and by search.
    listed = handlers.list_documents(db, ORG)
    assert [(d["id"], d["status_label"], d["can_delete"]) for d in listed] == [
        (reply["id"], "Inscrit par votre AT Pro", False)]
    assert [d["id"] for d in handlers.list_documents(db, ORG, query="dubois")] == [reply["id"]]
    assert [d["id"] for d in handlers.list_documents(db, ORG, query="pro forma")] == [
        reply["id"]]
    assert handlers.list_documents(db, OTHER_ORG) == []
    assert handlers.get_document(db, ORG, reply["id"])["label"] == reply["label"]
    with pytest.raises(Forbidden):
        handlers.delete_document(db, ORG, reply["id"])


def test_only_payments_has_a_pro_forma_made_for_the_funder_s_staff():
    db, fakes = database(categories=[PRO_FORMA]), ports()
    for outsider, caller, code in (
            (ORG, "payments", "funder_staff_only"),
            (OTHER_FUNDER_AGENT, "payments", "not_allowed"),
            (AGENT, "gateway", "pro_forma_from_payments_only"),
            (AGENT, None, "pro_forma_from_payments_only")):
        with pytest.raises(Forbidden) as refused:
            handlers.render_credit_note_pro_forma(db, fakes, outsider, pro_forma(), caller)
        assert refused.value.code == code
    assert (fakes.renderer.calls, fakes.files.blobs, db.repositories["documents"].items) == (
        [], {}, {})


def test_a_pro_forma_edited_again_replaces_the_note_s_previous_one():
    db, fakes = database(categories=[PRO_FORMA]), ports()
    first = handlers.render_credit_note_pro_forma(db, fakes, AGENT, pro_forma(), "payments")
    again = handlers.render_credit_note_pro_forma(db, fakes, AGENT, pro_forma(), "payments")
    other = handlers.render_credit_note_pro_forma(
        db, fakes, AGENT, pro_forma(pro_forma_number="PRO-101", credit_note_id="cn101"),
        "payments")
    assert again["id"] == first["id"] and other["id"] != first["id"]
    assert len(db.repositories["documents"].items) == 2


def test_a_pro_forma_prints_the_funder_s_own_logo_only():
    funder_logo = deposited("logo-f", by=AGENT, category=pdfs.LOGO, organisation_id=None,
                            sha256="e" * 64)
    organisation_logo = deposited("logo-o", category=pdfs.LOGO, sha256="f" * 64)
    db = database(categories=[PRO_FORMA], documents=[funder_logo, organisation_logo])
    fakes = ports()
    fakes.files.blobs.update({"e" * 64: b"funder logo", "f" * 64: b"organisation logo"})
    for logo_id, expected in (("logo-f", {"e" * 64: b"funder logo"}), ("logo-o", {}),
                              ("missing", {})):
        request = pro_forma(payer={"name": "Transitions Pro", "logo_document_id": logo_id})
        handlers.render_credit_note_pro_forma(db, fakes, AGENT, request, "payments")
        assert fakes.renderer.calls[-1][2] == expected
        assert fakes.renderer.calls[-1][1]["payer"]["logo_url"] == (
            "jalon-file:" + "e" * 64 if expected else None)


def test_a_paper_copy_s_reference_is_verified():
    db, fakes = database(), ports()
    file_certificate(db, fakes, certified())
    [document] = db.repositories["documents"].items.values()
    typed = " " + document.verification_reference.lower() + " "
    assert handlers.verify_certificate(db, typed) == {
        "valid": True, "dossier_number": "16/0/5756", "month": "2026-09",
        "sha256": document.sha256, "issued_at": fakes.clock.now.isoformat().replace(
            "+00:00", "Z"), "superseded": False, "superseded_at": None, "superseded_reason": None}
    assert handlers.verify_certificate(db, "JAL-AAAAAAAAAAAA")["valid"] is False
    assert handlers.verify_certificate(db, "not a reference")["valid"] is False


def test_the_certificate_facts_come_from_the_event():
    facts = handlers.facts_from_event(certified(employer=None))
    assert (facts.dossier.beneficiary.name, facts.dossier.employer, facts.month) == (
        "DUBOIS Michelle", None, "2026-09")
