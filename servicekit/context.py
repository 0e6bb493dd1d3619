"""The correlation id of each call, bound to the logs and carried on to RPC and events.

Nameko propagates `worker_ctx.data` as message headers on every RPC call and event the worker
makes; the outbox stores it with each event, so a consumer's worker gets the same id back.
The gateway's HTTP workers take it from the X-Correlation-Id header or make one.
"""
from __future__ import annotations

import uuid

import structlog
from nameko.extensions import DependencyProvider

CORRELATION_HEADER = "X-Correlation-Id"


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


class RequestContext(DependencyProvider):
    """Injects the current correlation id (a str) and binds it to the worker's logs."""

    def worker_setup(self, worker_ctx) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            correlation_id=correlation_id(worker_ctx),
            entrypoint=f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}",
        )

    def worker_teardown(self, worker_ctx) -> None:
        structlog.contextvars.clear_contextvars()

    def get_dependency(self, worker_ctx) -> str:
        return correlation_id(worker_ctx)
