"""The monthly completion certificate ("certificat de réalisation") and its statuses.

One certificate per dossier and month. A month with no stored row has a computed status
(not available yet, or awaiting entry); a row exists from the first hours entry on (or from
a payment that closed the month). The clock is always passed in (`now`, timezone-aware UTC).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from contracts.common import Role
from contracts.common.errors import Conflict, InvalidInput
from services.certification.domain.entry import MONTH_TOTALS, DayHours, Entry, Hours
from services.certification.domain.months import Session, is_open
from services.certification.domain.settings import FunderSettings

NOT_AVAILABLE = "not_available"
AWAITING_ENTRY = "awaiting_entry"
HOURS_ENTERED = "hours_entered"
CERTIFIED = "certified"
AWAITING_BENEFICIARY = "awaiting_beneficiary_validation"
AWAITING_EMPLOYER = "awaiting_employer_validation"
VALIDATED = "validated"
CLOSED_BY_PAYMENT = "closed_by_payment"
REOPENED = "reopened"
CONTESTED = "contested"

STATUS_LABELS = {
    NOT_AVAILABLE: "La saisie n'est pas disponible",
    AWAITING_ENTRY: "En attente de saisie par l'organisme",
    HOURS_ENTERED: "Heures saisies, en attente de certification",
    CERTIFIED: "Certifié par l'organisme",
    AWAITING_BENEFICIARY: "En attente de validation par le bénéficiaire",
    AWAITING_EMPLOYER: "En attente de validation par l'employeur",
    VALIDATED: "Heures validées",
    CLOSED_BY_PAYMENT: "La saisie n'est plus disponible car des règlements ont été effectués",
    REOPENED: "Rouvert par le financeur : en attente de saisie par l'organisme",
    # The seeds name no such status; the reply's label adds who contested and why.
    CONTESTED: "Heures contestées",
}
# The organisation may (re)enter hours in these; the certified ones wait for a reopening.
ENTERABLE = frozenset({AWAITING_ENTRY, HOURS_ENTERED, REOPENED})
CERTIFIED_STATES = frozenset({CERTIFIED, AWAITING_BENEFICIARY, AWAITING_EMPLOYER, VALIDATED,
                              CONTESTED})
# Funder staff transmit for payment only hours nobody waits to validate or contests.
TRANSMITTABLE = frozenset({CERTIFIED, VALIDATED})
# The parties who may have to validate a certification, in the order they do it.
BENEFICIARY, EMPLOYER = Role.beneficiary.value, Role.employer.value
AWAITING_OF = {BENEFICIARY: AWAITING_BENEFICIARY, EMPLOYER: AWAITING_EMPLOYER}
PARTY_LABELS = {BENEFICIARY: "le bénéficiaire", EMPLOYER: "l'employeur"}
MAX_REASON = 1000
# Method 1: print the draft, sign it, upload the signed PDF (method 2: codes.py).
METHOD_SIGNED_PDF = 1


@dataclass(frozen=True)
class Signer:
    """Who certifies, as the certificate and every trail name them."""

    name: str | None
    role: str


class Certificate:
    """A stored certificate (mapped by models.start_mappers; `version` is the optimistic lock)."""

    def __init__(self, id: str, dossier_id: str, month: str, funder_id: str,
                 organisation_id: str, now: datetime):
        self.id = id
        self.dossier_id = dossier_id
        self.month = month
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.status = AWAITING_ENTRY
        self.training_hours: Decimal | None = None
        self.internship_hours: Decimal | None = None
        self.absence_hours: Decimal | None = None
        self.entry_mode: str | None = None
        self.detail: list[dict] = []
        self.method: int | None = None
        self.certified_by: str | None = None
        # The signer as documents name them (their name and role when they certified).
        self.certified_by_name: str | None = None
        self.certified_by_role: str | None = None
        self.certified_at: datetime | None = None
        self.certified_from_ip: str | None = None
        self.certified_document_sha256: str | None = None
        self.code_checked_at: datetime | None = None
        # Method 2: since when the organisation certified electronically, and the user's
        # "J'accepte que mon adresse IP soit utilisée".
        self.certifier_since: datetime | None = None
        self.ip_use_accepted: bool | None = None
        self.reopen_reason: str | None = None
        self.reopened_by: str | None = None
        self.reopened_at: datetime | None = None
        self.closed_by_payment_id: str | None = None
        self.closed_by_payment_number: str | None = None
        self.closed_at: datetime | None = None
        # The current certification's cycle: the validations the funder required then (in
        # order), who validated or contested, the organisation's email (told of a contest),
        # and the funder's transmission for payment.
        self.validations: list[str] = []
        self.beneficiary_validated_by: str | None = None
        self.beneficiary_validated_at: datetime | None = None
        self.employer_validated_by: str | None = None
        self.employer_validated_at: datetime | None = None
        self.contested_party: str | None = None
        self.contest_reason: str | None = None
        self.contested_by: str | None = None
        self.contested_at: datetime | None = None
        self.organisation_email: str | None = None
        self.transmitted_by: str | None = None
        self.transmitted_at: datetime | None = None
        self.created_at = now
        self.updated_at = now

    @classmethod
    def open(cls, dossier_id: str, month: str, funder_id: str, organisation_id: str,
             now: datetime) -> "Certificate":
        return cls(str(uuid.uuid4()), dossier_id, month, funder_id, organisation_id, now)

    @property
    def hours(self) -> Hours:
        return Hours(self.training_hours, self.internship_hours, self.absence_hours)

    @property
    def has_hours(self) -> bool:
        return self.training_hours is not None

    @property
    def days(self) -> list[DayHours]:
        return [DayHours.from_dict(d) for d in self.detail or []]

    @property
    def entry(self) -> Entry | None:
        """The stored entry, None before any hours."""
        return Entry(self.entry_mode, self.hours, tuple(self.days)) if self.has_hours else None

    @property
    def display_status(self) -> str:
        """A payment in the period closes the month whatever its workflow status."""
        return CLOSED_BY_PAYMENT if self.closed_by_payment_id else self.status

    def enter_hours(self, entry: Hours | Entry, session: Session, now: datetime) -> None:
        """Record (or correct) the month's hours, until the month is certified."""
        if isinstance(entry, Hours):
            entry = Entry(MONTH_TOTALS, entry)
        self.ensure_enterable(session, now)
        self.training_hours = entry.totals.training
        self.internship_hours = entry.totals.internship
        self.absence_hours = entry.totals.absence
        self.entry_mode = entry.mode
        self.detail = [d.as_dict() for d in entry.days]
        self.status = HOURS_ENTERED
        self.updated_at = now

    def ensure_enterable(self, session: Session, now: datetime) -> None:
        """The month takes hours now: started, in the session, not certified nor closed."""
        if not is_open(self.month, session, now):
            raise month_not_available(self.month)
        self._ensure_enterable()

    def certify(self, user_id: str, ip: str | None, now: datetime,
                method: int = METHOD_SIGNED_PDF, validation: str | None = None,
                document_sha256: str | None = None,
                code_checked_at: datetime | None = None,
                validations: list[str] | tuple = (),
                organisation_email: str | None = None, signer: Signer | None = None,
                certifier_since: datetime | None = None,
                ip_use_accepted: bool | None = None) -> None:
        """The organisation vouches for the entered hours; the evidence is kept: who (id,
        name and role), when, from where, how, the hash of what was certified and when the
        code was checked (method 2: since when the organisation certifies so, IP consent).
        `validations`: the parties who must validate, in order (validation_steps); or
        `validation`: the status awaiting the only one."""
        self._ensure_not_closed()
        self._ensure_not_certified()
        if self.status != HOURS_ENTERED:
            raise hours_not_entered()
        steps = list(validations) or [kind for kind, status in AWAITING_OF.items()
                                      if status == validation]
        self._new_cycle(steps, organisation_email)
        self.status = AWAITING_OF[steps[0]] if steps else CERTIFIED
        self.method = method
        self.certified_by = user_id
        self.certified_by_name = signer.name if signer else None
        self.certified_by_role = signer.role if signer else None
        self.certified_at = now
        self.certified_from_ip = ip
        self.certified_document_sha256 = document_sha256
        self.code_checked_at = code_checked_at
        self.certifier_since = certifier_since
        self.ip_use_accepted = ip_use_accepted
        self.updated_at = now

    def _new_cycle(self, steps: list[str], organisation_email: str | None) -> None:
        self.validations = steps
        self.beneficiary_validated_by = self.beneficiary_validated_at = None
        self.employer_validated_by = self.employer_validated_at = None
        self.contested_party = self.contest_reason = None
        self.contested_by = self.contested_at = None
        self.transmitted_by = self.transmitted_at = None
        self.organisation_email = organisation_email

    def validate(self, party: str, user_id: str, now: datetime) -> None:
        """The beneficiary (then the employer) validates the certified hours; the last
        validation required makes them validated."""
        self._ensure_awaiting(party)
        setattr(self, f"{party}_validated_by", user_id)
        setattr(self, f"{party}_validated_at", now)
        later = self.validations[self.validations.index(party) + 1:] \
            if party in self.validations else []
        self.status = AWAITING_OF[later[0]] if later else VALIDATED
        self.updated_at = now

    def contest(self, party: str, reason: str, user_id: str, now: datetime) -> None:
        """The party waited for contests the hours, with a reason: the month stays certified
        (nothing to transmit) until the funder reopens it for the organisation to correct."""
        self._ensure_awaiting(party)
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("reason_required", "Indiquez le motif de la contestation.")
        if len(reason) > MAX_REASON:
            raise InvalidInput("reason_too_long",
                               f"Le motif ne peut pas dépasser {MAX_REASON} caractères.")
        self.status = CONTESTED
        self.contested_party, self.contest_reason = party, reason
        self.contested_by, self.contested_at = user_id, now
        self.updated_at = now

    def _ensure_awaiting(self, party: str) -> None:
        self._ensure_not_closed()
        if self.status != AWAITING_OF[party]:
            raise Conflict("not_awaiting_validation",
                           f"Ces heures n'attendent pas de validation de "
                           f"{PARTY_LABELS[party]}.", {"month": self.month,
                                                       "status": self.status})

    def transmit(self, user_id: str, now: datetime) -> bool:
        """Funder staff transmit the certified (or validated) hours for payment. False when
        they already were (nothing changes)."""
        if self.transmitted_at is not None and self.status in TRANSMITTABLE:
            return False
        self._ensure_not_closed()
        if self.status not in TRANSMITTABLE:
            raise not_transmittable(self.month)
        self.transmitted_by, self.transmitted_at = user_id, now
        self.updated_at = now
        return True

    @property
    def status_label(self) -> str:
        """The French label; a contest says who contested and why."""
        status = self.display_status
        if status == CONTESTED:
            return (f"Heures contestées par {PARTY_LABELS[self.contested_party]} : "
                    f"{self.contest_reason}")
        return STATUS_LABELS[status]

    def reopen(self, reason: str, user_id: str, now: datetime) -> None:
        """The funder reopens a certified month for a new entry and certification."""
        self._ensure_not_closed()
        if self.status not in CERTIFIED_STATES:
            raise Conflict("not_certified",
                           "Seul un mois certifié peut être rouvert.", {"month": self.month})
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("reason_required", "Indiquez le motif de la réouverture.")
        self.status = REOPENED
        self.reopen_reason = reason
        self.reopened_by = user_id
        self.reopened_at = now
        self.transmitted_by = self.transmitted_at = None  # the next certification's hours
        self.updated_at = now

    def close_by_payment(self, payment_id: str, payment_number: str, now: datetime) -> bool:
        """A payment covered the month: no more entry. False when it already was closed."""
        if self.closed_by_payment_id:
            return False
        self.closed_by_payment_id = payment_id
        self.closed_by_payment_number = payment_number
        self.closed_at = now
        self.updated_at = now
        return True

    def reopen_after_unlock(self, reason: str, user_id: str, now: datetime) -> bool:
        """Payments unlocked the month: its hours may change again, so a certified month is
        reopened with the funder's reason. False when nothing changes (not certified any
        more, or closed by a payment)."""
        if self.status not in CERTIFIED_STATES or self.closed_by_payment_id:
            return False
        self.reopen(reason, user_id, now)
        return True

    def _ensure_enterable(self) -> None:
        self._ensure_not_closed()
        self._ensure_not_certified()

    def _ensure_not_closed(self) -> None:
        if self.closed_by_payment_id:
            raise Conflict("month_closed_by_payment", STATUS_LABELS[CLOSED_BY_PAYMENT] + ".",
                           {"month": self.month})

    def _ensure_not_certified(self) -> None:
        if self.status in CERTIFIED_STATES:
            raise Conflict("certificate_already_certified",
                           "Le certificat de réalisation de ce mois est déjà certifié : les "
                           "heures ne peuvent plus être modifiées.", {"month": self.month})


def validation_steps(settings: FunderSettings, has_employer: bool) -> list[str]:
    """Who validates a certification, in order: the beneficiary first (seeds 001 and 002
    invite the beneficiary to validate; the employer, "si concerné", comes after), then the
    employer when the dossier has one. Fixed at certification: a settings change later does
    not strand a month waiting."""
    steps = [BENEFICIARY] if settings.beneficiary_validation else []
    if settings.employer_validation and has_employer:
        steps.append(EMPLOYER)
    return steps


def first_validation(settings: FunderSettings, has_employer: bool) -> str | None:
    """The status a certification leads to: the first validation the funder requires."""
    steps = validation_steps(settings, has_employer)
    return AWAITING_OF[steps[0]] if steps else None


def not_transmittable(month: str) -> Conflict:
    return Conflict("not_transmittable",
                    "Seules des heures certifiées (et validées quand le financeur le demande) "
                    "peuvent être transmises pour paiement.", {"month": month})


def certify(certificate: Certificate | None, attest: bool, user_id: str, ip: str | None,
            now: datetime, validation: str | None = None, **evidence) -> Certificate:
    """Certify a month; `certificate` is None when no hours were ever entered for it.
    `evidence`: method, document_sha256, code_checked_at (see Certificate.certify)."""
    require_attestation(attest)
    if certificate is None:
        raise hours_not_entered()
    certificate.certify(user_id, ip, now, validation=validation, **evidence)
    return certificate


def require_attestation(attest: bool) -> None:
    if not attest:
        raise InvalidInput("attestation_required",
                           'Vous devez cocher "Je certifie la saisie des heures"')


def with_hours(certificate: Certificate | None) -> Certificate:
    """The month's certificate, once hours were entered (its draft PDF needs them)."""
    if certificate is None or certificate.training_hours is None:
        raise hours_not_entered()
    return certificate


def hours_not_entered() -> Conflict:
    return Conflict("hours_not_entered",
                    "Les heures du mois doivent être saisies avant d'être certifiées.")


def month_not_available(month: str) -> Conflict:
    return Conflict("month_not_available",
                    "La saisie n'est pas disponible pour ce mois : il n'a pas commencé ou "
                    "n'appartient pas à la session de formation.", {"month": month})
