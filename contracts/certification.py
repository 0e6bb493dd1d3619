"""certification RPC shapes: a dossier's monthly completion certificates, the funder's
certification settings, the dashboard of pending actions, the template import."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import EmailStr, Field

from contracts.common import EnteredHours, Id, Shape
from contracts.events import Hours, Month

EntryMode = Literal["month", "day", "half_day"]
Period = Literal["day", "morning", "afternoon"]
ZERO = Decimal("0.00")


class DayEntry(Shape):
    """One day (per-day mode, period "day") or half-day (morning / afternoon) of hours."""

    day: date
    period: Period = "day"
    training_hours: EnteredHours = ZERO
    internship_hours: EnteredHours = ZERO
    absence_hours: EnteredHours = ZERO


class HoursChange(Shape):
    """Some of a month's hours (PATCH): only the values sent change. Month totals: any of the
    three totals. Per day or half-day: the days sent replace the same stored days. Two
    decimals: a JSON number, "147.00" or French input "147,00"."""

    training_hours: EnteredHours | None = None
    internship_hours: EnteredHours | None = None
    absence_hours: EnteredHours | None = None
    days: list[DayEntry] = Field(default_factory=list, max_length=62)


class HoursEntry(HoursChange):
    """A month's hours (PUT): the whole month, every value of the funder's entry mode, or 422
    `hours_missing`. Month totals: the three totals. Per day or half-day: `days` (the totals
    are computed from them; if sent they must match). Two decimals: a JSON number, "147.00"
    or French input "147,00"."""


class EnteredDay(Shape):
    """A day or half-day of a stored (or proposed) entry."""

    day: date
    period: Period
    training_hours: Hours
    internship_hours: Hours
    absence_hours: Hours


class ProposedEntry(Shape):
    """What the form gets pre-filled with; send it back (changed or not) as HoursEntry."""

    training_hours: Hours
    internship_hours: Hours
    absence_hours: Hours
    days: list[EnteredDay] = []


class Certify(Shape):
    attest: bool = Field(description="'Je certifie la saisie des heures' must be ticked (true)")
    method: Literal[1, 2] = Field(1, description="1: signed PDF deposited; 2: emailed code")
    accept_ip: bool = Field(False, description="'J'accepte que mon adresse IP soit utilisée' "
                                               "(method 2)")
    code: str | None = Field(None, pattern=r"^\d{4,6}$",
                             description="method 2: the verification code received by email")


class CodeRequest(Shape):
    """Method 2: send (or send again, which invalidates the previous one) the code by email."""

    attest: bool = Field(description="'Je certifie la saisie des heures'")
    accept_ip: bool = Field(description="'J'accepte que mon adresse IP soit utilisée'")


class CodeSent(Shape):
    sent_to: str = Field(description="the address it was sent to, partly masked")
    expires_at: datetime
    code_length: int
    lifetime_minutes: int


class Reopen(Shape):
    reason: str = Field(min_length=1, max_length=1000, description="motif, shown to the organisation")


class Contest(Shape):
    reason: str = Field(min_length=1, max_length=1000,
                        description="motif, sent to the organisation")


class Warning(Shape):
    code: str
    message: str


class Certificate(Shape):
    id: Id | None = None
    dossier_id: Id
    month: Month
    period_label: str = Field("", description="'Septembre 2020'")
    status: str = Field(description="stable code")
    status_label: str = Field(description="as users read it, in French")
    entry_mode: EntryMode = Field("month", description="the funder's entry mode")
    training_hours: Hours | None = None
    internship_hours: Hours | None = None
    absence_hours: Hours | None = None
    days: list[EnteredDay] = Field(default_factory=list, description="detail of a per-day entry")
    hours_reference: str | None = Field(None, description="the hours' version, as the draft "
                                        "to sign prints it: '3F9A0C'")
    planned_hours: Hours | None = Field(None, description="forecast calendar's hours this month")
    warnings: list[Warning] = Field(default_factory=list,
                                    description="e.g. over_plan: more than the forecast")
    method: int | None = None
    certified_by: Id | None = None
    certified_by_name: str | None = Field(None, description="the signer's name")
    certified_by_role: str | None = Field(None, description="the signer's role (stable code)")
    certified_by_label: str | None = Field(None, description="'Claire Martin (organisme de "
                                                             "formation)', as the PDF prints it")
    certified_at: datetime | None = None
    certified_document_sha256: str | None = Field(None, description="evidence: sha256 of "
                                                  "what was certified")
    code_checked_at: datetime | None = Field(None, description="evidence: method 2 code check")
    locked_for_payment: bool = Field(False, description="payments locked this month")
    reopen_reason: str | None = None
    reopened_at: datetime | None = None
    closed_by_payment_number: str | None = None
    validations: list[Literal["beneficiary", "employer"]] = Field(
        default_factory=list, description="who must validate the hours, in order")
    beneficiary_validated_at: datetime | None = None
    employer_validated_at: datetime | None = None
    contested_party: Literal["beneficiary", "employer"] | None = None
    contest_reason: str | None = None
    contested_at: datetime | None = None
    transmitted_at: datetime | None = Field(None, description="transmitted for payment")
    transmitted_by: Id | None = None
    version: int = 0


class HoursProposal(Shape):
    """A pre-filled entry for the form (nothing stored): reset, forecast or 7 h a day."""

    dossier_id: Id
    month: Month
    source: str
    entry: ProposedEntry
    warnings: list[Warning] = []


class CertificationSettings(Shape):
    """A funder's certification settings; the defaults are what the seeds show."""

    entry_mode: EntryMode = Field("month", description="month totals, per day, per half-day")
    code_length: Literal[4, 6] = Field(4, description="method 2 code: 4 digits (seeds) or 6")
    code_lifetime_minutes: Literal[15, 10] = Field(15, description="method 2 code lifetime")
    beneficiary_validation: bool = Field(False, description="the beneficiary validates the hours")
    employer_validation: bool = Field(False, description="the employer validates the hours")
    notify_funder: bool = Field(True, description="the funder is emailed at certification "
                                                 "(seed 002: on unless turned off)")
    funder_notification_email: EmailStr | None = Field(
        None, description="where the funder is emailed (required when notify_funder)")


class FunderCertificationSettings(CertificationSettings):
    funder_id: Id
    updated_by: Id | None = None
    updated_at: datetime | None = None


class PendingAction(Shape):
    """One line of "N actions en attente"."""

    dossier_id: Id
    dossier_number: str
    beneficiary_name: str
    training_title: str
    session_start: date
    session_end: date
    month: Month
    period_label: str
    status: str
    status_label: str


class PendingActions(Shape):
    count: int
    label: str = Field(description="'15 actions en attente'")
    actions: list[PendingAction]


class TemplateUpload(Shape):
    """The filled template (xlsx): month and dossier are in its rows."""

    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(min_length=1)


class ImportRow(Shape):
    row: int = Field(description="line number in the sheet")
    dossier_number: str | None = None
    month: str | None = None
    status: Literal["ok", "error"]
    code: str | None = None
    message: str | None = None
    warnings: list[Warning] = []


class ImportReport(Shape):
    entered: int = Field(description="dossier months entered")
    errors: int = Field(description="rows refused")
    rows: list[ImportRow]


class TemplateFile(Shape):
    filename: str
    content_type: str
    content_base64: str


class TemplateQuery(Shape):
    month: Month
    dossier_id: Id | None = Field(None, description="one dossier only (else all open ones)")


class ProposalQuery(Shape):
    source: Literal["zero", "forecast", "spread"] = Field(
        description="zero: remise à zéro; forecast: charger le calendrier; spread: répartir "
                    "7 h tous les jours ouvrés")


class DayParam(Shape):
    """The day a daily job runs for (months to certify): today in Paris when not given."""

    day: date
