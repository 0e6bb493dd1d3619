"""The correlation id of each call, bound to the logs and carried on to RPC and events.

Nameko propagates `worker_ctx.data` as message headers on every RPC call and event the worker
makes; the outbox stores it with each event, so a consumer's worker gets the same id back.
The gateway's HTTP workers take it from the X-Correlation-Id header or make one.

The Idempotency-Key of a state-changing request travels the same way, but for one hop only:
the gateway puts it in the context data of its worker, and the service that receives the call
takes it out (`idempotency_key`), so the calls that service makes in turn do not carry it.
"""
from __future__ import annotations

import uuid
import weakref

import structlog
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler

CORRELATION_HEADER = "X-Correlation-Id"
IDEMPOTENCY_KEY = "jalon.idempotency_key"
# The key each worker took out of its context data (None: the caller sent none).
_taken_keys: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _from_http_request(worker_ctx) -> str | None:
    request = worker_ctx.args[0] if worker_ctx.args else None
    headers = getattr(request, "headers", None)
    value = headers.get(CORRELATION_HEADER) if headers is not None else None
    # Only a sane token is trusted from outside; anything else gets a fresh id.
    if value and len(value) <= 64 and value.replace("-", "").isalnum():
        return value
    return None


def correlation_id(worker_ctx) -> str:
    """The worker's correlation id, chosen on first ask (dependencies are injected before
    any worker_setup runs, in no set order)."""
    current = worker_ctx.data.get("correlation_id")
    if not current:
        current = _from_http_request(worker_ctx) or uuid.uuid4().hex
        worker_ctx.data["correlation_id"] = current
    return current


def idempotency_key(worker_ctx) -> str | None:
    """The caller's Idempotency-Key for this call, taken out of the worker's context data on
    first ask so that it does not travel on with the calls this worker makes. The gateway's
    HTTP workers keep it: they set it for the service they call."""
    if isinstance(worker_ctx.entrypoint, HttpRequestHandler):
        return worker_ctx.data.get(IDEMPOTENCY_KEY)
    if worker_ctx not in _taken_keys:
        _taken_keys[worker_ctx] = worker_ctx.data.pop(IDEMPOTENCY_KEY, None)
    return _taken_keys[worker_ctx]


class RequestContext(DependencyProvider):
    """Injects the current correlation id (a str) and binds it to the worker's logs."""

    def worker_setup(self, worker_ctx) -> None:
        idempotency_key(worker_ctx)  # taken out before the worker calls anyone
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            correlation_id=correlation_id(worker_ctx),
            entrypoint=f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}",
        )

    def worker_teardown(self, worker_ctx) -> None:
        structlog.contextvars.clear_contextvars()

    def get_dependency(self, worker_ctx) -> str:
        return correlation_id(worker_ctx)
