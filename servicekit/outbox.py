"""Relays: publish committed rows of envelopes to RabbitMQ with publisher confirms.

A relay runs as a green thread in every replica of a service. A row is marked published only
after the broker confirmed it, in the same transaction that selected it (FOR UPDATE SKIP LOCKED
on PostgreSQL, so replicas share the work). A crash between confirm and mark re-sends the event:
consumers are idempotent, so at-least-once is safe. Nothing is sent for a rolled-back change.

`OutboxRelay` publishes a service's outbox to its event exchange; a service keeping another
table of envelopes (position, correlation_id, envelope, published_at) subclasses `TableRelay`.
"""
from __future__ import annotations

import json

from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.events import get_event_exchange
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from contracts.envelope import routing_key
from servicekit import metrics
from servicekit.db import utcnow
from servicekit.logging import get_logger
from servicekit.loop import BackgroundLoop

log = get_logger(__name__)

BATCH = 200


class TableRelay(BackgroundLoop):
    """Declare next to a `Database`; subclasses say the table, the exchange and each row's
    routing key. Messages are persistent JSON, their message_id the envelope's id."""

    table_name = "outbox"

    def exchange_to_declare(self) -> Exchange:
        raise NotImplementedError

    def routing_key_of(self, row, envelope: dict) -> str:
        raise NotImplementedError

    def event_of(self, row, envelope: dict) -> str:
        """The event's name in jalon_events_published_total: its CloudEvents type."""
        return envelope["type"]

    def setup(self) -> None:
        super().setup()
        self.exchange = self.exchange_to_declare()
        self.publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True,
                                   serializer="json", declare=[self.exchange])

    def work_once(self) -> int:
        """What a full batch published, else 0: a batch short of BATCH found every row
        committed before it, and a row committed since wakes the loop (on_commit_with_events,
        a worker's end). Asking again at once was an empty transaction after every batch."""
        published = self.publish_pending()
        return published if published == BATCH else 0

    def publish_pending(self) -> int:
        """Publish one batch of pending rows, in position order; return how many were sent."""
        database = self.database
        table = database.metadata.tables[self.table_name]
        with database.write_gate(), Session(database.engine) as session, session.begin():
            rows = session.execute(
                select(table).where(table.c.published_at.is_(None))
                .order_by(table.c.position).limit(BATCH).with_for_update(skip_locked=True)
            ).all()
            events = []
            for row in rows:
                envelope = json.loads(row.envelope)
                events.append(self.event_of(row, envelope))
                headers = {"nameko.correlation_id": row.correlation_id} if row.correlation_id else {}
                self.publisher.publish(
                    envelope, exchange=self.exchange,
                    routing_key=self.routing_key_of(row, envelope),
                    message_id=envelope["id"], extra_headers=headers,
                )
            if rows:
                session.execute(update(table)
                                .where(table.c.position.in_([r.position for r in rows]))
                                .values(published_at=utcnow()))
                log.info("relay_published", relay=self.name, count=len(rows))
        for event in events:  # counted once committed: a rolled-back batch is sent again
            metrics.EVENTS_PUBLISHED.labels(self.container.service_name, event).inc()
        return len(rows)


class OutboxRelay(TableRelay):
    """Declare next to a `Database` on a service that publishes events."""

    name = "outbox_relay"

    def setup(self) -> None:
        super().setup()
        self.database.on_commit_with_events = self.wake
        labels = (self.container.service_name,)
        metrics.OUTBOX_BACKLOG.read_with(labels, self.backlog)
        metrics.OUTBOX_OLDEST_AGE.read_with(labels, self.oldest_age)

    def stop(self) -> None:
        super().stop()
        labels = (self.container.service_name,)
        metrics.OUTBOX_BACKLOG.forget(labels)
        metrics.OUTBOX_OLDEST_AGE.forget(labels)

    def exchange_to_declare(self) -> Exchange:
        return get_event_exchange(self.container.service_name, self.container.config)

    def routing_key_of(self, row, envelope: dict) -> str:
        return routing_key(row.event_name, envelope["schemaversion"])

    def event_of(self, row, envelope: dict) -> str:
        return row.event_name

    def backlog(self) -> int:
        """Rows not yet published (read at scrape time, servicekit/metrics.py says why)."""
        table = self.database.metadata.tables[self.table_name]
        return self._scalar(select(func.count()).where(table.c.published_at.is_(None)))

    def oldest_age(self) -> float:
        """Seconds since the oldest unpublished row was written; 0 when none waits."""
        table = self.database.metadata.tables[self.table_name]
        oldest = self._scalar(select(func.min(table.c.created_at))
                              .where(table.c.published_at.is_(None)))
        return (utcnow() - oldest).total_seconds() if oldest else 0.0

    def _scalar(self, query):
        with Session(self.database.engine) as session:
            return session.execute(query).scalar()
