"""What each month shows (its status and label) and what waits for whom ("N actions en
attente")."""
from __future__ import annotations

from datetime import date, datetime

from contracts.common import Role
from services.certification.domain.certificate import (AWAITING_BENEFICIARY, AWAITING_EMPLOYER,
                                                       AWAITING_ENTRY, CONTESTED, HOURS_ENTERED,
                                                       NOT_AVAILABLE, REOPENED, STATUS_LABELS,
                                                       Certificate)
from services.certification.domain.months import Session, is_open, local_noon

# What each role's dashboard counts as an action waiting for it.
PENDING_FOR_ROLE = {
    Role.organisation_user: frozenset({AWAITING_ENTRY, HOURS_ENTERED, REOPENED}),
    Role.beneficiary: frozenset({AWAITING_BENEFICIARY}),
    Role.employer: frozenset({AWAITING_EMPLOYER}),
}


def status_of(month: str, certificate: Certificate | None, session: Session,
              now: datetime) -> str:
    """A stored certificate's status, or the computed status of a month without one."""
    if certificate is not None:
        if certificate.status == AWAITING_ENTRY and not certificate.closed_by_payment_id \
                and not is_open(month, session, now):
            return NOT_AVAILABLE
        return certificate.display_status
    return AWAITING_ENTRY if is_open(month, session, now) else NOT_AVAILABLE


def status_label(status: str, certificate: Certificate | None) -> str:
    if certificate is not None and status == CONTESTED:
        return certificate.status_label
    return STATUS_LABELS[status]


def pending_months(role: Role, session: Session, stored: dict[str, Certificate],
                   now: datetime) -> list[tuple[str, str]]:
    """(month, status) of a dossier's months waiting for an action of this role."""
    waiting = PENDING_FOR_ROLE.get(role, frozenset())
    found = []
    for month in session.months():
        status = status_of(month, stored.get(month), session, now)
        if status in waiting:
            found.append((month, status))
    return found


def months_to_certify(session: Session, stored: dict[str, Certificate], day: date) -> list[str]:
    """A dossier's months open for entry on `day` that wait for its organisation (awaiting
    entry, hours entered, reopened), as the daily job announces them."""
    now = local_noon(day)
    return [month for month, _ in pending_months(Role.organisation_user, session, stored, now)
            if is_open(month, session, now)]


def actions_label(count: int) -> str:
    return f"{count} action{'s' if count > 1 else ''} en attente"
