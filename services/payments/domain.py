"""Payable months: a certified month is locked with its certified hours. Pure rules.

Payments themselves (numbers, amounts, remittance advice) come with a later issue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from servicekit.errors import NotFound

FUNDER_ROLES = frozenset({"funder_agent", "funder_admin"})
ORGANISATION_ROLE = "organisation_user"


class MonthLock:
    """A dossier's month whose certified hours are now the payable hours (mapped in models)."""

    def __init__(self, dossier_id: str, month: str, funder_id: str, organisation_id: str,
                 certificate_id: str, training_hours: Decimal, internship_hours: Decimal,
                 absence_hours: Decimal, locked_at: datetime):
        self.dossier_id = dossier_id
        self.month = month
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.certificate_id = certificate_id
        self.training_hours = training_hours
        self.internship_hours = internship_hours
        self.absence_hours = absence_hours
        self.locked_at = locked_at


@dataclass(frozen=True)
class CertifiedMonth:
    """What payments needs from a `certified` event."""

    dossier_id: str
    month: str
    funder_id: str
    organisation_id: str
    certificate_id: str
    training_hours: Decimal
    internship_hours: Decimal
    absence_hours: Decimal


def lock_month(existing: MonthLock | None, certified: CertifiedMonth,
               now: datetime) -> MonthLock | None:
    """The new lock, or None when the month is already locked: the first certified hours stay
    the payable ones, a later event for the same month changes nothing."""
    if existing is not None:
        return None
    return MonthLock(certified.dossier_id, certified.month, certified.funder_id,
                     certified.organisation_id, certified.certificate_id,
                     certified.training_hours, certified.internship_hours,
                     certified.absence_hours, now)


def may_see(role: str, actor_funder_id: str, actor_organisation_id: str | None,
            lock: MonthLock) -> bool:
    """Funder staff see their funder's locks; an organisation user its organisation's."""
    if role in FUNDER_ROLES:
        return actor_funder_id == lock.funder_id
    if role == ORGANISATION_ROLE:
        return actor_funder_id == lock.funder_id and actor_organisation_id == lock.organisation_id
    return False


def ensure_may_see(role: str, actor_funder_id: str, actor_organisation_id: str | None,
                   lock: MonthLock) -> None:
    # NotFound, not Forbidden: another funder's or organisation's dossiers must not leak.
    if not may_see(role, actor_funder_id, actor_organisation_id, lock):
        raise NotFound("month_lock_not_found", "Aucun mois verrouillé trouvé pour ce dossier.")
