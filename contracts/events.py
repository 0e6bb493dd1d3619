"""Event payloads, one model per (service, event, version), and the registry that finds them.

Changing a payload incompatibly means a new version: a new model class (`CertifiedV2`)
registered beside the old one (`register(service, name, 2, CertifiedV2)`), never in its place.

- Publishing: `uow.publish(name, data)` takes the version from the class of `data` (`spec_of`).
  While consumers of the old version remain, the publisher sends both versions.
- Routing: each version travels under its own routing key on the publisher's exchange
  (`name` for version 1, as always, `name.v<N>` after: `routing_key`), so a consumer's queue
  is bound to the one version it reads and never receives another.
- Consuming: `@subscribe(service, name)` reads version 1, `@subscribe(service, name,
  version=2)` version 2. A message of another version reaching a queue anyway (published by
  hand to the wrong key) is not parsed with the wrong model: it is dead-lettered as
  "unsupported event", to be seen and replayed to the right queue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from contracts.envelope import routing_key

Hours = Annotated[Decimal, Field(ge=0, max_digits=7, decimal_places=2)]
# Years 1900-2099: a month outside (year 0, year 9999) is no month of a training session, and
# date arithmetic on it would fail further in.
Month = Annotated[str, Field(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


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


# A dossier's type of action (contracts.dossiers names it), which its certificate's "nature
# de l'action" box follows.
ActionType = Literal["ptp", "vae", "bilan", "apprentissage"]


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
    # Added compatibly (optional): the funder's address to email (its settings:
    # notify_funder), and who must validate the hours, in order ("beneficiary", "employer").
    funder_notification_email: EmailStr | None = None
    validations: list[str] = []
    # Added compatibly (optional): the signer as the certificate names them (their name and
    # role), and for method 2 since when the organisation certifies electronically and
    # whether they accepted the use of their IP address.
    certified_by_name: str | None = None
    certified_by_role: str | None = None
    certifier_since: datetime | None = None
    ip_use_accepted: bool | None = None
    # Added compatibly (optional): the hours' version the draft printed, printed on the final
    # certificate too so that a controller matches it to the signed scan and the hours.
    hours_reference: str | None = Field(None, max_length=6)
    # The dossier's type of action (contracts.dossiers: ptp, vae...): the final certificate
    # ticks its "nature de l'action" box. Optional, added compatibly.
    action_type: ActionType | None = None


class HoursEnteredV1(Payload):
    """The organisation entered or changed a month's hours (before: None the first time), by
    the form, a partial change or an import: identity's audit trail records it."""

    certificate_id: str
    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    month: Month
    before: MonthHours | None = None
    after: MonthHours
    entered_by: str
    entered_at: datetime


class HoursContestedV1(Payload):
    """The beneficiary or the employer contested a month's certified hours (with a reason):
    the organisation (and the funder, per its settings) is told; the funder reopens the month
    for the organisation to correct it."""

    certificate_id: str
    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    organisation_name: str
    organisation_email: EmailStr | None = None
    funder_notification_email: EmailStr | None = None
    month: Month
    party: str = Field(description="beneficiary or employer")
    party_name: str
    reason: str
    contested_by: str
    contested_at: datetime


class HoursTransmittedV1(Payload):
    """Funder staff transmitted a month's certified (or validated) hours for payment."""

    certificate_id: str
    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    month: Month
    hours: MonthHours
    status: str = Field(description="certified or validated")
    transmitted_by: str
    transmitted_at: datetime


class CertificateReopenedV1(Payload):
    """The funder reopened a certified month (with a reason): its hours will be entered and
    certified again (payments releases its lock)."""

    certificate_id: str
    dossier_id: str
    funder_id: str
    organisation_id: str
    month: Month
    reason: str
    reopened_by: str
    reopened_at: datetime
    # Added compatibly (optional): the dossier's number, for identity's audit trail.
    dossier_number: str | None = None


class HoursValidatedV1(Payload):
    """The beneficiary or the employer validated a month's certified hours; `complete` once
    every validation the funder asks for is given (the month is then « validé »)."""

    certificate_id: str
    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    month: Month
    party: Literal["beneficiary", "employer"]
    party_name: str
    complete: bool
    validated_by: str
    validated_at: datetime


class MonthToCertifyV1(Payload):
    """A dossier's month opened for entry and waits for the organisation's hours and
    certification (the seed's « actions en attente »): said once per dossier and month by the
    daily job, whichever replica runs it."""

    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    beneficiary_name: str
    month: Month
    announced_at: datetime


class MonthLockedV1(Payload):
    """Payments locked a dossier's month: its certified hours are now the payable hours."""

    dossier_id: str
    month: Month
    hours: MonthHours
    certificate_id: str
    locked_at: datetime


class MonthUnlockedV1(Payload):
    """The funder unlocked a dossier's locked month (with a reason): its hours may change
    again, until a new certification locks it anew."""

    dossier_id: str
    month: Month
    reason: str
    unlocked_by: str
    unlocked_at: datetime
    # Added compatibly (optional): whose month it is, for identity's audit trail.
    funder_id: str | None = None
    organisation_id: str | None = None


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
    # Added compatibly (optional): what the trail names it by (identity's audit trail).
    label: str | None = None
    dossier_number: str | None = None


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


class FunderBootstrappedV1(Payload):
    """A funder and its first administrator were created: the administrator's address is
    where the funder is emailed by default (seed 002: certifications notify the funder)."""

    funder_id: str
    name: str
    contact_email: str
    bootstrapped_at: datetime


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


AccountChange = Literal["credentials_sent", "personalised", "identifier_changed",
                        "email_changed", "password_changed", "rights_changed", "deactivated",
                        "reactivated"]
"""`personalised`: the person chose their identifier and password at their first login."""


class AccountChangedV1(Payload):
    """Something about a user's account changed: what (`change`) and the account as it now is
    (no secret: neither password nor link). Notifications tells the person (security notices)
    and keeps its copy of their address and rights (the daily digest) true."""

    user_id: str
    funder_id: str
    role: str
    organisation_id: str | None = None
    party_id: str | None = None
    name: str
    email: str
    active: bool
    rights: list[str] = []
    change: AccountChange
    changed_by: str | None = Field(None, description="the user who made the change; None "
                                   "for the person themself by a link")
    changed_at: datetime


class DossierParty(Party):
    kind: str = Field(description="beneficiary or employer")


class DossierParties(Payload):
    """A dossier and who it names: identity opens an account for each party without one."""

    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    beneficiary: DossierParty
    employer: DossierParty | None


class DossierCreatedV1(DossierParties):
    """A funder's dossier now exists."""

    created_by: str
    created_at: datetime


class DossierUpdatedV1(DossierParties):
    """Funder staff (or an import) changed a dossier: which fields, not their values."""

    changed: list[str]
    updated_by: str
    updated_at: datetime


class CoveredDossier(Payload):
    dossier_id: str
    months: list[Month] = Field(min_length=1)


class PaymentIssuedV1(Payload):
    """Payments paid an organisation for some dossiers' months: entry closes for those months
    ("des règlements ont été effectués"), except for an advance."""

    payment_id: str
    payment_number: str
    funder_id: str
    organisation_id: str
    advance: bool = False
    dossiers: list[CoveredDossier]
    issued_at: datetime
    # Added compatibly (optional): who recorded the payment, for identity's audit trail.
    recorded_by: str | None = None


class PaymentReconciledV1(Payload):
    """The organisation ticked (or unticked) a payment as received ("pointage"): identity's
    audit trail records it."""

    payment_id: str
    payment_number: str
    funder_id: str
    organisation_id: str
    reconciled: bool
    reconciled_by: str
    reconciled_at: datetime


class BankDetailsChangedV1(Payload):
    """An organisation submitted a version of its bank details, or its funder validated or
    rejected it (`status`: pending, validated, rejected). Never the IBAN itself."""

    organisation_id: str
    funder_id: str
    version: int
    status: str = Field(description="pending (submitted), validated or rejected")
    reason: str | None = None
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class EventSpec:
    service: str
    name: str
    version: int
    model: type[Payload]

    @property
    def routing_key(self) -> str:
        return routing_key(self.name, self.version)


REGISTRY: dict[tuple[str, str, int], EventSpec] = {}


def register(service: str, name: str, version: int, model: type[Payload]) -> EventSpec:
    key = (service, name, version)
    if key in REGISTRY:
        raise ValueError(f"{service}.{name} v{version} is already registered")
    spec = REGISTRY[key] = EventSpec(service, name, version, model)
    return spec


CERTIFIED = register("certification", "certified", 1, CertifiedV1)
HOURS_CONTESTED = register("certification", "hours_contested", 1, HoursContestedV1)
HOURS_ENTERED = register("certification", "hours_entered", 1, HoursEnteredV1)
HOURS_TRANSMITTED = register("certification", "hours_transmitted", 1, HoursTransmittedV1)
CERTIFICATE_REOPENED = register("certification", "certificate_reopened", 1,
                                CertificateReopenedV1)
HOURS_VALIDATED = register("certification", "hours_validated", 1, HoursValidatedV1)
MONTH_TO_CERTIFY = register("certification", "month_to_certify", 1, MonthToCertifyV1)
MONTH_LOCKED = register("payments", "month_locked", 1, MonthLockedV1)
PAYMENT_ISSUED = register("payments", "payment_issued", 1, PaymentIssuedV1)
MONTH_UNLOCKED = register("payments", "month_unlocked", 1, MonthUnlockedV1)
PAYMENT_RECONCILED = register("payments", "payment_reconciled", 1, PaymentReconciledV1)
BANK_DETAILS_CHANGED = register("payments", "bank_details_changed", 1, BankDetailsChangedV1)
DOCUMENT_UPLOADED = register("documents", "document_uploaded", 1, DocumentUploadedV1)
DOCUMENT_CHECKED = register("documents", "document_checked", 1, DocumentCheckedV1)
DOCUMENT_REJECTED = register("documents", "document_rejected", 1, DocumentRejectedV1)
ORGANISATION_UPDATED = register("identity", "organisation_updated", 1, OrganisationUpdatedV1)
FUNDER_BOOTSTRAPPED = register("identity", "funder_bootstrapped", 1, FunderBootstrappedV1)
CERTIFIER_STATUS_CHANGED = register("identity", "certifier_status_changed", 1,
                                    CertifierStatusChangedV1)
ACCOUNT_CHANGED = register("identity", "account_changed", 1, AccountChangedV1)
DOSSIER_CREATED = register("dossiers", "dossier_created", 1, DossierCreatedV1)
DOSSIER_UPDATED = register("dossiers", "dossier_updated", 1, DossierUpdatedV1)


def spec_for(service: str, name: str, version: int = 1) -> EventSpec:
    return REGISTRY[(service, name, version)]


def spec_of(service: str, name: str, data: Payload) -> EventSpec:
    """The version of event `name` whose model is the class of `data` (TypeError: none is)."""
    versions = [spec for (source, event, _), spec in REGISTRY.items()
                if (source, event) == (service, name)]
    for spec in versions:
        if type(data) is spec.model:
            return spec
    expected = " or ".join(spec.model.__name__ for spec in versions) or "a registered model"
    raise TypeError(f"{name} expects {expected}, not {type(data).__name__}")
