"""Which service made an RPC, for the RPCs only one service may make.

Nameko sends the call-id stack with every call: its last entry names the calling entrypoint
("<service>.<method>.<uuid>"). Only the services reach the broker: users come through the
gateway, whose calls name the gateway. So a use case that trusts what one service sends (a
document made only from records that service keeps) asks here who is calling.
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider


def service_of(call_id: str | None) -> str | None:
    """"<service>.<method>.<uuid>" -> "<service>"; None without a caller."""
    return call_id.split(".", 1)[0] if call_id else None


class CallingService(DependencyProvider):
    """Injects the name of the service whose entrypoint made this call (None: a standalone
    client, such as a script or a test's proxy)."""

    def get_dependency(self, worker_ctx) -> str | None:
        return service_of(worker_ctx.immediate_parent_call_id)
