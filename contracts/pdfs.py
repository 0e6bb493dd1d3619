"""documents' render RPC shapes: what a generated PDF prints, and what comes back.

The documents service owns no dossier, organisation or payment: the caller (certification,
payments, the gateway) sends the facts it knows, and documents renders and stores them.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from contracts.common import EnteredHours, FrenchDecimalInput, Id, Shape
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


class AttendanceDay(Shape):
    """One day of the sheet: `hours` per day, or `morning` and `afternoon` per half-day."""

    day: date
    hours: EnteredHours | None = None
    morning: EnteredHours | None = None
    afternoon: EnteredHours | None = None


class AttendanceEntry(Shape):
    """What the organisation gives for a month's sheet: its days, per day or per half-day."""

    granularity: Literal["day", "half_day"]
    days: list[AttendanceDay] = Field(min_length=1, max_length=31)

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


class AttendanceSheetRequest(AttendanceEntry):
    """The sheet as documents renders it: the entry plus the dossier's facts."""

    dossier: DossierFacts
    organisation_name: Text
    month: Month

    @model_validator(mode="after")
    def _days_in_month(self):
        if any(d.day.strftime("%Y-%m") != self.month for d in self.days):
            raise ValueError("a day lies outside the month")
        return self


class Period(Shape):
    start: date
    end: date

    @model_validator(mode="after")
    def _in_order(self):
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class RemittanceAdviceRequest(Shape):
    """A payment's remittance advice ("avis de virement"), issued by the funder."""

    payment_number: str = Field(min_length=1, max_length=30)
    payment_date: date
    funder_id: Id
    organisation_id: Id
    organisation_name: Text
    dossier_id: Id | None = Field(None, description="the dossier it is filed under, if one")
    dossier_numbers: list[Annotated[str, Field(min_length=1, max_length=30)]] = Field(
        min_length=1, max_length=50)
    beneficiary: PartyName | None = None
    periods: list[Period] = Field(min_length=1, max_length=24)
    hours_paid: EnteredHours
    amount: Amount
    advance: bool = False


class RenderedPdf(Shape):
    """A PDF rendered on demand and not stored (the draft certificate)."""

    filename: str
    content_type: str = "application/pdf"
    content_base64: str


class CertificateVerification(Shape):
    """What a third party holding a paper copy may learn from its verification reference."""

    valid: bool
    dossier_number: str | None = None
    month: Month | None = None
    sha256: str | None = None
    issued_at: datetime | None = None
    superseded: bool = False
    """The funder reopened the month after this certificate was issued: it no longer stands
    for the month's hours (`valid` is false); the next certification has a new reference."""
    superseded_at: datetime | None = None
    superseded_reason: str | None = None
