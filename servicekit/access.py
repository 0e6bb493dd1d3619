"""The caller an RPC names, parsed once at every service's edge (rules: contracts.common.access)."""
from __future__ import annotations

from typing import Any

from contracts.common import Actor
from contracts.common.access import require_unrestricted
from servicekit.validation import parse


def acting(payload: Any) -> Actor:
    """The caller an RPC names. An account that has not finished its first login acts only on
    its own account, in the service that keeps accounts: every service that calls this refuses
    it, whoever forwarded it."""
    actor = parse(Actor, payload)
    require_unrestricted(actor)
    return actor
