"""The ops' month-end view (jalon month-end): per funder and month, the emails not sent yet
(pending or being sent) and when the oldest was queued, one query on the emails table."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.notifications import domain, handlers, models
from tests.support.sqlite_store import SqliteStore

T0 = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


def email(number: int, funder_id: str | None, status: str, minutes: int,
          month: str | None = "2026-10") -> dict:
    return {"id": f"e{number}", "funder_id": funder_id, "month": month,
            "recipient": "a@example.org",
            "subject": "Sujet", "body_text": "Texte", "template": "certified",
            "status": status, "attempts": 0, "next_attempt_at": T0,
            "created_at": T0 + timedelta(minutes=minutes)}


def test_emails_not_sent_yet_per_funder_oldest_first(tmp_path):
    db = SqliteStore("notifications", tmp_path, models)
    db.add(models.emails, email(1, "f1", domain.PENDING, 5), email(2, "f1", domain.SENDING, 2),
           email(3, "f1", domain.SENT, 0), email(4, "f2", domain.FAILED, 0),
           email(5, None, domain.PENDING, 9, month=None),
           email(6, "f1", domain.PENDING, 7, month="2026-09"),
           email(7, "f1", domain.PENDING, 8, month=None))
    assert handlers.email_backlog(db) == [
        {"funder_id": None, "month": None, "pending": 1,
         "oldest_pending_at": "2026-10-30T09:09:00Z"},
        {"funder_id": "f1", "month": None, "pending": 1,
         "oldest_pending_at": "2026-10-30T09:08:00Z"},
        {"funder_id": "f1", "month": "2026-09", "pending": 1,
         "oldest_pending_at": "2026-10-30T09:07:00Z"},
        {"funder_id": "f1", "month": "2026-10", "pending": 2,
         "oldest_pending_at": "2026-10-30T09:02:00Z"}]
    assert {row["funder_id"] for row in handlers.email_backlog(db, "f1")} == {"f1"}
