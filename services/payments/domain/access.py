"""Who may see and do what in payments: funder staff their funder's, an organisation's user
(with the « règlements » right) its organisation's."""
from __future__ import annotations

from dataclasses import dataclass

from contracts.common import FUNDER_ROLES, Actor, Right, Role
from contracts.common.access import require_right
from contracts.common.errors import Forbidden, NotFound

NO_PAYMENTS_RIGHT = "Il vous faut le droit « règlements » pour cette action."


@dataclass(frozen=True)
class Scope:
    """Whose payments a caller sees: a funder's (staff), or one organisation's."""

    funder_id: str
    organisation_id: str | None

    def allows(self, funder_id: str, organisation_id: str) -> bool:
        return self.funder_id == funder_id and self.organisation_id in (None, organisation_id)


def scope_for(actor: Actor) -> Scope:
    if actor.role in FUNDER_ROLES:
        return Scope(actor.funder_id, None)
    if actor.role == Role.organisation_user and actor.organisation_id:
        return Scope(actor.funder_id, actor.organisation_id)
    raise Forbidden("payments_not_allowed",
                    "Les règlements sont réservés au financeur et à l'organisme payé.")


def require_payments_right(actor: Actor) -> None:
    require_right(actor, Right.payments, NO_PAYMENTS_RIGHT)


def require_organisation(actor: Actor) -> None:
    if actor.role != Role.organisation_user:
        raise Forbidden("organisation_only", "Cette action est réservée à l'organisme.")


def ensure_may_ask_about_organisation(actor: Actor, organisation_id: str) -> None:
    """Only its funder's staff and its own users may ask identity about an organisation."""
    if actor.role not in FUNDER_ROLES and actor.organisation_id != str(organisation_id):
        raise NotFound("organisation_not_found", "Organisme introuvable.")
