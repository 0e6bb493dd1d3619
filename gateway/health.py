"""The gateway's health, three ways.

GET /health/live: the process answers (no broker, no service): Kubernetes restarts it if not.
GET /health/ready: it can serve, i.e. reach the broker: every route needs it, and no more; a
sick service answers 503 on its own routes only (gateway/errors.py), so it must not take the
gateway, login included, out of rotation. GET /health: every service's health() at once, each
with a short timeout, for people and monitoring.
"""
from __future__ import annotations

from collections.abc import Callable

from eventlet.greenpool import GreenPool
from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from servicekit import registry
from servicekit.rpc import BROKER_ERRORS, TimedServiceProxy
from gateway.errors import REMOTE_ERRORS, HttpProblem, error_code

PROBE_TIMEOUT_SECONDS = 3.0
_EXPECTED = tuple(kind for kind, *_ in REMOTE_ERRORS)
# No queue is bound to it: the broker confirms the message, then drops it.
READINESS_ROUTING_KEY = "jalon.readiness"
# A probe that cannot publish soon fails: the next one, seconds later, tries again.
READINESS_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.5, "interval_step": 0.5,
                          "interval_max": 1}


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


class BrokerCheck(DependencyProvider):
    """Injects `reachable()`: one message published with a confirm, through the pooled
    connections every RPC call of this process uses: can it send a request right now?"""

    def setup(self) -> None:
        self.publisher = Publisher(self.container.config["AMQP_URI"], serializer="json",
                                   expiration=1, retry_policy=READINESS_RETRY_POLICY)

    def get_dependency(self, worker_ctx):
        return self.reachable

    def reachable(self) -> bool:
        try:
            self.publisher.publish({}, exchange="", routing_key=READINESS_ROUTING_KEY,
                                   timeout=PROBE_TIMEOUT_SECONDS,
                                   confirm_timeout=PROBE_TIMEOUT_SECONDS)
        except (*BROKER_ERRORS, OSError):  # a socket error may come unwrapped
            return False
        return True


def readiness(reachable: Callable[[], bool]) -> dict:
    """{"status": "ok"} when the broker takes a message, else 503 broker_unavailable."""
    if not reachable():
        raise HttpProblem(503, "broker_unavailable",
                          "La passerelle ne joint pas la messagerie, veuillez réessayer.")
    return {"status": "ok"}
