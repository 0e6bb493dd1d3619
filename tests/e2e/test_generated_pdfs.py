"""Attendance sheet and remittance advice through the gateway: rendered, stored, readable back,
and only by whom may ask for them."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from tests.support.gateway import month_shift

pytestmark = pytest.mark.e2e


def pdf_text(client, document_id: str) -> str:
    response = client.get(f"/documents/{document_id}/content")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_attendance_sheet_is_built_on_the_dossiers_own_facts(funder_admin, dossier):
    org = dossier["organisation"]
    month_day = month_shift(date.today(), -1)
    month = month_day.strftime("%Y-%m")
    path = f"/dossiers/{dossier['id']}/certificates/{month}/attendance-sheet"
    days = [{"day": month_day.isoformat(), "morning": "3,5", "afternoon": "3.50"},
            {"day": (month_day + timedelta(days=1)).isoformat(), "morning": "4", "afternoon": "0"}]

    created = org.post(path, json={"granularity": "half_day", "days": days})
    assert created.status_code == 201, created.text
    sheet = created.json()
    assert sheet["category"] == "attendance_sheet" and sheet["status"] == "generated"
    text = pdf_text(org, sheet["id"])
    assert "DUBOIS Michelle" in text and "1ERE ANNEE PHARMACIE" in text
    assert month_day.strftime("%d/%m/%Y") in text and "3,50" in text

    outside = org.post(path, json={"granularity": "half_day", "days": [
        {"day": month_shift(date.today(), -5).isoformat(), "morning": "1", "afternoon": "1"}]})
    assert outside.status_code == 422 and outside.json()["code"] == "day_outside_session"
    mixed = org.post(path, json={"granularity": "day", "days": [
        {"day": month_day.isoformat(), "morning": "1"}]})
    assert mixed.status_code == 422
    # The funder does not draw up the organisation's attendance sheets.
    assert funder_admin.post(path, json={"granularity": "day", "days": [
        {"day": month_day.isoformat(), "hours": "7"}]}).status_code == 403


def test_remittance_advice_is_issued_by_the_funder_and_read_by_the_organisation(
        funder_admin, dossier):
    facts = funder_admin.get(f"/dossiers/{dossier['id']}").json()
    request = {
        "payment_number": "107", "payment_date": "2019-08-23",
        "funder_id": facts["funder_id"], "organisation_id": facts["organisation_id"],
        "organisation_name": facts["organisation_name"], "dossier_id": facts["id"],
        "dossier_numbers": [facts["number"]],
        "beneficiary": {"id": facts["beneficiary"]["id"], "name": facts["beneficiary"]["name"]},
        "periods": [{"start": "2019-07-01", "end": "2019-07-31"}],
        "hours_paid": "147,00", "amount": "10503.34", "advance": False,
    }
    org = dossier["organisation"]
    assert org.post("/remittance-advices", json=request).status_code == 403

    issued = funder_admin.post("/remittance-advices", json=request)
    assert issued.status_code == 201, issued.text
    advice = issued.json()
    assert advice["category"] == "remittance_advice"
    text = pdf_text(org, advice["id"])
    assert "AVIS DE VIREMENT n° 107 du 23/08/2019" in text
    assert f"Dossier {facts['number']} (période du 01/07/2019 au 31/07/2019)" in text
    assert "10 503,34 €" in text
