"""Issue 14: what a payment line may pay. Its dossier and period (check_payment), its months'
certified hours minus what earlier lines paid (paid_hours), advances needing neither."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from contracts.common.errors import Conflict, InvalidInput
from services.payments import handlers
from services.payments.domain import paid_hours, payments
from tests.support.payments import (a_dossier, a_lock, certified_locks, fake_ports,
                                    new_payment_payload, payments_database, staff)

AUGUST = (date(2019, 8, 1), date(2019, 8, 31))
SUMMER = (date(2019, 8, 1), date(2019, 9, 30))


def line(hours: str, period=AUGUST, kind=payments.PAYMENT, dossier_id="d1"):
    return payments.LineInput(dossier_id, Decimal(hours), *period, Decimal("10.00"), kind)


def lock(month: str, training="100.00", internship="20.00", locked=True):
    found = a_lock("d1", month)
    found.training_hours, found.internship_hours = Decimal(training), Decimal(internship)
    found.locked = locked
    return found


def paid(hours: str, *months: str):
    return paid_hours.PaidLine("d1", months, Decimal(hours))


def codes(problems):
    return [(p.line, p.code) for p in problems]


def test_a_line_pays_at_most_its_month_s_training_and_internship_hours_left():
    locks = [lock("2019-08")]
    assert paid_hours.check_certified([line("120")], locks, []) == []
    [problem] = paid_hours.check_certified([line("50")], locks, [paid("80", "2019-08")])
    assert (problem.line, problem.code, problem.field) == (0, "hours_exceed_certified",
                                                          "lines.0.hours_paid")
    assert problem.details == {"month": "2019-08", "months": ["2019-08"],
                               "certified": "120.00", "already_paid": "80.00",
                               "asked": "50"}
    assert "120,00" in problem.message and "août 2019" in problem.message


def test_lines_of_the_same_payment_add_up():
    problems = paid_hours.check_certified([line("70"), line("70")], [lock("2019-08")], [])
    assert codes(problems) == [(1, "hours_exceed_certified")]


def test_a_month_not_locked_now_is_not_certified():
    problems = paid_hours.check_certified(
        [line("10", SUMMER)], [lock("2019-08"), lock("2019-09", locked=False)], [])
    assert codes(problems) == [(0, "month_not_certified")]
    assert problems[0].details == {"month": "2019-09"}


def test_an_unlocked_month_keeps_what_was_paid_on_it():
    earlier = [paid("150", "2019-08", "2019-09")]
    relocked = [lock("2019-08"), lock("2019-09")]
    unlocked = [lock("2019-08", locked=False), lock("2019-09")]
    september = line("90", (date(2019, 9, 1), date(2019, 9, 30)))
    assert paid_hours.check_certified([september], relocked, earlier) == []
    assert paid_hours.check_certified([september], unlocked, earlier) == []
    assert codes(paid_hours.check_certified([line("1")], relocked, earlier)) == [
        (0, "hours_exceed_certified")]


def test_a_multi_month_line_fills_its_months_in_order():
    locks = [lock("2019-08"), lock("2019-09")]
    # 150 h over both months: August takes 120, September 30; September has 90 left.
    earlier = [paid("150", "2019-08", "2019-09")]
    assert paid_hours.check_certified([line("90", (date(2019, 9, 1), date(2019, 9, 30)))],
                                      locks, earlier) == []
    assert codes(paid_hours.check_certified([line("1")], locks, earlier)) == [
        (0, "hours_exceed_certified")]
    [problem] = paid_hours.check_certified([line("91", SUMMER)], locks, earlier)
    assert (problem.details["certified"], problem.details["already_paid"]) == ("240.00",
                                                                               "150.00")


def test_an_advance_needs_no_certification_and_takes_no_hours():
    advance = line("500", SUMMER, payments.ADVANCE)
    assert paid_hours.check_certified([advance, line("120")], [lock("2019-08")], []) == []


def test_refused_hours_are_a_conflict_naming_the_line():
    problems = paid_hours.check_certified([line("1", dossier_id="d2")], [], [])
    conflict = paid_hours.HoursRefused(problems).as_conflict()
    assert isinstance(conflict, Conflict) and conflict.code == "month_not_certified"
    assert conflict.details["line"] == 0 and conflict.details["problems"][0]["month"] == "2019-08"


def test_a_period_outside_the_session_is_refused():
    facts = payments.DossierFacts("d1", "N-d1", "f1", "o1", "Formations du Lac", "DUBOIS",
                                  "Soudure", date(2019, 8, 5), date(2019, 12, 20))
    entry = payments.PaymentInput("1", date(2019, 9, 20), "o1", (line("10"),))
    [problem] = payments.check_payment(entry, "f1", {"d1": facts})
    assert (problem.line, problem.code) == (0, "period_outside_session")
    assert "05/08/2019" in problem.message


# ---- through the handlers ------------------------------------------------------------------

def test_a_payment_beyond_the_certified_hours_writes_nothing():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    payload = new_payment_payload("113", dossier)
    payload["lines"][0]["hours_paid"] = "294,5"  # 2 × 147 certified
    with pytest.raises(Conflict) as refused:
        handlers.record_payment(db, ports, staff(), payload)
    assert refused.value.code == "hours_exceed_certified"
    assert refused.value.details["problems"][0]["already_paid"] == "0.00"
    assert db.repositories["payments"].stored == {} and db.published == []


def test_an_uncertified_month_is_refused_unless_the_line_is_an_advance():
    dossier = a_dossier()
    db, ports = payments_database(), fake_ports(dossier)
    with pytest.raises(Conflict) as refused:
        handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    assert (refused.value.code, refused.value.details["line"]) == ("month_not_certified", 0)
    payload = new_payment_payload("113", dossier)
    payload["lines"][0]["kind"] = "advance"
    paid = handlers.record_payment(db, ports, staff(), payload)
    assert paid["advance"] and paid["lines"][0]["kind"] == "advance"
    [issued] = db.events("payment_issued")
    assert issued.advance and issued.dossiers == []


def test_the_advance_flag_makes_every_line_an_advance():
    dossier = a_dossier()
    db, ports = payments_database(), fake_ports(dossier)
    payload = {**new_payment_payload("113", dossier), "advance": True}
    assert handlers.record_payment(db, ports, staff(), payload)["lines"][0]["kind"] == "advance"
    payload["lines"][0]["kind"] = "payment"
    with pytest.raises(InvalidInput):
        handlers.record_payment(db, ports, staff(), {**payload, "number": "114"})


def test_only_the_payment_lines_months_close_for_entry():
    dossier, other = a_dossier(), a_dossier("20X000704")
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier, other)
    payload = new_payment_payload("113", dossier)
    payload["lines"].append({**payload["lines"][0], "dossier_id": other["id"],
                             "kind": "advance"})
    paid = handlers.record_payment(db, ports, staff(), payload)
    assert not paid["advance"]
    [issued] = db.events("payment_issued")
    assert not issued.advance
    assert [(d.dossier_id, d.months) for d in issued.dossiers] == [
        (dossier["id"], ["2019-08", "2019-09"])]


def test_an_import_reports_the_row_and_line_whose_hours_are_refused():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    too_much = new_payment_payload("I2", dossier)
    too_much["lines"][0]["hours_paid"] = "280"  # 294 certified, 35.5 paid by I1
    job = handlers.import_payments(db, staff(), {"payments": [
        new_payment_payload("I1", dossier), too_much, new_payment_payload("I3", dossier)]})
    report = db.repositories["jobs"].run(job["id"],
                                         lambda step: handlers.run_import(db, ports, step))
    assert [r["result"] for r in report["items"]] == ["created", "error", "created"]
    [problem] = report["items"][1]["problems"]
    assert (problem["code"], problem["line"], problem["details"]["already_paid"]) == (
        "hours_exceed_certified", 0, "35.50")
