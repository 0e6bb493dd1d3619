"""Access rules every service applies the same way. Pure: domain modules use them."""
from __future__ import annotations

from contracts.common import Actor
from servicekit.errors import Forbidden


def require_funder_staff(actor: Actor) -> None:
    if not actor.is_funder_staff:
        raise Forbidden("funder_staff_only", "Cette action est réservée au financeur.")
