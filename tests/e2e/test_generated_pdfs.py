"""The attendance sheet through the gateway: rendered, stored, readable back, and only by whom
may ask for it (the remittance advice: test_remittance_advice.py)."""
from __future__ import annotations

import calendar
import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from tests.support.gateway import certified_month, month_shift

pytestmark = pytest.mark.e2e


def pdf_pages(client, document_id: str) -> list[str]:
    response = client.get(f"/documents/{document_id}/content")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/pdf")
    return [plain(page.extract_text()) for page in PdfReader(io.BytesIO(response.content)).pages]


def pdf_text(client, document_id: str) -> str:
    return " ".join(pdf_pages(client, document_id))


def plain(text: str) -> str:
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


def test_a_long_sheet_is_paged_with_whole_days_and_says_its_total_differs(world):
    first, url = certified_month(world, 2)  # 70 h certified
    days = [{"day": first.replace(day=day).isoformat(), "morning": "3,5", "afternoon": "3,5"}
            for day in range(1, calendar.monthrange(first.year, first.month)[1] + 1)]
    created = world["org"].post(f"{url}/attendance-sheet",
                                json={"granularity": "half_day", "days": days})
    assert created.status_code == 201, created.text
    total = f"{7 * len(days)},00 h"
    differs = (f"Le total de cette fiche de présence ({total}) diffère des heures de présence "
               f"certifiées pour le mois (70,00 h).")
    [warning] = created.json()["warnings"]
    assert (warning["code"], plain(warning["message"])) == ("attendance_total_differs", differs)

    pages = pdf_pages(world["org"], created.json()["id"])
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert "Jour Demi- journée Heures Signature du stagiaire" in text  # the header
        assert text.endswith(f"page {number} / {len(pages)}")
        whole = text.count(f"/{first:%m/%Y} Matin 3,50 h Après-midi 3,50 h")
        assert text.count("Matin") == text.count("Après-midi") == whole  # no day split
    assert sum(text.count("Matin") for text in pages) == len(days)
    assert [text.count("Total") for text in pages] == [0] * (len(pages) - 1) + [1]
    assert f"Total {total} {differs}" in pages[-1]

    matching = world["org"].post(f"{url}/attendance-sheet", json={
        "granularity": "half_day", "days": days[:10]})
    assert matching.status_code == 201 and matching.json()["warnings"] == []
    assert "diffère" not in pdf_text(world["org"], matching.json()["id"])
