"""dossiers RPC shapes: beneficiaries, employers, dossiers, their imports."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import EmailStr, Field, model_validator

from contracts.common import EnteredHours, Id, Shape
from contracts.events import ActionType

DossierNumber = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9/._-]+$",
                      description="as the funder writes it: 20X000703, 16/0/5756")
Status = Literal["in_progress", "closed"]
# The type of action funded (ActionType; seed 001's « PTP en cours », « VAE en cours »): ptp =
# projet de transition professionnelle, vae = validation des acquis de l'expérience, bilan =
# bilan de compétences, apprentissage = action de formation par apprentissage.
ACTION_TYPE_DESCRIPTION = "ptp, vae, bilan or apprentissage"
MAX_FORECAST_DAYS = 1500
MAX_IMPORT_ROWS = 5000


class NewParty(Shape):
    name: str = Field(min_length=1, max_length=200, description="as printed: 'DUBOIS Michelle'")
    email: EmailStr


class Party(NewParty):
    id: Id
    kind: str = Field(description="beneficiary or employer")
    funder_id: Id


class PlannedDay(Shape):
    """One day of the forecast calendar ("calendrier prévisionnel"): the hours planned."""

    day: date
    training_hours: EnteredHours = Field(description="en centre de formation")
    internship_hours: EnteredHours = Field(Decimal("0.00"), description="en stage")


def _session_in_order(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise ValueError("session_end is before session_start")


class NewDossier(Shape):
    number: str = DossierNumber
    organisation_id: Id
    beneficiary_id: Id
    employer_id: Id | None = None
    training_title: str = Field(min_length=1, max_length=300)
    session_start: date
    session_end: date
    commission_date: date | None = None
    action_type: ActionType = Field("ptp", description=ACTION_TYPE_DESCRIPTION)
    forecast: list[PlannedDay] = Field(default_factory=list, max_length=MAX_FORECAST_DAYS,
                                       description="planned hours per day, within the session")

    @model_validator(mode="after")
    def _session_in_order(self):
        _session_in_order(self.session_start, self.session_end)
        return self


class DossierChange(Shape):
    """What funder staff may change on a dossier (never its number, funder or organisation).
    An absent field stays as it is; `employer_id` and `commission_date` may be set to null
    (removed); `forecast` replaces the whole calendar."""

    training_title: str | None = Field(None, min_length=1, max_length=300)
    session_start: date | None = None
    session_end: date | None = None
    commission_date: date | None = None
    status: Status | None = Field(None, description="in_progress or closed")
    action_type: ActionType | None = Field(None, description=ACTION_TYPE_DESCRIPTION)
    employer_id: Id | None = None
    forecast: list[PlannedDay] | None = Field(None, max_length=MAX_FORECAST_DAYS)

    @model_validator(mode="after")
    def _no_null_where_a_value_is_needed(self):
        for name in ("training_title", "session_start", "session_end", "status", "action_type",
                     "forecast"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        _session_in_order(self.session_start, self.session_end)
        return self


class PendingMonth(Shape):
    """A month of the session that still awaits the organisation (seed 001's « Actions en
    attente »: « Février 2020 (En attente de saisie par l'organisme) »)."""

    month: str = Field(description="YYYY-MM")
    month_label: str = Field(description="« février 2020 »")
    status: str = Field(description="stable code: awaiting_entry")
    status_label: str = Field(description="as users read it, in French")


class DossierSummary(Shape):
    """A dossier as lists show it (seed 001: N° dossier, bénéficiaire, formation, session,
    date commission, statut, type d'action, actions en attente)."""

    id: Id
    number: str
    funder_id: Id
    organisation_id: Id
    organisation_name: str
    beneficiary: Party
    employer: Party | None = None
    training_title: str
    session_start: date
    session_end: date
    commission_date: date | None = None
    status: str = Field(description="stable code: in_progress, closed")
    status_label: str | None = Field(None, description="as users read it, in French")
    action_type: str = Field("ptp", description="stable code: " + ACTION_TYPE_DESCRIPTION)
    action_type_label: str | None = Field(None, description="« PTP », « VAE »...")
    pending_actions: list[PendingMonth] = Field(
        [], description="the session's months up to this one not certified yet, oldest first")


class Dossier(DossierSummary):
    forecast: list[PlannedDay] = Field([], description="the forecast calendar, by day")


class DossierQuery(Shape):
    """The dossier list's search and filters (all optional, combined)."""

    q: str | None = Field(None, max_length=200, description="number or beneficiary name")
    action_type: ActionType | None = Field(None, description=ACTION_TYPE_DESCRIPTION)
    status: Status | None = Field(None, description="in_progress or closed")
    pending: bool | None = Field(None, description="true: with pending actions; false: none")


class Count(Shape):
    code: str
    label: str
    count: int


class DossierCounts(Shape):
    """The caller's visible dossiers counted for a dashboard (seed 004's « Mes contrats »)."""

    total: int
    by_status: list[Count]
    by_action_type: list[Count]


# ---- imports --------------------------------------------------------------------------------

class PartyRef(Shape):
    """A beneficiary or employer as an import names them: found by email among the funder's
    parties of that kind, created when none has it."""

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr


class ImportedDossier(Shape):
    """One row of an import. The dossier is found by its number; an existing one is updated
    (never its organisation or beneficiary). `employer`, `commission_date` and `forecast`
    absent leave the dossier's as they are; `employer` or `commission_date` null remove them,
    `forecast` replaces the whole calendar."""

    number: str = DossierNumber
    beneficiary: PartyRef
    employer: PartyRef | None = None
    training_title: str = Field(min_length=1, max_length=300)
    session_start: date
    session_end: date
    commission_date: date | None = None
    action_type: ActionType | None = Field(
        None, description=ACTION_TYPE_DESCRIPTION + "; absent: ptp for a new dossier, unchanged "
                                                    "for an existing one")
    forecast: list[PlannedDay] | None = Field(None, max_length=MAX_FORECAST_DAYS)


class DossierBatch(Shape):
    """An organisation's software sends its dossiers (API token, right enter_hours). Each row
    has the shape of ImportedDossier and is checked on its own: a bad row is reported, the
    others are taken."""

    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_IMPORT_ROWS,
                                       description="ImportedDossier objects")


class SpreadsheetImport(Shape):
    """A funder's spreadsheet (xlsx or CSV), one dossier per row, the organisation by SIRET."""

    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(min_length=1)


class DossierImportError(Shape):
    row: int = Field(description="the line in the file (header = 1), or the batch position from 1")
    field: str | None = Field(None, description="the field, as named in ImportedDossier")
    column: str | None = Field(None, description="the spreadsheet column, as headed in the file")
    code: str
    message: str = Field(description="in French")


class DossierImportRow(Shape):
    row: int
    number: str | None = None
    outcome: Literal["created", "updated", "unchanged", "error"]
    dossier_id: Id | None = None
    errors: list[DossierImportError] = []


class DossierImportReport(Shape):
    created: int
    updated: int
    unchanged: int
    errors: int = Field(description="rows refused")
    rows: list[DossierImportRow]
