"""A funder's payment settings: the payer its remittance advices name (seed 000), and the
account its credit notes are refunded to (seed 004)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.common import Actor, Role
from contracts.common.errors import Forbidden, InvalidInput


BOOTSTRAP = "bootstrap"  # who set the payer's name a new funder starts with


class PaymentSettings:
    """The payer's name, address and logo document, and the account refunds of credit notes
    go to: one row per funder, changed in place."""

    def __init__(self, funder_id: str, payer_name: str, address: str | None,
                 logo_document_id: str | None, updated_by: str, updated_at: datetime,
                 refund: RefundAccount | None = None):
        self.funder_id = funder_id
        self.payer_name = payer_name
        self.address = address
        self.logo_document_id = logo_document_id
        self.updated_by = updated_by
        self.updated_at = updated_at
        self.set_refund_account(refund)

    def change(self, payer_name: str, address: str | None, logo_document_id: str | None,
               refund: RefundAccount | None, user_id: str, now: datetime) -> None:
        self.payer_name, self.address, self.logo_document_id = (
            payer_name, address, logo_document_id)
        self.set_refund_account(refund)
        self.updated_by, self.updated_at = user_id, now

    def set_refund_account(self, refund: RefundAccount | None) -> None:
        self.refund_holder = refund.holder if refund else None
        self.refund_iban = refund.iban if refund else None
        self.refund_bic = refund.bic if refund else None

    @property
    def refund_account(self) -> RefundAccount | None:
        if self.refund_iban is None:
            return None
        return RefundAccount(self.refund_holder, self.refund_iban, self.refund_bic)


@dataclass(frozen=True)
class RefundAccount:
    holder: str
    iban: str  # checked and compact (bank.normalise_iban)
    bic: str | None


def require_funder_admin(actor: Actor) -> None:
    if actor.role != Role.funder_admin:
        raise Forbidden("funder_admin_only",
                        "Seul un administrateur du financeur peut modifier ces paramètres.")


def logo_is_valid(document: dict | None) -> bool:
    """The funder's own « Logo » image, as its staff read it (documents shows them their
    funder's only); an organisation's logo is not the payer's."""
    return (document is not None and document.get("category") == "logo"
            and document.get("organisation_id") is None
            and document.get("status") != "rejected")


def invalid_logo() -> InvalidInput:
    return InvalidInput("logo_document_invalid",
                        "Joignez un logo déposé par le financeur dans la rubrique « Logo » des "
                        "documents.", {"field": "logo_document_id"})
