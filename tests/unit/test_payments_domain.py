"""Rules of payable months: lock once with the certified hours; who may see a lock."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from servicekit.errors import NotFound
from services.payments import domain

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)


def certified(training="147.00", certificate_id="c1") -> domain.CertifiedMonth:
    return domain.CertifiedMonth("d1", "2026-03", "f1", "o1", certificate_id,
                                 Decimal(training), Decimal("0.00"), Decimal("3.50"))


def test_first_certification_locks_the_month_with_its_hours():
    lock = domain.lock_month(None, certified(), NOW)
    assert (lock.dossier_id, lock.month, lock.funder_id, lock.organisation_id) == (
        "d1", "2026-03", "f1", "o1")
    assert (lock.training_hours, lock.absence_hours, lock.certificate_id, lock.locked_at) == (
        Decimal("147.00"), Decimal("3.50"), "c1", NOW)


def test_an_already_locked_month_changes_nothing():
    first = domain.lock_month(None, certified(), NOW)
    assert domain.lock_month(first, certified("10.00", "c2"), NOW) is None
    assert first.training_hours == Decimal("147.00")


@pytest.mark.parametrize("role, funder, organisation", [
    ("funder_agent", "f1", None), ("funder_admin", "f1", None),
    ("organisation_user", "f1", "o1"),
])
def test_who_may_see_a_lock(role, funder, organisation):
    domain.ensure_may_see(role, funder, organisation, domain.lock_month(None, certified(), NOW))


@pytest.mark.parametrize("role, funder, organisation", [
    ("funder_agent", "f2", None), ("organisation_user", "f1", "o2"),
    ("organisation_user", "f2", "o1"), ("beneficiary", "f1", None), ("employer", "f1", None),
])
def test_others_do_not_even_learn_it_exists(role, funder, organisation):
    with pytest.raises(NotFound) as exc:
        domain.ensure_may_see(role, funder, organisation,
                              domain.lock_month(None, certified(), NOW))
    assert exc.value.code == "month_lock_not_found"
