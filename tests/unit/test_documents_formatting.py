"""French formatting shared by the certificate PDF and the emails (contracts.common.formatting)."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from contracts.common.formatting import amount_fr, date_fr, datetime_fr, decimal_fr, hours_fr, month_fr

NBSP = "\u00a0"


@pytest.mark.parametrize("value, expected", [
    (Decimal("10503.34"), f"10{NBSP}503,34"),
    (Decimal("147"), "147,00"),
    (Decimal("0"), "0,00"),
    (Decimal("3.5"), "3,50"),
    (Decimal("1234567.891"), f"1{NBSP}234{NBSP}567,89"),
])
def test_decimal_uses_comma_and_no_break_space(value, expected):
    assert decimal_fr(value) == expected


def test_thousands_separator_is_a_plain_no_break_space_not_babels_narrow_one():
    assert "\u202f" not in decimal_fr(Decimal("10503.34"))


def test_hours_and_amounts_carry_their_unit_after_a_no_break_space():
    assert hours_fr(Decimal("147")) == f"147,00{NBSP}h"
    assert amount_fr(Decimal("10503.34")) == f"10{NBSP}503,34{NBSP}€"


def test_month_is_spelled_in_french_lower_case():
    assert month_fr("2026-09") == "septembre 2026"
    assert month_fr("2027-02") == "février 2027"


def test_dates_are_day_month_year():
    assert date_fr(date(2026, 9, 1)) == "01/09/2026"


@pytest.mark.parametrize("instant, expected", [
    (datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc), "02/10/2026 à 16:05"),  # summer time
    (datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc), "01/01/2027 à 00:30"),  # winter time
])
def test_instants_are_shown_in_paris_time(instant, expected):
    assert datetime_fr(instant) == expected
