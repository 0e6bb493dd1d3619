"""A broker restart must not kill a service container (Nameko 2 lets it).

Two places in Nameko 2.14 turn a lost connection into a dead container:
- QueueConsumer.ack_message / requeue_message catch only amqp's ConnectionError, but a dropped
  socket raises ConnectionResetError (an OSError) or kombu's OperationalError. Ignoring them is
  safe: the broker takes back every unacked message of a closed connection.
- RpcConsumer.handle_result publishes the reply; with the broker gone the publish raises
  (ECONNREFUSED), the worker dies with it and the container is killed. The request is left
  unacked instead (requeued when the channel still lives), so it comes back to a replica that
  answers; a redelivered request with the same idempotency key gets the first result.
Anything else Nameko cannot recover from ends the process (servicekit.run) to be restarted.
"""
from __future__ import annotations

import os
import sys

from amqp.exceptions import ChannelError, ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcConsumer

from servicekit.logging import get_logger

log = get_logger(__name__)

# What a lost connection raises (kombu's connection_errors for py-amqp, plus its wrapper).
CONNECTION_ERRORS = (OSError, AmqpConnectionError, OperationalError)
# An ack on a channel the broker closed fails too; the broker has reclaimed its messages.
SETTLE_ERRORS = (*CONNECTION_ERRORS, ChannelError)

_send_reply_and_ack = RpcConsumer.handle_result
_installed = False


def _message_ids(message) -> dict:
    properties = getattr(message, "properties", None) or {}
    delivery_info = getattr(message, "delivery_info", None) or {}
    return {"delivery_tag": getattr(message, "delivery_tag", None),
            "correlation_id": properties.get("correlation_id"),
            "routing_key": delivery_info.get("routing_key")}


def _settle(message, settle: str) -> None:
    """ack or requeue, unless the connection is gone (the broker then requeues by itself)."""
    try:
        if message.channel.connection:
            getattr(message, settle)()
    except SETTLE_ERRORS as exc:
        log.warning("message_settle_lost", settle=settle, error=type(exc).__name__,
                    **_message_ids(message))


def _ack_message(self, message) -> None:
    _settle(message, "ack")


def _requeue_message(self, message) -> None:
    _settle(message, "requeue")


def _reply_or_leave_unacked(self, message, result, exc_info):
    try:
        return _send_reply_and_ack(self, message, result, exc_info)
    except CONNECTION_ERRORS as exc:
        log.warning("rpc_reply_lost", error=type(exc).__name__, **_message_ids(message))
        self.queue_consumer.requeue_message(message)
        return result, exc_info


def survive_broker_restarts() -> None:
    """Idempotent: installs the tolerant ack/requeue and RPC reply for this process."""
    global _installed
    if _installed:
        return
    _installed = True
    QueueConsumer.ack_message = _ack_message
    QueueConsumer.requeue_message = _requeue_message
    RpcConsumer.handle_result = _reply_or_leave_unacked


def exit_now(event: str, code: int = 1, **fields) -> None:
    """One critical line, flushed, then the process ends at once: no half-stopped container
    left to linger (its unacked messages go back to the queue; the supervisor restarts it)."""
    log.critical(event, exit_code=code, **fields)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
