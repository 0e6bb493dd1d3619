"""integration's tables: the log of public events (the relay publishes it, replays read it),
the replays and their jobs, the webhooks and their deliveries; the repositories that reach
them (`uow.public_events`, `uow.replays`, `uow.jobs`, `uow.webhooks`, `uow.deliveries`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Column, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        delete, func, insert, or_, and_, select, update)
from sqlalchemy.orm import Session

from servicekit.idempotency import add_idempotency_table
from servicekit.jobs import JobStore, add_job_tables
from servicekit.tables import UtcDateTime, add_kit_tables
from services.integration.domain import Replay
from services.integration.domain.webhooks import (CANCELLED, PENDING, SENDING, Attempt,
                                                  Delivery, Webhook)

metadata = MetaData()
add_kit_tables(metadata)
add_idempotency_table(metadata)
add_job_tables(metadata)

# Every public event, in the order it was logged (`position`), published or not.
public_events = Table(
    "public_events", metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    # uuid5 of the internal event and the public key: a redelivery cannot log it twice.
    Column("id", String(36), nullable=False, unique=True),
    Column("funder_id", String(64), nullable=False),
    Column("routing_key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("correlation_id", String(64)),
    Column("envelope", Text, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), index=True),
)
# Replays read one funder's events in order.
Index("ix_public_events_funder", public_events.c.funder_id, public_events.c.position)

replays = Table(
    "replays", metadata,
    Column("id", String(64), primary_key=True),  # its job's id
    Column("funder_id", String(64), nullable=False, index=True),
    Column("since", UtcDateTime()),
    Column("after_event_id", String(64)),
    Column("start_position", Integer, nullable=False),
    Column("end_position", Integer, nullable=False),
    Column("sent_position", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("status", String(20), nullable=False, index=True),  # pending, running, done
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("webhook_id", String(36)),  # a replay to a webhook, not to the replay queue
)

webhooks = Table(
    "webhooks", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(64), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("event_types", Text, nullable=False),  # the keys, space-separated
    Column("description", String(200), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100)),
    Column("previous_secret_until", UtcDateTime()),
    Column("rotated_at", UtcDateTime()),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime()),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    # The order deliveries are created in: equally due ones go in that order.
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("webhook_id", String(36), ForeignKey("webhooks.id"), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("body", Text, nullable=False),  # the logged envelope, signed and sent as is
    Column("replay_id", String(64)),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer),
    Column("last_answer", Text),
    Column("last_error", Text),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime()),
    Column("claimed_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
)
# The sender's query (due ones) and a webhook's list (newest first).
Index("ix_webhook_deliveries_due", webhook_deliveries.c.status,
      webhook_deliveries.c.next_attempt_at)
Index("ix_webhook_deliveries_webhook", webhook_deliveries.c.webhook_id,
      webhook_deliveries.c.position)

delivery_attempts = Table(
    "webhook_delivery_attempts", metadata,
    Column("delivery_id", String(36), ForeignKey("webhook_deliveries.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("status_code", Integer),
    Column("answer", Text),
    Column("error", Text),
)

REPLAY_COLUMNS = [column.name for column in replays.columns]
WEBHOOK_COLUMNS = [column.name for column in webhooks.columns if column.name != "event_types"]
DELIVERY_COLUMNS = [column.name for column in webhook_deliveries.columns
                    if column.name != "position"]
ATTEMPT_COLUMNS = ["number", "at", "status_code", "answer", "error"]


class PublicEvents:
    def __init__(self, session: Session):
        self._session = session

    def add(self, event_id: str, funder_id: str, routing_key: str, event_type: str,
            correlation_id: str | None, envelope: str, occurred_at: datetime) -> None:
        self._session.execute(insert(public_events).values(
            id=event_id, funder_id=funder_id, routing_key=routing_key, type=event_type,
            correlation_id=correlation_id, envelope=envelope, occurred_at=occurred_at))

    def exists(self, event_id: str) -> bool:
        return self._session.scalar(select(public_events.c.position).where(
            public_events.c.id == event_id)) is not None

    def last_position(self) -> int:
        return self._session.scalar(select(func.max(public_events.c.position))) or 0

    def position_of(self, funder_id: str, event_id: str) -> int | None:
        return self._session.scalar(select(public_events.c.position).where(
            public_events.c.id == event_id, public_events.c.funder_id == funder_id))

    def position_before(self, funder_id: str, since: datetime) -> int:
        """The position after which the funder's events of `since` onwards begin."""
        first = self._session.scalar(select(func.min(public_events.c.position)).where(
            public_events.c.funder_id == funder_id, public_events.c.occurred_at >= since))
        return self.last_position() if first is None else first - 1

    def count(self, funder_id: str, after: int, until: int,
              routing_keys: list[str] | None = None) -> int:
        return self._session.scalar(select(func.count()).select_from(public_events).where(
            *self._range(funder_id, after, until, routing_keys)))

    def batch(self, funder_id: str, after: int, until: int, limit: int,
              routing_keys: list[str] | None = None) -> list[tuple]:
        """(position, id, correlation_id, envelope, routing_key) of the funder's next events
        (of these routing keys only, if given), in order."""
        rows = self._session.execute(
            select(public_events.c.position, public_events.c.id,
                   public_events.c.correlation_id, public_events.c.envelope,
                   public_events.c.routing_key)
            .where(*self._range(funder_id, after, until, routing_keys))
            .order_by(public_events.c.position).limit(limit))
        return [tuple(row) for row in rows]

    def delete_published_before(self, moment: datetime) -> int:
        return self._session.execute(delete(public_events).where(
            public_events.c.published_at.is_not(None),
            public_events.c.occurred_at < moment)).rowcount

    @staticmethod
    def _range(funder_id: str, after: int, until: int,
               routing_keys: list[str] | None = None) -> list:
        conditions = [public_events.c.funder_id == funder_id, public_events.c.position > after,
                      public_events.c.position <= until]
        if routing_keys is not None:
            conditions.append(public_events.c.routing_key.in_(routing_keys))
        return conditions


class Replays:
    def __init__(self, session: Session):
        self._session = session

    def add(self, replay: Replay) -> None:
        self._session.execute(insert(replays).values(**self._row(replay)))

    def save(self, replay: Replay) -> None:
        self._session.execute(update(replays).where(replays.c.id == replay.id)
                              .values(**self._row(replay)))

    def get(self, funder_id: str, replay_id: str) -> Replay | None:
        row = self._session.execute(select(replays).where(
            replays.c.id == replay_id, replays.c.funder_id == funder_id)).first()
        return None if row is None else Replay(**row._mapping)

    def of_funder(self, funder_id: str) -> list[Replay]:
        """Newest first."""
        rows = self._session.execute(select(replays).where(replays.c.funder_id == funder_id)
                                     .order_by(replays.c.created_at.desc()))
        return [Replay(**row._mapping) for row in rows]

    @staticmethod
    def _row(replay: Replay) -> dict:
        return {name: getattr(replay, name) for name in REPLAY_COLUMNS}


class Webhooks:
    def __init__(self, session: Session):
        self._session = session

    def add(self, webhook: Webhook) -> None:
        self._session.execute(insert(webhooks).values(**self._row(webhook)))

    def save(self, webhook: Webhook) -> None:
        self._session.execute(update(webhooks).where(webhooks.c.id == webhook.id)
                              .values(**self._row(webhook)))

    def get(self, funder_id: str, webhook_id: str) -> Webhook | None:
        row = self._session.execute(select(webhooks).where(
            webhooks.c.id == webhook_id, webhooks.c.funder_id == funder_id)).first()
        return None if row is None else self._webhook(row)

    def of_funder(self, funder_id: str, active_only: bool = False) -> list[Webhook]:
        """Oldest first."""
        query = select(webhooks).where(webhooks.c.funder_id == funder_id)
        if active_only:
            query = query.where(webhooks.c.disabled_at.is_(None))
        rows = self._session.execute(query.order_by(webhooks.c.created_at))
        return [self._webhook(row) for row in rows]

    @staticmethod
    def _row(webhook: Webhook) -> dict:
        return {**{name: getattr(webhook, name) for name in WEBHOOK_COLUMNS},
                "event_types": " ".join(webhook.event_types)}

    @staticmethod
    def _webhook(row) -> Webhook:
        return Webhook(**{**row._mapping, "event_types": row.event_types.split()})


class Deliveries:
    def __init__(self, session: Session):
        self._session = session

    def add(self, delivery: Delivery) -> None:
        self._session.execute(insert(webhook_deliveries).values(**self._row(delivery)))

    def save(self, delivery: Delivery, attempt: Attempt | None = None) -> None:
        """The delivery's state, and the attempt it just recorded, if any."""
        self._session.execute(update(webhook_deliveries)
                              .where(webhook_deliveries.c.id == delivery.id)
                              .values(**self._row(delivery)))
        if attempt is not None:
            self._session.execute(insert(delivery_attempts).values(
                delivery_id=delivery.id, **{name: getattr(attempt, name)
                                            for name in ATTEMPT_COLUMNS}))

    def next_due(self, now: datetime) -> Delivery | None:
        """The most overdue delivery (`Delivery.is_due`), row-locked; one another sender holds
        locked is skipped, not waited for."""
        c = webhook_deliveries.c
        due = or_(and_(c.status == PENDING, c.next_attempt_at <= now),
                  and_(c.status == SENDING, c.claimed_until <= now))
        row = self._session.execute(
            select(webhook_deliveries).where(due).order_by(c.next_attempt_at, c.position)
            .limit(1).with_for_update(skip_locked=True)).first()
        return None if row is None else self._deliveries([row])[0]

    def locked(self, delivery_id: str) -> Delivery:
        row = self._session.execute(select(webhook_deliveries).where(
            webhook_deliveries.c.id == delivery_id).with_for_update()).first()
        return self._deliveries([row])[0]

    def get(self, funder_id: str, webhook_id: str, delivery_id: str) -> Delivery | None:
        c = webhook_deliveries.c
        row = self._session.execute(select(webhook_deliveries).where(
            c.id == delivery_id, c.webhook_id == webhook_id, c.funder_id == funder_id)).first()
        return None if row is None else self._deliveries([row])[0]

    def of_webhook(self, webhook_id: str, status: str | None, limit: int,
                   offset: int) -> list[Delivery]:
        """Newest first."""
        c = webhook_deliveries.c
        query = select(webhook_deliveries).where(c.webhook_id == webhook_id)
        if status is not None:
            query = query.where(c.status == status)
        rows = self._session.execute(query.order_by(c.position.desc())
                                     .limit(limit).offset(offset)).all()
        return self._deliveries(rows)

    def cancel_pending(self, webhook_id: str) -> int:
        """Those not sent yet stop (one being sent records its outcome)."""
        c = webhook_deliveries.c
        return self._session.execute(update(webhook_deliveries).where(
            c.webhook_id == webhook_id, c.status == PENDING).values(status=CANCELLED)).rowcount

    def _deliveries(self, rows) -> list[Delivery]:
        """The rows as deliveries, each with its attempts (one query for all)."""
        ids = [row.id for row in rows]
        history: dict[str, list[Attempt]] = {delivery_id: [] for delivery_id in ids}
        if ids:
            for attempt in self._session.execute(
                    select(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(ids))
                    .order_by(delivery_attempts.c.number)):
                history[attempt.delivery_id].append(
                    Attempt(**{name: getattr(attempt, name) for name in ATTEMPT_COLUMNS}))
        return [Delivery(**{name: getattr(row, name) for name in DELIVERY_COLUMNS},
                         history=history[row.id]) for row in rows]

    @staticmethod
    def _row(delivery: Delivery) -> dict:
        return {name: getattr(delivery, name) for name in DELIVERY_COLUMNS}


def repositories(session: Session) -> dict[str, object]:
    return {"public_events": PublicEvents(session), "replays": Replays(session),
            "webhooks": Webhooks(session), "deliveries": Deliveries(session),
            "jobs": JobStore(session, metadata)}
