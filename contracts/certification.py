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
# The three columns of the seeds' entry form, as it heads them.
TRAINING = "« Heures de présence en formation »: hours in the training centre"
INTERNSHIP = "« Heures de présence en stage »: hours in the company placement"
ABSENCE = "« Heures d'absence »: hours missed"
MONTH_TOTAL = " (month total)"
PER_DAY = "per day or half-day mode: "


class DayEntry(Shape):
    """One day (per-day mode, period "day") or half-day (morning / afternoon) of hours."""

    day: date = Field(description="the day, in the month entered")
    period: Period = Field("day", description="day: the whole day (per-day mode); morning or "
                                              "afternoon (per half-day mode)")
    training_hours: EnteredHours = Field(ZERO, description=TRAINING, examples=["7.00"])
    internship_hours: EnteredHours = Field(ZERO, description=INTERNSHIP, examples=["0.00"])
    absence_hours: EnteredHours = Field(ZERO, description=ABSENCE, examples=["0.00"])


class HoursChange(Shape):
    """Some of a month's hours (PATCH): only the values sent change. Month totals: any of the
    three totals. Per day or half-day: the days sent replace the same stored days. Two
    decimals: a JSON number, "147.00" or French input "147,00"."""

    training_hours: EnteredHours | None = Field(None, description=TRAINING + MONTH_TOTAL,
                                                examples=["70.00"])
    internship_hours: EnteredHours | None = Field(None, description=INTERNSHIP + MONTH_TOTAL,
                                                  examples=["14.00"])
    absence_hours: EnteredHours | None = Field(None, description=ABSENCE + MONTH_TOTAL,
                                               examples=["3.50"])
    days: list[DayEntry] = Field(default_factory=list, max_length=62,
                                 description=PER_DAY + "the days or half-days entered")


class HoursEntry(HoursChange):
    """A month's hours (PUT): the whole month, every value of the funder's entry mode, or 422
    `hours_missing`. Month totals: the three totals. Per day or half-day: `days` (the totals
    are computed from them; if sent they must match). Two decimals: a JSON number, "147.00"
    or French input "147,00"."""


class EnteredDay(Shape):
    """A day or half-day of a stored (or proposed) entry."""

    day: date = Field(description="the day")
    period: Period = Field(description="day (whole day), morning or afternoon")
    training_hours: Hours = Field(description=TRAINING, examples=["7.00"])
    internship_hours: Hours = Field(description=INTERNSHIP, examples=["0.00"])
    absence_hours: Hours = Field(description=ABSENCE, examples=["0.00"])


class ProposedEntry(Shape):
    """What the form gets pre-filled with; send it back (changed or not) as HoursEntry."""

    training_hours: Hours = Field(description=TRAINING + MONTH_TOTAL, examples=["70.00"])
    internship_hours: Hours = Field(description=INTERNSHIP + MONTH_TOTAL, examples=["14.00"])
    absence_hours: Hours = Field(description=ABSENCE + MONTH_TOTAL, examples=["3.50"])
    days: list[EnteredDay] = Field([], description=PER_DAY + "the days or half-days proposed")


class Certify(Shape):
    attest: bool = Field(description="'Je certifie la saisie des heures' must be ticked (true)")
    method: Literal[1, 2] = Field(1, description="1: signed PDF deposited; 2: emailed code")
    accept_ip: bool = Field(False, description="'J'accepte que mon adresse IP soit utilisée' "
                                               "(method 2)")
    code: str | None = Field(None, pattern=r"^\d{4,6}$",
                             description="method 2: the verification code received by email",
                             examples=["4821"])


class CodeRequest(Shape):
    """Method 2: send (or send again, which invalidates the previous one) the code by email."""

    attest: bool = Field(description="'Je certifie la saisie des heures'")
    accept_ip: bool = Field(description="'J'accepte que mon adresse IP soit utilisée'")


class CodeSent(Shape):
    sent_to: str = Field(description="the address it was sent to, partly masked",
                         examples=["c***@exemple.fr"])
    expires_at: datetime = Field(description="when the code stops being accepted")
    code_length: int = Field(description="digits in the code: 4 or 6 (the funder's setting)")
    lifetime_minutes: int = Field(description="how long the code is valid, in minutes: 15 or 10")


class Reopen(Shape):
    reason: str = Field(min_length=1, max_length=1000,
                        description="motif, shown to the organisation",
                        examples=["Heures d'absence du 12 octobre oubliées : merci de corriger."])


class Contest(Shape):
    reason: str = Field(min_length=1, max_length=1000,
                        description="motif, sent to the organisation",
                        examples=["Je n'étais pas en formation le 12 octobre (arrêt maladie)."])


class Warning(Shape):
    code: str = Field(description="stable code; over_plan: more hours than the forecast "
                                  "calendar plans this month", examples=["over_plan"])
    message: str = Field(description="what to check, as users read it, in French",
                         examples=["Les heures saisies (présence et absence : 150,00 h) "
                                   "dépassent les heures prévues au calendrier prévisionnel "
                                   "(140,00 h) : vérifiez que les absences sont bien déduites "
                                   "des heures de présence."])


class Certificate(Shape):
    id: Id | None = Field(None, description="the stored certificate; null for a month with "
                                            "nothing entered yet")
    dossier_id: Id = Field(description="the dossier")
    month: Month = Field(description="the certificate's month, YYYY-MM", examples=["2026-10"])
    period_label: str = Field("", description="'Septembre 2020'", examples=["Octobre 2026"])
    status: str = Field(description="stable code", examples=["certified"])
    status_label: str = Field(description="as users read it, in French",
                              examples=["Certifié par l'organisme"])
    entry_mode: EntryMode = Field("month", description="the funder's entry mode")
    training_hours: Hours | None = Field(None, description=TRAINING + MONTH_TOTAL + "; null "
                                         "before any entry", examples=["70.00"])
    internship_hours: Hours | None = Field(None, description=INTERNSHIP + MONTH_TOTAL,
                                           examples=["14.00"])
    absence_hours: Hours | None = Field(None, description=ABSENCE + MONTH_TOTAL,
                                        examples=["3.50"])
    days: list[EnteredDay] = Field(default_factory=list, description="detail of a per-day entry")
    hours_reference: str | None = Field(None, description="the hours' version, as the draft "
                                        "to sign prints it: '3F9A0C'", examples=["3F9A0C"])
    planned_hours: Hours | None = Field(None, description="forecast calendar's hours this month",
                                        examples=["84.00"])
    warnings: list[Warning] = Field(default_factory=list,
                                    description="e.g. over_plan: more than the forecast")
    method: int | None = Field(None, description="how it was certified: 1, signed PDF "
                                                 "deposited; 2, emailed code")
    certified_by: Id | None = Field(None, description="the signer's user id",
                                    examples=["6f1d2c3b-8a4e-4d5f-9b7c-2e1a0f3d4c5b"])
    certified_by_name: str | None = Field(None, description="the signer's name",
                                          examples=["Claire Martin"])
    certified_by_role: str | None = Field(None, description="the signer's role (stable code)",
                                          examples=["organisation_user"])
    certified_by_label: str | None = Field(None, description="'Claire Martin (organisme de "
                                                             "formation)', as the PDF prints it",
                                           examples=["Claire Martin (organisme de formation)"])
    certified_at: datetime | None = Field(None, description="when the hours were certified")
    certified_document_sha256: str | None = Field(
        None, description="evidence: sha256 of what was certified",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])
    code_checked_at: datetime | None = Field(None, description="evidence: method 2 code check")
    locked_for_payment: bool = Field(False, description="payments locked this month")
    reopen_reason: str | None = Field(None, description="the funder's motif of the last "
                                      "reopening, shown to the organisation",
                                      examples=["Heures d'absence du 12 octobre oubliées : "
                                                "merci de corriger."])
    reopened_at: datetime | None = Field(None, description="when the funder last reopened it")
    closed_by_payment_number: str | None = Field(
        None, description="the number of the payment that closed the month to entry (« des "
                          "règlements ont été effectués »)", examples=["AV-1042"])
    validations: list[Literal["beneficiary", "employer"]] = Field(
        default_factory=list, description="who must validate the hours, in order")
    beneficiary_validated_at: datetime | None = Field(None, description="when the "
                                                      "beneficiary validated the hours")
    employer_validated_at: datetime | None = Field(None, description="when the employer "
                                                   "validated the hours")
    contested_party: Literal["beneficiary", "employer"] | None = Field(
        None, description="who contested the hours")
    contest_reason: str | None = Field(
        None, description="their motif, sent to the organisation",
        examples=["Je n'étais pas en formation le 12 octobre (arrêt maladie)."])
    contested_at: datetime | None = Field(None, description="when the hours were contested")
    transmitted_at: datetime | None = Field(None, description="transmitted for payment")
    transmitted_by: Id | None = Field(None, description="the funder staff user who transmitted "
                                                        "them",
                                      examples=["0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"])
    version: int = Field(0, description="the stored certificate's version: it grows with each "
                                        "change")


class HoursProposal(Shape):
    """A pre-filled entry for the form (nothing stored): reset, forecast or 7 h a day."""

    dossier_id: Id = Field(description="the dossier")
    month: Month = Field(description="the month, YYYY-MM", examples=["2026-10"])
    source: str = Field(description="zero, forecast or spread, as asked", examples=["forecast"])
    entry: ProposedEntry = Field(description="the values to pre-fill the form with")
    warnings: list[Warning] = Field([], description="e.g. over_plan: more than the forecast")


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
    funder_id: Id = Field(description="the funder")
    updated_by: Id | None = Field(None, description="the user who last changed them; null: "
                                                    "never changed, the defaults",
                                  examples=["0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"])
    updated_at: datetime | None = Field(None, description="when they last changed")


class PendingAction(Shape):
    """One line of "N actions en attente"."""

    dossier_id: Id = Field(description="the dossier")
    dossier_number: str = Field(description="« N° dossier »", examples=["20X000703"])
    beneficiary_name: str = Field(description="« Bénéficiaire »", examples=["DUBOIS Michelle"])
    training_title: str = Field(description="« Formation »",
                                examples=["Titre professionnel Comptable assistant"])
    session_start: date = Field(description="« Session »: its first day")
    session_end: date = Field(description="« Session »: its last day")
    month: Month = Field(description="the month waiting, YYYY-MM", examples=["2026-10"])
    period_label: str = Field(description="« Période », as the dashboard prints it",
                              examples=["Octobre 2026"])
    status: str = Field(description="stable code", examples=["awaiting_entry"])
    status_label: str = Field(description="« Statut », as users read it, in French",
                              examples=["En attente de saisie par l'organisme"])


class PendingActions(Shape):
    count: int = Field(description="how many months wait for the caller")
    label: str = Field(description="'15 actions en attente'", examples=["15 actions en attente"])
    actions: list[PendingAction] = Field(description="the months waiting, one line each")


class TemplateUpload(Shape):
    """The filled template (xlsx): month and dossier are in its rows."""

    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(min_length=1)


class ImportRow(Shape):
    """One row's line in the report of the hours import job (its `items`, docs/jobs.md)."""

    row: int = Field(description="line number in the sheet")
    dossier_number: str | None = Field(None, description="the dossier number, as in the row",
                                       examples=["20X000703"])
    month: str | None = Field(None, description="the month, as in the row (YYYY-MM)",
                              examples=["2026-10"])
    status: Literal["ok", "error"] = Field(description="ok: entered; error: refused, with "
                                                       "every row of the same dossier month")
    code: str | None = Field(None, description="why it was refused (stable code)",
                             examples=["dossier_not_found"])
    message: str | None = Field(None, description="why it was refused, in French",
                                examples=["Aucun de vos dossiers en cours ne porte ce numéro."])
    warnings: list[Warning] = Field([], description="e.g. over_plan: more than the forecast")


class TemplateFile(Shape):
    filename: str
    content_type: str
    content_base64: str


class TemplateQuery(Shape):
    month: Month = Field(description="the month to enter, YYYY-MM", examples=["2026-10"])
    dossier_id: Id | None = Field(None, description="one dossier only (else all open ones)")


class ProposalQuery(Shape):
    source: Literal["zero", "forecast", "spread"] = Field(
        description="zero: remise à zéro; forecast: charger le calendrier; spread: répartir "
                    "7 h tous les jours ouvrés")


class DayParam(Shape):
    """The day a daily job runs for (months to certify): today in Paris when not given."""

    day: date
