"""Rules of the monthly completion certificate: month availability, statuses, hours, certify."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from contracts.common.errors import Conflict, Forbidden, InvalidInput, TooManyRequests
from services.certification import domain
from services.certification.domain import Certificate, Hours, Session

SESSION = Session(date(2026, 1, 15), date(2026, 6, 10))
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)
HOURS = Hours.of("147", "0", "3.5")


def at(year, month, day, hour=12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def certificate(month="2026-03") -> Certificate:
    return Certificate.open("d1", month, "f1", "o1", NOW)


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
        "awaiting_beneficiary_validation": "En attente de validation par le bénéficiaire",
        "awaiting_employer_validation": "En attente de validation par l'employeur",
        "validated": "Heures validées",
        "closed_by_payment": "La saisie n'est plus disponible car des règlements ont été "
                             "effectués",
        "reopened": "Rouvert par le financeur : en attente de saisie par l'organisme",
        "contested": "Heures contestées",
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


# --- funder settings --------------------------------------------------------------------

SETTINGS = {"entry_mode": "half_day", "code_length": 6, "code_lifetime_minutes": 10,
            "beneficiary_validation": True, "employer_validation": True,
            "notify_funder": True, "funder_notification_email": "suivi@tp.example.org"}


def test_settings_default_to_what_the_seeds_show():
    settings = domain.FunderSettings("f1")
    assert (settings.entry_mode, settings.code_length, settings.code_lifetime_minutes,
            settings.beneficiary_validation, settings.employer_validation,
            settings.notify_funder) == ("month", 4, 15, False, False, True)


def test_settings_change_records_who_and_when():
    settings = domain.FunderSettings("f1")
    settings.change(SETTINGS, "admin", NOW)
    assert (settings.entry_mode, settings.code_length, settings.code_lifetime_minutes) == (
        "half_day", 6, 10)
    assert (settings.updated_by, settings.updated_at) == ("admin", NOW)


@pytest.mark.parametrize("name, value", [("entry_mode", "week"), ("code_length", 5),
                                         ("code_lifetime_minutes", 60)])
def test_settings_refuse_values_outside_their_choices(name, value):
    settings = domain.FunderSettings("f1")
    with pytest.raises(InvalidInput) as exc:
        settings.change({**SETTINGS, name: value}, "admin", NOW)
    assert codes(exc) == "invalid_setting" and exc.value.details["field"] == name
    assert settings.entry_mode == "month"  # nothing half-written


def test_only_funder_admin_changes_settings():
    domain.ensure_funder_admin("funder_admin")
    for role in ("funder_agent", "organisation_user", "beneficiary"):
        with pytest.raises(Forbidden):
            domain.ensure_funder_admin(role)


# --- entry modes ------------------------------------------------------------------------

def day(d, period="day", training="7", internship="0", absence="0") -> domain.DayHours:
    hours = Hours.of(training, internship, absence)
    return domain.DayHours(date(2026, 3, d), period, hours.training, hours.internship,
                           hours.absence)


def test_month_mode_takes_the_totals():
    entry = domain.build_entry("month", "2026-03", SESSION, HOURS, [])
    assert entry.totals == HOURS and entry.days == ()


def test_month_mode_refuses_detail_and_needs_totals():
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("month", "2026-03", SESSION, HOURS, [day(2)])
    assert codes(exc) == "detail_not_expected"
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("month", "2026-03", SESSION, None, [])
    assert codes(exc) == "totals_required"


def test_month_total_cannot_exceed_24_hours_a_session_day():
    # January 2026: the session starts on the 15th, 17 days in the session -> 408 h at most.
    domain.build_entry("month", "2026-01", SESSION, Hours.of("400", "8", "0"), [])
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("month", "2026-01", SESSION, Hours.of("400", "8", "0.01"), [])
    assert codes(exc) == "month_over_limit"


def test_day_mode_computes_the_totals_from_the_days():
    entry = domain.build_entry("day", "2026-03", SESSION, None,
                               [day(3, training="5"),
                                day(2, training="0", internship="7", absence="1.5")])
    assert entry.totals == Hours.of("5", "7", "1.5")
    assert [d.day.day for d in entry.days] == [2, 3]


def test_sent_totals_must_match_the_detail():
    domain.build_entry("day", "2026-03", SESSION, Hours.of("7", "0", "0"), [day(2)])
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("day", "2026-03", SESSION, Hours.of("8", "0", "0"), [day(2)])
    assert codes(exc) == "totals_mismatch"
    assert exc.value.details["expected"]["training"] == "7.00"


def test_detailed_modes_need_the_detail():
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("half_day", "2026-03", SESSION, HOURS, [])
    assert codes(exc) == "detail_required" and "demi-journée" in exc.value.message
    # No hours at all is an entry (zero hours may be certified).
    assert domain.build_entry("day", "2026-03", SESSION, None, []).totals == \
        Hours.of("0", "0", "0")


def test_half_day_mode_takes_mornings_and_afternoons():
    entry = domain.build_entry("half_day", "2026-03", SESSION, None,
                               [day(2, "afternoon", "3.5"), day(2, "morning", "3.5")])
    assert entry.totals.training == Decimal("7.00")
    assert [d.period for d in entry.days] == ["morning", "afternoon"]


@pytest.mark.parametrize("mode, period", [("day", "morning"), ("half_day", "day")])
def test_the_period_follows_the_mode(mode, period):
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry(mode, "2026-03", SESSION, None, [day(2, period)])
    assert codes(exc) == "period_not_expected"


@pytest.mark.parametrize("when", [date(2026, 4, 1), date(2026, 1, 14), date(2026, 2, 27)])
def test_no_hours_outside_the_month_or_the_session(when):
    month = "2026-01" if when.month == 1 else "2026-03"
    hours = Hours.of("7", "0", "0")
    line = domain.DayHours(when, "day", hours.training, hours.internship, hours.absence)
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("day", month, SESSION, None, [line])
    assert codes(exc) == "day_outside_session"
    assert exc.value.details == {"days": [when.isoformat()]}


def test_a_day_is_entered_once():
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry("day", "2026-03", SESSION, None, [day(2), day(2, training="1")])
    assert codes(exc) == "duplicate_day"


@pytest.mark.parametrize("mode, line, ok", [
    ("day", day(2, training="20", absence="4"), True),
    ("day", day(2, training="20", absence="4.01"), False),
    ("half_day", day(2, "morning", training="12"), True),
    ("half_day", day(2, "morning", training="8", internship="4.5"), False),
])
def test_day_and_half_day_limits(mode, line, ok):
    if ok:
        domain.build_entry(mode, "2026-03", SESSION, None, [line])
        return
    with pytest.raises(InvalidInput) as exc:
        domain.build_entry(mode, "2026-03", SESSION, None, [line])
    assert codes(exc) == "day_over_limit"


def test_entering_a_detailed_entry_keeps_it():
    entry = domain.build_entry("day", "2026-03", SESSION, None, [day(2), day(3)])
    cert = certificate()
    cert.enter_hours(entry, SESSION, NOW)
    assert cert.entry_mode == "day" and cert.training_hours == Decimal("14.00")
    assert cert.days == list(entry.days)


# --- forecast, plan warning and the form's helpers ---------------------------------------

FORECAST = [domain.PlannedHours(date(2026, 3, d), Decimal("7"), Decimal("0"))
            for d in (2, 3, 4)] + [domain.PlannedHours(date(2026, 4, 1), Decimal(7), Decimal(0))]


def test_planned_total_of_the_month():
    assert domain.planned_total(FORECAST, "2026-03") == Decimal("21.00")
    assert domain.planned_total(FORECAST, "2026-05") == Decimal("0.00")
    assert domain.planned_total([], "2026-03") is None


def test_presence_plus_absence_over_the_plan_is_a_warning():
    assert domain.plan_warnings(Hours.of("14", "0", "7"), Decimal("21")) == []
    warnings = domain.plan_warnings(Hours.of("14", "0", "7.5"), Decimal("21"))
    assert [w["code"] for w in warnings] == ["over_plan"]
    assert "21,50\u00a0h" in warnings[0]["message"] and "21,00\u00a0h" in warnings[0]["message"]
    assert domain.plan_warnings(Hours.of("500", "0", "0"), None) == []


def test_zero_proposal():
    assert domain.zero_proposal("day").totals == Hours.of("0", "0", "0")
    assert domain.zero_proposal("day").days == ()


def test_forecast_proposal_per_mode():
    assert domain.forecast_proposal("month", "2026-03", SESSION, FORECAST).totals.training == \
        Decimal("21.00")
    per_day = domain.forecast_proposal("day", "2026-03", SESSION, FORECAST)
    assert [(d.day.day, d.training) for d in per_day.days] == [
        (2, Decimal(7)), (3, Decimal(7)), (4, Decimal(7))]
    halves = domain.forecast_proposal("half_day", "2026-03", SESSION, FORECAST)
    assert [(d.period, d.training) for d in halves.days[:2]] == [
        ("morning", Decimal("3.50")), ("afternoon", Decimal("3.50"))]
    assert halves.totals.training == Decimal("21.00")


def test_spread_proposal_skips_weekends_holidays_and_days_outside_the_session():
    # May 2026: 21 weekdays, minus 1 May (Fri), 8 May (Fri), 14 May (Ascension), 25 May
    # (Whit Monday) = 17 working days.
    may = domain.spread_proposal("day", "2026-05", SESSION)
    assert len(may.days) == 17 and may.totals.training == Decimal("119.00")
    assert date(2026, 5, 14) not in {d.day for d in may.days}
    # January 2026 within a session from the 15th: 15, 16, 19-23, 26-30 = 12 days.
    assert domain.spread_proposal("month", "2026-01", SESSION).totals.training == \
        Decimal("84.00")


def test_french_public_holidays():
    from services.certification.domain.workdays import easter_sunday, french_public_holidays
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2024) == date(2024, 3, 31)
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25), date(2026, 7, 14),
            date(2026, 12, 25)} <= french_public_holidays(2026)
    assert len(french_public_holidays(2026)) == 11


# --- workflow: validations, reopening, payment closure ------------------------------------

def with_settings(**values) -> domain.FunderSettings:
    settings = domain.FunderSettings("f1")
    settings.change({**SETTINGS, "beneficiary_validation": False,
                     "employer_validation": False, **values}, "admin", NOW)
    return settings


@pytest.mark.parametrize("values, has_employer, expected", [
    ({}, True, None),
    ({"beneficiary_validation": True}, True, domain.AWAITING_BENEFICIARY),
    ({"employer_validation": True}, True, domain.AWAITING_EMPLOYER),
    ({"employer_validation": True}, False, None),
    ({"beneficiary_validation": True, "employer_validation": True}, True,
     domain.AWAITING_BENEFICIARY),
])
def test_certification_leads_to_the_first_validation_required(values, has_employer, expected):
    assert domain.first_validation(with_settings(**values), has_employer) == expected
    cert = domain.certify(entered(), True, "u1", None, NOW,
                          domain.first_validation(with_settings(**values), has_employer))
    assert cert.status == (expected or domain.CERTIFIED)


def test_reopen_a_certified_month_with_a_reason():
    cert = domain.certify(entered(), True, "u1", None, NOW)
    with pytest.raises(InvalidInput) as exc:
        cert.reopen("  ", "agent", NOW)
    assert codes(exc) == "reason_required"
    cert.reopen("Heures d'absence oubliées", "agent", at(2026, 3, 25))
    assert (cert.status, cert.reopen_reason, cert.reopened_by) == (
        domain.REOPENED, "Heures d'absence oubliées", "agent")
    cert.enter_hours(Hours.of("140", "0", "7"), SESSION, NOW)
    assert cert.status == domain.HOURS_ENTERED
    domain.certify(cert, True, "u1", None, NOW)
    assert cert.status == domain.CERTIFIED


def test_only_a_certified_month_is_reopened():
    with pytest.raises(Conflict) as exc:
        entered().reopen("motif", "agent", NOW)
    assert codes(exc) == "not_certified"


def test_a_payment_closes_the_month():
    cert = entered()
    assert cert.close_by_payment("p1", "R-2026-001", NOW) is True
    assert cert.close_by_payment("p2", "R-2026-002", NOW) is False
    assert domain.status_of("2026-03", cert, SESSION, NOW) == domain.CLOSED_BY_PAYMENT
    for action in (lambda: cert.enter_hours(HOURS, SESSION, NOW),
                   lambda: domain.certify(cert, True, "u1", None, NOW),
                   lambda: cert.reopen("motif", "agent", NOW)):
        with pytest.raises(Conflict) as exc:
            action()
        assert codes(exc) == "month_closed_by_payment"
    assert cert.closed_by_payment_number == "R-2026-001"


def test_a_month_closed_before_it_opens_still_reads_closed():
    cert = certificate("2026-05")
    cert.close_by_payment("p1", "R1", NOW)
    assert domain.status_of("2026-05", cert, SESSION, NOW) == domain.CLOSED_BY_PAYMENT
    assert domain.status_of("2026-05", certificate("2026-05"), SESSION, NOW) == \
        domain.NOT_AVAILABLE


# --- dashboard --------------------------------------------------------------------------

def test_pending_months_per_role():
    certified = domain.certify(entered("2026-02"), True, "u1", None, NOW,
                               domain.AWAITING_BENEFICIARY)
    stored = {"2026-02": certified, "2026-03": entered("2026-03")}
    assert domain.pending_months("organisation_user", SESSION, stored, NOW) == [
        ("2026-01", domain.AWAITING_ENTRY), ("2026-03", domain.HOURS_ENTERED)]
    assert domain.pending_months("beneficiary", SESSION, stored, NOW) == [
        ("2026-02", domain.AWAITING_BENEFICIARY)]
    assert domain.pending_months("employer", SESSION, stored, NOW) == []
    assert domain.pending_months("funder_agent", SESSION, stored, NOW) == []


def test_labels_of_the_dashboard():
    assert domain.actions_label(15) == "15 actions en attente"
    assert domain.actions_label(1) == "1 action en attente"
    assert domain.period_label("2020-09") == "Septembre 2020"
    assert domain.period_label("2026-08") == "Août 2026"


def test_only_the_dossiers_funder_staff_reopens():
    domain.ensure_funder_staff_of("funder_agent", "f1", "f1")
    for role, funder in (("funder_admin", "f2"), ("organisation_user", "f1")):
        with pytest.raises(Forbidden):
            domain.ensure_funder_staff_of(role, funder, "f1")


# --- method 2: codes ----------------------------------------------------------------------

def code_for(settings=None, existing=None):
    return domain.issue_code(existing, "d1", "2026-03", "u1",
                             settings or domain.FunderSettings("f1"), NOW,
                             randbelow=lambda n: 326)


def test_a_code_has_the_funders_length_and_lifetime_and_only_its_hash_is_kept():
    code, plain = code_for()
    assert plain == "0326" and code.expires_at == NOW + timedelta(minutes=15)
    assert plain not in (code.code_hash, code.salt) and len(code.code_hash) == 64
    six = with_settings(code_length=6, code_lifetime_minutes=10)
    code, plain = code_for(six)
    assert plain == "000326" and code.expires_at == NOW + timedelta(minutes=10)
    assert len(domain.new_code(6)) == 6 and domain.new_code(4).isdigit()


def test_the_right_code_is_single_use():
    code, plain = code_for()
    assert code.check(plain, "u1", NOW + timedelta(minutes=14)) is None
    assert code.used_at is not None
    assert code.check(plain, "u1", NOW).code == "code_spent"


def test_an_expired_code_is_refused():
    code, plain = code_for()
    assert code.check(plain, "u1", NOW + timedelta(minutes=15)).code == "code_expired"


def test_a_code_is_for_the_user_who_asked_for_it():
    code, plain = code_for()
    assert code.check(plain, "u2", NOW).code == "code_of_another_user"


def test_three_wrong_codes_then_a_new_one_is_needed():
    code, plain = code_for()
    first = code.check("9999", "u1", NOW)
    assert (first.code, first.details) == ("wrong_code", {"attempts_left": 2})
    assert code.check("9998", "u1", NOW).details == {"attempts_left": 1}
    last = code.check("9997", "u1", NOW)
    assert last.details == {"attempts_left": 0} and "nouveau code" in last.message
    assert code.check(plain, "u1", NOW).code == "code_spent"


def test_resending_invalidates_the_previous_code():
    code, plain = code_for()
    code.check("0000", "u1", NOW)
    renewed, again = domain.issue_code(code, "d1", "2026-03", "u1", domain.FunderSettings("f1"),
                                       NOW + timedelta(minutes=1), randbelow=lambda n: 4242)
    assert renewed is code and again == "4242" and code.attempts == 0
    assert code.check(plain, "u1", NOW + timedelta(minutes=2)).code == "wrong_code"
    assert code.check(again, "u1", NOW + timedelta(minutes=2)) is None


def test_method_2_needs_the_ip_consent():
    domain.require_ip_consent(True)
    with pytest.raises(InvalidInput) as exc:
        domain.require_ip_consent(False)
    assert codes(exc) == "ip_consent_required"
    assert "J'accepte que mon adresse IP soit utilisée" in exc.value.message


def test_a_code_is_requested_for_entered_hours_with_the_attestation():
    assert domain.ensure_code_requestable(entered(), True).status == domain.HOURS_ENTERED
    with pytest.raises(InvalidInput):
        domain.ensure_code_requestable(entered(), False)
    for cert in (None, certificate(), domain.certify(entered(), True, "u1", None, NOW)):
        with pytest.raises(Conflict) as exc:
            domain.ensure_code_requestable(cert, True)
        assert codes(exc) == "hours_not_entered"


def test_certify_keeps_the_method_2_evidence():
    cert = domain.certify(entered(), True, "u1", "192.0.2.1", NOW, method=2,
                          document_sha256="ab" * 32, code_checked_at=NOW)
    assert (cert.method, cert.certified_document_sha256, cert.code_checked_at,
            cert.certified_from_ip) == (2, "ab" * 32, NOW, "192.0.2.1")


# --- method 1: the signed certificate (« Votre identité »: test_readiness.py) ----------------

def signed(sha, month=None, start=None, created="2026-03-02T10:00:00Z", **extra) -> dict:
    return {"category": "signed_certificate", "status": "deposited", "sha256": sha,
            "content_type": "application/pdf", "month": month, "period_start": start,
            "period_end": None, "created_at": created, **extra}


def test_the_latest_signed_pdf_of_the_month_is_the_evidence():
    documents = [signed("a", start="2026-03-01"),
                 signed("b", start="2026-03-01", created="2026-03-05T10:00:00Z"),
                 signed("c", start="2026-02-01", created="2026-03-09T10:00:00Z"),
                 signed("d", month="2026-03", status="rejected", created="2026-03-10T00:00Z"),
                 signed("e", month="2026-03", content_type="image/png",
                        created="2026-03-10T00:00Z"),
                 {**signed("f", month="2026-03"), "category": "attendance_sheet"}]
    assert domain.signed_certificate_sha256(documents, "2026-03") == "b"


def test_method_1_without_a_signed_pdf_is_refused():
    with pytest.raises(Conflict) as exc:
        domain.signed_certificate_sha256([signed("c", start="2026-02-01")], "2026-03")
    assert codes(exc) == "signed_certificate_required"


def test_a_payments_unlock_reopens_a_certified_month_once():
    cert = domain.certify(entered(), True, "u1", None, NOW)
    assert cert.reopen_after_unlock("Heures erronées", "agent", NOW) is True
    assert (cert.status, cert.reopen_reason) == (domain.REOPENED, "Heures erronées")
    assert cert.reopen_after_unlock("Heures erronées", "agent", NOW) is False


def test_a_payments_unlock_leaves_a_month_closed_by_payment():
    cert = domain.certify(entered(), True, "u1", None, NOW)
    cert.close_by_payment("p1", "R-1", NOW)
    assert cert.reopen_after_unlock("Heures erronées", "agent", NOW) is False
    assert cert.status == domain.CERTIFIED


# --- after certification: validations, contests, transmission, code requests -------------

def test_the_funder_email_needs_an_address_and_is_used_only_when_notify_funder():
    settings = domain.FunderSettings("f1")
    with pytest.raises(InvalidInput) as exc:
        settings.change({**SETTINGS, "funder_notification_email": " "}, "admin", NOW)
    assert codes(exc) == "funder_email_required" and settings.updated_at is None
    settings.change(SETTINGS, "admin", NOW)
    assert settings.funder_email == "suivi@tp.example.org"
    settings.change({**SETTINGS, "notify_funder": False}, "admin", NOW)
    assert settings.funder_email is None
    assert settings.funder_notification_email == "suivi@tp.example.org"  # kept for later


@pytest.mark.parametrize("values, has_employer, expected", [
    ({}, True, []),
    ({"beneficiary_validation": True}, True, ["beneficiary"]),
    ({"employer_validation": True}, False, []),
    ({"beneficiary_validation": True, "employer_validation": True}, True,
     ["beneficiary", "employer"]),
    ({"beneficiary_validation": True, "employer_validation": True}, False, ["beneficiary"]),
])
def test_validation_steps_beneficiary_first(values, has_employer, expected):
    assert domain.validation_steps(with_settings(**values), has_employer) == expected


def awaiting(*steps) -> Certificate:
    return domain.certify(entered(), True, "u1", None, NOW, validations=list(steps),
                          organisation_email="contact@of.example.org")


def test_beneficiary_then_employer_validate():
    cert = awaiting("beneficiary", "employer")
    assert cert.status == domain.AWAITING_BENEFICIARY
    with pytest.raises(Conflict) as exc:
        cert.validate("employer", "e1", NOW)
    assert codes(exc) == "not_awaiting_validation"
    cert.validate("beneficiary", "b1", at(2026, 3, 21))
    assert (cert.status, cert.beneficiary_validated_by) == (domain.AWAITING_EMPLOYER, "b1")
    cert.validate("employer", "e1", at(2026, 3, 22))
    assert (cert.status, cert.employer_validated_at) == (domain.VALIDATED, at(2026, 3, 22))
    with pytest.raises(Conflict):
        cert.validate("employer", "e1", NOW)  # once


def test_a_lone_employer_validation_validates():
    cert = awaiting("employer")
    assert cert.status == domain.AWAITING_EMPLOYER
    cert.validate("employer", "e1", NOW)
    assert cert.status == domain.VALIDATED


def test_contest_needs_a_reason_and_says_who_and_why():
    cert = awaiting("beneficiary")
    with pytest.raises(InvalidInput) as exc:
        cert.contest("beneficiary", "  ", "b1", NOW)
    assert codes(exc) == "reason_required" and cert.status == domain.AWAITING_BENEFICIARY
    with pytest.raises(InvalidInput) as exc:
        cert.contest("beneficiary", "x" * 1001, "b1", NOW)
    assert codes(exc) == "reason_too_long"
    cert.contest("beneficiary", " Absent le 12 ", "b1", NOW)
    assert (cert.status, cert.contested_party, cert.contest_reason, cert.contested_by) == (
        domain.CONTESTED, "beneficiary", "Absent le 12", "b1")
    assert cert.status_label == "Heures contestées par le bénéficiaire : Absent le 12"
    assert domain.status_label(domain.CONTESTED, cert) == cert.status_label
    with pytest.raises(Conflict) as exc:
        cert.validate("beneficiary", "b1", NOW)
    assert codes(exc) == "not_awaiting_validation"
    with pytest.raises(Conflict) as exc:
        cert.enter_hours(HOURS, SESSION, NOW)
    assert codes(exc) == "certificate_already_certified"


def test_a_contested_month_is_reopened_by_the_funder_then_certified_anew():
    cert = awaiting("beneficiary")
    cert.contest("beneficiary", "Absent le 12", "b1", NOW)
    with pytest.raises(Conflict):
        cert.transmit("agent", NOW)
    cert.reopen("Contestation du bénéficiaire", "agent", NOW)
    cert.enter_hours(HOURS, SESSION, NOW)
    cert.certify("u1", None, NOW, validations=["beneficiary"])
    assert (cert.status, cert.contested_party, cert.contest_reason) == (
        domain.AWAITING_BENEFICIARY, None, None)


def test_only_the_dossiers_own_parties_validate():
    assert domain.party_of("beneficiary", "p1", "p1", "p2") == "beneficiary"
    assert domain.party_of("employer", "p2", "p1", "p2") == "employer"
    for role, party, employer in (("beneficiary", "p9", "p2"), ("employer", "p1", "p2"),
                                  ("employer", None, None), ("organisation_user", "p1", "p2"),
                                  ("funder_agent", "p1", "p2"), ("beneficiary", None, "p2")):
        with pytest.raises(Forbidden) as exc:
            domain.party_of(role, party, "p1", employer)
        assert codes(exc) == "not_a_party"


def test_the_parties_dashboard_lines():
    cert = awaiting("beneficiary", "employer")
    stored = {"2026-03": cert}
    assert domain.pending_months("beneficiary", SESSION, stored, NOW) == [
        ("2026-03", domain.AWAITING_BENEFICIARY)]
    assert domain.pending_months("employer", SESSION, stored, NOW) == []
    cert.validate("beneficiary", "b1", NOW)
    assert domain.pending_months("employer", SESSION, stored, NOW) == [
        ("2026-03", domain.AWAITING_EMPLOYER)]


def test_transmit_certified_or_validated_hours_once():
    cert = awaiting()
    assert cert.transmit("agent", NOW) is True
    assert (cert.transmitted_by, cert.transmitted_at) == ("agent", NOW)
    assert cert.transmit("other", at(2026, 3, 22)) is False  # idempotent
    assert cert.transmitted_by == "agent"
    waiting = awaiting("beneficiary")
    with pytest.raises(Conflict) as exc:
        waiting.transmit("agent", NOW)
    assert codes(exc) == "not_transmittable"
    waiting.validate("beneficiary", "b1", NOW)
    assert waiting.transmit("agent", NOW) is True
    with pytest.raises(Conflict) as exc:
        entered().transmit("agent", NOW)
    assert codes(exc) == "not_transmittable"


def test_a_reopening_forgets_the_transmission():
    cert = awaiting()
    cert.transmit("agent", NOW)
    cert.reopen("Erreur de saisie", "agent", NOW)
    assert cert.transmitted_at is None
    with pytest.raises(Conflict):
        cert.transmit("agent", NOW)


def test_transmission_refused_once_a_payment_closed_the_month():
    cert = awaiting()
    cert.close_by_payment("p1", "R-1", NOW)
    with pytest.raises(Conflict) as exc:
        cert.transmit("agent", NOW)
    assert codes(exc) == "month_closed_by_payment"


def test_code_requests_are_limited_per_hour():
    recent = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20)]
    domain.ensure_code_request_allowed(recent, NOW)
    domain.ensure_code_request_allowed(recent + [NOW - timedelta(minutes=61)], NOW)
    with pytest.raises(TooManyRequests) as exc:
        domain.ensure_code_request_allowed(recent + [NOW - timedelta(minutes=10)], NOW)
    assert codes(exc) == "too_many_code_requests"
    assert exc.value.details == {"retry_after_minutes": 10}  # the 50-minute-old one ages out
    assert "10 minutes" in exc.value.message


def test_a_closed_dossier_is_refused():
    domain.ensure_dossier_open("in_progress")
    with pytest.raises(Conflict) as exc:
        domain.ensure_dossier_open(domain.CLOSED_DOSSIER)
    assert exc.value.code == "dossier_closed"
