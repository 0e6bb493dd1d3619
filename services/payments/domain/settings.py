"""A funder's payment settings: the payer its remittance advices name (seed 000)."""
from __future__ import annotations

from datetime import datetime

from contracts.common import Actor, Role
from contracts.common.errors import Forbidden, InvalidInput


BOOTSTRAP = "bootstrap"  # who set the payer's name a new funder starts with


class PaymentSettings:
    """The payer's name, address and logo document: one row per funder, changed in place."""

    def __init__(self, funder_id: str, payer_name: str, address: str | None,
                 logo_document_id: str | None, updated_by: str, updated_at: datetime):
        self.funder_id = funder_id
        self.payer_name = payer_name
        self.address = address
        self.logo_document_id = logo_document_id
        self.updated_by = updated_by
        self.updated_at = updated_at

    def change(self, payer_name: str, address: str | None, logo_document_id: str | None,
               user_id: str, now: datetime) -> None:
        self.payer_name, self.address, self.logo_document_id = (
            payer_name, address, logo_document_id)
        self.updated_by, self.updated_at = user_id, now


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
