"""dossiers RPC shapes: beneficiaries, employers, dossiers, their imports."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import EmailStr, Field, model_validator

from contracts.common import EnteredHours, Id, Shape
from contracts.events import ActionType

DossierNumber = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9/._-]+$",
                      description="as the funder writes it: 20X000703, 16/0/5756",
                      examples=["20X000703"])
Status = Literal["in_progress", "closed"]
# The type of action funded (ActionType; seed 001's « PTP en cours », « VAE en cours »): ptp =
# projet de transition professionnelle, vae = validation des acquis de l'expérience, bilan =
# bilan de compétences, apprentissage = action de formation par apprentissage.
ACTION_TYPE_DESCRIPTION = "ptp, vae, bilan or apprentissage"
MAX_FORECAST_DAYS = 1500
MAX_IMPORT_ROWS = 5000
# The seeds' dossier list columns (seed 001), as it heads them.
TRAINING_TITLE = "« Formation »: the training's title"
TRAINING_TITLE_EXAMPLE = ["Titre professionnel Comptable assistant"]
SESSION_START = "« Session »: its first day"
SESSION_END = "« Session »: its last day, not before session_start"
COMMISSION_DATE = "« Date commission »: the date of the funder's commission"
ABSENT_UNCHANGED = "; absent: unchanged"


class NewParty(Shape):
    name: str = Field(min_length=1, max_length=200, description="as printed: 'DUBOIS Michelle'",
                      examples=["DUBOIS Michelle"])
    email: EmailStr = Field(description="their email address")


class Party(NewParty):
    id: Id = Field(description="the beneficiary or employer")
    kind: str = Field(description="beneficiary or employer", examples=["beneficiary"])
    funder_id: Id = Field(description="the funder they are registered with")


class PlannedDay(Shape):
    """One day of the forecast calendar ("calendrier prévisionnel"): the hours planned."""

    day: date = Field(description="the day, within the session")
    training_hours: EnteredHours = Field(description="en centre de formation",
                                         examples=["7.00"])
    internship_hours: EnteredHours = Field(Decimal("0.00"), description="en stage")


def _session_in_order(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise ValueError("session_end is before session_start")


class NewDossier(Shape):
    number: str = DossierNumber
    organisation_id: Id = Field(description="the training organisation that follows it")
    beneficiary_id: Id = Field(description="its beneficiary (POST /beneficiaries)")
    employer_id: Id | None = Field(None, description="the beneficiary's employer "
                                                     "(POST /employers), if any")
    training_title: str = Field(min_length=1, max_length=300, description=TRAINING_TITLE,
                                examples=TRAINING_TITLE_EXAMPLE)
    session_start: date = Field(description=SESSION_START)
    session_end: date = Field(description=SESSION_END)
    commission_date: date | None = Field(None, description=COMMISSION_DATE)
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

    training_title: str | None = Field(None, min_length=1, max_length=300,
                                       description=TRAINING_TITLE + ABSENT_UNCHANGED,
                                       examples=TRAINING_TITLE_EXAMPLE)
    session_start: date | None = Field(None, description=SESSION_START + ABSENT_UNCHANGED)
    session_end: date | None = Field(None, description=SESSION_END + ABSENT_UNCHANGED)
    commission_date: date | None = Field(None, description=COMMISSION_DATE + ABSENT_UNCHANGED
                                         + "; null: removed")
    status: Status | None = Field(None, description="in_progress or closed")
    action_type: ActionType | None = Field(None, description=ACTION_TYPE_DESCRIPTION)
    employer_id: Id | None = Field(None, description="the beneficiary's employer"
                                   + ABSENT_UNCHANGED + "; null: removed")
    forecast: list[PlannedDay] | None = Field(
        None, max_length=MAX_FORECAST_DAYS,
        description="planned hours per day, replacing the whole calendar" + ABSENT_UNCHANGED)

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

    month: str = Field(description="YYYY-MM", examples=["2026-10"])
    month_label: str = Field(description="« février 2020 »", examples=["octobre 2026"])
    status: str = Field(description="stable code: awaiting_entry", examples=["awaiting_entry"])
    status_label: str = Field(description="as users read it, in French",
                              examples=["En attente de saisie par l'organisme"])


class DossierSummary(Shape):
    """A dossier as lists show it (seed 001: N° dossier, bénéficiaire, formation, session,
    date commission, statut, type d'action, actions en attente)."""

    id: Id = Field(description="the dossier")
    number: str = Field(description="« N° dossier », as the funder writes it",
                        examples=["20X000703"])
    funder_id: Id = Field(description="the funder that finances it")
    organisation_id: Id = Field(description="the training organisation that follows it")
    organisation_name: str = Field(description="that organisation's name",
                                   examples=["Centre de Formation Horizon"])
    beneficiary: Party = Field(description="« Bénéficiaire »")
    employer: Party | None = Field(None, description="the beneficiary's employer, if any")
    training_title: str = Field(description=TRAINING_TITLE, examples=TRAINING_TITLE_EXAMPLE)
    session_start: date = Field(description=SESSION_START)
    session_end: date = Field(description=SESSION_END)
    commission_date: date | None = Field(None, description=COMMISSION_DATE)
    status: str = Field(description="stable code: in_progress, closed", examples=["in_progress"])
    status_label: str | None = Field(None, description="as users read it, in French",
                                     examples=["Dossier en cours de suivi"])
    action_type: str = Field("ptp", description="stable code: " + ACTION_TYPE_DESCRIPTION)
    action_type_label: str | None = Field(None, description="« PTP », « VAE »...",
                                          examples=["PTP"])
    pending_actions: list[PendingMonth] = Field(
        [], description="the session's months up to this one not certified yet, oldest first")


class Dossier(DossierSummary):
    forecast: list[PlannedDay] = Field([], description="the forecast calendar, by day")


class DossierQuery(Shape):
    """The dossier list's search and filters (all optional, combined)."""

    q: str | None = Field(None, max_length=200, description="number or beneficiary name",
                          examples=["20X000703"])
    action_type: ActionType | None = Field(None, description=ACTION_TYPE_DESCRIPTION)
    status: Status | None = Field(None, description="in_progress or closed")
    pending: bool | None = Field(None, description="true: with pending actions; false: none")


class Count(Shape):
    code: str = Field(description="stable code: a status or a type of action",
                      examples=["in_progress"])
    label: str = Field(description="as users read it, in French",
                       examples=["Dossier en cours de suivi"])
    count: int = Field(description="how many dossiers")


class DossierCounts(Shape):
    """The caller's visible dossiers counted for a dashboard (seed 004's « Mes contrats »)."""

    total: int = Field(description="all the dossiers the caller sees")
    by_status: list[Count] = Field(description="counted by status")
    by_action_type: list[Count] = Field(description="counted by type of action")


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
    field: str | None = Field(None, description="the field, as named in ImportedDossier",
                              examples=["session_start"])
    column: str | None = Field(None, description="the spreadsheet column, as headed in the file",
                               examples=["Début de session"])
    code: str = Field(description="stable code", examples=["invalid_date"])
    message: str = Field(description="in French", examples=["Date invalide : attendu jj/mm/aaaa."])


class DossierImportRow(Shape):
    """One row's report: an item of a dossier import job (GET /jobs/{job_id}), whose summary
    counts them (created, updated, unchanged, errors)."""

    row: int = Field(description="the line in the file (header = 1), or the batch position "
                                 "from 1")
    number: str | None = Field(None, description="the dossier number read, if any",
                               examples=["20X000703"])
    outcome: Literal["created", "updated", "unchanged", "error"] = Field(
        description="what the row did; error: refused, see errors")
    dossier_id: Id | None = Field(None, description="the dossier created, updated or unchanged")
    errors: list[DossierImportError] = Field([], description="why the row was refused")
