"""In-memory stand-ins for the integration service's store (its log of public events, its
replays, webhooks and deliveries), for the funders' replay queues and for their webhooks'
endpoints, so its use cases run without broker, database or HTTP."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from contracts.envelope import new_envelope
from servicekit.events import ReceivedEvent
from services.integration.domain import Replay
from services.integration.domain.webhooks import (CANCELLED, PENDING, SENDING, Delivery,
                                                  Webhook, WebhookPolicy)
from services.integration.domain.webhooks import UnsafeAddress
from services.integration import handlers
from services.integration.handlers import Ports
from tests.support.fakes import FakeClock, FakeDatabase
from tests.support.jobs import FakeJobs


@dataclass
class LoggedEvent:
    position: int
    id: str
    funder_id: str
    routing_key: str
    type: str
    correlation_id: str | None
    envelope: str
    occurred_at: object
    published_at: object = None

    @property
    def body(self) -> dict:
        return json.loads(self.envelope)


class InMemoryPublicEvents:
    def __init__(self):
        self.rows: list[LoggedEvent] = []
        self.next_position = 1  # as an autoincrement: never reused, even after a prune

    def add(self, event_id, funder_id, routing_key, event_type, correlation_id, envelope,
            occurred_at) -> None:
        assert not self.exists(event_id), "unique id"
        self.rows.append(LoggedEvent(self.next_position, event_id, funder_id, routing_key,
                                     event_type, correlation_id, envelope, occurred_at))
        self.next_position += 1

    def exists(self, event_id: str) -> bool:
        return any(row.id == event_id for row in self.rows)

    def last_position(self) -> int:
        return max((row.position for row in self.rows), default=0)

    def position_of(self, funder_id: str, event_id: str) -> int | None:
        return next((row.position for row in self.rows
                     if row.id == event_id and row.funder_id == funder_id), None)

    def position_before(self, funder_id: str, since) -> int:
        first = min((row.position for row in self.rows
                     if row.funder_id == funder_id and row.occurred_at >= since), default=None)
        return self.last_position() if first is None else first - 1

    def count(self, funder_id: str, after: int, until: int, routing_keys=None) -> int:
        return len(self._range(funder_id, after, until, routing_keys))

    def batch(self, funder_id: str, after: int, until: int, limit: int,
              routing_keys=None) -> list[tuple]:
        return [(row.position, row.id, row.correlation_id, row.envelope, row.routing_key)
                for row in self._range(funder_id, after, until, routing_keys)[:limit]]

    def delete_published_before(self, moment) -> int:
        kept = [row for row in self.rows
                if row.published_at is None or row.occurred_at >= moment]
        removed, self.rows = len(self.rows) - len(kept), kept
        return removed

    def _range(self, funder_id: str, after: int, until: int,
               routing_keys=None) -> list[LoggedEvent]:
        return sorted((row for row in self.rows if row.funder_id == funder_id
                       and after < row.position <= until
                       and (routing_keys is None or row.routing_key in routing_keys)),
                      key=lambda row: row.position)


class InMemoryReplays:
    def __init__(self):
        self.replays: dict[str, Replay] = {}

    def add(self, replay: Replay) -> None:
        self.replays[replay.id] = copy.copy(replay)

    def save(self, replay: Replay) -> None:
        self.replays[replay.id] = copy.copy(replay)

    def get(self, funder_id: str, replay_id: str) -> Replay | None:
        replay = self.replays.get(replay_id)
        return copy.copy(replay) if replay and replay.funder_id == funder_id else None

    def of_funder(self, funder_id: str) -> list[Replay]:
        return sorted((copy.copy(r) for r in self.replays.values() if r.funder_id == funder_id),
                      key=lambda r: r.created_at, reverse=True)


class InMemoryWebhooks:
    def __init__(self):
        self.webhooks: dict[str, Webhook] = {}

    def add(self, webhook: Webhook) -> None:
        self.webhooks[webhook.id] = copy.deepcopy(webhook)

    save = add

    def get(self, funder_id: str, webhook_id: str) -> Webhook | None:
        webhook = self.webhooks.get(webhook_id)
        return copy.deepcopy(webhook) if webhook and webhook.funder_id == funder_id else None

    def of_funder(self, funder_id: str, active_only: bool = False) -> list[Webhook]:
        return [copy.deepcopy(w) for w in sorted(self.webhooks.values(),
                                                 key=lambda w: w.created_at)
                if w.funder_id == funder_id and (w.active or not active_only)]


class InMemoryDeliveries:
    """In creation order, as the table's position."""

    def __init__(self):
        self.deliveries: list[Delivery] = []

    def add(self, delivery: Delivery) -> None:
        self.deliveries.append(copy.deepcopy(delivery))

    def save(self, delivery: Delivery, attempt=None) -> None:
        """The delivery carries its history, the attempt with it."""
        index = next(i for i, d in enumerate(self.deliveries) if d.id == delivery.id)
        self.deliveries[index] = copy.deepcopy(delivery)

    def next_due(self, now) -> Delivery | None:
        due = sorted((d for d in self.deliveries if d.is_due(now)),
                     key=lambda d: (d.next_attempt_at, self.deliveries.index(d)))
        return copy.deepcopy(due[0]) if due else None

    def locked(self, delivery_id: str) -> Delivery:
        return copy.deepcopy(next(d for d in self.deliveries if d.id == delivery_id))

    def get(self, funder_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        return next((copy.deepcopy(d) for d in self.deliveries if d.id == delivery_id
                     and d.webhook_id == webhook_id and d.funder_id == funder_id), None)

    def of_webhook(self, webhook_id: str, status, limit: int, offset: int) -> list[Delivery]:
        mine = [copy.deepcopy(d) for d in reversed(self.deliveries)
                if d.webhook_id == webhook_id and status in (None, d.status)]
        return mine[offset:offset + limit]

    def cancel_pending(self, webhook_id: str) -> int:
        pending = [d for d in self.deliveries
                   if d.webhook_id == webhook_id and d.status == PENDING]
        for delivery in pending:
            delivery.status = CANCELLED
        return len(pending)

    def sending(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == SENDING]


@dataclass
class Endpoint:
    """The funders' webhook endpoints: each POST received (url, body, headers), answered with
    the next of `answers` (a status, or an exception raised), then 200."""

    posts: list[tuple[str, str, dict]] = field(default_factory=list)
    answers: list = field(default_factory=list)
    private_hosts: set[str] = field(default_factory=set)

    def check(self, url: str) -> None:
        if urlsplit(url).hostname in self.private_hosts:
            raise UnsafeAddress(url)

    def post(self, url: str, body: str, headers: dict) -> tuple[int, str]:
        self.check(url)
        self.posts.append((url, body, headers))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer, "ok" if answer < 300 else "erreur"


@dataclass
class RecordingQueues:
    """The funders' replay queues: what each received, in order; `down` fails every send."""

    received: dict[str, list[dict]] = field(default_factory=dict)
    down: bool = False

    def send(self, queue: str, envelope: str, event_id: str, correlation_id) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        body = json.loads(envelope)
        assert body["id"] == event_id
        self.received.setdefault(queue, []).append(body)


@dataclass
class Integration:
    db: FakeDatabase
    ports: Ports
    clock: FakeClock
    queues: RecordingQueues
    endpoint: Endpoint

    @property
    def deliveries(self) -> list[Delivery]:
        return self.db.repositories["deliveries"].deliveries

    @property
    def log(self) -> InMemoryPublicEvents:
        return self.db.repositories["public_events"]

    @property
    def jobs(self) -> FakeJobs:
        return self.db.repositories["jobs"]

    def run_replay(self, job_id: str, crash_after: int | None = None) -> dict:
        """The replay's job run as the runner does; the job's view after."""
        return self.jobs.run(job_id, lambda step: handlers.run_replay(self.db, self.ports, step),
                             crash_after)

    def publish_all(self) -> None:
        """As the relay does once the broker confirmed them."""
        for row in self.log.rows:
            row.published_at = row.published_at or self.clock()


def integration(retention_days: int = 400, **policy) -> Integration:
    """`policy`: WebhookPolicy's settings (allow_http, secret_overlap, retry_delays...)."""
    clock, queues, endpoint = FakeClock(), RecordingQueues(), Endpoint()
    db = FakeDatabase("integration", public_events=InMemoryPublicEvents(),
                      replays=InMemoryReplays(), webhooks=InMemoryWebhooks(),
                      deliveries=InMemoryDeliveries(), jobs=FakeJobs())
    random = iter(range(1, 1000))
    ports = Ports(clock=clock, retention=timedelta(days=retention_days), replays=queues,
                  sender=endpoint, webhooks=WebhookPolicy(**policy),
                  random_bytes=lambda size: bytes([next(random)]) * size)
    return Integration(db, ports, clock, queues, endpoint)


def received(service: str, name: str, data, correlation_id: str | None = None
             ) -> ReceivedEvent:
    """An internal event as an @idempotent entrypoint hands it to its handler."""
    return ReceivedEvent(new_envelope(service, name, 1, data, correlation_id=correlation_id),
                         data)
