"""Credit notes ("factures d'avoir", seed 004): recorded by funder staff on a dossier's period,
deducted from the organisation's next payments or refunded within 15 days quoting AVCAP + the
pro forma number; on fakes (tests/support/payments.py)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.pdfs import CreditNoteProFormaRequest, RemittanceAdviceRequest
from services.payments import handlers
from services.payments.domain import credit_notes
from tests.support.fakes import FakeClock
from tests.support.payments import (IBAN, ORGANISATION, SIRET, UAI, a_dossier, certified_locks,
                                    fake_ports, new_payment_payload, organisation_user,
                                    payments_database, staff)

NOW = FakeClock()()


def a_note(amount: str, mode: str = credit_notes.DEDUCTION, sequence: int = 1,
           issued_on: date = date(2026, 3, 2)) -> credit_notes.CreditNote:
    return credit_notes.CreditNote(
        f"cn{sequence}", sequence, "f", "o", "Formations du Lac", "d", "20X000703",
        "DUBOIS Michelle", date(2019, 9, 1), date(2019, 9, 30), Decimal(amount), "rupture",
        mode, "u-agent", NOW, issued_on)


def credit_note_payload(dossier: dict, amount: str = "300,00", **changes) -> dict:
    return {"dossier_id": dossier["id"], "period_start": "2019-09-01",
            "period_end": "2019-09-30", "amount": amount,
            "reason": "Rupture du contrat au 15/09/2019", **changes}


def paid_dossier(amount: str = "1000.00", clock: FakeClock | None = None):
    """A dossier whose August and September 2019 were certified and paid `amount`."""
    dossier = a_dossier()
    db = payments_database(locks=certified_locks(dossier))
    ports = fake_ports(dossier, clock=clock)
    handlers.record_payment(db, ports, staff(), new_payment_payload("107", dossier, amount))
    return dossier, db, ports


def choose(db, ports, mode: str) -> None:
    handlers.choose_credit_note_mode(db, ports, organisation_user(), ORGANISATION,
                                     {"mode": mode})


def next_payment(db, ports, dossier, number: str, amount: str) -> dict:
    """A later payment of an advance on the same dossier (no certification needed)."""
    payload = new_payment_payload(number, dossier, amount)
    payload["lines"][0]["kind"] = "advance"
    return handlers.record_payment(db, ports, staff(), payload)


# ---- the domain -----------------------------------------------------------------------------

def test_notes_are_deducted_oldest_first_and_never_below_zero():
    first, second = a_note("300.00"), a_note("500.00", sequence=2)
    taken = credit_notes.deduct("p1", Decimal("600.00"), [first, second])
    assert [(d.credit_note_id, d.amount) for d in taken] == [
        ("cn1", Decimal("300.00")), ("cn2", Decimal("300.00"))]
    assert (first.status, second.status, second.remaining) == (
        credit_notes.DEDUCTED, credit_notes.PARTLY_DEDUCTED, Decimal("200.00"))
    [last] = credit_notes.deduct("p2", Decimal("1000.00"), [second])
    assert (last.amount, second.remaining, second.status) == (
        Decimal("200.00"), Decimal("0.00"), credit_notes.DEDUCTED)
    assert last.label == "Avoir PRO-2 – dossier 20X000703, du 01/09/2019 au 30/09/2019"


def test_a_refund_is_due_fifteen_days_after_issue_then_late_until_received():
    note = a_note("300.00", credit_notes.REFUND, sequence=100)
    assert (note.number, note.transfer_reference, note.due_date) == (
        "PRO-100", "AVCAP PRO-100", date(2026, 3, 17))
    assert note.status_on(date(2026, 3, 17)) == credit_notes.AWAITING_REFUND
    assert note.status_on(date(2026, 3, 18)) == credit_notes.LATE
    assert credit_notes.deduct("p", Decimal("50.00"), [note]) == []
    note.mark_received("u-agent", NOW)
    assert (note.status_on(date(2026, 4, 1)), note.remaining) == (
        credit_notes.RECEIVED, Decimal("0.00"))
    with pytest.raises(Conflict) as again:
        note.mark_received("u-agent", NOW)
    assert again.value.code == "credit_note_already_received"


def test_a_deduction_note_is_not_refunded():
    with pytest.raises(Conflict) as refused:
        a_note("1.00").mark_received("u-agent", NOW)
    assert refused.value.code == "credit_note_not_refundable"
    assert a_note("1.00").transfer_reference is None and a_note("1.00").due_date is None


def test_a_note_gives_back_at_most_what_was_paid_less_earlier_notes():
    assert credit_notes.exceeds_paid(Decimal("700"), Decimal("1000"), Decimal("300")) is None
    problem = credit_notes.exceeds_paid(Decimal("700.01"), Decimal("1000"), Decimal("300"))
    assert (problem.code, problem.details) == ("credit_note_exceeds_paid",
                                               {"available": "700.00"})
    assert problem.message.endswith("(reste : 700,00\xa0€).")


def test_the_mode_in_force_is_deduction_until_the_organisation_chooses():
    assert credit_notes.mode_in_force(None) == credit_notes.DEDUCTION


# ---- recording ------------------------------------------------------------------------------

def test_staff_record_a_deduction_note_and_its_pro_forma_is_edited():
    dossier, db, ports = paid_dossier()
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    assert (note["number"], note["mode"], note["status"], note["status_label"]) == (
        "PRO-1", "deduction", "to_deduct", "À déduire des prochains règlements")
    assert (note["amount"], note["remaining_amount"], note["transfer_reference"],
            note["due_date"]) == ("300.00", "300.00", None, None)
    assert note["pro_forma_document_id"] == "doc-PRO-1-1"
    [request] = ports.documents.pro_formas
    request = CreditNoteProFormaRequest.model_validate(request)
    assert (request.mode, request.siret, request.uai, request.dossier_number,
            request.beneficiary_name, request.transfer_reference) == (
        "deduction", SIRET, UAI, "20X000703", "DUBOIS Michelle", None)
    assert handlers.get_credit_note(db, ports, organisation_user(), note["id"]) == note


def test_in_mode_refund_the_pro_forma_says_the_reference_the_due_date_and_the_account():
    dossier, db, ports = paid_dossier()
    choose(db, ports, "refund")
    handlers.set_payment_settings(db, ports, staff().model_copy(update={"role": "funder_admin"}),
                                  {"payer_name": "Transitions Pro Île-de-France",
                                   "refund_account": {"holder": "Transitions Pro IDF",
                                                      "iban": IBAN, "bic": "CEPAFRPP382"}})
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    assert (note["status"], note["transfer_reference"], note["due_date"]) == (
        "awaiting_refund", "AVCAP PRO-1", "2026-03-17")
    request = CreditNoteProFormaRequest.model_validate(ports.documents.pro_formas[-1])
    assert (request.transfer_reference, request.due_date, request.refund_account.iban,
            request.payer.name) == ("AVCAP PRO-1", date(2026, 3, 17),
                                    "FR7613825002000801463722518",
                                    "Transitions Pro Île-de-France")


@pytest.mark.parametrize("changes, code", [
    ({"dossier_id": "d-unknown"}, "dossier_not_found"),
    ({"dossier_id": None, "dossier_number": "NOPE"}, "dossier_not_found"),
    ({"period_start": "2018-12-01"}, "period_outside_session"),
    ({"amount": "1000,01"}, "credit_note_exceeds_paid"),
])
def test_a_note_on_a_wrong_dossier_period_or_amount_is_refused_and_nothing_written(changes,
                                                                                    code):
    dossier, db, ports = paid_dossier()
    with pytest.raises(InvalidInput) as refused:
        handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier, **changes))
    assert refused.value.code == code
    assert db.repositories["credit_notes"].stored == {}


def test_notes_on_the_same_period_share_what_was_paid():
    dossier, db, ports = paid_dossier()
    handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier, "600,00"))
    with pytest.raises(InvalidInput) as refused:
        handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier, "400,01"))
    assert refused.value.details["problems"][0]["available"] == "400.00"
    by_number = credit_note_payload(dossier, "400,00", dossier_id=None,
                                    dossier_number="20X000703")
    assert handlers.record_credit_note(db, ports, staff(), by_number)["number"] == "PRO-2"


def test_only_funder_staff_record_a_note():
    dossier, db, ports = paid_dossier()
    with pytest.raises(Forbidden):
        handlers.record_credit_note(db, ports, organisation_user(), credit_note_payload(dossier))


def test_a_pro_forma_number_taken_at_the_same_moment_takes_the_next_one():
    dossier, db, ports = paid_dossier()
    db.repositories["credit_notes"].elsewhere.taken.add(1)
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    assert note["number"] == "PRO-2"


def test_a_note_stands_when_documents_fails_and_its_pro_forma_is_edited_later():
    dossier, db, ports = paid_dossier()
    ports.documents.down = True
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    assert (note["number"], note["pro_forma_document_id"]) == ("PRO-1", None)
    with pytest.raises(RuntimeError):
        handlers.issue_pro_forma(db, ports, staff(), note["id"])
    ports.documents.down = False
    assert handlers.issue_pro_forma(db, ports, staff(), note["id"])[
        "pro_forma_document_id"] == "doc-PRO-1-1"
    with pytest.raises(Forbidden):
        handlers.issue_pro_forma(db, ports, organisation_user(), note["id"])


# ---- deduction from the next payments ---------------------------------------------------------

def test_the_next_payments_take_the_note_off_never_below_zero_and_their_advices_say_so():
    dossier, db, ports = paid_dossier()
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    first = next_payment(db, ports, dossier, "108", "200,00")
    assert (first["amount"], first["deducted_amount"], first["transferred_amount"]) == (
        "200.00", "200.00", "0.00")
    assert first["deductions"] == [{
        "credit_note_id": note["id"], "amount": "200.00",
        "label": "Avoir PRO-1 – dossier 20X000703, du 01/09/2019 au 30/09/2019"}]
    second = next_payment(db, ports, dossier, "109", "500,00")
    assert (second["deducted_amount"], second["transferred_amount"]) == ("100.00", "400.00")
    advice = RemittanceAdviceRequest.model_validate(ports.documents.advices[-1])
    assert (advice.amount, [d.amount for d in advice.deductions]) == (
        Decimal("400.00"), [Decimal("100.00")])
    settled = handlers.get_credit_note(db, ports, staff(), note["id"])
    assert (settled["status"], settled["remaining_amount"]) == ("deducted", "0.00")
    assert [(d["payment_number"], d["amount"]) for d in settled["deductions"]] == [
        ("108", "200.00"), ("109", "100.00")]
    third = next_payment(db, ports, dossier, "110", "50,00")
    assert (third["deductions"], third["transferred_amount"]) == ([], "50.00")


def test_a_refund_note_is_never_deducted():
    dossier, db, ports = paid_dossier()
    choose(db, ports, "refund")
    handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    assert next_payment(db, ports, dossier, "108", "200,00")["deducted_amount"] == "0.00"


# ---- tracking ---------------------------------------------------------------------------------

def test_staff_mark_a_refund_received_and_a_late_one_shows_late():
    clock = FakeClock()
    dossier, db, ports = paid_dossier(clock=clock)
    choose(db, ports, "refund")
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    clock.advance(days=16)
    assert handlers.get_credit_note(db, ports, staff(), note["id"])["status_label"] == (
        "Remboursement en retard")
    late = handlers.list_credit_notes(db, ports, staff(), {"status": "late"})
    assert [n["id"] for n in late["credit_notes"]] == [note["id"]]
    with pytest.raises(Forbidden):
        handlers.mark_credit_note_received(db, ports, organisation_user(), note["id"])
    received = handlers.mark_credit_note_received(db, ports, staff(), note["id"])
    assert (received["status"], received["remaining_amount"], received["received_by"]) == (
        "received", "0.00", "u-agent")
    assert handlers.list_credit_notes(db, ports, staff(), {"status": "late"})[
        "credit_notes"] == []


def test_a_deduction_note_cannot_be_marked_received():
    dossier, db, ports = paid_dossier()
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    with pytest.raises(Conflict) as refused:
        handlers.mark_credit_note_received(db, ports, staff(), note["id"])
    assert refused.value.code == "credit_note_not_refundable"


def test_notes_are_seen_by_the_funder_and_the_organisation_s_payments_users_only():
    dossier, db, ports = paid_dossier()
    note = handlers.record_credit_note(db, ports, staff(), credit_note_payload(dossier))
    for caller in (staff(), organisation_user()):
        assert [n["id"] for n in handlers.list_credit_notes(db, ports, caller)[
            "credit_notes"]] == [note["id"]]
    assert handlers.list_credit_notes(db, ports, organisation_user("o-other"))[
        "credit_notes"] == []
    for outsider in (organisation_user("o-other"), staff("f-other")):
        with pytest.raises(NotFound):
            handlers.get_credit_note(db, ports, outsider, note["id"])
    hours_only = organisation_user(rights=["enter_hours"])
    with pytest.raises(Forbidden):
        handlers.list_credit_notes(db, ports, hours_only)
    with pytest.raises(Forbidden):
        handlers.get_credit_note(db, ports, hours_only, note["id"])


# ---- billing details and the refund account ------------------------------------------------

def test_billing_details_show_the_uai_beside_the_siret():
    dossier, db, ports = paid_dossier()
    details = handlers.get_bank_details(db, ports, staff(), ORGANISATION)
    assert (details["siret"], details["uai"]) == (SIRET, UAI)


def test_a_refund_account_with_a_wrong_iban_is_refused():
    db, ports = payments_database(), fake_ports()
    with pytest.raises(InvalidInput) as refused:
        handlers.set_payment_settings(db, ports, staff().model_copy(
            update={"role": "funder_admin"}), {"payer_name": "TP", "refund_account": {
                "holder": "TP", "iban": "FR76 1382 5002 0008 0146 3722 519"}})
    assert refused.value.code == "invalid_iban"
    assert timedelta(days=credit_notes.REFUND_DAYS) == timedelta(days=15)


def test_a_refund_account_holder_longer_than_its_column_is_refused_before_any_write():
    db, ports = payments_database(), fake_ports()
    with pytest.raises(InvalidInput):
        handlers.set_payment_settings(db, ports, staff().model_copy(
            update={"role": "funder_admin"}), {"payer_name": "TP", "refund_account": {
                "holder": "0" * 201, "iban": IBAN}})
