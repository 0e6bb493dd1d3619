"""models.Emails on SQLite, migrated from nothing: a send's outcome written in one statement,
on condition that the sender's claim still holds (no row lock, no re-read)."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.notifications import domain, models
from tests.support.sqlite_store import SqliteStore

T0 = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)


def claimed(store: SqliteStore, template: str = "certified_beneficiary") -> domain.Email:
    store.add(models.emails, {"id": "e1", "recipient": "a@example.org", "subject": "Sujet",
                              "body_text": "Texte", "template": template,
                              "status": domain.PENDING, "attempts": 0,
                              "next_attempt_at": T0, "created_at": T0})
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        email = models.Emails(session).next_due(T0)
        email.claim(T0, LEASE)
    return email


def record(store: SqliteStore, email: domain.Email, outcome: domain.Email) -> tuple[bool, list]:
    statements = []
    with Session(store.engine) as session, session.begin():
        event.listen(session.connection(), "after_cursor_execute",
                     lambda *args: statements.append(args[2].split(None, 1)[0]))
        written = models.Emails(session).record_outcome(email, outcome, email.claimed_until)
    return written, statements


def stored(store: SqliteStore) -> domain.Email:
    with Session(store.engine) as session:
        return models.Emails(session).get("e1")


def test_the_outcome_is_one_update_while_the_claim_holds(tmp_path):
    store = SqliteStore("notifications", tmp_path, models)
    email = claimed(store, "certification_code")
    outcome = dataclasses.replace(email)
    outcome.mark_sent(T0 + timedelta(seconds=2))
    assert record(store, email, outcome) == (True, ["UPDATE"])
    row = stored(store)
    assert (row.status, row.attempts, row.sent_at, row.claimed_until, row.body_text) == (
        domain.SENT, 1, T0 + timedelta(seconds=2), None, outcome.body_text)
    assert outcome.body_text != "Texte"  # the code's email is erased once sent


def test_a_claim_taken_over_keeps_the_new_senders_row(tmp_path):
    store = SqliteStore("notifications", tmp_path, models)
    email = claimed(store)
    later = T0 + LEASE + timedelta(seconds=1)
    with Session(store.engine) as session, session.begin():  # another sender, lease passed
        models.Emails(session).next_due(later).claim(later, LEASE)
    outcome = dataclasses.replace(email)
    outcome.mark_failed_attempt("ConnectionRefusedError", later)
    assert record(store, email, outcome)[0] is False
    row = stored(store)
    assert (row.status, row.attempts, row.claimed_until) == (domain.SENDING, 1, later + LEASE)


def test_an_email_someone_waits_for_goes_before_the_events_emails_queued_earlier(tmp_path):
    store = SqliteStore("notifications", tmp_path, models)
    for n in range(3):
        store.add(models.emails, {"id": f"event-{n}", "event_id": f"ev-{n}",
                                  "recipient": "b@example.org", "subject": "Sujet",
                                  "body_text": "Texte", "template": "certified_beneficiary",
                                  "status": domain.PENDING, "attempts": 0,
                                  "next_attempt_at": T0 + timedelta(seconds=n),
                                  "created_at": T0})
    store.add(models.emails, {"id": "code", "recipient": "a@example.org", "subject": "Code",
                              "body_text": "123456", "template": "certification_code",
                              "status": domain.PENDING, "attempts": 0,
                              "next_attempt_at": T0 + timedelta(minutes=1),
                              "created_at": T0 + timedelta(minutes=1)})
    later = T0 + timedelta(minutes=2)
    order = []
    for _ in range(4):
        with Session(store.engine, expire_on_commit=False) as session, session.begin():
            email = models.Emails(session).next_due(later)
            email.claim(later, LEASE)
            order.append(email.id)
    assert order == ["code", "event-0", "event-1", "event-2"]
