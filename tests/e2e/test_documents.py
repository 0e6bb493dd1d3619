"""Documents end to end, through the HTTP gateway only: uploads checked before anything is
stored, receipts, the lists, the funder's review (the owner emailed), what the uploader may
and may not do, another organisation's view, the draft and the verified final certificate."""
from __future__ import annotations

import hashlib
import io
import os
import uuid
from datetime import date
from email.header import decode_header, make_header

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter

from tests.support.gateway import letterhead_ready, month_shift, new_organisation, sign_month
from tools.client import Client
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e

GATEWAY_LIMIT = 20 * 1024 * 1024


def a_pdf(text_pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(text_pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def a_png(size=(64, 32), color=(200, 30, 60)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def noisy_png(side: int) -> bytes:
    """A PNG that compresses badly: megabytes for a modest number of pixels."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client: Client, filename: str, content: bytes, **fields):
    return client.post("/documents", files={"file": (filename, content)}, data=fields)


def receipt_of(response, content: bytes) -> dict:
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert receipt["size"] == len(content) and receipt["received_at"]
    return receipt


def problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()["code"]


def ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {document["id"] for document in response.json()}


def mails_to(smtp_server, address: str) -> list[str]:
    """Subject and text of every message sent to `address`."""
    found = []
    for message in smtp_server.emails():
        if message["To"] != address:
            continue
        subject = str(make_header(decode_header(message["Subject"])))
        parts = message.walk() if message.is_multipart() else [message]
        text = " ".join(part.get_payload(decode=True).decode(part.get_content_charset() or
                                                               "utf-8", "replace")
                        for part in parts if part.get_content_maintype() == "text")
        found.append(f"{subject}\n{text}")
    return found


@pytest.fixture(scope="module")
def org(dossier):
    return dossier["organisation"]


@pytest.fixture(scope="module")
def owner_email(org):
    return org.get("/me").json()["user"]["email"]


@pytest.fixture(scope="module")
def dossier_number(org, dossier):
    return org.get(f"/dossiers/{dossier['id']}").json()["number"]


@pytest.fixture(scope="module")
def deposits(org, dossier):
    """What the organisation deposits first: a KBIS (no dossier), a logo, an invoice of the
    dossier; with their bytes and receipts."""
    kbis, logo, invoice = a_pdf(), a_png(), a_pdf(2)
    return {
        "kbis": (kbis, receipt_of(upload(org, "kbis 2026.pdf", kbis, category="kbis"), kbis)),
        "logo": (logo, receipt_of(upload(org, "logo.png", logo, category="logo"), logo)),
        "invoice": (invoice, receipt_of(upload(org, "facture-12.pdf", invoice,
                                               category="invoice", dossier_id=dossier["id"],
                                               label="Facture n° 12"), invoice)),
    }


def test_categories_say_their_rules(org):
    categories = {c["code"]: c for c in org.get("/document-categories").json()}
    assert {"kbis", "consent_letter", "logo", "stamp", "signed_certificate",
            "attendance_sheet", "bank_details", "invoice", "training_programme",
            "other"} <= set(categories)
    assert categories["logo"]["content_types"] == ["image/png", "image/jpeg"]
    assert categories["kbis"]["may_upload"] is True


def test_funder_staff_add_a_category(funder_admin, org):
    code = f"convention_{uuid.uuid4().hex[:6]}"
    created = funder_admin.post("/document-categories", json={
        "code": code, "label": "Convention de formation", "instructions": "Signée.",
        "upload_roles": ["organisation_user"], "content_types": ["application/pdf"],
        "max_size": 1_000_000})
    assert created.status_code == 201, created.text
    assert code in {c["code"] for c in org.get("/document-categories").json()}
    assert problem(org.post("/document-categories", json=created.json()), 403)


def test_receipts_and_downloads_carry_the_hash(org, deposits):
    content, receipt = deposits["kbis"]
    assert receipt["filename"] == "kbis 2026.pdf" and receipt["category"] == "kbis"
    download = org.get(f"/documents/{receipt['document_id']}/content")
    assert download.status_code == 200 and download.content == content
    assert download.headers["X-Content-SHA256"] == receipt["sha256"]
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith(
        "attachment; filename=\"kbis 2026.pdf\"")
    document = org.get(f"/documents/{receipt['document_id']}").json()
    assert (document["status"], document["status_label"]) == ("deposited", "Déposé par vous")


def test_bad_files_are_refused_and_nothing_is_stored(org, deposits):
    before = ids(org.get("/documents"))
    fake_pdf = upload(org, "kbis.pdf", b"Ceci n'est pas un PDF, seulement du texte.\n" * 20,
                      category="kbis")
    assert problem(fake_pdf, 422) == "unsupported_file_type"
    broken_pdf = upload(org, "kbis.pdf", b"%PDF-1.7\n" + b"garbage" * 100, category="kbis")
    assert problem(broken_pdf, 422) == "unreadable_pdf"
    assert problem(upload(org, "logo.png", a_pdf(), category="logo"), 422)
    over_category = upload(org, "logo.png", noisy_png(1100), category="logo")  # > 2 MB
    assert problem(over_category, 422) == "file_too_large"
    over_gateway = upload(org, "big.pdf", b"%PDF-1.7\n" + b"0" * GATEWAY_LIMIT,
                          category="other", label="trop gros")
    assert problem(over_gateway, 413) == "payload_too_large"
    assert ids(org.get("/documents")) == before
    assert not {d["filename"] for d in org.get("/documents", params={"q": "kbis"}).json()} & {
        "kbis.pdf", "big.pdf"}


def test_default_list_search_and_grouped_by_category(org, dossier, dossier_number, deposits):
    kbis, logo, invoice = (deposits[name][1]["document_id"]
                           for name in ("kbis", "logo", "invoice"))
    default = ids(org.get("/documents"))
    assert {kbis, logo} <= default and invoice not in default
    assert invoice in ids(org.get("/documents", params={"q": dossier_number}))
    assert invoice in ids(org.get("/documents", params={"q": "Facture n° 12"}))
    assert kbis in ids(org.get("/documents", params={"q": "KBIS"}))
    by_dossier = ids(org.get(f"/dossiers/{dossier['id']}/documents"))
    assert invoice in by_dossier and kbis not in by_dossier
    groups = org.get(f"/dossiers/{dossier['id']}/documents/by-category")
    assert groups.status_code == 200, groups.text
    invoices = next(g for g in groups.json() if g["category"] == "invoice")
    assert invoices["category_label"] == "Facture"
    assert [d["id"] for d in invoices["documents"]] == [invoice]


def test_funder_checks_and_rejects_and_the_owner_is_told(funder_admin, org, deposits,
                                                         smtp_server, owner_email):
    kbis = deposits["kbis"][1]["document_id"]
    logo = deposits["logo"][1]["document_id"]
    assert problem(org.post(f"/documents/{kbis}/check"), 403)
    checked = funder_admin.post(f"/documents/{kbis}/check")
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "checked"
    assert checked.json()["status_label"].startswith("Contrôlé le ")
    rejected = funder_admin.post(f"/documents/{logo}/reject", json={
        "reason_code": "illegible", "reason_text": "Logo trop petit pour être imprimé"})
    assert rejected.status_code == 200, rejected.text
    seen = org.get(f"/documents/{logo}").json()
    assert (seen["status"], seen["reason_code"]) == ("rejected", "illegible")
    assert seen["status_label"] == "Non conforme : Logo trop petit pour être imprimé"

    def both_emailed():  # the review emails, not the account's credentials
        mails = [m for m in mails_to(smtp_server, owner_email) if m.startswith("Document")]
        return len(mails) >= 2 and mails
    mails = "\n".join(eventually(both_emailed))
    assert "Logo trop petit pour être imprimé" in mails


def test_the_uploader_renames_replaces_but_cannot_delete_a_checked_one(
        org, deposits, funder_admin):
    """Runs after the funder's review above: the KBIS is checked, the logo rejected."""
    kbis = deposits["kbis"][1]["document_id"]
    logo = deposits["logo"][1]["document_id"]
    renamed = org.patch(f"/documents/{logo}", json={"label": "Logo couleur"})
    assert renamed.status_code == 200 and renamed.json()["label"] == "Logo couleur"
    bigger = a_png((256, 128))
    replaced = org.put(f"/documents/{logo}/content", files={"file": ("logo-hd.png", bigger)})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["sha256"] == hashlib.sha256(bigger).hexdigest()
    after = org.get(f"/documents/{logo}").json()
    assert after["status"] == "deposited" and after["filename"] == "logo-hd.png"
    assert org.get(f"/documents/{logo}/content").content == bigger
    assert problem(org.delete(f"/documents/{kbis}"), 409) == "document_checked"
    assert org.get(f"/documents/{kbis}").status_code == 200
    invoice = deposits["invoice"][1]["document_id"]
    assert org.delete(f"/documents/{invoice}").status_code == 204
    assert org.get(f"/documents/{invoice}").status_code == 404


def test_a_funder_deposit_is_shown_but_not_the_organisations_to_touch(org, funder_admin):
    organisation_id = org.get("/me").json()["organisation"]["id"]
    rib = a_pdf()
    deposit = receipt_of(upload(funder_admin, "rib.pdf", rib, category="bank_details",
                                organisation_id=organisation_id), rib)
    shown = org.get(f"/documents/{deposit['document_id']}").json()
    assert (shown["status"], shown["status_label"]) == ("deposited_by_funder",
                                                        "Inscrit par votre AT Pro")
    assert problem(org.delete(f"/documents/{deposit['document_id']}"), 403) == "not_owner"
    assert deposit["document_id"] in ids(org.get("/documents"))


def test_another_organisation_sees_nothing(stack, smtp_server, funder_admin, org, deposits,
                                           dossier):
    _, intruder = new_organisation(stack, smtp_server, funder_admin, siret="55208131766522",
                                   name="Organisme Voisin")
    logo = deposits["logo"][1]["document_id"]
    assert intruder.get("/documents").json() == []
    assert intruder.get("/documents", params={"q": "logo"}).json() == []
    assert intruder.get(f"/documents/{logo}").status_code == 404
    assert intruder.get(f"/documents/{logo}/content").status_code == 404
    assert intruder.delete(f"/documents/{logo}").status_code in (403, 404)
    assert intruder.patch(f"/documents/{logo}", json={"label": "x"}).status_code in (403, 404)
    grouped = intruder.get(f"/dossiers/{dossier['id']}/documents/by-category")
    assert grouped.status_code in (403, 404) or all(not g["documents"] for g in grouped.json())


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_draft_then_final_certificate_and_its_verification(org, dossier):
    month = month_shift(date.today(), -2).strftime("%Y-%m")
    base = f"/dossiers/{dossier['id']}/certificates/{month}"
    entered = org.put(f"{base}/hours", json={"training_hours": "70,00",
                                             "internship_hours": "0", "absence_hours": "0"})
    assert entered.status_code == 200, entered.text
    draft = org.get(f"{base}/draft")
    assert draft.status_code == 200, draft.text
    assert draft.headers["Content-Type"] == "application/pdf"
    assert draft.headers["Content-Disposition"].startswith("attachment; filename=")
    assert draft.headers["X-Content-SHA256"] == hashlib.sha256(draft.content).hexdigest()
    assert "PROJET" in pdf_text(draft.content)

    # Method 1: the letterhead complete and the signed certificate deposited.
    letterhead_ready(org, dossier["organisation_id"])
    sign_month(org, dossier["id"], month)
    assert org.post(f"{base}/certify", json={"attest": True}).status_code == 200

    def final_certificate():
        found = [d for d in org.get(f"/dossiers/{dossier['id']}/documents").json()
                 if d["month"] == month and d["category"] == "completion_certificate"]
        return found and found[0]
    final = eventually(final_certificate)
    reference = final["verification_reference"]
    assert reference
    content = org.get(f"/documents/{final['id']}/content").content
    assert "PROJET" not in pdf_text(content)
    verified = Client(org.base_url).get(f"/verifications/{reference}")  # no token
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["valid"] is True and body["month"] == month
    assert body["sha256"] == final["sha256"] == hashlib.sha256(content).hexdigest()
    unknown = Client(org.base_url).get("/verifications/NOPE-0000")
    assert unknown.status_code == 404 or unknown.json()["valid"] is False
