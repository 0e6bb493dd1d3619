"""Access rules every service applies the same way. Pure: domain modules use them."""
from __future__ import annotations

from contracts.common import Actor, Right, Role
from contracts.common.errors import Forbidden


def require_unrestricted(actor: Actor) -> None:
    if actor.restricted:
        raise Forbidden("account_restricted",
                        "Veuillez d'abord terminer votre première connexion (identifiant, mot "
                        "de passe, politique de confidentialité).")


def require_funder_staff(actor: Actor) -> None:
    if not actor.is_funder_staff:
        raise Forbidden("funder_staff_only", "Cette action est réservée au financeur.")


def require_right(actor: Actor, right: Right, message: str) -> None:
    """An organisation's user (or API token) acts only with the rights its administrator
    gave it. Other roles have no rights list: each service's own rules judge them."""
    if actor.role == Role.organisation_user and right.value not in actor.rights:
        raise Forbidden("missing_right", message, {"right": right.value})
