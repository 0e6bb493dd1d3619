"""Method 1's evidence through the gateway: the unsigned draft deposited as the "signed"
certificate is refused; the scan of the printed, signed draft is accepted and certifies; a
deposit older than the hours' last change is refused, and the reference of the hours the
draft prints is the one the funder sees beside them."""
from __future__ import annotations

import calendar
import io
from datetime import date

import pytest
from pypdf import PdfReader

from tests.support.gateway import enter_month, letterhead_ready, month_shift
from tools.demo import scanned_pdf

pytestmark = pytest.mark.e2e


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def deposit(org, dossier_id: str, month: str, content: bytes):
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return org.post("/documents", data={
        "category": "signed_certificate", "dossier_id": dossier_id,
        "period_start": f"{month}-01", "period_end": f"{month}-{last:02d}"},
        files={"file": (f"certificat-signe-{month}.pdf", content, "application/pdf")})


def test_the_unsigned_draft_is_refused_and_the_scan_of_the_signed_draft_certifies(dossier):
    org, dossier_id = dossier["organisation"], dossier["id"]
    letterhead_ready(org, dossier["organisation_id"])
    month = month_shift(date.today(), -2).strftime("%Y-%m")
    url = f"/dossiers/{dossier_id}/certificates/{month}"
    enter_month(org, url, "35,5")
    draft = org.get(f"{url}/draft")
    assert draft.status_code == 200, draft.text

    refused = deposit(org, dossier_id, month, draft.content)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "signed_certificate_not_signed"
    assert "ni signature électronique ni page scannée" in refused.json()["detail"]
    nothing = org.post(f"{url}/certify", json={"attest": True})
    assert nothing.status_code == 409
    assert nothing.json()["code"] == "signed_certificate_required"

    scanned = deposit(org, dossier_id, month, scanned_pdf())
    assert scanned.status_code == 201, scanned.text
    certified = org.post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text
    assert (certified.json()["method"], certified.json()["certified_document_sha256"]) == (
        1, scanned.json()["sha256"])


def test_a_signed_certificate_older_than_the_hours_is_refused_and_the_reference_matches(
        dossier, funder_admin):
    org, dossier_id = dossier["organisation"], dossier["id"]
    letterhead_ready(org, dossier["organisation_id"])
    month = month_shift(date.today(), -1).strftime("%Y-%m")
    url = f"/dossiers/{dossier_id}/certificates/{month}"
    enter_month(org, url, "35,5")
    assert deposit(org, dossier_id, month, scanned_pdf()).status_code == 201
    assert org.post(f"{url}/certify", json={"attest": True}).status_code == 200
    reopened = funder_admin.post(f"{url}/reopen", json={"reason": "Absences à corriger"})
    assert reopened.status_code == 200, reopened.text
    enter_month(org, url, "28")

    outdated = org.post(f"{url}/certify", json={"attest": True})
    assert outdated.status_code == 409, outdated.text
    assert outdated.json()["code"] == "signed_certificate_outdated"
    assert "antérieur à la dernière modification des heures" in outdated.json()["detail"]

    reference = funder_admin.get(url).json()["hours_reference"]
    assert len(reference) == 6
    draft = org.get(f"{url}/draft")
    assert f"Référence des heures : {reference}" in pdf_text(draft.content)
    assert deposit(org, dossier_id, month, scanned_pdf()).status_code == 201
    certified = org.post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text
    seen = funder_admin.get(url).json()
    assert (seen["training_hours"], seen["hours_reference"]) == ("28.00", reference)
