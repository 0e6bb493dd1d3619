"""RPC between services: every call has a timeout, and business errors keep their class.

`RpcClient("<service>")` is Nameko's RpcProxy whose replies are awaited at most
JALON_RPC_TIMEOUT seconds (or the timeout given); the request itself expires in the queue at
the same time, so a late callee does not do work nobody waits for. Errors from
contracts.common.errors are registered with Nameko so that the caller gets the same class back, with
its code and message. A broker out of reach while publishing a call is a ServiceUnavailable
`broker_unavailable` (the gateway's 503 with Retry-After), never a server error.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko import exceptions as nameko_exceptions
from nameko.amqp.publish import UndeliverableMessage
from nameko.rpc import MethodProxy, RpcProxy, RpcReply, ServiceProxy, get_rpc_exchange

from servicekit import config
from contracts.common.errors import ERROR_KINDS, ServiceUnavailable


# What publishing raises when the broker cannot be reached (refused, reset, lost); the
# builtin ConnectionError covers ConnectionRefusedError and ConnectionResetError.
BROKER_ERRORS = (KombuOperationalError, AmqpConnectionError, ConnectionError)


def _register_errors() -> None:
    for kind in ERROR_KINDS:
        nameko_exceptions.registry[f"{kind.__module__}.{kind.__name__}"] = kind


_register_errors()


def at_once(*calls: Callable[[], Any]) -> list:
    """The results of `calls` (RPCs that do not depend on each other) made concurrently, in
    green threads: the caller waits for the slowest, not for the sum. Every call ends before
    anything is raised; then the first failure in the order given is raised, as if the calls
    had been made one after the other and the first to fail had stopped the rest."""
    threads = [eventlet.spawn(call) for call in calls]
    results, failures = [], []
    for thread in threads:
        try:
            results.append(thread.wait())
        except Exception as exc:  # noqa: BLE001 - re-raised below, first in call order
            failures.append(exc)
    if failures:
        raise failures[0]
    return results


class TimedReply(RpcReply):
    def __init__(self, reply_event, listener, correlation_id: str, timeout: float, label: str):
        super().__init__(reply_event)
        self._listener = listener
        self._correlation_id = correlation_id
        self._timeout = timeout
        self._label = label

    def result(self):
        if self.resp_body is None:
            try:
                with eventlet.Timeout(self._timeout):
                    self.resp_body = self.reply_event.wait()
            except eventlet.Timeout:
                self._listener._reply_events.pop(self._correlation_id, None)
                raise ServiceUnavailable(
                    "rpc_timeout",
                    "Le service ne répond pas, veuillez réessayer.",
                    {"call": self._label, "timeout_seconds": self._timeout},
                ) from None
        return super().result()


class TimedMethodProxy(MethodProxy):
    def __init__(self, *args, timeout: float, **options):
        self.timeout = timeout
        super().__init__(*args, expiration=max(1, int(timeout)), **options)

    def _call(self, *args, **kwargs):
        # Nameko's own _call, but the reply waits at most `timeout` and an unknown service
        # is a ServiceUnavailable like any other silence.
        correlation_id = str(uuid.uuid4())
        listener = self.reply_listener
        reply_event = listener.get_reply_event(correlation_id)
        label = f"{self.service_name}.{self.method_name}"
        try:
            self.publisher.publish(
                {"args": args, "kwargs": kwargs},
                exchange=get_rpc_exchange(self.container.config),
                routing_key=label,
                mandatory=True,
                reply_to=listener.routing_key,
                correlation_id=correlation_id,
                extra_headers=self.get_message_headers(self.worker_ctx),
            )
        except UndeliverableMessage:
            listener._reply_events.pop(correlation_id, None)
            raise ServiceUnavailable("service_unavailable",
                                     "Le service est indisponible, veuillez réessayer.",
                                     {"call": label}) from None
        except (*BROKER_ERRORS, OSError) as exc:  # a socket error may come unwrapped
            listener._reply_events.pop(correlation_id, None)
            raise ServiceUnavailable("broker_unavailable",
                                     "Le service est momentanément injoignable, veuillez "
                                     "réessayer.",
                                     {"call": label, "error": type(exc).__name__}) from None
        return TimedReply(reply_event, listener, correlation_id, self.timeout, label)


class TimedServiceProxy(ServiceProxy):
    def __getattr__(self, name):
        return TimedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener,
                                **self.options)


class RpcClient(RpcProxy):
    def __init__(self, target_service: str, timeout: float | None = None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout
        self._resolved_timeout: float | None = None

    def get_dependency(self, worker_ctx):
        # Settled on the first worker of the container, not per worker: config.load() reads
        # every setting from the environment, and each worker injects every client.
        if self._resolved_timeout is None:
            self._resolved_timeout = self.timeout or config.load().rpc_timeout
        return TimedServiceProxy(worker_ctx, self.target_service, self.rpc_reply_listener,
                                 timeout=self._resolved_timeout, **self.options)
