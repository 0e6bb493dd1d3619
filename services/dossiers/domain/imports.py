"""Imports: what a row says of a dossier, and whether it creates, updates or leaves it alone.

A row is checked on its own (a bad row is reported, the others are taken); re-importing the
same file changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, Iterable

from services.dossiers.domain.dossiers import (DayPlan, Dossier, PlannedHours, Problem,
                                               forecast_problems, session_problems)

# pydantic error type -> (stable code, French message) of a row error.
_ROW_ERRORS = {
    "missing": ("required", "Valeur obligatoire manquante."),
    "date_from_datetime_parsing": ("invalid_date", "Date invalide : attendu jj/mm/aaaa."),
    "date_parsing": ("invalid_date", "Date invalide : attendu jj/mm/aaaa."),
    "date_type": ("invalid_date", "Date invalide : attendu jj/mm/aaaa."),
    "date_from_datetime_inexact": ("invalid_date", "Date invalide : attendu jj/mm/aaaa."),
    "value_error": ("invalid_value", "Valeur invalide."),
    "string_too_short": ("required", "Valeur obligatoire manquante."),
    "string_too_long": ("too_long", "Texte trop long."),
    "string_pattern_mismatch": ("invalid_number",
                                "Numéro de dossier invalide : lettres, chiffres et / . _ - "
                                "seulement."),
    "decimal_parsing": ("invalid_hours", "Nombre d'heures invalide."),
    "greater_than_equal": ("invalid_hours", "Le nombre d'heures ne peut pas être négatif."),
    "decimal_max_places": ("invalid_hours", "Deux décimales au plus."),
    "decimal_max_digits": ("invalid_hours", "Nombre d'heures trop grand."),
    "extra_forbidden": ("unknown_field", "Champ inconnu."),
    "too_long": ("too_many_days", "Trop de jours dans le calendrier prévisionnel."),
}


def invalid_row() -> Problem:
    return Problem(None, "invalid_row", "La ligne doit être un objet JSON.")


def row_problem(error: dict) -> Problem:
    """A row the contract refuses: one of its validation errors (location and type)."""
    location = ".".join(str(part) for part in error.get("loc", ()))
    kind = error.get("type", "")
    if "email" in location and kind == "value_error":
        return Problem(location, "invalid_email", "Adresse e-mail invalide.")
    code, message = _ROW_ERRORS.get(kind, ("invalid_value", "Valeur invalide."))
    return Problem(location or None, code, message)


def dated_problems(start: date, end: date, forecast: Iterable[DayPlan] | None) -> list[Problem]:
    """A row the contract accepts: its session in order, then its calendar within it."""
    problems = session_problems(start, end)
    if not problems and forecast:
        problems = forecast_problems(forecast, start, end)
    return problems


def duplicate_number() -> Problem:
    return Problem("number", "duplicate_number",
                   "Ce numéro de dossier figure déjà sur une ligne précédente.")


class Outcome(str, Enum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    error = "error"


class _Keep:
    """What a row leaves as it is: a field it does not carry (absent from the JSON row, no
    such column in the file), as opposed to one it empties (null, an empty cell)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@dataclass(frozen=True)
class ImportFacts:
    """What an import row says of a dossier, in the dossier's own terms (party ids)."""

    organisation_id: str
    beneficiary_id: str
    training_title: str
    session_start: date
    session_end: date
    employer_id: str | None = KEEP
    commission_date: date | None = KEEP
    action_type: str = KEEP
    forecast: tuple[PlannedHours, ...] | None = KEEP

    def as_changes(self) -> dict[str, Any]:
        """The DossierChange-like fields the row carries."""
        changes = {"training_title": self.training_title, "session_start": self.session_start,
                   "session_end": self.session_end, "commission_date": self.commission_date,
                   "employer_id": self.employer_id, "action_type": self.action_type}
        if self.forecast is not KEEP:
            changes["forecast"] = list(self.forecast)
        return {name: value for name, value in changes.items() if value is not KEEP}


def forecast_key(days: Iterable[DayPlan] | None) -> tuple[PlannedHours, ...]:
    """The calendar as compared; KEEP when the row carries none."""
    if days is None:
        return KEEP
    return tuple(sorted(PlannedHours(day.day, Decimal(day.training_hours),
                                     Decimal(day.internship_hours)) for day in days))


@dataclass
class Decision:
    outcome: Outcome
    problems: list[Problem] = field(default_factory=list)


def import_decision(existing: Dossier | None, incoming: ImportFacts) -> Decision:
    """Created when the number is new; unchanged when the row says what the dossier already
    holds (so re-importing a file changes nothing); updated otherwise. A row never moves a
    dossier to another organisation or beneficiary."""
    if existing is None:
        return Decision(Outcome.created)
    if existing.organisation_id != incoming.organisation_id:
        return Decision(Outcome.error, [Problem(
            "number", "dossier_number_taken",
            "Ce numéro de dossier existe déjà pour un autre organisme de formation.")])
    if existing.beneficiary_id != incoming.beneficiary_id:
        return Decision(Outcome.error, [Problem(
            "beneficiary", "beneficiary_changed",
            "Le bénéficiaire d'un dossier existant ne peut pas changer.")])
    current = {name: getattr(existing, name) for name in
               ("training_title", "session_start", "session_end", "commission_date",
                "employer_id", "action_type")}
    current["forecast"] = existing.forecast_key()
    given = incoming.as_changes()
    if "forecast" in given:
        given["forecast"] = incoming.forecast
    if all(current[name] == value for name, value in given.items()):
        return Decision(Outcome.unchanged)
    return Decision(Outcome.updated)
