"""Rules of the monthly completion certificate: month availability, statuses, hours, certify."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from servicekit.errors import Conflict, Forbidden, InvalidInput
from services.certification import domain
from services.certification.domain import Certificate, Hours, Session

SESSION = Session(date(2026, 1, 15), date(2026, 6, 10))
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)
HOURS = Hours.of("147", "0", "3.5")


def at(year, month, day, hour=12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def certificate(month="2026-03", locked=False) -> Certificate:
    cert = Certificate.open("d1", month, "f1", "o1", NOW)
    cert.locked_for_payment = locked
    return cert


def entered(month="2026-03") -> Certificate:
    cert = certificate(month)
    cert.enter_hours(HOURS, SESSION, NOW)
    return cert


def codes(exc_info) -> str:
    return exc_info.value.code


# --- months of the session and their availability ---------------------------------------

def test_session_months_cover_partial_first_and_last_months():
    assert SESSION.months() == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05",
                                "2026-06"]


def test_session_months_cross_the_year():
    assert Session(date(2025, 11, 30), date(2026, 2, 1)).months() == [
        "2025-11", "2025-12", "2026-01", "2026-02"]


def test_one_day_session_has_one_month():
    assert Session(date(2026, 5, 5), date(2026, 5, 5)).months() == ["2026-05"]


@pytest.mark.parametrize("month, now, expected", [
    ("2026-03", at(2026, 3, 1, 0), True),       # first day of the month (01:00 in Paris)
    ("2026-03", at(2026, 2, 28, 22), False),    # still February in Paris (23:00)
    ("2026-03", at(2026, 2, 28, 23), True),     # 1 March 00:00 in Paris, still Feb in UTC
    ("2026-01", NOW, True),                     # session starts mid-month: month still open
    ("2026-06", at(2026, 7, 1), True),          # last month of the session, after it
    ("2025-12", NOW, False),                    # before the session
    ("2026-07", at(2026, 8, 1), False),         # after the session
    ("2026-04", NOW, False),                    # in the session, not started yet
])
def test_month_is_open_from_its_first_day_within_the_session(month, now, expected):
    assert domain.is_open(month, SESSION, now) is expected


# --- statuses ---------------------------------------------------------------------------

def test_computed_statuses_of_months_without_certificate():
    assert domain.status_of("2026-03", None, SESSION, NOW) == domain.AWAITING_ENTRY
    assert domain.status_of("2026-04", None, SESSION, NOW) == domain.NOT_AVAILABLE
    assert domain.status_of("2025-12", None, SESSION, NOW) == domain.NOT_AVAILABLE


def test_stored_status_wins():
    assert domain.status_of("2026-03", entered(), SESSION, NOW) == domain.HOURS_ENTERED


def test_every_status_has_its_french_label():
    assert domain.STATUS_LABELS == {
        "not_available": "La saisie n'est pas disponible",
        "awaiting_entry": "En attente de saisie par l'organisme",
        "hours_entered": "Heures saisies, en attente de certification",
        "certified": "Certifié par l'organisme",
    }


# --- hours ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("147", Decimal("147.00")), ("0", Decimal("0.00")), ("3.5", Decimal("3.50")),
    (Decimal("7.25"), Decimal("7.25")), (12, Decimal("12.00")), ("99999.99", Decimal("99999.99")),
])
def test_valid_hours_are_kept_with_two_decimals(value, expected):
    assert Hours.of(value, "0", "0").training == expected


@pytest.mark.parametrize("value", ["-0.01", "1.234", "100000", "abc", None, 1.5, "NaN",
                                   "Infinity", True])
def test_invalid_hours_are_refused(value):
    with pytest.raises(InvalidInput) as exc:
        Hours.of("1", value, "0")
    assert codes(exc) == "invalid_hours"
    assert exc.value.details == {"field": "internship_hours"}


def test_enter_hours_records_totals_and_status():
    cert = entered()
    assert (cert.training_hours, cert.internship_hours, cert.absence_hours) == (
        Decimal("147.00"), Decimal("0.00"), Decimal("3.50"))
    assert cert.status == domain.HOURS_ENTERED


def test_hours_may_be_corrected_before_certification():
    cert = entered()
    cert.enter_hours(Hours.of("140", "7", "0"), SESSION, NOW)
    assert cert.hours == Hours.of("140", "7", "0")


@pytest.mark.parametrize("month", ["2026-04", "2025-12", "2026-07"])
def test_enter_hours_refused_when_month_not_open(month):
    with pytest.raises(Conflict) as exc:
        certificate(month).enter_hours(HOURS, SESSION, NOW)
    assert codes(exc) == "month_not_available"


def test_enter_hours_refused_once_certified():
    cert = entered()
    cert.certify("u1", "10.0.0.1", NOW)
    with pytest.raises(Conflict) as exc:
        cert.enter_hours(HOURS, SESSION, NOW)
    assert codes(exc) == "certificate_already_certified"
    assert "déjà certifié" in exc.value.message


def test_enter_hours_refused_when_locked_for_payment():
    with pytest.raises(Conflict) as exc:
        certificate(locked=True).enter_hours(HOURS, SESSION, NOW)
    assert codes(exc) == "month_locked"


# --- certify ----------------------------------------------------------------------------

def test_certify_keeps_the_evidence():
    later = at(2026, 3, 21)
    cert = domain.certify(entered(), True, "u1", "10.0.0.1", later)
    assert cert.status == domain.CERTIFIED
    assert (cert.method, cert.certified_by, cert.certified_at, cert.certified_from_ip) == (
        1, "u1", later, "10.0.0.1")
    assert cert.certified_at.tzinfo is not None


def test_certify_requires_the_attestation():
    with pytest.raises(InvalidInput) as exc:
        domain.certify(entered(), False, "u1", None, NOW)
    assert codes(exc) == "attestation_required"
    assert exc.value.message == 'Vous devez cocher "Je certifie la saisie des heures"'


def test_certify_requires_hours():
    for cert in (None, certificate()):
        with pytest.raises(Conflict) as exc:
            domain.certify(cert, True, "u1", None, NOW)
        assert codes(exc) == "hours_not_entered"


def test_certify_twice_is_a_conflict():
    cert = domain.certify(entered(), True, "u1", None, NOW)
    with pytest.raises(Conflict) as exc:
        domain.certify(cert, True, "u2", None, at(2026, 3, 22))
    assert codes(exc) == "certificate_already_certified"
    assert cert.certified_by == "u1"


def test_lock_for_payment_once():
    cert = domain.certify(entered(), True, "u1", None, NOW)
    assert cert.lock_for_payment(NOW) is True
    assert cert.lock_for_payment(NOW) is False
    assert cert.locked_for_payment is True


# --- who may change ---------------------------------------------------------------------

def test_organisation_user_of_the_dossier_may_change():
    domain.ensure_may_change("organisation_user", "o1", "o1")


@pytest.mark.parametrize("role, organisation", [
    ("organisation_user", "o2"), ("organisation_user", None), ("funder_agent", None),
    ("funder_admin", "o1"), ("beneficiary", None), ("employer", None),
])
def test_others_may_not_change(role, organisation):
    with pytest.raises(Forbidden) as exc:
        domain.ensure_may_change(role, organisation, "o1")
    assert codes(exc) == "not_allowed"
