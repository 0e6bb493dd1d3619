"""The public events: what other funders' systems may subscribe to (issue 17).

Separate from the internal events (contracts/events.py), which stay free to change: the
integration service translates the internal events it knows into these, for the funder they
belong to, and publishes them on one topic exchange (`INTEGRATION_EXCHANGE`) under routing keys
that start with the funder (`<funder_id>.<service>.<event>.v<version>`), in the CloudEvents
envelope every Jalon event travels in (contracts/envelope.py).

Each payload is minimal: ids, numbers, dates, hours, amounts and statuses; never a person's
name, an email address, an IP address, an IBAN or a free text a person wrote. A field is added
compatibly (optional, with a default); anything else is a new version beside the old one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

INTEGRATION_EXCHANGE = "jalon.integration"
"""The topic exchange of the public events (durable)."""

Hours = Annotated[Decimal, Field(ge=0, max_digits=7, decimal_places=2)]
Month = Annotated[str, Field(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
                             description="the month concerned, YYYY-MM", examples=["2026-10"])]


class PublicPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DossierRef(PublicPayload):
    """The dossier an event is about, as the funder's own systems know it."""

    dossier_id: str = Field(description="Jalon's id of the dossier")
    dossier_number: str = Field(description="the funder's dossier number (« n° de dossier »)",
                                examples=["20X000703"])
    organisation_id: str = Field(description="Jalon's id of the training organisation")


class CertifiedHours(PublicPayload):
    training: Hours = Field(description="hours of presence in training")
    internship: Hours = Field(description="hours of presence in internship (stage)")
    absence: Hours = Field(description="hours of absence")


class MonthCertifiedV1(DossierRef):
    """The organisation certified a dossier's month (« certificat de réalisation »): the hours
    the funder may pay on, once validated if its settings ask for validations."""

    certificate_id: str = Field(description="Jalon's id of the month's certificate")
    month: Month
    hours: CertifiedHours = Field(description="the certified hours of the month")
    method: Literal[1, 2] = Field(description="1: signed and scanned certificate; 2: "
                                 "electronic certification by the organisation's certifier")
    certified_at: datetime = Field(description="when the organisation certified (UTC)")
    hours_reference: str | None = Field(None, description="the hours' version printed on the "
                                        "draft and the final certificate")


class HoursValidatedV1(DossierRef):
    """The beneficiary or the employer validated a certified month's hours."""

    certificate_id: str = Field(description="Jalon's id of the month's certificate")
    month: Month
    party: Literal["beneficiary", "employer"] = Field(description="who validated")
    complete: bool = Field(description="true once every validation the funder asks for is "
                           "given: the month is then « validé »")
    validated_at: datetime = Field(description="when (UTC)")


class HoursContestedV1(DossierRef):
    """The beneficiary or the employer contested a certified month's hours (the reason, which
    a person wrote, stays in Jalon)."""

    certificate_id: str = Field(description="Jalon's id of the month's certificate")
    month: Month
    party: Literal["beneficiary", "employer"] = Field(description="who contested")
    contested_at: datetime = Field(description="when (UTC)")


class MonthReopenedV1(DossierRef):
    """The funder reopened a certified month: its hours will be entered and certified again,
    and a later `certification.month_certified` replaces this one's hours."""

    certificate_id: str = Field(description="Jalon's id of the month's certificate")
    month: Month
    reopened_at: datetime = Field(description="when (UTC)")


class PaidDossier(PublicPayload):
    dossier_id: str = Field(description="Jalon's id of the dossier")
    months: list[Month] = Field(min_length=1, description="the months the payment covers")


class PaymentIssuedV1(PublicPayload):
    """The funder recorded a payment to an organisation (its remittance advice is in Jalon)."""

    payment_id: str = Field(description="Jalon's id of the payment")
    payment_number: str = Field(description="the funder's payment number", examples=["AV-1042"])
    organisation_id: str = Field(description="Jalon's id of the training organisation paid")
    advance: bool = Field(description="an advance (« acompte »): it closes no month")
    dossiers: list[PaidDossier] = Field(description="the dossiers and months paid")
    issued_at: datetime = Field(description="when (UTC)")


class DocumentReviewedV1(PublicPayload):
    """The funder checked or rejected a document an organisation deposited."""

    document_id: str = Field(description="Jalon's id of the document")
    category: str = Field(description="the document's category (e.g. kbis, invoice, "
                          "signed_certificate)", examples=["kbis"])
    organisation_id: str | None = Field(None, description="Jalon's id of its organisation")
    dossier_number: str | None = Field(None, description="the dossier it belongs to, if any")
    status: Literal["checked", "rejected"] = Field(description="the funder's decision")
    reason_code: str | None = Field(None, description="why it was rejected (a code of "
                                    "Jalon's list, e.g. illegible)")
    reviewed_at: datetime = Field(description="when (UTC)")


@dataclass(frozen=True)
class PublicSpec:
    service: str
    name: str
    version: int
    model: type[PublicPayload]

    @property
    def key(self) -> str:
        """`certification.month_certified.v1`: the routing key after the funder."""
        return f"{self.service}.{self.name}.v{self.version}"


PUBLIC_EVENTS: dict[tuple[str, str, int], PublicSpec] = {}


def register(service: str, name: str, version: int, model: type[PublicPayload]) -> PublicSpec:
    spec = PublicSpec(service, name, version, model)
    if (service, name, version) in PUBLIC_EVENTS:
        raise ValueError(f"{spec.key} is already registered")
    PUBLIC_EVENTS[(service, name, version)] = spec
    return spec


MONTH_CERTIFIED = register("certification", "month_certified", 1, MonthCertifiedV1)
HOURS_VALIDATED = register("certification", "hours_validated", 1, HoursValidatedV1)
HOURS_CONTESTED = register("certification", "hours_contested", 1, HoursContestedV1)
MONTH_REOPENED = register("certification", "month_reopened", 1, MonthReopenedV1)
PAYMENT_ISSUED = register("payments", "payment_issued", 1, PaymentIssuedV1)
DOCUMENT_REVIEWED = register("documents", "document_reviewed", 1, DocumentReviewedV1)


def public_routing_key(funder_id: str, spec: PublicSpec) -> str:
    """`<funder_id>.certification.month_certified.v1`: a funder's subscriber binds `<its
    id>.#` (or a narrower pattern) and its broker permissions allow nothing else."""
    return f"{funder_id}.{spec.key}"
