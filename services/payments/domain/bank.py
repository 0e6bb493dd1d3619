"""Bank details (seed 004): versions the organisation submits and its funder reviews."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from contracts.common.errors import Conflict, InvalidInput

PENDING, VALIDATED, REJECTED = "pending", "validated", "rejected"
STATUS_LABELS = {PENDING: "En attente de validation", VALIDATED: "Validé", REJECTED: "Refusé"}
INVOICING_LABELS = {
    "self": "Je facture moi-même mes contrats",
    "third_party": "J'utilise un tiers pour la facturation (organisme gestionnaire, "
                   "établissement principal ou affactureur)",
}


def normalise_iban(iban: str) -> str:
    """The IBAN checked (country format, check digits) with schwifty, in compact form."""
    try:
        return IBAN(iban).compact
    except SchwiftyException:
        raise InvalidInput("invalid_iban", "L'IBAN saisi n'est pas valide.",
                           {"field": "iban"}) from None


def normalise_bic(bic: str) -> str:
    try:
        return BIC(bic).compact
    except SchwiftyException:
        raise InvalidInput("invalid_bic", "Le BIC saisi n'est pas valide.",
                           {"field": "bic"}) from None


class BankDetailsVersion:
    """One version of an organisation's bank details: every change is a new version; the
    funder's decision (validated or rejected with a reason) is recorded on it once."""

    def __init__(self, organisation_id: str, version: int, funder_id: str, iban: str, bic: str,
                 invoicing: str, third_party_name: str | None, rib_document_id: str,
                 submitted_by: str, submitted_by_email: str | None, submitted_at: datetime):
        self.organisation_id = organisation_id
        self.version = version
        self.funder_id = funder_id
        self.iban = iban
        self.bic = bic
        self.invoicing = invoicing
        self.third_party_name = third_party_name
        self.rib_document_id = rib_document_id
        self.status = PENDING
        self.rejection_reason: str | None = None
        self.submitted_by = submitted_by
        self.submitted_by_email = submitted_by_email
        self.submitted_at = submitted_at
        self.reviewed_by: str | None = None
        self.reviewed_at: datetime | None = None

    def review(self, decision: str, reason: str | None, user_id: str, now: datetime) -> None:
        if self.status != PENDING:
            raise Conflict("bank_details_already_reviewed",
                           "Ces coordonnées bancaires ont déjà été examinées.")
        self.status = decision
        self.rejection_reason = reason if decision == REJECTED else None
        self.reviewed_by, self.reviewed_at = user_id, now


@dataclass(frozen=True)
class BankDetailsInput:
    iban: str
    bic: str
    invoicing: str
    third_party_name: str | None
    rib_document_id: str


def new_bank_details(latest_version: int, payments_processing: int, entry: BankDetailsInput,
                     organisation_id: str, funder_id: str, user_id: str, email: str | None,
                     now: datetime) -> BankDetailsVersion:
    """The next version, pending. Refused while a payment to the organisation is being
    processed (recorded, remittance advice not issued yet): it must reach the account it was
    recorded with (seed 004: « uniquement si aucune facture n'est en cours de traitement »)."""
    if payments_processing:
        raise Conflict("payment_in_progress",
                       "Vous pouvez modifier vos informations bancaires uniquement si aucun "
                       "règlement n'est en cours de traitement.")
    if entry.invoicing == "third_party" and not entry.third_party_name:
        raise InvalidInput("third_party_name_required",
                           "Indiquez le tiers qui facture pour vous.",
                           {"field": "third_party_name"})
    return BankDetailsVersion(
        organisation_id, latest_version + 1, funder_id, normalise_iban(entry.iban),
        normalise_bic(entry.bic), entry.invoicing,
        entry.third_party_name if entry.invoicing == "third_party" else None,
        entry.rib_document_id, user_id, email, now)


def validated_version(versions: Iterable[BankDetailsVersion]) -> int | None:
    """The newest validated version: the one payments are made to."""
    found = [v.version for v in versions if v.status == VALIDATED]
    return max(found) if found else None


def rib_is_valid(document: dict | None, organisation_id: str) -> bool:
    """The RIB is a document of the « RIB » category, the organisation's (or not yet filed)."""
    return (document is not None and document.get("category") == "bank_details"
            and document.get("organisation_id") in (None, organisation_id))


def masked_iban(iban: str) -> str:
    """For emails: only the last four characters."""
    return "•" * 4 + " " + iban[-4:]
