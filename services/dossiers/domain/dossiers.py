"""Beneficiaries and employers (parties), dossiers with their forecast calendar, the rules a
change must keep, and who may see which dossier.

The visibility rule (`Scope`) is the access check of every service that reads a dossier on an
end user's behalf (certification calls get_dossier with the user's actor), so it lives here,
in one place, tested on its own.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable, NamedTuple, Protocol

from contracts.common import Actor, Right, Role
from contracts.common.access import require_right
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound


class PartyKind(str, Enum):
    """Also the role of the account identity opens for the party."""

    beneficiary = Role.beneficiary.value
    employer = Role.employer.value


# Status code -> label as users read it (seed 001: « Dossier en cours de suivi »).
STATUS_LABELS = {"in_progress": "Dossier en cours de suivi", "closed": "Dossier clôturé"}
INITIAL_STATUS = "in_progress"
CLOSED_STATUS = "closed"  # « Dossier clôturé »: no more hours nor certification
# Type of action code -> label as users read it (seed 001's menus « PTP en cours », « VAE en
# cours »); contracts.dossiers.ActionType lists the same codes.
ACTION_TYPE_LABELS = {"ptp": "PTP", "vae": "VAE", "bilan": "Bilan de compétences",
                      "apprentissage": "Apprentissage"}
DEFAULT_ACTION_TYPE = "ptp"
MAX_DAY_HOURS = Decimal(24)


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


def hours(value) -> Decimal:
    """Two decimals, as stored: 7 and 7.00 are the same hours."""
    return Decimal(value).quantize(Decimal("0.01"))


class DayPlan(Protocol):
    """A day of a calendar as given (a contract's PlannedDay, or PlannedHours)."""

    day: date
    training_hours: Decimal
    internship_hours: Decimal


class PlannedHours(NamedTuple):
    """A planned day as compared: equal to PlannedDay.key() for the same hours."""

    day: date
    training_hours: Decimal
    internship_hours: Decimal


class PlannedDay:
    """One day of a dossier's forecast calendar (its own table)."""

    def __init__(self, day: date, training_hours: Decimal, internship_hours: Decimal):
        self.day = day
        self.training_hours = hours(training_hours)
        self.internship_hours = hours(internship_hours)

    def key(self) -> PlannedHours:
        return PlannedHours(self.day, Decimal(self.training_hours), Decimal(self.internship_hours))


# What a funder may change, in the order of Dossier.facts().
FACT_FIELDS = ("training_title", "session_start", "session_end", "commission_date", "status",
               "action_type", "employer_id", "forecast")


class Dossier:
    def __init__(self, id: str, funder_id: str, number: str, organisation_id: str,
                 organisation_name: str, beneficiary_id: str, employer_id: str | None,
                 training_title: str, session_start: date, session_end: date,
                 created_at: datetime, status: str = INITIAL_STATUS,
                 commission_date: date | None = None, updated_at: datetime | None = None,
                 action_type: str = DEFAULT_ACTION_TYPE):
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
        self.commission_date = commission_date
        self.status = status
        self.action_type = action_type
        self.created_at = created_at
        self.updated_at = updated_at
        self.forecast: list[PlannedDay] = []

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def action_type_label(self) -> str:
        return ACTION_TYPE_LABELS.get(self.action_type, self.action_type)

    def forecast_key(self) -> tuple:
        return tuple(sorted(day.key() for day in self.forecast))

    def replace_forecast(self, days: Iterable[DayPlan]) -> None:
        """The whole calendar at once; days already there keep their row (same key)."""
        wanted = {day.day: day for day in days}
        kept = [day for day in self.forecast if day.day in wanted]
        for day in kept:
            day.training_hours = hours(wanted[day.day].training_hours)
            day.internship_hours = hours(wanted[day.day].internship_hours)
        known = {day.day for day in kept}
        self.forecast = kept + [PlannedDay(day.day, day.training_hours, day.internship_hours)
                                for day in wanted.values() if day.day not in known]

    def change(self, changes: dict[str, Any], now: datetime) -> list[str]:
        """Apply a funder's change (DossierChange fields that were sent): session and forecast
        checked together, as they will be stored. The fields that changed (empty: none)."""
        raise_problems(self.change_problems(changes))
        forecast = changes.get("forecast")
        before = self.facts()
        for name in FACT_FIELDS[:-1]:
            if name in changes:
                setattr(self, name, changes[name])
        if forecast is not None:
            self.replace_forecast(forecast)
        changed = [name for name, old, new in zip(FACT_FIELDS, before, self.facts())
                   if old != new]
        if changed:
            self.updated_at = now
        return changed

    def change_problems(self, changes: dict[str, Any]) -> list[Problem]:
        """The session and the calendar, checked together as they would be stored: a session
        cut short must not leave planned days outside it."""
        start = changes.get("session_start", self.session_start)
        end = changes.get("session_end", self.session_end)
        forecast = changes.get("forecast")
        return session_problems(start, end) + forecast_problems(
            forecast if forecast is not None else self.forecast, start, end)

    def facts(self) -> tuple:
        """What an import or a change compares (FACT_FIELDS): equal facts, nothing to write."""
        return (self.training_title, self.session_start, self.session_end,
                self.commission_date, self.status, self.action_type, self.employer_id,
                self.forecast_key())


# --- rules ----------------------------------------------------------------------------------


def check_party(party: Party | None, funder_id: str, kind: PartyKind) -> Party:
    """The party a new dossier names must be the funder's own, and of the right kind."""
    if party is None or party.funder_id != funder_id or party.kind != kind.value:
        if kind is PartyKind.beneficiary:
            raise InvalidInput("unknown_beneficiary", "Bénéficiaire inconnu.")
        raise InvalidInput("unknown_employer", "Employeur inconnu.")
    return party


def require_importer(actor: Actor) -> None:
    """An organisation's software imports its dossiers with an API token (or a user of the
    organisation does): the right needed is « saisie des heures », the one whose holders
    keep the organisation's dossiers and hours up to date."""
    if actor.role != Role.organisation_user or not actor.organisation_id:
        raise Forbidden("organisation_only",
                        "Cette action est réservée aux organismes de formation.")
    require_right(actor, Right.enter_hours,
                  "L'import de dossiers demande le droit « saisie des heures ».")


def dossier_not_found() -> NotFound:
    return NotFound("dossier_not_found", "Dossier introuvable.")


def number_taken() -> Conflict:
    return Conflict("dossier_number_taken", "Ce numéro de dossier existe déjà.")


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


# --- rule checks, shared by the RPCs and the imports -----------------------------------------


@dataclass(frozen=True)
class Problem:
    """One broken rule: the field it concerns, a stable code, a French message."""

    field: str | None
    code: str
    message: str


def raise_problems(problems: list[Problem]) -> None:
    """An RPC refuses the whole input on the first problem (all of them in the details)."""
    if problems:
        first = problems[0]
        raise InvalidInput(first.code, first.message, {"errors": [
            {"field": p.field, "code": p.code, "message": p.message} for p in problems]})


def session_problems(start: date, end: date) -> list[Problem]:
    if end < start:
        return [Problem("session_end", "session_end_before_start",
                        "La fin de session précède son début.")]
    return []


def forecast_problems(days: Iterable[DayPlan], start: date, end: date) -> list[Problem]:
    """Every planned day within the session, each day once, never over 24 hours."""
    problems, seen = [], set()
    for index, day in enumerate(days):
        where = f"forecast.{index}"
        label = day.day.strftime("%d/%m/%Y")
        if day.day in seen:
            problems.append(Problem(where, "forecast_duplicate_day",
                                    f"Le {label} figure deux fois dans le calendrier "
                                    "prévisionnel."))
        seen.add(day.day)
        if not start <= day.day <= end:
            problems.append(Problem(where, "forecast_day_outside_session",
                                    f"Le {label} est en dehors de la session de formation."))
        if Decimal(day.training_hours) + Decimal(day.internship_hours) > MAX_DAY_HOURS:
            problems.append(Problem(where, "forecast_day_over_24_hours",
                                    f"Le {label} compte plus de 24 heures prévues."))
    return problems
