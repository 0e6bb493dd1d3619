"""payments' use cases on in-memory repositories and fake neighbours: replies, what is stored,
which events are published (tests/support/payments.py)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound, \
    ServiceUnavailable
from contracts.events import CertificateReopenedV1, CertifiedV1, HoursTransmittedV1, MonthHours, \
    Party
from services.payments import handlers
from services.payments.domain import bank
from tests.support.fakes import FakeClock
from tests.support.payments import (FUNDER, IBAN, ORGANISATION, ORGANISATION_EMAIL, a_dossier,
                                    a_lock, a_payment, beneficiary, certified_locks, fake_ports,
                                    new_payment_payload, organisation_user, payments_database,
                                    staff)

NOW = FakeClock()()


# ---- month locks ----------------------------------------------------------------------------

def test_a_locked_month_is_shown_to_its_funder_and_organisation_only():
    dossier = a_dossier()
    db, ports = payments_database(locks=[a_lock(dossier["id"])]), fake_ports(dossier)
    for caller in (staff(), organisation_user()):
        lock = handlers.get_month_lock(db, ports, caller, dossier["id"], "2026-02")
        assert (lock["locked"], lock["training_hours"], lock["certificate_id"]) == (
            True, "147.00", "c1")
    for outsider in (organisation_user("o-other"), staff("f-other"), beneficiary()):
        with pytest.raises(NotFound):
            handlers.get_month_lock(db, ports, outsider, dossier["id"], "2026-02")


def test_a_month_never_locked_is_not_locked_for_those_the_dossiers_service_lets_see_it():
    dossier = a_dossier()
    db, ports = payments_database(), fake_ports(dossier)
    lock = handlers.get_month_lock(db, ports, organisation_user(), dossier["id"], "2026-03")
    assert (lock["locked"], lock["locked_at"]) == (False, None)
    with pytest.raises(NotFound):
        handlers.get_month_lock(db, ports, organisation_user("o-other"), dossier["id"],
                                "2026-03")


def test_locked_months_lists_the_months_locked_now_in_order():
    dossier = a_dossier()
    unlocked = a_lock(dossier["id"], "2026-01")
    unlocked.unlock("u-agent", "erreur", NOW)
    db = payments_database(locks=[a_lock(dossier["id"], "2026-03"), unlocked,
                                  a_lock(dossier["id"], "2025-12"), a_lock("other", "2026-02")])
    ports = fake_ports(dossier)
    assert handlers.locked_months(db, ports, organisation_user(), dossier["id"]) == [
        "2025-12", "2026-03"]
    with pytest.raises(NotFound):
        handlers.locked_months(db, ports, staff("f-other"), dossier["id"])


def test_locked_months_of_a_dossier_without_locks_ask_the_dossiers_service():
    dossier = a_dossier()
    db, ports = payments_database(), fake_ports(dossier)
    assert handlers.locked_months(db, ports, staff(), dossier["id"]) == []
    with pytest.raises(NotFound):
        handlers.locked_months(db, ports, organisation_user("o-other"), dossier["id"])


def test_staff_unlock_a_month_with_a_reason_and_month_unlocked_is_published():
    dossier = a_dossier()
    db, ports = payments_database(locks=[a_lock(dossier["id"])]), fake_ports(dossier)
    with pytest.raises(Forbidden):
        handlers.unlock_month(db, ports, organisation_user(), dossier["id"], "2026-02",
                              {"reason": "x"})
    assert db.published == []
    reply = handlers.unlock_month(db, ports, staff(), dossier["id"], "2026-02",
                                  {"reason": "Heures erronées"})
    assert (reply["locked"], reply["unlock_reason"]) == (False, "Heures erronées")
    [event] = db.events("month_unlocked")
    assert (event.dossier_id, event.reason, event.unlocked_by) == (
        dossier["id"], "Heures erronées", "u-agent")
    with pytest.raises(Conflict):
        handlers.unlock_month(db, ports, staff(), dossier["id"], "2026-02", {"reason": "encore"})
    with pytest.raises(NotFound):
        handlers.unlock_month(db, ports, staff(), dossier["id"], "2026-05", {"reason": "x"})


def certified(dossier_id: str, training: str = "147.00", certificate_id: str = "c1"
              ) -> CertifiedV1:
    return CertifiedV1(
        certificate_id=certificate_id, dossier_id=dossier_id, dossier_number="20X000703",
        funder_id=FUNDER, organisation_id=ORGANISATION, organisation_name="Formations du Lac",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="m@example.org"),
        employer=None, training_title="T", session_start=date(2026, 1, 1),
        session_end=date(2026, 6, 30), month="2026-02",
        hours=MonthHours(training=Decimal(training), internship=Decimal(0),
                         absence=Decimal("3.5")),
        method=1, certified_by="u1", certified_at=NOW)


def test_a_certified_month_is_locked_once_with_its_first_hours():
    db, ports = payments_database(), fake_ports()
    for event in (certified("d1"), certified("d1", "10.00", "c2")):
        with db.unit_of_work() as uow:
            handlers.lock_certified_month(uow, ports, event)
    lock = db.repositories["locks"].get("d1", "2026-02")
    assert (lock.locked, lock.training_hours, lock.certificate_id) == (
        True, Decimal("147.00"), "c1")
    [event] = db.events("month_locked")
    assert (event.certificate_id, event.hours.training) == ("c1", Decimal("147.00"))


def test_an_unlocked_month_is_locked_again_by_its_next_certification():
    unlocked = a_lock("d1")
    unlocked.unlock("u-agent", "erreur", NOW)
    db, ports = payments_database(locks=[unlocked]), fake_ports()
    with db.unit_of_work() as uow:
        handlers.lock_certified_month(uow, ports, certified("d1", "120.00", "c2"))
    assert db.repositories["locks"].get("d1", "2026-02").training_hours == Decimal("120.00")
    assert [e.certificate_id for e in db.events("month_locked")] == ["c2"]


def reopened(dossier_id: str) -> CertificateReopenedV1:
    return CertificateReopenedV1(
        certificate_id="c1", dossier_id=dossier_id, funder_id=FUNDER,
        organisation_id=ORGANISATION, month="2026-02", reason="Heures à corriger",
        reopened_by="agent-1", reopened_at=NOW)


def transmitted(dossier_id: str, certificate_id: str = "c1") -> HoursTransmittedV1:
    return HoursTransmittedV1(
        certificate_id=certificate_id, dossier_id=dossier_id, dossier_number="20X000703",
        funder_id=FUNDER, organisation_id=ORGANISATION, month="2026-02",
        hours=MonthHours(training=Decimal("147"), internship=Decimal(0), absence=Decimal(0)),
        status="certified", transmitted_by="agent-1", transmitted_at=NOW)


def test_a_reopened_month_is_released_without_month_unlocked():
    db = payments_database(locks=[a_lock("d1")])
    with db.unit_of_work() as uow:
        handlers.release_reopened_month(uow, reopened("d1"))
    lock = db.repositories["locks"].get("d1", "2026-02")
    assert (lock.locked, lock.unlock_reason) == (False, "Heures à corriger")
    assert db.published == []


def test_transmitted_hours_are_recorded_on_their_lock_once():
    db = payments_database(locks=[a_lock("d1")])
    for event in (transmitted("d1"), transmitted("d1", "c-other")):
        with db.unit_of_work() as uow:
            handlers.record_transmission(uow, event)
    lock = db.repositories["locks"].get("d1", "2026-02")
    assert (lock.transmitted_by, lock.transmitted_at) == ("agent-1", NOW)


@pytest.mark.parametrize("handle, event", [
    (handlers.record_transmission, transmitted("d1")),
    (handlers.release_reopened_month, reopened("d1")),
])
def test_an_event_overtaking_certified_is_retried_later(handle, event):
    db = payments_database()
    with pytest.raises(ServiceUnavailable) as exc, db.unit_of_work() as uow:
        handle(uow, event)
    assert exc.value.code == "month_not_locked_yet"


# ---- payments -------------------------------------------------------------------------------

def test_a_recorded_payment_is_issued_with_its_remittance_advice_once():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    paid = handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    assert (paid["amount"], paid["status"], paid["remittance_document_id"]) == (
        "10503.34", "issued", "doc-113-1")
    assert (paid["lines"][0]["beneficiary_name"], paid["lines"][0]["hours_paid"]) == (
        "DUBOIS", "35.50")
    [advice] = ports.documents.advices
    assert (advice["amount"], advice["lines"][0]["dossier_number"]) == ("10503.34", "20X000703")
    [issued] = db.events("payment_issued")
    assert [(d.dossier_id, d.months) for d in issued.dossiers] == [
        (dossier["id"], ["2019-08", "2019-09"])]
    with pytest.raises(Conflict) as exc:
        handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    assert exc.value.code == "payment_number_taken"


def test_only_funder_staff_record_payments_for_dossiers_they_see():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    with pytest.raises(Forbidden):  # before the payload is even read
        handlers.record_payment(db, ports, organisation_user(), {})
    with pytest.raises(InvalidInput) as exc:
        handlers.record_payment(db, ports, staff("f-other"), new_payment_payload("1", dossier))
    assert exc.value.code == "dossier_not_found"
    assert db.repositories["payments"].stored == {} and db.published == []


def test_a_number_recorded_concurrently_is_taken():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    db.repositories["payments"].taken_concurrently.add("113")
    with pytest.raises(Conflict) as exc:
        handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    assert exc.value.code == "payment_number_taken" and ports.documents.advices == []


def test_a_payment_whose_advice_fails_stays_processing_until_issued_again():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    ports.documents.down = True
    stuck = handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    assert stuck["status"] == "processing" and db.events("payment_issued") == []
    with pytest.raises(RuntimeError):
        handlers.issue_remittance_advice(db, ports, staff(), stuck["id"])
    ports.documents.down = False
    with pytest.raises(Forbidden):
        handlers.issue_remittance_advice(db, ports, organisation_user(), stuck["id"])
    assert handlers.issue_remittance_advice(db, ports, staff(), stuck["id"])["status"] == "issued"
    again = handlers.issue_remittance_advice(db, ports, staff(), stuck["id"])
    assert again["remittance_document_id"] == "doc-113-2"  # the PDF replaced, nothing else
    assert len(db.events("payment_issued")) == 1


def test_an_import_reports_each_row_and_a_reimport_changes_nothing():
    dossier, elsewhere = a_dossier(), a_dossier("21X000001", organisation="o-elsewhere")
    by_number = new_payment_payload("K1", dossier)
    by_number["lines"][0] = {**by_number["lines"][0], "dossier_id": None,
                             "dossier_number": "20X000703"}
    batch = {"payments": [new_payment_payload("I1", dossier), by_number,
                          new_payment_payload("BAD", elsewhere), {"number": "NOLINES"}]}
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier, elsewhere)
    report = imported(db, ports, batch)
    assert [r["result"] for r in report["items"]] == ["created", "created", "error", "error"]
    assert report["items"][2]["problems"][0]["code"] == "dossier_of_another_organisation"
    assert "lines" in [p["field"] for p in report["items"][3]["problems"]]
    assert len(db.events("payment_issued")) == 2
    again = imported(db, ports, batch)
    assert again["summary"] == {"created": 0, "unchanged": 2, "errors": 2,
                                "remittance_advices_issued": 0,
                                "remittance_advices_failed": 0}
    assert again["items"][0]["payment_id"] == report["items"][0]["payment_id"]
    with pytest.raises(Forbidden):
        handlers.import_payments(db, organisation_user(), batch)


def test_a_row_with_a_control_character_reports_its_number_escaped():
    """Refused whole, the row's report still says which it was, in a text a reply can hold
    (it was a reply that could not be written: the fuzz test found it)."""
    for number, shown in (("N\x1f1", "N\\x1f1"), ("N\u202e1", "N\\u202e1")):
        report = handlers._parse_row({"number": number, "lines": []})
        assert (report.result, report.number) == ("error", shown)
        problem = report.problems[0]
        assert problem.code == "invalid_field" and "caractère" in problem.message


def imported(db, ports, batch) -> dict:
    """POST /payments/import: submitted, then its job run to its end; the job's view. The job
    is then forgotten as past the re-submission window: the same batch again is a new job."""
    jobs = db.repositories["jobs"]
    job = handlers.import_payments(db, staff(), batch)
    done = jobs.run(job["id"], lambda step: handlers.run_import(db, ports, step))
    jobs.forget(job["id"])
    return done


def test_a_payment_is_seen_by_its_funder_and_organisation_only():
    payment = a_payment(a_dossier())
    db = payments_database(payments=[payment])
    assert handlers.get_payment(db, organisation_user(), payment.id)["number"] == "107"
    for outsider in (organisation_user("o-other"), staff("f-other"), beneficiary()):
        with pytest.raises(NotFound):
            handlers.get_payment(db, outsider, payment.id)
    with pytest.raises(Forbidden):
        handlers.get_payment(db, organisation_user(rights=["enter_hours"]), payment.id)


def test_the_organisation_ticks_and_unticks_a_payment_as_received():
    payment = a_payment(a_dossier())
    db, ports = payments_database(payments=[payment]), fake_ports()
    ticked = handlers.reconcile_payment(db, ports, organisation_user(), payment.id,
                                        {"reconciled": True})
    assert (ticked["reconciled"], ticked["reconciled_by"]) == (True, "u-claire")
    assert handlers.reconcile_payment(db, ports, organisation_user(), payment.id,
                                      {"reconciled": False})["reconciled"] is False
    with pytest.raises(Forbidden) as exc:
        handlers.reconcile_payment(db, ports, staff(), payment.id, {"reconciled": True})
    assert exc.value.code == "organisation_only"
    assert db.repositories["payments"].get(payment.id).reconciled_by == "u-claire"


# ---- the list and its export pages ----------------------------------------------------------

def seed_payments(dossier: dict) -> list:
    return [a_payment(dossier, number, amount, date.fromisoformat(day))
            for number, day, amount in (("113", "2019-09-20", "3567.20"),
                                        ("114", "2019-09-20", "2802.80"),
                                        ("108", "2019-09-03", "4133.34"),
                                        ("107", "2019-08-23", "5424.93"))]


def test_the_list_is_grouped_by_month_and_date_with_totals():
    dossier = a_dossier()
    db = payments_database(payments=seed_payments(dossier))
    listed = handlers.list_payments(db, organisation_user(), {"start": "2019-08-01"})
    september = listed["months"][0]
    assert (september["label"], september["total"], listed["rows"]) == (
        "septembre 2019", "10503.34", 4)
    assert [(d["payment_date"], d["total"]) for d in september["dates"]] == [
        ("2019-09-20", "6370.00"), ("2019-09-03", "4133.34")]
    assert handlers.list_payments(db, organisation_user("o-other"))["rows"] == 0
    for refused in (beneficiary(), organisation_user(rights=["enter_hours"])):
        with pytest.raises(Forbidden):
            handlers.list_payments(db, refused)


def test_export_pages_follow_the_list_with_the_whole_months_totals():
    dossier = a_dossier()
    db = payments_database(payments=seed_payments(dossier))
    rows, after = [], None
    while True:
        page = handlers.export_page(db, staff(), {}, after, 1)
        rows += page.rows
        for row in page.rows:  # the whole month's total, not the page's
            assert page.totals.months[f"{row.payment_date:%Y-%m}"] in (
                Decimal("10503.34"), Decimal("5424.93"))
        after = page.next_after
        if not after:
            break
    assert [r.payment_number for r in rows] == ["113", "114", "108", "107"]
    with pytest.raises(InvalidInput) as exc:
        handlers.export_page(db, staff(), {}, "not-a-cursor", 1)
    assert exc.value.code == "invalid_cursor"


def test_export_page_rows_stay_typed_as_stored():
    """Dates and Decimals go to the workbook as the database gives them, never through
    text (docs/performance.md)."""
    dossier = a_dossier()
    db = payments_database(payments=seed_payments(dossier))
    page = handlers.export_page(db, staff(), {}, None, 10)
    stored = db.repositories["payments"].rows_of(handlers._scope(staff()), {
        "start": None, "end": None, "dossier_number": None, "payment_number": None,
        "organisation_id": None})
    assert page.rows == stored and page.next_after is None
    assert page.rows[0].amount == Decimal("3567.20")
    assert page.totals.dates[date(2019, 9, 20)] == Decimal("6370.00")
    assert handlers.export_page(db, staff(), {"payment_number": "none"}, None, 10).rows == []


# ---- bank details and credit notes ----------------------------------------------------------

RIB = {"iban": IBAN, "bic": "CEPAFRPP382", "invoicing": "self", "rib_document_id": "rib-ok"}


def test_the_organisation_submits_bank_details_as_a_new_pending_version():
    db, ports = payments_database(), fake_ports()
    version = handlers.submit_bank_details(db, ports, organisation_user(), ORGANISATION, RIB)
    assert (version["version"], version["status"], version["iban"]) == (
        1, "pending", "FR7613825002000801463722518")
    state = handlers.get_bank_details(db, ports, staff(), ORGANISATION)
    assert ([v["version"] for v in state["versions"]], state["may_change"]) == ([1], True)
    with pytest.raises(NotFound):
        handlers.get_bank_details(db, ports, organisation_user("o-other"), ORGANISATION)
    with pytest.raises(Forbidden) as refused:  # a user who only enters hours reads no IBAN
        handlers.get_bank_details(db, ports, organisation_user(rights=["enter_hours"]), ORGANISATION)
    assert refused.value.code == "missing_right"


@pytest.mark.parametrize("caller, payload, code", [
    (organisation_user(), {**RIB, "rib_document_id": "kbis"}, "rib_document_invalid"),
    (organisation_user(), {**RIB, "iban": IBAN[:-1] + "9"}, "invalid_iban"),
    (staff(), RIB, "organisation_only"),
])
def test_bank_details_refused(caller, payload, code):
    db, ports = payments_database(), fake_ports()
    with pytest.raises((InvalidInput, Forbidden)) as exc:
        handlers.submit_bank_details(db, ports, caller, ORGANISATION, payload)
    assert exc.value.code == code and db.repositories["bank_details"].stored == {}


def test_no_new_bank_details_while_a_payment_is_being_processed():
    db = payments_database(payments=[a_payment(a_dossier())])
    with pytest.raises(Conflict) as exc:
        handlers.submit_bank_details(db, fake_ports(), organisation_user(), ORGANISATION, RIB)
    assert exc.value.code == "payment_in_progress"
    assert handlers.get_bank_details(db, fake_ports(), organisation_user(),
                                     ORGANISATION)["may_change"] is False


def pending_version() -> bank.BankDetailsVersion:
    return bank.new_bank_details(0, 0, bank.BankDetailsInput(IBAN, "CEPAFRPP382", "self", None,
                                                             "rib-ok"),
                                 ORGANISATION, FUNDER, "u-claire", "claire@lac.example", NOW)


def test_staff_review_bank_details_and_the_organisation_is_emailed():
    db, ports = payments_database(bank_details=[pending_version()]), fake_ports()
    with pytest.raises(Forbidden):
        handlers.review_bank_details(db, ports, organisation_user(), ORGANISATION,
                                     {"version": 1, "decision": "validated"})
    reviewed = handlers.review_bank_details(db, ports, staff(), ORGANISATION,
                                            {"version": 1, "decision": "validated"})
    assert (reviewed["status"], reviewed["reviewed_by"]) == ("validated", "u-agent")
    [email] = ports.notifications.emails
    assert (email["to"], email["context"]["iban_end"]) == (ORGANISATION_EMAIL, "•••• 2518")
    assert email["context"]["organisation_id"] == ORGANISATION  # issue 16: its link
    with pytest.raises(NotFound):
        handlers.review_bank_details(db, ports, staff(), ORGANISATION,
                                     {"version": 2, "decision": "validated"})


def test_the_credit_note_mode_is_chosen_by_the_organisation():
    db, ports = payments_database(), fake_ports(clock=FakeClock(
        datetime(2026, 3, 2, tzinfo=timezone.utc)))
    mode = handlers.get_credit_note_mode(db, ports, staff(), ORGANISATION)
    assert mode["mode"] is None and [o["mode"] for o in mode["options"]] == [
        "deduction", "refund"]
    with pytest.raises(Forbidden):
        handlers.choose_credit_note_mode(db, ports, staff(), ORGANISATION, {"mode": "refund"})
    chosen = handlers.choose_credit_note_mode(db, ports, organisation_user(), ORGANISATION,
                                              {"mode": "refund"})
    assert (chosen["mode"], chosen["chosen_by"]) == ("refund", "u-claire")
    ports.clock.advance(days=1)
    handlers.choose_credit_note_mode(db, ports, organisation_user(), ORGANISATION,
                                     {"mode": "deduction"})
    assert handlers.get_credit_note_mode(db, ports, staff(), ORGANISATION)["mode"] == "deduction"
