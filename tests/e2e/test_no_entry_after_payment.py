""""No entry after payment", end to end through the gateway (issue 13, seed 001): funder staff
record a payment for certified months (POST /payments → payment_issued → certification), and
those months take no more hours; an advance closes nothing, so its month, once reopened, takes
hours again."""
from __future__ import annotations

import calendar
import uuid
from datetime import date

import pytest

from tests.support.gateway import certified_month
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e
# Seed 001's status, as issue 13 words it (the seed: "ont été fait dans la période").
CLOSED_LABEL = "La saisie n'est plus disponible car des règlements ont été effectués"


def record_payment(world, first: date, advance: bool) -> dict:
    """Funder staff record a payment of the dossier's hours of the month beginning `first`."""
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    recorded = world["funder"].post("/payments", json={
        "number": f"R-{uuid.uuid4().hex[:8]}", "payment_date": date.today().isoformat(),
        "organisation_id": world["organisation_id"], "advance": advance,
        "lines": [{"dossier_id": world["dossier_id"], "hours_paid": "70",
                   "period_start": first.isoformat(), "period_end": last.isoformat(),
                   "amount": "1 050,00"}]})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["status"] == "issued"
    return recorded.json()


def status_of(world, url: str) -> str:
    return world["org"].get(url).json()["status"]


def test_a_payment_closes_its_certified_month_but_an_advance_leaves_it_open(world):
    org, funder = world["org"], world["funder"]
    advanced, advanced_url = certified_month(world, 3)
    paid, paid_url = certified_month(world, 2)

    record_payment(world, advanced, advance=True)
    payment = record_payment(world, paid, advance=False)
    # Both payments went out in this order: once the second closed its month, the advance
    # was handled too.
    eventually(lambda: status_of(world, paid_url) == "closed_by_payment",
               message="the payment closes its month")

    closed = org.get(paid_url).json()
    assert (closed["status_label"], closed["closed_by_payment_number"]) == (
        CLOSED_LABEL, payment["number"])
    listed = {c["month"]: c for c in org.get(world["base"]).json()}
    assert listed[paid.strftime("%Y-%m")]["status_label"] == CLOSED_LABEL
    # Neither the organisation's change nor the funder's reopening gets through a payment.
    changed = org.put(f"{paid_url}/hours", json={
        "training_hours": "63", "internship_hours": "0", "absence_hours": "7"})
    assert changed.status_code == 409, changed.text
    assert (changed.json()["code"], changed.json()["detail"]) == (
        "month_closed_by_payment", CLOSED_LABEL + ".")
    reopened = funder.post(f"{paid_url}/reopen", json={"reason": "Absences à corriger"})
    assert reopened.status_code == 409 and reopened.json()["code"] == "month_closed_by_payment"
    assert org.get(paid_url).json()["training_hours"] == "70.00"

    # The advance closed nothing: the certified month waits for a reopening, as any other,
    # then takes hours again (seed 001: "sauf dans le cas d'une avance").
    assert status_of(world, advanced_url) == "certified"
    reopened = funder.post(f"{advanced_url}/reopen", json={"reason": "Absences à corriger"})
    assert reopened.status_code == 200, reopened.text
    changed = org.put(f"{advanced_url}/hours", json={
        "training_hours": "63", "internship_hours": "0", "absence_hours": "7"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["status"], changed.json()["training_hours"]) == (
        "hours_entered", "63.00")
