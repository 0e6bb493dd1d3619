"""Shapes of the internal RPCs the ops command line (`jalon`) reads: month-end counts per
funder and month from each service that holds them, the outbox of every service.

No user reaches these through the gateway: they answer with counts and ids, never contents."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.common import Id, Shape
from contracts.events import Month


class MonthEndQuery(Shape):
    """Which funders and months to count (None: all)."""

    funder_id: Id | None = None
    month: Month | None = None


class CertificateCounts(Shape):
    """certification: one funder's months of one calendar month, by stage."""

    funder_id: str
    month: str
    to_certify: int = Field(description="open for entry, not certified")
    certified: int = Field(description="certified (validated, contested or paid included)")


class LockedCounts(Shape):
    """payments: one funder's dossier months locked for payment in one calendar month."""

    funder_id: str
    month: str
    locked: int


class ProducedCertificates(Shape):
    """documents: one funder's current certificate PDFs of one calendar month."""

    funder_id: str
    month: str
    produced: int


class EmailBacklog(Shape):
    """notifications: one funder's emails about one month (or about none) not sent yet
    (pending or being sent)."""

    funder_id: str | None
    month: str | None
    pending: int
    oldest_pending_at: datetime | None


class OutboxStatus(Shape):
    """One service's outbox: events committed but not published yet, and the last publish."""

    service: str
    unpublished: int
    oldest_unpublished_at: datetime | None
    last_published_at: datetime | None
