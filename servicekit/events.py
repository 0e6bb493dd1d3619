"""Consuming events: typed, idempotent, retried with backoff, dead-lettered when hopeless.

Nameko 2 acks an event even when its handler raises, which would lose it. `subscribe` replaces
`nameko.events.event_handler`: on failure it republishes the message to a delay queue (one per
backoff step, whose TTL dead-letters it back to the handler's queue), and after the last step,
or at once for a message that can never succeed (malformed, unknown version, business error),
to the dead-letter queue that `python -m servicekit.deadletters` lists and replays. The original
is acked only once its copy is safely published, so nothing is lost. A body that does not even
decode is dead-lettered by servicekit.poison (installed with servicekit.base.patch_nameko).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import partial

from kombu import Queue
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import QueueConsumer
from pydantic import ValidationError

from contracts.common.errors import JalonError
from contracts.envelope import Envelope, cloud_type, routing_key
from contracts.events import Payload, REGISTRY
from servicekit import config, metrics
from servicekit.logging import get_logger
from servicekit.poison import (dead_letter_headers, dead_letter_queue, error_text,
                               publish_copy, settle)

log = get_logger(__name__)

ATTEMPT_HEADER = "x-jalon-attempt"


@dataclass(frozen=True)
class ReceivedEvent:
    envelope: Envelope
    data: Payload

    @property
    def id(self) -> str:
        return self.envelope.id


class Unprocessable(Exception):
    """The message can never be handled as it is: straight to the dead letters."""


def parse_event(service: str, name: str, body, version: int = 1) -> ReceivedEvent:
    """The typed event of `body`, which must be version `version` of `service`'s `name`."""
    spec = REGISTRY.get((service, name, version))
    if spec is None:
        raise Unprocessable(f"no contract for {service}.{name} v{version}")
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        raise Unprocessable(f"invalid envelope: {exc}") from exc
    if envelope.type != cloud_type(service, name) or envelope.schemaversion != spec.version:
        raise Unprocessable(f"unsupported event {envelope.type} v{envelope.schemaversion}")
    try:
        return ReceivedEvent(envelope, spec.model.model_validate(envelope.data))
    except ValidationError as exc:
        raise Unprocessable(f"invalid payload: {exc}") from exc


def is_retryable(exc: BaseException) -> bool:
    return not isinstance(exc, JalonError) or exc.retryable


class Subscription(EventHandler):
    """`@subscribe(source_service, event_name)`: one durable queue per handler method, bound to
    one version of the event (`version=`, 1 by default; contracts/events.py says how versions
    travel)."""

    def __init__(self, source_service: str, event_name: str, version: int = 1,
                 prefetch: int | None = None, **kwargs):
        super().__init__(source_service, routing_key(event_name, version), **kwargs)
        self.event_name = event_name
        self.version = version
        self.prefetch = prefetch  # messages held unacked at once; None: the container's workers

    def setup(self) -> None:
        super().setup()
        settings = config.load()
        name = self.queue.name
        self.retry_queues = [
            Queue(f"{name}--retry-{delay}s", durable=True, queue_arguments={
                "x-message-ttl": delay * 1000,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            })
            for delay in settings.retry_delays
        ]
        self.dead_letters = dead_letter_queue()
        self.publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True,
                                   declare=[*self.retry_queues, self.dead_letters])

    def handle_message(self, body, message) -> None:
        try:
            event = parse_event(self.source_service, self.event_name, body, self.version)
        except Unprocessable as exc:
            self._count("dead_lettered")
            self._settle(message, self._dead_letter, str(exc))
            return
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (event,), {},
                                        context_data=self.unpack_message_headers(message),
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self._count("handled")
            self.queue_consumer.ack_message(message)
            return result, exc_info
        exc = exc_info[1]
        attempt = int(message.headers.get(ATTEMPT_HEADER, 0))
        error = error_text(exc)
        if is_retryable(exc) and attempt < len(self.retry_queues):
            log.warning("event_handler_failed_will_retry", queue=self.queue.name,
                        attempt=attempt + 1, error=error)
            self._count("retried")
            self._settle(message, self._retry, attempt)
        else:
            log.error("event_handler_failed_dead_lettered", queue=self.queue.name,
                      attempts=attempt + 1, error=error)
            self._count("dead_lettered")
            self._settle(message, self._dead_letter, error)
        return result, exc_info

    def _count(self, outcome: str) -> None:
        metrics.EVENTS.labels(self.queue.name, outcome).inc()

    def _settle(self, message, move, *args) -> None:
        settle(self.queue_consumer, message, partial(move, message, *args), self.queue.name)

    def _retry(self, message, attempt: int) -> None:
        headers = {**message.headers, ATTEMPT_HEADER: attempt + 1}
        self._publish_to(self.retry_queues[attempt], message, headers)

    def _dead_letter(self, message, error: str) -> None:
        attempts = int(message.headers.get(ATTEMPT_HEADER, 0)) + 1
        self._publish_to(self.dead_letters, message,
                         dead_letter_headers(message, self.queue.name, error, attempts))

    def _publish_to(self, queue: Queue, message, headers: dict) -> None:
        publish_copy(self.publisher, self.container.config["AMQP_URI"], queue, message, headers)


subscribe = Subscription.decorator


def own_prefetch() -> None:
    """A Subscription's `prefetch` holds on every QueueConsumer of this process. Nameko gives
    every consumer of the container's channel the same prefetch (its workers), and RabbitMQ
    applies a channel's basic.qos to the consumers started after it: so each consumer sets its
    own just before it starts. Wraps whatever get_consumers is in place (servicekit.poison's);
    idempotent."""
    current = QueueConsumer.get_consumers
    if getattr(current, "own_prefetch", False):
        return

    def get_consumers(self: QueueConsumer, consumer_cls, channel):
        consumers = current(self, consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            _consume_after_qos(consumer,
                               getattr(provider, "prefetch", None) or self.prefetch_count)
        return consumers

    get_consumers.own_prefetch = True
    QueueConsumer.get_consumers = get_consumers


def _consume_after_qos(consumer, prefetch: int) -> None:
    consume = consumer.consume

    def consume_with_qos(*args, **kwargs):
        consumer.qos(prefetch_count=prefetch)
        return consume(*args, **kwargs)

    consumer.consume = consume_with_qos


def idempotent(handler=None, *, prepare=None):
    """Run `handler(self, uow, event, *args)` in one transaction that also records the event id.

    A redelivered event finds its id already recorded and changes nothing. The service must
    have a `db` (servicekit.db.Database) dependency.

    `@idempotent(prepare=f)`: slow work (a PDF render) runs first, as `f(self, event)`, outside
    any transaction, and its result comes to `handler(self, uow, event, prepared)`. The
    transaction then lives for milliseconds, not for the slow work, holding no connection and
    no lock meanwhile. An event already handled is not prepared again; what was prepared for a
    duplicate that loses the claim is dropped, so `f` must leave nothing that matters behind.
    """
    if handler is None:
        return functools.partial(idempotent, prepare=prepare)

    @functools.wraps(handler)
    def wrapper(self, event: ReceivedEvent, *args):
        key = f"{self.name}.{handler.__name__}"
        prepared = ()
        if prepare is not None:
            if self.db.event_processed(event.id, key):
                return _already_processed(event, key)
            prepared = (prepare(self, event),)
        with self.db.unit_of_work() as uow:
            if not uow.claim_event(event.id, key):
                return _already_processed(event, key)
            return handler(self, uow, event, *prepared, *args)

    return wrapper


def _already_processed(event: ReceivedEvent, key: str) -> None:
    log.info("event_already_processed", event_id=event.id, handler=key)
