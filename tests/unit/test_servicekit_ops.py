"""servicekit.ops.outbox_status on a service's own outbox (SQLite, migrated from nothing):
how many events wait, since when, and the last publish."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from servicekit.ops import outbox_status
from services.certification import models
from tests.support.sqlite_store import SqliteStore

T0 = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


def row(position: int, published_at: datetime | None) -> dict:
    return {"position": position, "event_id": f"ev-{position}", "event_name": "certified",
            "envelope": "{}", "created_at": T0 + timedelta(minutes=position),
            "published_at": published_at}


def test_unpublished_events_the_oldest_and_the_last_publish(tmp_path):
    store = SqliteStore("certification", tmp_path, models)
    with Session(store.engine) as session:
        assert outbox_status(session, "certification") == {
            "service": "certification", "unpublished": 0, "oldest_unpublished_at": None,
            "last_published_at": None}
    store.add(models.metadata.tables["outbox"], row(1, T0 + timedelta(minutes=2)),
              row(2, T0 + timedelta(minutes=3)), row(3, None), row(4, None))
    with Session(store.engine) as session:
        assert outbox_status(session, "certification") == {
            "service": "certification", "unpublished": 2,
            "oldest_unpublished_at": "2026-10-30T09:03:00Z",
            "last_published_at": "2026-10-30T09:03:00Z"}
