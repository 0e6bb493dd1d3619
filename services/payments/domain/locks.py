"""Month locks: a dossier's month whose certified hours are the payable hours."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from contracts.common import FUNDER_ROLES, Actor, Role
from contracts.common.errors import Conflict, NotFound


class MonthLock:
    """A dossier's month whose certified hours are now the payable hours (mapped in models).
    `locked` falls to False when the funder unlocks it; a new certification locks it again."""

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
        self.locked = True
        self.unlocked_at: datetime | None = None
        self.unlocked_by: str | None = None
        self.unlock_reason: str | None = None
        self.transmitted_at: datetime | None = None
        self.transmitted_by: str | None = None

    def unlock(self, user_id: str, reason: str, now: datetime) -> None:
        if not self.release(user_id, reason, now):
            raise Conflict("month_not_locked", "Ce mois n'est pas verrouillé.")

    def release(self, user_id: str, reason: str, now: datetime) -> bool:
        """Unlock (the hours will be certified again, and transmitted again); False when the
        month is not locked, which changes nothing."""
        if not self.locked:
            return False
        self.locked = False
        self.unlocked_at, self.unlocked_by, self.unlock_reason = now, user_id, reason
        self.transmitted_at = self.transmitted_by = None
        return True

    def transmitted(self, certificate_id: str, user_id: str, at: datetime) -> bool:
        """The funder transmitted these certified hours for payment; False (nothing changes)
        when they are not this lock's hours or were already recorded."""
        if not self.locked or certificate_id != self.certificate_id or self.transmitted_at:
            return False
        self.transmitted_at, self.transmitted_by = at, user_id
        return True


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
    """The lock to write, or None when the month is already locked: the first certified hours
    stay the payable ones. A month the funder unlocked is locked again by its next
    certification, with that certification's hours."""
    if existing is not None and existing.locked:
        return None
    if existing is not None:
        existing.certificate_id = certified.certificate_id
        existing.training_hours = certified.training_hours
        existing.internship_hours = certified.internship_hours
        existing.absence_hours = certified.absence_hours
        existing.locked, existing.locked_at = True, now
        return existing
    return MonthLock(certified.dossier_id, certified.month, certified.funder_id,
                     certified.organisation_id, certified.certificate_id,
                     certified.training_hours, certified.internship_hours,
                     certified.absence_hours, now)


def may_see(actor: Actor, lock: MonthLock) -> bool:
    """Funder staff see their funder's locks; an organisation user its organisation's."""
    if actor.role in FUNDER_ROLES:
        return actor.funder_id == lock.funder_id
    if actor.role == Role.organisation_user:
        return (actor.funder_id == lock.funder_id
                and actor.organisation_id == lock.organisation_id)
    return False


def ensure_may_see(actor: Actor, lock: MonthLock) -> None:
    # NotFound, not Forbidden: another funder's or organisation's dossiers must not leak.
    if not may_see(actor, lock):
        raise NotFound("month_lock_not_found", "Aucun mois verrouillé trouvé pour ce dossier.")


def locked_months(locks: Iterable[MonthLock]) -> list[str]:
    """The months ("YYYY-MM") locked for payment now, in order."""
    return sorted(lock.month for lock in locks if lock.locked)
