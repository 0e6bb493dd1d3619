"""The outbox relay: publishes committed outbox rows to RabbitMQ with publisher confirms.

It runs as a green thread in every replica of a service. A row is marked published only after
the broker confirmed it, in the same transaction that selected it (FOR UPDATE SKIP LOCKED on
PostgreSQL, so replicas share the work). A crash between confirm and mark re-sends the event:
consumers are idempotent, so at-least-once is safe. Nothing is sent for a rolled-back change.
"""
from __future__ import annotations

import json

from nameko.amqp.publish import Publisher
from nameko.events import get_event_exchange
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from contracts.envelope import routing_key
from servicekit.db import utcnow
from servicekit.logging import get_logger
from servicekit.loop import BackgroundLoop

log = get_logger(__name__)

BATCH = 200


class OutboxRelay(BackgroundLoop):
    """Declare next to a `Database` on a service that publishes events."""

    name = "outbox_relay"

    def setup(self) -> None:
        super().setup()
        self.exchange = get_event_exchange(self.container.service_name, self.container.config)
        self.publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True,
                                   serializer="json", declare=[self.exchange])
        self.database.on_commit_with_events = self.wake

    def work_once(self) -> int:
        return self.publish_pending()

    def publish_pending(self) -> int:
        """Publish one batch of pending rows; return how many were sent."""
        database = self.database
        outbox = database.outbox
        with database.write_gate(), Session(database.engine) as session, session.begin():
            rows = session.execute(
                select(outbox.c.position, outbox.c.event_name, outbox.c.correlation_id,
                       outbox.c.envelope)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.position)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                envelope = json.loads(row.envelope)
                headers = {"nameko.correlation_id": row.correlation_id} if row.correlation_id else {}
                self.publisher.publish(
                    envelope, exchange=self.exchange,
                    routing_key=routing_key(row.event_name, envelope["schemaversion"]),
                    message_id=envelope["id"], extra_headers=headers,
                )
            if rows:
                session.execute(update(outbox)
                                .where(outbox.c.position.in_([r.position for r in rows]))
                                .values(published_at=utcnow()))
                log.info("outbox_published", count=len(rows))
        return len(rows)
