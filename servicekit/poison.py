"""Poison messages: whatever a Jalon consumer cannot take ends in the dead-letter queue.

Two roads lead there. servicekit.events dead-letters an event it cannot parse or handle. A body
that does not even decode (not JSON, invalid UTF-8, a content type we do not accept such as
pickle) never reaches an entrypoint: kombu's ConsumerMixin.on_decode_error logs it and acks
it, and it is lost. `dead_letter_undecodable()` gives every consumer of Nameko's QueueConsumer
(the one consumer of a container: event handlers, RPC, RPC replies) a decode-error callback
that copies the message to the dead letters instead, acking it only once the copy is
confirmed and requeueing it otherwise.

A copy is the original bytes with their content type and encoding, never a re-encoding: a body
that does not decode cannot be re-encoded, and kombu publishes bytes as they are when it is
given a content type, so one path serves every message and a dead letter is, byte for byte,
what arrived. Its `x-jalon-dead-letter` header says where and why it failed; `undecodable`
tells `servicekit.deadletters replay` to leave it (sent back, it would only fail again).
"""
from __future__ import annotations

import traceback
from functools import partial
from typing import Callable

from kombu import Connection, Queue
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.messaging import QueueConsumer

from servicekit import config, metrics
from servicekit.db import utcnow
from servicekit.logging import get_logger

log = get_logger(__name__)

DEAD_LETTER_HEADER = "x-jalon-dead-letter"


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def dead_letter_headers(message, queue: str, error: str, attempts: int, **extra) -> dict:
    """The message's own headers plus where it failed, why, after how many attempts."""
    return {**message.headers, DEAD_LETTER_HEADER: {
        "queue": queue, "error": error[:2000], "attempts": attempts,
        "failed_at": utcnow().isoformat(), **extra,
    }}


def publish_copy(publisher: Publisher, amqp_uri: str, queue: Queue, message,
                 headers: dict) -> None:
    """Publish the message's bytes, with `headers`, straight to `queue`, which must exist.

    Mandatory, with confirms: if the broker has no such queue (deleted by hand, or by a
    policy, while kombu still remembers it as declared), the copy comes back instead of
    vanishing; the queue is then declared again and the copy sent once more.
    """
    def publish():
        # "application/data" is what kombu reads a missing content type as: raw bytes.
        publisher.publish(message.body, exchange="", routing_key=queue.name, headers=headers,
                          mandatory=True, content_type=message.content_type or "application/data",
                          content_encoding=message.content_encoding,
                          message_id=message.properties.get("message_id"))
    try:
        publish()
    except UndeliverableMessage:
        log.warning("queue_missing_redeclared", queue=queue.name)
        with Connection(amqp_uri) as connection:
            queue(connection.default_channel).declare()
        publish()


def settle(queue_consumer: QueueConsumer, message, move: Callable[[], None], queue: str) -> None:
    """Ack only once the copy is published; if that fails, requeue: never lose it."""
    try:
        move()
    except Exception:
        log.exception("message_settle_failed", queue=queue)
        queue_consumer.requeue_message(message)
    else:
        queue_consumer.ack_message(message)


def dead_letter_queue() -> Queue:
    return Queue(config.load().dead_letter_queue, durable=True)


def _dead_letter_undecodable(queue_consumer: QueueConsumer, queue: str, message, exc) -> None:
    error = f"undecodable body: {error_text(exc)}"  # kombu names a position, not content
    log.error("message_undecodable_dead_lettered", queue=queue,
              content_type=message.content_type, error=error)
    metrics.EVENTS.labels(queue, "dead_lettered").inc()
    headers = dead_letter_headers(message, queue, error, attempts=1, undecodable=True)
    settle(queue_consumer, message,
           partial(_publish_dead_letter, queue_consumer.amqp_uri, message, headers), queue)


def _publish_dead_letter(amqp_uri: str, message, headers: dict) -> None:
    dead_letters = dead_letter_queue()
    publisher = Publisher(amqp_uri, use_confirms=True, declare=[dead_letters])
    publish_copy(publisher, amqp_uri, dead_letters, message, headers)


def _on_decode_error(queue_consumer: QueueConsumer, queue: str, message, exc) -> None:
    # Called in the consumer's own loop: publish beside it, as Nameko handles messages.
    queue_consumer.container.spawn_managed_thread(
        partial(_dead_letter_undecodable, queue_consumer, queue, message, exc),
        identifier=f"dead_letter_undecodable[{queue}]")


_get_consumers = QueueConsumer.get_consumers


def _get_consumers_dead_lettering(self: QueueConsumer, consumer_cls, channel):
    """Nameko's consumers, each with a decode-error callback that knows its queue."""
    def consumer(queues, **kwargs):
        queue = queues[0].name  # Nameko gives each entrypoint a consumer of its one queue
        return consumer_cls(queues=queues, **kwargs,
                            on_decode_error=partial(_on_decode_error, self, queue))
    return _get_consumers(self, consumer, channel)


def dead_letter_undecodable() -> None:
    """Idempotent: every QueueConsumer of this process dead-letters what does not decode."""
    QueueConsumer.get_consumers = _get_consumers_dead_lettering
