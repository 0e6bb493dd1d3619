"""notifications' tables: every outgoing email, its delivery state and retries; and the
repository that reaches them (`uow.emails`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Column, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, and_, or_, select)
from sqlalchemy.orm import Session, registry

from servicekit.tables import UtcDateTime, add_kit_tables
from services.notifications.domain import PENDING, SENDING, Email

metadata = MetaData()
add_kit_tables(metadata)

emails = Table(
    "emails", metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(36)),
    Column("funder_id", String(64), index=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text),
    Column("template", String(100), nullable=False),
    Column("status", String(20), nullable=False),  # pending, sending, sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("claimed_until", UtcDateTime()),  # the lease of the sender of a `sending` email
    # A redelivered or concurrent event cannot queue the same email twice.
    UniqueConstraint("event_id", "recipient", "template", name="uq_emails_event_recipient"),
)
# The delivery loop's query: pending emails that are due, sending ones whose lease passed.
Index("ix_emails_due", emails.c.status, emails.c.next_attempt_at)

_registry = registry()


def start_mappers() -> None:
    """Map the domain classes; calling it again (several containers in one process) is harmless."""
    if not _registry.mappers:
        _registry.map_imperatively(Email, emails)


class Emails:
    def __init__(self, session: Session):
        self._session = session

    def add(self, email: Email) -> None:
        self._session.add(email)

    def next_due(self, now: datetime) -> Email | None:
        """The most overdue email (`Email.is_due`), row-locked; one another sender holds
        locked is skipped, not waited for."""
        due = or_(and_(Email.status == PENDING, Email.next_attempt_at <= now),
                  and_(Email.status == SENDING, Email.claimed_until <= now))
        return self._session.scalars(
            select(Email).where(due).order_by(Email.next_attempt_at).limit(1)
            .with_for_update(skip_locked=True)).first()

    def locked(self, email_id: str) -> Email:
        """The email, row-locked until the transaction ends."""
        return self._session.get(Email, email_id, with_for_update=True)

    def of_funder(self, funder_id: str, event_id: str | None = None) -> list[Email]:
        """The funder's emails (of one event, if given), oldest first."""
        query = select(Email).where(Email.funder_id == funder_id)
        if event_id is not None:
            query = query.where(Email.event_id == event_id)
        return list(self._session.scalars(query.order_by(Email.created_at)))


def repositories(session: Session) -> dict[str, object]:
    return {"emails": Emails(session)}
