"""notifications' tables: every outgoing email, its delivery state and retries."""
from __future__ import annotations

from sqlalchemy import (Column, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)
from sqlalchemy.orm import registry

from servicekit.tables import UtcDateTime, add_kit_tables
from services.notifications.domain import Email

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
