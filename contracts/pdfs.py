"""documents' render RPC shapes: what a generated PDF prints, and what comes back.

The documents service owns no dossier, organisation or payment: the caller (certification,
payments, the gateway) sends the facts it knows, and documents renders and stores them.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from contracts.certification import Warning
from contracts.common import EnteredHours, FrenchDecimalInput, Id, Shape
from contracts.documents import Document
from contracts.dossiers import ActionType
from contracts.events import Month, MonthHours

Text = Annotated[str, Field(min_length=1, max_length=300)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), FrenchDecimalInput]


class PartyName(Shape):
    id: Id
    name: Text


class DossierFacts(Shape):
    """The dossier as the certificate and the attendance sheet print it."""

    dossier_id: Id
    dossier_number: str = Field(min_length=1, max_length=30)
    funder_id: Id
    organisation_id: Id
    beneficiary: PartyName
    employer: PartyName | None = None
    training_title: Text
    session_start: date
    session_end: date


class OrganisationFacts(Shape):
    """The organisation's letterhead, as identity knows it."""

    name: Text
    siret: str | None = Field(None, max_length=17)
    address: str | None = Field(None, max_length=500)
    legal_representative: str | None = Field(None, max_length=200)


class CertificateFacts(Shape):
    """documents.render_certificate_draft's request; a final certificate prints the same."""

    dossier: DossierFacts
    organisation: OrganisationFacts
    month: Month
    hours: MonthHours
    hours_reference: str | None = Field(None, description="the hours' version (6 characters)")
    action_type: ActionType | None = Field(None, description="the dossier's (contracts.dossiers); "
                                                             "None: ptp")


class AttendanceDay(Shape):
    """One day of the sheet: `hours` per day, or `morning` and `afternoon` per half-day."""

    day: date = Field(description="a day of the month")
    hours: EnteredHours | None = Field(None, description="per day: the hours present that day",
                                       examples=["7.00"])
    morning: EnteredHours | None = Field(None, description="per half-day: the hours present "
                                                           "that morning", examples=["3.50"])
    afternoon: EnteredHours | None = Field(None, description="per half-day: the hours present "
                                                             "that afternoon", examples=["3.50"])


class AttendanceEntry(Shape):
    """What the organisation gives for a month's sheet: its days, per day or per half-day."""

    granularity: Literal["day", "half_day"] = Field(description="day: hours per day; "
                                                               "half_day: morning and afternoon")
    days: list[AttendanceDay] = Field(min_length=1, max_length=31,
                                      description="the days present, each once")

    @model_validator(mode="after")
    def _days_consistent(self):
        seen = [d.day for d in self.days]
        if len(set(seen)) != len(seen):
            raise ValueError("a day is given twice")
        per_day = self.granularity == "day"
        for d in self.days:
            if per_day and (d.morning is not None or d.afternoon is not None):
                raise ValueError("per day: give hours, not morning/afternoon")
            if not per_day and d.hours is not None:
                raise ValueError("per half-day: give morning/afternoon, not hours")
        return self


class MonthPresence(Shape):
    """The month's presence hours (training and internship) as certification holds them,
    which the sheet's total should match."""

    hours: EnteredHours
    certified: bool = Field(description="certified hours; otherwise only entered")


class AttendanceSheetRequest(AttendanceEntry):
    """The sheet as documents renders it: the entry plus the dossier's facts."""

    dossier: DossierFacts
    organisation_name: Text
    month: Month
    month_presence: MonthPresence | None = Field(None, description="None: no hours entered "
                                                                   "for the month yet")

    @model_validator(mode="after")
    def _days_in_month(self):
        if any(d.day.strftime("%Y-%m") != self.month for d in self.days):
            raise ValueError("a day lies outside the month")
        return self


class AttendanceSheet(Document):
    """The stored sheet as its reply reads it, with what its author must know about it."""

    warnings: list[Warning] = Field(default_factory=list, description=(
        "attendance_total_differs: the sheet's total is not the month's certified (or "
        "entered) presence hours"))


class StoredAttendanceSheet(Shape):
    """documents.render_attendance_sheet's reply."""

    document: AttendanceSheet
    content_base64: str


class Period(Shape):
    start: date
    end: date

    @model_validator(mode="after")
    def _in_order(self):
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Payer(Shape):
    """The funder as its payment settings name it (payments keeps them, per funder)."""

    name: Text
    address: str | None = Field(None, max_length=500)
    logo_document_id: Id | None = Field(None, description="the funder's « Logo » document")


class PaidAccount(Shape):
    """The bank-details version a payment was made to, its IBAN already masked by payments."""

    holder: Text
    masked_iban: str = Field(min_length=4, max_length=40)


class AdviceLine(Shape):
    """One line of the payment: a dossier's period, its hours and amount."""

    dossier_number: str = Field(min_length=1, max_length=30)
    beneficiary_name: Text
    period: Period
    hours_paid: EnteredHours
    amount: Amount


class Deduction(Shape):
    """A credit note deducted from the payment (the credit notes' own issue fills these)."""

    label: Text
    amount: Amount


class RemittanceAdviceRequest(Shape):
    """A recorded payment's remittance advice ("avis de virement"), issued by the funder. Only
    payments asks for it, from the payment it recorded."""

    payment_id: Id
    payment_number: str = Field(min_length=1, max_length=30)
    payment_date: date
    funder_id: Id
    organisation_id: Id
    organisation_name: Text
    payer: Payer | None = Field(None, description="None until the funder sets its payment "
                                                  "settings")
    account: PaidAccount | None = Field(None, description="None: no validated bank details "
                                                          "when the payment was recorded")
    lines: list[AdviceLine] = Field(min_length=1, max_length=200)
    deductions: list[Deduction] = Field(default_factory=list, max_length=50)
    amount: Amount = Field(description="what is transferred: the lines less the deductions")
    advance: bool = False

    @model_validator(mode="after")
    def _amount_adds_up(self):
        lines = sum((line.amount for line in self.lines), Decimal(0))
        deducted = sum((d.amount for d in self.deductions), Decimal(0))
        if self.amount != lines - deducted:
            raise ValueError("amount is not the lines less the deductions")
        return self


class RefundAccount(Shape):
    """The funder's own account an organisation in mode remboursement transfers to (seed 004's
    « Mode opératoire » prints it), from the funder's payment settings."""

    holder: str = Field(min_length=1, max_length=200, description="« Titulaire du compte »",
                        examples=["Opco EP"])
    iban: str = Field(min_length=15, max_length=34, description="« IBAN »",
                      examples=["FR76 1382 5002 0008 0146 3722 518"])
    bic: str | None = Field(None, min_length=8, max_length=11, description="« BIC »",
                            examples=["CEPARPP382"])


class CreditNoteProFormaRequest(Shape):
    """A credit note's pro forma ("facture pro forma « avoir »", seed 004): what the
    organisation owes back for a dossier's period, issued by the funder. Only payments asks
    for it, from the credit note it recorded. In mode remboursement the organisation transfers
    the amount within 15 days quoting `transfer_reference`; in mode déduction the funder takes
    it off its next payments."""

    credit_note_id: Id
    pro_forma_number: str = Field(min_length=1, max_length=30, description="« PRO-100 »")
    issued_on: date
    funder_id: Id
    organisation_id: Id
    organisation_name: Text
    siret: str | None = Field(None, max_length=14)
    uai: str | None = Field(None, max_length=8)
    payer: Payer | None = Field(None, description="the funder, as its payment settings name it")
    dossier_number: str = Field(min_length=1, max_length=30)
    beneficiary_name: Text
    period: Period
    amount: Amount = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)
    mode: Literal["deduction", "refund"]
    transfer_reference: str | None = Field(None, max_length=40,
                                           description="refund only: « AVCAP PRO-100 »")
    due_date: date | None = Field(None, description="refund only: the transfer's last day")
    refund_account: RefundAccount | None = Field(None, description="refund only, when the "
                                                                   "funder gave one")

    @model_validator(mode="after")
    def _refund_says_how(self):
        told = (self.transfer_reference is not None, self.due_date is not None)
        if told != ((True, True) if self.mode == "refund" else (False, False)):
            raise ValueError("a refund, and only a refund, has a transfer reference and a due "
                             "date")
        return self


class RenderedPdf(Shape):
    """A PDF rendered on demand and not stored (the draft certificate)."""

    filename: str
    content_type: str = "application/pdf"
    content_base64: str


class CertificateVerification(Shape):
    """What a third party holding a paper copy may learn from its verification reference."""

    valid: bool = Field(description="a genuine certificate that still stands for its month's "
                                    "hours")
    dossier_number: str | None = Field(None, description="the dossier it certifies; None: "
                                                         "unknown reference",
                                       examples=["20X000703"])
    month: Month | None = Field(None, description="the month it certifies, YYYY-MM",
                                examples=["2026-10"])
    sha256: str | None = Field(None, description="the SHA-256 of the PDF issued, in hexadecimal",
                               examples=["3f8a1c9e7b2d4f6a0c5e8b1d3f7a9c2e"
                                         "4b6d8f0a2c4e6b8d0f1a3c5e7b9d1f3a"])
    issued_at: datetime | None = Field(None, description="when the certificate was issued")
    superseded: bool = Field(False, description="the funder reopened the month after it was "
                                                "issued: it no longer stands for the month's "
                                                "hours (valid is false); the next certification "
                                                "has a new reference")
    superseded_at: datetime | None = Field(None, description="when the month was reopened")
    superseded_reason: str | None = Field(None, description="why the funder reopened the month",
                                          examples=["Heures de stage à corriger après avenant"])
