"""dossiers rules: beneficiaries and employers (parties), dossiers, and who may see which.

No Nameko, no SQLAlchemy, no I/O; the clock is passed in. The visibility rule (`Scope`) is the
access check of every service that reads a dossier on an end user's behalf (certification
calls get_dossier with the user's actor), so it lives here, in one place, tested on its own.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from contracts.common import Actor, Role
from servicekit.errors import InvalidInput, NotFound


class PartyKind(str, Enum):
    beneficiary = "beneficiary"
    employer = "employer"


# Status code -> label as users read it. Later statuses (closed, ...) come with their issue.
STATUS_LABELS = {"in_progress": "Dossier en cours de suivi"}
INITIAL_STATUS = "in_progress"


def new_id() -> str:
    return str(uuid.uuid4())


class Party:
    """A beneficiary or an employer of the funder's dossiers."""

    def __init__(self, id: str, funder_id: str, kind: str, name: str, email: str,
                 created_at: datetime):
        self.id = id
        self.funder_id = funder_id
        self.kind = kind
        self.name = name
        self.email = email
        self.created_at = created_at


class Dossier:
    def __init__(self, id: str, funder_id: str, number: str, organisation_id: str,
                 organisation_name: str, beneficiary_id: str, employer_id: str | None,
                 training_title: str, session_start: date, session_end: date,
                 created_at: datetime, status: str = INITIAL_STATUS):
        self.id = id
        self.funder_id = funder_id
        self.number = number
        self.organisation_id = organisation_id
        # Copied from identity at creation: a dossier reads without calling identity.
        self.organisation_name = organisation_name
        self.beneficiary_id = beneficiary_id
        self.employer_id = employer_id
        self.training_title = training_title
        self.session_start = session_start
        self.session_end = session_end
        self.status = status
        self.created_at = created_at

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


# --- rules ----------------------------------------------------------------------------------


def check_party(party: Party | None, funder_id: str, kind: PartyKind) -> Party:
    """The party a new dossier names must be the funder's own, and of the right kind."""
    if party is None or party.funder_id != funder_id or party.kind != kind.value:
        if kind is PartyKind.beneficiary:
            raise InvalidInput("unknown_beneficiary", "Bénéficiaire inconnu.")
        raise InvalidInput("unknown_employer", "Employeur inconnu.")
    return party


def dossier_not_found() -> NotFound:
    return NotFound("dossier_not_found", "Dossier introuvable.")


@dataclass(frozen=True)
class Scope:
    """The dossiers an actor may see: always one funder's, narrowed by organisation or party.

    `nothing` is a scope that matches no dossier (an actor whose role needs an organisation or
    party it does not have).
    """

    funder_id: str
    organisation_id: str | None = None
    beneficiary_id: str | None = None
    employer_id: str | None = None
    nothing: bool = False

    def narrowing(self) -> dict[str, str]:
        """Dossier attribute -> required value, besides the funder (the SQL filter uses it too)."""
        fields = {"organisation_id": self.organisation_id,
                  "beneficiary_id": self.beneficiary_id, "employer_id": self.employer_id}
        return {field: value for field, value in fields.items() if value is not None}

    def allows(self, dossier: Dossier) -> bool:
        if self.nothing or dossier.funder_id != self.funder_id:
            return False
        return all(getattr(dossier, field) == value for field, value in self.narrowing().items())


def scope_for(actor: Actor) -> Scope:
    """Funder staff: their funder's dossiers; an organisation user: its organisation's; a
    beneficiary or employer: the dossiers that name them."""
    if actor.is_funder_staff:
        return Scope(actor.funder_id)
    by_role = {
        Role.organisation_user: ("organisation_id", actor.organisation_id),
        Role.beneficiary: ("beneficiary_id", actor.party_id),
        Role.employer: ("employer_id", actor.party_id),
    }
    field, value = by_role.get(actor.role, (None, None))
    if not value:
        return Scope(actor.funder_id, nothing=True)
    return Scope(actor.funder_id, **{field: value})


def search_pattern(query: str | None) -> str | None:
    """A LIKE pattern for a free-text search (escape char '\\'); None when nothing to search."""
    text = (query or "").strip().lower()
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
