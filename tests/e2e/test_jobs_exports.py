"""The hours import and the payments Excel export as jobs (issue 18, docs/jobs.md), through the
gateway on the real stack: 202 and where to follow it, the progress by phase, each row's
report, the same submission recognised, and the export's file read back with openpyxl."""
from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from tests.support.gateway import certify_by_event, month_shift, payment

pytestmark = pytest.mark.e2e

HEADER = ["N° dossier", "Mois", "Heures de présence en formation",
          "Heures de présence en stage", "Heures d'absence"]


def hours_sheet(*rows: tuple) -> bytes:
    book = Workbook()
    book.active.append(HEADER)
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def months_ago(count: int) -> str:
    return month_shift(date.today(), -count).strftime("%Y-%m")


@pytest.fixture(scope="module")
def number(dossier) -> str:
    return dossier["organisation"].get(f"/dossiers/{dossier['id']}").json()["number"]


def test_the_hours_import_is_a_job_with_a_report_per_row(dossier, number, funder_admin):
    org = dossier["organisation"]
    sheet = hours_sheet((number, months_ago(3), 70, 0, 0),
                        ("INCONNU-404", months_ago(1), 7, 0, 0),
                        (number, months_ago(1), "35,5", 0, "3,5"))
    upload = {"file": ("heures.xlsx", sheet)}
    submitted = org.post("/certificates/import", files=upload)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["Location"] == f"/jobs/{job['id']}"
    assert (job["kind"], job["phases"][0]["name"], job["phases"][0]["total"]) == (
        "certification.import_hours", "months", 3)
    report = org.finished_job(submitted)
    assert report["status"] == "succeeded", report
    assert report["phases"] == [{"name": "months", "done": 3, "total": 3}]
    assert report["summary"] == {"entered": 2, "errors": 1}
    assert [(item["row"], item["status"], item["code"]) for item in report["items"]] == [
        (2, "ok", None), (3, "error", "dossier_not_found"), (4, "ok", None)]
    entered = org.get(f"/dossiers/{dossier['id']}/certificates/{months_ago(1)}").json()
    assert (entered["training_hours"], entered["absence_hours"]) == ("35.50", "3.50")
    # The same rows again (another file name): that job, nothing entered twice.
    again = org.post("/certificates/import", files={"file": ("encore.xlsx", sheet)})
    assert (again.status_code, again.json()["id"], again.json()["resubmitted"]) == (
        200, job["id"], True)
    same = org.get(f"/dossiers/{dossier['id']}/certificates/{months_ago(1)}").json()
    assert same["version"] == entered["version"]
    listed = org.get("/jobs", params={"kind": "certification.import_hours"}).json()
    assert [found["id"] for found in listed] == [job["id"]]
    # What is refused at once stays a refusal, with its code: no job.
    assert funder_admin.post("/certificates/import", files=upload).status_code == 403
    unreadable = org.post("/certificates/import", files={"file": ("x.xlsx", b"%PDF-1.4")})
    assert (unreadable.status_code, unreadable.json()["code"]) == (422, "invalid_template")


def test_the_export_is_a_job_whose_file_opens_with_its_rows(stack, dossier, number,
                                                          funder_admin):
    org = dossier["organisation"]
    certify_by_event(stack, dossier, months_ago(2), "140")
    numbers = [f"EX{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for paid_number, day in zip(numbers, ("2019-09-20", "2019-09-03")):
        recorded = funder_admin.post("/payments", json=payment(paid_number, dossier, day,
                                                                "524,00"))
        assert recorded.status_code == 201, recorded.text
    search = {"dossier_number": number}
    submitted = org.post("/payments/exports", json=search)
    assert submitted.status_code == 202, submitted.text
    assert (submitted.json()["kind"], submitted.json()["phases"]) == (
        "payments.export", [{"name": "rows", "done": 0, "total": 2}])
    job = org.finished_job(submitted)
    assert job["status"] == "succeeded", job
    assert job["phases"] == [{"name": "rows", "done": 2, "total": 2}]
    assert job["summary"] == {"rows": 2}
    assert job["file"]["name"] == f"reglements_{number}.xlsx"
    download = org.get(job["file"]["url"])
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f'filename="reglements_{number}.xlsx"' in download.headers["Content-Disposition"]
    lines = written_lines(download.content)
    assert [(line[2], line[6], line[13]) for line in lines] == [
        (number, numbers[0], "Non"), (number, numbers[1], "Non")]
    # The same search while nothing changed: that job; once a payment is ticked, a new one.
    again = org.post("/payments/exports", json=search)
    assert (again.status_code, again.json()["id"]) == (200, job["id"])
    payment_id = org.get("/payments", params={"payment_number": numbers[0]}).json()[
        "months"][0]["dates"][0]["dossiers"][0]["rows"][0]["payment_id"]
    ticked = org.put(f"/payments/{payment_id}/reconciliation", json={"reconciled": True})
    assert ticked.status_code == 200, ticked.text
    renewed = org.post("/payments/exports", json=search)
    assert renewed.status_code == 202 and renewed.json()["id"] != job["id"]
    fresh = org.finished_job(renewed)
    assert [line[13] for line in written_lines(org.get(fresh["file"]["url"]).content)] == [
        "Oui", "Non"]
    # A search that is none is refused at once: no job.
    refused = org.post("/payments/exports", json={**search, "start": "pas une date"})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_body")


def written_lines(content: bytes) -> list[tuple]:
    """The payment lines of an exported workbook (month, date and total rows left out)."""
    sheet = load_workbook(io.BytesIO(content)).active
    return [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[6]]
