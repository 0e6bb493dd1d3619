"""GET /health: ask every service's health() at once, each with a short timeout."""
from __future__ import annotations

from eventlet.greenpool import GreenPool
from nameko.rpc import RpcProxy

from servicekit import registry
from servicekit.rpc import TimedServiceProxy
from gateway.errors import REMOTE_ERRORS, error_code

PROBE_TIMEOUT_SECONDS = 3.0
_EXPECTED = tuple(kind for kind, *_ in REMOTE_ERRORS)


class HealthProbes(RpcProxy):
    """Injects {service name: RPC proxy with a short timeout}, one per Jalon service: by
    default every process registered (servicekit.registry) but the gateway itself."""

    def __init__(self, services=None, timeout: float = PROBE_TIMEOUT_SECONDS):
        super().__init__("health-probes")
        self.services = services
        self.timeout = timeout

    def setup(self) -> None:
        super().setup()
        if self.services is None:
            self.services = tuple(name for name in registry.names()
                                  if name != self.container.service_name)

    def get_dependency(self, worker_ctx):
        return {name: TimedServiceProxy(worker_ctx, name, self.rpc_reply_listener,
                                        timeout=self.timeout)
                for name in self.services}


def _probe(item) -> tuple[str, dict]:
    name, proxy = item
    try:
        reply = proxy.health()
    except _EXPECTED as exc:
        return name, {"status": error_code(exc) or "unavailable"}
    except Exception:  # noqa: BLE001 - a broken service is reported, not raised
        return name, {"status": "error"}
    if not isinstance(reply, dict):
        return name, {"status": "error"}
    database = reply.get("database")
    return name, {"status": str(reply.get("status", "error")),
                  "database": None if database is None else str(database)}


def check(probes: dict) -> tuple[dict, int]:
    """(health report, HTTP status): 200 when every service says ok, else 503."""
    pool = GreenPool(len(probes) or 1)
    services = dict(pool.imap(_probe, probes.items()))
    healthy = all(state["status"] == "ok" for state in services.values())
    report = {"status": "ok" if healthy else "degraded", "services": services}
    return report, 200 if healthy else 503
