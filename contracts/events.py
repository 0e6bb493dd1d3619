"""Event payloads, one model per (service, event, version), and the registry that finds them.

Changing a payload incompatibly means a new version class registered beside the old one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

Hours = Annotated[Decimal, Field(ge=0, max_digits=7, decimal_places=2)]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(Payload):
    id: str
    name: str
    email: EmailStr


class MonthHours(Payload):
    training: Hours
    internship: Hours
    absence: Hours


class CertifiedV1(Payload):
    """A training organisation certified the hours of one dossier's month."""

    certificate_id: str
    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    organisation_name: str
    beneficiary: Party
    employer: Party | None
    training_title: str
    session_start: date
    session_end: date
    month: Month
    hours: MonthHours
    method: int = Field(ge=1, le=2)
    certified_by: str
    certified_at: datetime
    certified_from_ip: str | None = None
    # Added compatibly (optional): the organisation's letterhead as identity knew it at
    # certification, printed on the PDF certificate.
    organisation_siret: str | None = None
    organisation_address: str | None = None
    legal_representative: str | None = None


class MonthLockedV1(Payload):
    """Payments locked a dossier's month: its certified hours are now the payable hours."""

    dossier_id: str
    month: Month
    hours: MonthHours
    certificate_id: str
    locked_at: datetime


class DocumentUploadedV1(Payload):
    """A user deposited a document (identity follows an organisation's KBIS, consent letter,
    logo and stamp through it)."""

    document_id: str
    category: str
    funder_id: str
    organisation_id: str | None = None
    dossier_id: str | None = None
    uploaded_by: str
    uploaded_at: datetime


class DocumentReviewed(Payload):
    """What both review events say about the document and whom to tell."""

    document_id: str
    category: str
    category_label: str
    label: str
    funder_id: str
    organisation_id: str | None = None
    dossier_id: str | None = None
    dossier_number: str | None = None
    owner_user_id: str = Field(description="the user who uploaded the document")
    owner_email: str | None = Field(None, description="as the uploader's account gave it; "
                                                      "None: the owner is not emailed")


class DocumentCheckedV1(DocumentReviewed):
    """Funder staff checked an uploaded document: it is compliant ("Contrôlé le ...")."""

    checked_at: datetime
    checked_by: str


class DocumentRejectedV1(DocumentReviewed):
    """Funder staff found an uploaded document non-compliant ("Non conforme : ...")."""

    rejected_at: datetime
    rejected_by: str
    reason_code: str = Field(description="illegible, incomplete, expired, wrong_document, other")
    reason_text: str


class OrganisationUpdatedV1(Payload):
    """An organisation's profile ("votre identité") changed: which fields, not their values."""

    organisation_id: str
    funder_id: str
    changed: list[str]
    updated_by: str
    updated_at: datetime


class CertifierStatusChangedV1(Payload):
    """The "je suis certificateur" choice, or the checks of its KBIS and consent letter,
    changed the organisation's certifier state; `method` is the certification method in force
    (2: fully electronic, only when requested and both documents are checked)."""

    organisation_id: str
    funder_id: str
    requested: bool
    kbis_status: str
    consent_letter_status: str
    method: int
    changed_at: datetime


class DossierParty(Party):
    kind: str = Field(description="beneficiary or employer")


class DossierCreatedV1(Payload):
    """A funder's dossier now exists; its beneficiary and employer get their accounts from it
    (identity) if they have none yet."""

    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    beneficiary: DossierParty
    employer: DossierParty | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class EventSpec:
    service: str
    name: str
    version: int
    model: type[Payload]


REGISTRY: dict[tuple[str, str], EventSpec] = {}


def register(service: str, name: str, version: int, model: type[Payload]) -> EventSpec:
    spec = EventSpec(service, name, version, model)
    REGISTRY[(service, name)] = spec
    return spec


CERTIFIED = register("certification", "certified", 1, CertifiedV1)
MONTH_LOCKED = register("payments", "month_locked", 1, MonthLockedV1)
DOCUMENT_UPLOADED = register("documents", "document_uploaded", 1, DocumentUploadedV1)
DOCUMENT_CHECKED = register("documents", "document_checked", 1, DocumentCheckedV1)
DOCUMENT_REJECTED = register("documents", "document_rejected", 1, DocumentRejectedV1)
ORGANISATION_UPDATED = register("identity", "organisation_updated", 1, OrganisationUpdatedV1)
CERTIFIER_STATUS_CHANGED = register("identity", "certifier_status_changed", 1,
                                    CertifierStatusChangedV1)
DOSSIER_CREATED = register("dossiers", "dossier_created", 1, DossierCreatedV1)


def spec_for(service: str, name: str) -> EventSpec:
    return REGISTRY[(service, name)]
