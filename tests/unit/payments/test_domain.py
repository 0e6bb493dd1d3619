"""Rules of payable months: lock once with the certified hours; who may see a lock."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from contracts.common import Actor, Role
from contracts.common.errors import NotFound
from services.payments.domain import access, bank, credit_notes, listing, locks, payments

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)


def actor(role: Role, funder: str = "f1", organisation: str | None = None) -> Actor:
    return Actor(user_id="u1", role=role, funder_id=funder, organisation_id=organisation)


def certified(training="147.00", certificate_id="c1") -> locks.CertifiedMonth:
    return locks.CertifiedMonth("d1", "2026-03", "f1", "o1", certificate_id,
                                 Decimal(training), Decimal("0.00"), Decimal("3.50"))


def test_first_certification_locks_the_month_with_its_hours():
    lock = locks.lock_month(None, certified(), NOW)
    assert (lock.dossier_id, lock.month, lock.funder_id, lock.organisation_id) == (
        "d1", "2026-03", "f1", "o1")
    assert (lock.training_hours, lock.absence_hours, lock.certificate_id, lock.locked_at) == (
        Decimal("147.00"), Decimal("3.50"), "c1", NOW)


def test_an_already_locked_month_changes_nothing():
    first = locks.lock_month(None, certified(), NOW)
    assert locks.lock_month(first, certified("10.00", "c2"), NOW) is None
    assert first.training_hours == Decimal("147.00")


@pytest.mark.parametrize("role, funder, organisation", [
    (Role.funder_agent, "f1", None), (Role.funder_admin, "f1", None),
    (Role.organisation_user, "f1", "o1"),
])
def test_who_may_see_a_lock(role, funder, organisation):
    locks.ensure_may_see(actor(role, funder, organisation),
                         locks.lock_month(None, certified(), NOW))


@pytest.mark.parametrize("role, funder, organisation", [
    (Role.funder_agent, "f2", None), (Role.organisation_user, "f1", "o2"),
    (Role.organisation_user, "f2", "o1"), (Role.beneficiary, "f1", None),
    (Role.employer, "f1", None),
])
def test_others_do_not_even_learn_it_exists(role, funder, organisation):
    with pytest.raises(NotFound) as exc:
        locks.ensure_may_see(actor(role, funder, organisation),
                             locks.lock_month(None, certified(), NOW))
    assert exc.value.code == "month_lock_not_found"


# ---- unlock and relock ------------------------------------------------------------------------

def test_unlock_keeps_who_why_and_when_and_a_second_unlock_is_refused():
    from contracts.common.errors import Conflict
    lock = locks.lock_month(None, certified(), NOW)
    lock.unlock("u-funder", "Erreur de saisie", NOW)
    assert (lock.locked, lock.unlocked_by, lock.unlock_reason, lock.unlocked_at) == (
        False, "u-funder", "Erreur de saisie", NOW)
    with pytest.raises(Conflict) as exc:
        lock.unlock("u-funder", "encore", NOW)
    assert exc.value.code == "month_not_locked" and lock.unlock_reason == "Erreur de saisie"


def test_an_unlocked_month_is_locked_again_by_its_next_certification():
    lock = locks.lock_month(None, certified(), NOW)
    lock.unlock("u", "motif", NOW)
    later = datetime(2026, 3, 25, tzinfo=timezone.utc)
    again = locks.lock_month(lock, certified("120.00", "c2"), later)
    assert again is lock and lock.locked and lock.locked_at == later
    assert (lock.training_hours, lock.certificate_id) == (Decimal("120.00"), "c2")
    assert locks.lock_month(lock, certified("1.00", "c3"), later) is None


# ---- payments -------------------------------------------------------------------------------

from datetime import date  # noqa: E402

from contracts.common.errors import Conflict, Forbidden, InvalidInput  # noqa: E402


def facts(dossier_id="d1", organisation="o1", funder="f1", name="DUBOIS Michelle"):
    return payments.DossierFacts(dossier_id, f"N-{dossier_id}", funder, organisation,
                               "Formations du Lac", name, "Soudure", date(2019, 1, 7),
                               date(2020, 6, 30))


def line(dossier_id="d1", amount="100.00", start=date(2019, 8, 1), end=date(2019, 9, 30),
         hours="35.00", kind=payments.PAYMENT):
    return payments.LineInput(dossier_id, Decimal(hours), start, end, Decimal(amount), kind)


def entry(*lines, number="107"):
    return payments.PaymentInput(number, date(2019, 9, 20), "o1", tuple(lines or [line()]))


@pytest.mark.parametrize("full, expected", [
    ("DUBOIS Michelle", ("DUBOIS", "Michelle")),
    ("LE GALL Anne Marie", ("LE GALL", "Anne Marie")),
    ("Michelle Dubois", ("Michelle Dubois", "")),
    ("DUBOIS", ("DUBOIS", "")),
])
def test_family_name_and_first_name(full, expected):
    assert payments.split_name(full) == expected


def test_a_payment_takes_the_dossier_facts_and_sums_its_lines_exactly():
    payment = payments.new_payment("p1", entry(line(amount="0.10"), line("d2", "0.20")), "f1",
                                 {"d1": facts(), "d2": facts("d2", name="MARTIN Paul")},
                                 3, "u1", NOW)
    assert payment.amount == Decimal("0.30") and isinstance(payment.amount, Decimal)
    assert payment.status == payments.PROCESSING and payment.bank_details_version == 3
    first = payment.lines[0]
    assert (first.dossier_number, first.beneficiary_name, first.beneficiary_first_name,
            first.training_title) == ("N-d1", "DUBOIS", "Michelle", "Soudure")
    assert payment.covered() == {"d1": ["2019-08", "2019-09"], "d2": ["2019-08", "2019-09"]}


@pytest.mark.parametrize("dossiers, amount, code", [
    ({"d1": None}, "10.00", "dossier_not_found"),
    ({"d1": facts(funder="f2")}, "10.00", "dossier_not_found"),
    ({"d1": facts(organisation="o2")}, "10.00", "dossier_of_another_organisation"),
    ({"d1": facts()}, "10.005", "amount_not_in_cents"),
    ({"d1": facts()}, "0", "amount_zero"),
])
def test_payment_checks(dossiers, amount, code):
    problems = payments.check_payment(entry(line(amount=amount)), "f1", dossiers)
    assert code in [p.code for p in problems]
    with pytest.raises(InvalidInput) as exc:
        raise payments.invalid_payment(problems)
    assert exc.value.code == problems[0].code


def test_a_good_payment_has_no_problem():
    assert payments.check_payment(entry(), "f1", {"d1": facts()}) == []


def test_issue_publishes_once_and_a_reissue_only_replaces_the_document():
    payment = payments.new_payment("p1", entry(), "f1", {"d1": facts()}, None, "u1", NOW)
    assert payment.issue("doc1", NOW) is True
    later = datetime(2026, 4, 1, tzinfo=timezone.utc)
    assert payment.issue("doc2", later) is False
    assert (payment.status, payment.issued_at, payment.remittance_document_id) == (
        payments.ISSUED, NOW, "doc2")


def test_reconciliation_keeps_who_and_when_for_tick_and_untick():
    payment = payments.new_payment("p1", entry(), "f1", {"d1": facts()}, None, "u1", NOW)
    payment.mark_reconciled(True, "u-org", NOW)
    assert (payment.reconciled, payment.reconciled_by, payment.reconciled_at) == (
        True, "u-org", NOW)
    later = datetime(2026, 4, 1, tzinfo=timezone.utc)
    payment.mark_reconciled(False, "u-other", later)
    assert (payment.reconciled, payment.reconciled_by, payment.reconciled_at) == (
        False, "u-other", later)


def test_months_between_crosses_years():
    assert payments.months_between(date(2019, 11, 15), date(2020, 2, 1)) == [
        "2019-11", "2019-12", "2020-01", "2020-02"]


def test_scope():
    assert access.scope_for(actor(Role.funder_agent)).allows("f1", "any")
    org = access.scope_for(actor(Role.organisation_user, "f1", "o1"))
    assert org.allows("f1", "o1") and not org.allows("f1", "o2") and not org.allows("f2", "o1")
    with pytest.raises(Forbidden):
        access.scope_for(actor(Role.beneficiary))


# ---- the grouped list (seed 000) ------------------------------------------------------------

class Row:
    def __init__(self, day, dossier, amount, number="1"):
        self.payment_date, self.dossier_id, self.dossier_number = day, dossier, f"N-{dossier}"
        self.payment_number, self.amount, self.position = number, Decimal(amount), 0


SEED_ROWS = [Row(date(2019, 9, 20), "a", "3567.20", "113"),
             Row(date(2019, 9, 20), "b", "2802.80", "114"),
             Row(date(2019, 9, 3), "c", "4133.34", "108"),
             Row(date(2019, 8, 23), "d", "5424.93", "107"),
             Row(date(2019, 3, 12), "e", "2066.66", "90")]


def test_grouping_and_totals_read_as_seed_000():
    months = listing.group_rows(sorted(SEED_ROWS, key=listing.sort_key))
    assert [(m["label"], m["total_label"]) for m in months] == [
        ("septembre 2019", "10\u00a0503,34\u00a0€"), ("août 2019", "5\u00a0424,93\u00a0€"),
        ("mars 2019", "2\u00a0066,66\u00a0€")]
    september = months[0]
    assert september["total"] == Decimal("10503.34")
    assert [(d["payment_date"], d["total"]) for d in september["dates"]] == [
        (date(2019, 9, 20), Decimal("6370.00")), (date(2019, 9, 3), Decimal("4133.34"))]
    assert september["dates"][0]["label"].startswith("20 sept")
    assert [g["dossier_number"] for g in september["dates"][0]["dossiers"]] == ["N-a", "N-b"]


def test_given_totals_win_over_the_page_rows():
    """An export page shows the totals of the whole search, not of its own rows."""
    rows = sorted(SEED_ROWS[:1], key=listing.sort_key)
    totals = listing.Totals({"2019-09": Decimal("10503.34")},
                           {date(2019, 9, 20): Decimal("6370.00")})
    month = listing.group_rows(rows, totals)[0]
    assert (month["total"], month["dates"][0]["total"]) == (Decimal("10503.34"),
                                                            Decimal("6370.00"))


# ---- bank details (seed 004) ----------------------------------------------------------------

GOOD_IBAN = "FR76 1382 5002 0008 0146 3722 518"


def bank_input(iban=GOOD_IBAN, bic="CEPAFRPP382", invoicing="self", third=None):
    return bank.BankDetailsInput(iban, bic, invoicing, third, "doc-rib")


def test_bank_details_are_a_new_pending_version_with_a_compact_iban():
    version = bank.new_bank_details(2, 0, bank_input(), "o1", "f1", "u1", "a@b.fr", NOW)
    assert (version.version, version.status, version.iban, version.bic) == (
        3, bank.PENDING, "FR7613825002000801463722518", "CEPAFRPP382")


@pytest.mark.parametrize("entry_, code", [
    (bank_input(iban="FR76 1382 5002 0008 0146 3722 519"), "invalid_iban"),
    (bank_input(bic="XX"), "invalid_bic"),
    (bank_input(invoicing="third_party"), "third_party_name_required"),
])
def test_bad_bank_details_are_refused(entry_, code):
    with pytest.raises(InvalidInput) as exc:
        bank.new_bank_details(0, 0, entry_, "o1", "f1", "u1", None, NOW)
    assert exc.value.code == code


def test_no_change_while_a_payment_is_being_processed():
    with pytest.raises(Conflict) as exc:
        bank.new_bank_details(1, 1, bank_input(), "o1", "f1", "u1", None, NOW)
    assert exc.value.code == "payment_in_progress"


def test_review_once_and_the_newest_validated_version_is_the_paid_one():
    first = bank.new_bank_details(0, 0, bank_input(), "o1", "f1", "u1", None, NOW)
    first.review(bank.VALIDATED, "ignored", "u-f", NOW)
    assert first.rejection_reason is None and first.reviewed_by == "u-f"
    second = bank.new_bank_details(1, 0, bank_input(), "o1", "f1", "u1", None, NOW)
    assert bank.validated_version([first, second]) == 1
    second.review(bank.REJECTED, "RIB manuscrit", "u-f", NOW)
    assert (second.status, second.rejection_reason) == (bank.REJECTED, "RIB manuscrit")
    with pytest.raises(Conflict):
        second.review(bank.VALIDATED, None, "u-f", NOW)
    assert bank.validated_version([first, second]) == 1
    assert bank.validated_version([]) is None


def test_credit_note_texts_are_the_seeds():
    assert "« déduction »" in credit_notes.CREDIT_NOTE_EXPLANATION
    assert "dans les 15 jours" in credit_notes.CREDIT_NOTE_OPTIONS[credit_notes.REFUND][1]
    assert set(credit_notes.CREDIT_NOTE_OPTIONS) == {"deduction", "refund"}


def test_export_cursor_round_trip_and_garbage_refused():
    row = Row(date(2019, 9, 20), "a", "1.00", "113")
    assert listing.decode_cursor(listing.encode_cursor(row)) == (date(2019, 9, 20), "N-a",
                                                               "113", 0)
    assert listing.decode_cursor(None) is None
    for garbage in ("pas-un-curseur", "W10=", "!!"):
        with pytest.raises(ValueError):
            listing.decode_cursor(garbage)
