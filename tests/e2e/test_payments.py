"""Payments through the gateway on the real stack: record and import, the organisation's
grouped list, the Excel export read back with openpyxl, the reconciliation mark, the month
unlock, bank details with the RIB and the credit-note mode (issue 6, seeds 000 and 004)."""
from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.support.gateway import certify_by_event, exported, month_shift, payment

pytestmark = pytest.mark.e2e
IBAN = "FR76 1382 5002 0008 0146 3722 518"


@pytest.fixture(scope="module")
def paid(stack, funder_admin, dossier):
    """The seed's September and August: 3 567,20 + 2 802,80 on the 20th, 4 133,34 on the 3rd,
    5 424,93 on 23 August; two recorded one by one, two imported. Each pays 35,5 h of the
    month before last, certified first (140 h), but the advance."""
    certify_by_event(stack, dossier, month_shift(date.today(), -2).strftime("%Y-%m"), "140")
    suffix = uuid.uuid4().hex[:5]
    numbers = [f"{n}-{suffix}" for n in ("113", "114", "108", "107")]
    first = funder_admin.post("/payments", json=payment(numbers[0], dossier, "2019-09-20",
                                                         "3 567,20"))
    assert first.status_code == 201, first.text
    second = funder_admin.post("/payments", json=payment(numbers[1], dossier, "2019-09-20",
                                                          "2802.80"))
    assert second.status_code == 201, second.text
    batch = {"payments": [payment(numbers[2], dossier, "2019-09-03", "4133,34"),
                          payment(numbers[3], dossier, "2019-08-23", "5424.93", advance=True)]}
    report = funder_admin.finished_job(funder_admin.post("/payments/import", json=batch))
    assert report["summary"]["created"] == 2, report
    again = funder_admin.post("/payments/import", json=batch)  # recognised: nothing redone
    assert (again.status_code, again.json()["id"], again.json()["resubmitted"]) == (
        200, report["id"], True)
    return {"numbers": numbers, "first": first.json()}


def test_recorded_payment_has_its_remittance_advice(paid, dossier):
    org = dossier["organisation"]
    first = paid["first"]
    assert (first["status"], first["amount"]) == ("issued", "3567.20")
    seen = org.get(f"/payments/{first['id']}")
    assert seen.status_code == 200 and seen.json()["lines"][0]["beneficiary_name"] == "DUBOIS"
    advice = org.get(f"/documents/{first['remittance_document_id']}")
    assert advice.status_code == 200, advice.text
    assert advice.json()["category"] == "remittance_advice"


def test_the_list_is_grouped_with_the_seeds_totals_and_searchable(paid, dossier):
    org = dossier["organisation"]
    listed = org.get("/payments", params={"start": "2019-08-01", "end": "2019-09-30"})
    assert listed.status_code == 200, listed.text
    months = listed.json()["months"]
    assert [(m["label"], m["total_label"]) for m in months] == [
        ("septembre 2019", "10\u00a0503,34\u00a0€"), ("août 2019", "5\u00a0424,93\u00a0€")]
    assert [d["total"] for d in months[0]["dates"]] == ["6370.00", "4133.34"]
    row = months[0]["dates"][0]["dossiers"][0]["rows"][0]
    assert (row["beneficiary_name"], row["beneficiary_first_name"], row["training_title"],
            row["hours_paid"]) == ("DUBOIS", "Michelle", "1ERE ANNEE PHARMACIE", "35.50")
    one = org.get("/payments", params={"payment_number": paid["numbers"][2]}).json()
    assert one["rows"] == 1 and one["total"] == "4133.34"
    assert org.get("/payments", params={"dossier_number": "INCONNU"}).json()["rows"] == 0


def test_the_export_reads_back_typed_and_grouped(paid, dossier):
    org = dossier["organisation"]
    search = {"start": "2019-08-01", "end": "2019-09-30"}
    response = exported(org, search)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="reglements_2019-08-01_2019-09-30.xlsx"' in \
        response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows())
    assert rows[0][0].value == "Mois" and rows[0][10].value == "Montant"
    assert rows[0][11].value == "Sous-total"
    assert (rows[1][0].value, rows[1][10].value, rows[1][11].value) == (
        "septembre 2019", None, 10503.34)
    assert rows[1][11].number_format.endswith('"€"')
    assert rows[2][1].value == datetime(2019, 9, 20) and rows[2][11].value == 6370
    line = rows[3]
    assert line[1].is_date and line[1].number_format == "DD/MM/YYYY"
    assert isinstance(line[10].value, float) and line[7].value == 35.5
    lines = [r for r in rows[1:] if r[6].value]
    assert sorted(r[6].value for r in lines) == sorted(paid["numbers"])
    assert [r[12].value for r in lines].count("Oui") == 1  # the advance


def test_the_exports_amount_column_sums_to_its_grand_total(paid, dossier):
    """Issue 14: Excel's SUM over « Montant » tripled the total (subtotals sat in it)."""
    org = dossier["organisation"]
    search = {"start": "2019-08-01", "end": "2019-09-30"}
    sheet = load_workbook(io.BytesIO(exported(org, search).content)).active
    assert sheet.auto_filter.ref == f"A1:N{sheet.max_row - 1}"
    *_, total = sheet.iter_rows(values_only=True)
    column = sum(Decimal(str(cell.value)) for (cell,) in sheet.iter_rows(
        min_row=2, min_col=11, max_col=11) if cell.value is not None)
    listed = Decimal(org.get("/payments", params=search).json()["total"])
    assert total[0] == "Total général"
    assert column == Decimal(str(total[11])) == listed == Decimal("15928.27")
    number = sheet.cell(4, 3).value
    one = exported(org, {**search, "dossier_number": number})
    assert f'filename="reglements_2019-08-01_2019-09-30_{number}.xlsx"' in \
        one.headers["Content-Disposition"]


def test_reconciliation_mark_by_the_organisation(paid, dossier, funder_admin):
    org, payment_id = dossier["organisation"], paid["first"]["id"]
    ticked = org.put(f"/payments/{payment_id}/reconciliation", json={"reconciled": True})
    assert ticked.status_code == 200, ticked.text
    assert ticked.json()["reconciled"] is True and ticked.json()["reconciled_at"]
    assert funder_admin.put(f"/payments/{payment_id}/reconciliation",
                            json={"reconciled": True}).status_code == 403
    assert funder_admin.get(f"/payments/{payment_id}").json()["reconciled"] is True


def test_the_funder_unlocks_a_locked_month(stack, dossier, funder_admin):
    org = dossier["organisation"]
    month = month_shift(date.today(), -3).strftime("%Y-%m")
    base = f"/dossiers/{dossier['id']}/certificates/{month}"
    certify_by_event(stack, dossier, month)
    assert org.post(f"{base}/payment-lock/unlock", json={"reason": "x"}).status_code == 403
    unlocked = funder_admin.post(f"{base}/payment-lock/unlock",
                                 json={"reason": "Heures à corriger"})
    assert unlocked.status_code == 200, unlocked.text
    lock = org.get(f"{base}/payment-lock").json()
    assert (lock["locked"], lock["unlock_reason"]) == (False, "Heures à corriger")
    again = funder_admin.post(f"{base}/payment-lock/unlock", json={"reason": "encore"})
    assert again.status_code == 409


def test_bank_details_with_the_rib_then_the_funders_decision(dossier, funder_admin):
    from weasyprint import HTML

    org, organisation_id = dossier["organisation"], dossier["organisation_id"]
    rib = org.post("/documents", data={"category": "bank_details"},
                   files={"file": ("rib.pdf", HTML(string="<p>RIB</p>").write_pdf())})
    assert rib.status_code == 201, rib.text
    base = f"/organisations/{organisation_id}"
    entry = {"iban": IBAN, "bic": "CEPAFRPP382", "invoicing": "self",
             "rib_document_id": rib.json()["document_id"]}
    bad = org.post(f"{base}/bank-details", json={**entry, "iban": IBAN[:-1] + "9"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_iban"
    submitted = org.post(f"{base}/bank-details", json=entry)
    assert submitted.status_code == 201, submitted.text
    version = submitted.json()["version"]
    decided = funder_admin.post(f"{base}/bank-details/review", json={
        "version": version, "decision": "rejected", "reason": "RIB manuscrit"})
    assert decided.status_code == 200, decided.text
    state = org.get(f"{base}/bank-details").json()
    assert (state["current"]["status_label"], state["current"]["rejection_reason"]) == (
        "Refusé", "RIB manuscrit")
    mode = org.put(f"{base}/credit-note-mode", json={"mode": "deduction"})
    assert mode.status_code == 200, mode.text
    assert funder_admin.get(f"{base}/credit-note-mode").json()["mode"] == "deduction"
