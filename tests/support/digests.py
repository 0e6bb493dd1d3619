"""Two replicas' access to one notifications database, to run daily digests concurrently
(issue 16): each "replica" has its own engine, as separate processes would."""
from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import eventlet

from servicekit import idempotency
from servicekit.db import DatabaseAccess, WriteGate, make_engine, reading_engine
from services.notifications import domain, handlers
from services.notifications.adapters import Templates
from services.notifications.models import metadata, repositories, start_mappers

NOW = datetime(2026, 10, 2, 18, 0, tzinfo=timezone.utc)


class SlowTemplates(Templates):
    """Yields mid-transaction, so the other replica's claim really meets this one's."""

    def render(self, name, context):
        eventlet.sleep(0.05)
        return super().render(name, context)


def replica(url: str, gate=None) -> DatabaseAccess:
    start_mappers()
    engine = make_engine(url)
    write_gate = gate.held if gate else contextlib.nullcontext
    provider = SimpleNamespace(
        engine=engine, reading_engine=reading_engine(engine), write_gate=write_gate,
        container=SimpleNamespace(service_name="notifications"),
        outbox=metadata.tables["outbox"], processed=metadata.tables["processed_events"],
        replies=metadata.tables.get(idempotency.TABLE), repositories=repositories,
        on_commit_with_events=None)
    return DatabaseAccess(provider, None)


def ports() -> handlers.Ports:
    return handlers.Ports(templates=SlowTemplates(), mailer=None, clock=lambda: NOW,
                          sleep=eventlet.sleep, queued=lambda: None)


def seed(db: DatabaseAccess, persons: int) -> None:
    """`persons` beneficiaries who chose the digest for certified months, each with one
    notification of the day."""
    with db.unit_of_work() as uow:
        for number in range(persons):
            uow.alert_settings.save_person(domain.AlertPerson(
                user_id=f"u{number}", funder_id="f1", role="beneficiary",
                email=f"personne{number}@example.org", updated_at=NOW, party_id=f"b{number}"))
            uow.alert_settings.save(domain.AlertSetting(f"u{number}", "certified", "digest"))
            notice = domain.Notice("certified_beneficiary", domain.PARTY, f"b{number}",
                                   "Certificat de réalisation de septembre 2026",
                                   "Formations Exemple a certifié les heures de septembre 2026.",
                                   "certificate", "d1/2026-09",
                                   "/dossiers/d1/certificates/2026-09")
            uow.notifications.add(domain.new_notification(
                f"n{number}", notice, "f1", NOW - timedelta(hours=2), event_id=f"ev{number}"))


def run_concurrently(*replicas: DatabaseAccess) -> list[dict]:
    runs = [eventlet.spawn(handlers.send_daily_digests, db, ports()) for db in replicas]
    return [run.wait() for run in runs]


def digest_emails(db: DatabaseAccess) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from services.notifications.models import emails
    with db.read() as session:
        return sorted((row.recipient, row.subject) for row in session.execute(
            select(emails.c.recipient, emails.c.subject).where(
                emails.c.template == "daily_digest")))


__all__ = ["WriteGate", "NOW", "replica", "seed", "run_concurrently", "digest_emails"]
