"""Issue 14 through the gateway: what a payment may pay (its dossier, its period within the
session, certified hours not paid yet), advances needing no certification and leaving the
month open, the import's row report, and who reads the organisation's IBAN."""
from __future__ import annotations

import calendar
import uuid
from datetime import date
from decimal import Decimal

import pytest

from tests.support.gateway import certify_by_event, hours_only_user, month_shift
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e


def month(months_ago: int) -> str:
    return month_shift(date.today(), -months_ago).strftime("%Y-%m")


def line(dossier: dict, months_ago: int, hours: str, kind: str | None = None) -> dict:
    """A line paying `hours` of the whole month `months_ago` months back (of its kind, if
    given)."""
    first = month_shift(date.today(), -months_ago)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return {"dossier_id": dossier["id"], "hours_paid": hours, "period_start": first.isoformat(),
            "period_end": last.isoformat(), "amount": "150,00",
            **({"kind": kind} if kind else {})}


def payment(dossier: dict, *lines: dict, **changes) -> dict:
    return {"number": f"C-{uuid.uuid4().hex[:8]}", "payment_date": date.today().isoformat(),
            "organisation_id": dossier["organisation_id"], "lines": list(lines), **changes}


def refused(response, status: int, code: str) -> dict:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    return response.json()["details"]


@pytest.fixture(scope="module")
def certified(stack, dossier):
    """Three months ago: 40 h certified; two months ago: 20 h."""
    certify_by_event(stack, dossier, month(3), "40")
    certify_by_event(stack, dossier, month(2), "20")


def test_each_refusal_has_its_code_and_writes_nothing(certified, dossier, funder_admin):
    unknown = {**line(dossier, 3, "1"), "dossier_id": str(uuid.uuid4())}
    cases = [
        (payment(dossier, line(dossier, 3, "1"), unknown), 422, "dossier_not_found", 1),
        (payment(dossier, line(dossier, 3, "1"), organisation_id=str(uuid.uuid4())), 422,
         "dossier_of_another_organisation", 0),
        (payment(dossier, line(dossier, 5, "1")), 422, "period_outside_session", 0),
        (payment(dossier, line(dossier, 1, "1")), 409, "month_not_certified", 0),
        (payment(dossier, line(dossier, 3, "41")), 409, "hours_exceed_certified", 0),
    ]
    for body, status, code, index in cases:
        details = refused(funder_admin.post("/payments", json=body), status, code)
        assert details["line"] == str(index)  # RPC errors' details travel as text
        assert funder_admin.get("/payments", params={
            "payment_number": body["number"]}).json()["rows"] == 0


def test_a_second_payment_may_not_pay_more_than_is_left(certified, dossier, funder_admin):
    first = funder_admin.post("/payments", json=payment(dossier, line(dossier, 3, "30")))
    assert first.status_code == 201, first.text
    details = refused(funder_admin.post("/payments", json=payment(
        dossier, line(dossier, 3, "10,5"))), 409, "hours_exceed_certified")
    [problem] = details["problems"]
    assert (problem["month"], Decimal(problem["certified"]), Decimal(problem["already_paid"]),
            Decimal(problem["asked"])) == (month(3), 40, 30, Decimal("10.5"))
    last = funder_admin.post("/payments", json=payment(dossier, line(dossier, 3, "10")))
    assert last.status_code == 201, last.text


def test_an_advance_needs_no_certification_and_leaves_its_month_open(
        certified, dossier, funder_admin):
    org = dossier["organisation"]
    paid = funder_admin.post("/payments", json=payment(
        dossier, line(dossier, 1, "70", "advance"), line(dossier, 2, "20")))
    assert paid.status_code == 201, paid.text
    assert [line["kind"] for line in paid.json()["lines"]] == ["advance", "payment"]
    base = f"/dossiers/{dossier['id']}/certificates"
    # The payment line closes its month; the same event left the advance's month open.
    eventually(lambda: org.get(f"{base}/{month(2)}").json()["status"] == "closed_by_payment")
    assert org.get(f"{base}/{month(1)}").json()["status"] != "closed_by_payment"
    entered = org.put(f"{base}/{month(1)}/hours", json={
        "training_hours": "7", "internship_hours": "0", "absence_hours": "0"})
    assert entered.status_code == 200, entered.text
    flagged = funder_admin.post("/payments", json=payment(
        dossier, line(dossier, 1, "7"), advance=True))  # the flag: every line an advance
    assert flagged.status_code == 201 and flagged.json()["advance"], flagged.text


def test_an_import_reports_the_bad_row_and_records_the_others(certified, dossier, funder_admin):
    rows = [payment(dossier, line(dossier, 1, "5", "advance")),
            payment(dossier, line(dossier, 1, "5", "advance"), line(dossier, 3, "41")),
            payment(dossier, line(dossier, 6, "5", "advance"))]
    report = funder_admin.finished_job(funder_admin.post("/payments/import",
                                                         json={"payments": rows}))
    assert [row["result"] for row in report["items"]] == ["created", "error", "error"]
    problems = [row["problems"][0] for row in report["items"][1:]]
    assert [(p["code"], p["line"]) for p in problems] == [
        ("hours_exceed_certified", 1), ("period_outside_session", 0)]
    assert funder_admin.get("/payments", params={
        "payment_number": rows[1]["number"]}).json()["rows"] == 0


def test_only_the_payments_right_and_the_funder_read_the_iban(stack, smtp_server, dossier,
                                                              funder_admin):
    org, organisation_id = dossier["organisation"], dossier["organisation_id"]
    url = f"/organisations/{organisation_id}/bank-details"
    clerk = hours_only_user(stack, smtp_server, org, organisation_id)
    details = refused(clerk.get(url), 403, "missing_right")
    assert details == {"right": "payments"}
    assert org.get(url).status_code == funder_admin.get(url).status_code == 200
