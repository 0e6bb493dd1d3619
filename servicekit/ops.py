"""What the ops command line (`jalon`) asks every service: the state of its outbox, and the
month-end counts a service keeps per funder and month, each one aggregate query.

`OutboxReport` is mixed into every class `servicekit.run` runs that has a database (`db`),
like the liveness ping: `jalon outbox` calls `<service>.outbox_status()` on each.
"""
from __future__ import annotations

from nameko.rpc import rpc
from sqlalchemy import column, func, or_, select, table
from sqlalchemy.orm import Session

from contracts.ops import OutboxStatus
from servicekit.tables import UtcDateTime

# The kit's outbox (servicekit.tables), as far as its status needs it.
_outbox = table("outbox", column("created_at", UtcDateTime()),
                column("published_at", UtcDateTime()))


def outbox_status(session: Session, service: str) -> dict:
    unpublished = _outbox.c.published_at.is_(None)
    row = session.execute(select(
        func.count().filter(unpublished).label("unpublished"),
        func.min(_outbox.c.created_at).filter(unpublished).label("oldest_unpublished_at"),
        func.max(_outbox.c.published_at).label("last_published_at"))).one()
    return OutboxStatus(service=service, **row._asdict()).model_dump(mode="json")


class OutboxReport:
    """Mixed into a service class that declares `db = Database(...)`."""

    @rpc
    def outbox_status(self) -> dict:
        with self.db.read() as session:
            return outbox_status(session, self.name)


def counts_per_funder_month(session: Session, rows, funder_id: str | None, month: str | None,
                            **counts) -> list[dict]:
    """{funder_id, month, <name>: how many rows meet its condition} for each funder and month of
    `rows` (a table with columns funder_id and month) where any condition holds."""
    query = (select(rows.c.funder_id, rows.c.month,
                    *(func.count().filter(condition).label(name)
                      for name, condition in counts.items()))
             .where(or_(*counts.values()))
             .group_by(rows.c.funder_id, rows.c.month)
             .order_by(rows.c.funder_id, rows.c.month))
    if funder_id:
        query = query.where(rows.c.funder_id == funder_id)
    if month:
        query = query.where(rows.c.month == month)
    return [row._asdict() for row in session.execute(query)]
