"""notifications in memory, for tests of its use cases (services/notifications/handlers.py):
the emails repository, a mailer that records what it sends (and can be told to fail), the
ports, and the events that cause emails."""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import smtplib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable

from contracts.common.errors import ServiceUnavailable
from contracts.events import (AccountChangedV1, CertificateReopenedV1, CertifiedV1,
                              DocumentCheckedV1, DocumentRejectedV1, HoursContestedV1,
                              HoursValidatedV1, MonthHours, MonthToCertifyV1, Party)
from services.notifications import handlers
from services.notifications.adapters import Templates
from services.notifications.domain import Email, Funder
from tests.support.fakes import FakeClock, FakeDatabase
from tests.support.notification_centre import (InMemoryAlertSettings, InMemoryDigests,
                                               InMemoryNotifications)


class InMemoryEmails:
    """models.Emails on a dict."""

    def __init__(self):
        self.by_id: dict[str, Email] = {}

    def add(self, email: Email) -> None:
        self.by_id[email.id] = email

    def next_due(self, now: datetime) -> Email | None:
        due = [email for email in self.by_id.values() if email.is_due(now)]
        return min(due, key=lambda email: email.next_attempt_at, default=None)

    def get(self, email_id: str) -> Email | None:
        return self.by_id.get(email_id)

    def record_outcome(self, claimed: Email, outcome: Email, claimed_until: datetime) -> bool:
        stored = self.by_id[outcome.id]
        if not stored.holds_claim(claimed_until):
            return False
        for column in dataclasses.fields(Email):  # the row changes, as an UPDATE changes it
            setattr(stored, column.name, getattr(outcome, column.name))
        return True

    def of_funder(self, funder_id: str, event_id: str | None = None) -> list[Email]:
        return sorted((email for email in self.by_id.values() if email.funder_id == funder_id
                       and (event_id is None or email.event_id == event_id)),
                      key=lambda email: email.created_at)

    def all(self) -> list[Email]:
        return list(self.by_id.values())


class InMemoryFunders:
    """models.Funders on a dict."""

    def __init__(self):
        self.by_id: dict[str, Funder] = {}

    def add(self, funder: Funder) -> None:
        self.by_id[funder.id] = funder

    def get(self, funder_id: str) -> Funder | None:
        return self.by_id.get(funder_id)


class FakeMailer:
    """Keeps a copy of each email it sends; `failures` sends in a row fail first, and
    `during_send`, when set, runs in the middle of each send (a crash, another sender...)."""

    def __init__(self):
        self.sent: list[Email] = []
        self.failures = 0
        self.during_send: Callable[[], None] | None = None

    def send(self, email: Email) -> str:
        if self.during_send:
            self.during_send()
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("connection refused by smtp.example.org")
        self.sent.append(copy.deepcopy(email))
        return "memory"

    def recipients(self) -> list[str]:
        return [email.recipient for email in self.sent]


class AwayDatabase(FakeDatabase):
    """A FakeDatabase that can be away: `away_for(n)` makes the next n transactions fail, as
    servicekit's does while PostgreSQL restarts."""

    def __init__(self, service: str, **repositories):
        super().__init__(service, **repositories)
        self.failures = 0

    def away_for(self, transactions: int) -> None:
        self.failures = transactions

    @contextlib.contextmanager
    def unit_of_work(self):
        if self.failures:
            self.failures -= 1
            raise ServiceUnavailable("database_unavailable", "Base indisponible.")
        with super().unit_of_work() as uow:
            yield uow


@dataclass
class Notifications:
    """The service's store and ports, as one test sees them."""

    db: AwayDatabase
    ports: handlers.Ports
    clock: FakeClock
    mailer: FakeMailer
    wakes: list

    @property
    def emails(self) -> InMemoryEmails:
        return self.db.repositories["emails"]

    def deliver_all(self, lease) -> int:
        """Run the delivery loop until nothing is due; return how many emails it claimed."""
        claimed = 0
        while handlers.deliver_next(self.db, self.ports, lease):
            claimed += 1
        return claimed

    def statuses(self) -> list[str]:
        return [email.status for email in self.emails.all()]


def notifications() -> Notifications:
    clock, mailer, wakes = FakeClock(), FakeMailer(), []
    ports = handlers.Ports(templates=Templates(), mailer=mailer, clock=clock,
                           sleep=lambda seconds: clock.advance(seconds=seconds),
                           queued=lambda: wakes.append(clock()))
    return Notifications(AwayDatabase("notifications", emails=InMemoryEmails(),
                                      funders=InMemoryFunders(),
                                      notifications=InMemoryNotifications(),
                                      alert_settings=InMemoryAlertSettings(),
                                      digests=InMemoryDigests()), ports, clock,
                         mailer, wakes)


@dataclass(frozen=True)
class ReceivedEvent:
    """What an @idempotent entrypoint hands its handler: the event's id and its data."""

    id: str
    data: object


def on_event(db: FakeDatabase, event: ReceivedEvent, handle: Callable) -> None:
    """As the service's @idempotent entrypoints run their handler, `handle(uow)`: once per
    event id, in the transaction that records it."""
    with db.unit_of_work() as uow:
        if uow.claim_event(event.id, "notifications"):
            handle(uow)


CERTIFIED_AT = datetime.fromisoformat("2026-10-02T14:05:00+00:00")


def certified(with_employer: bool = True, **changes) -> CertifiedV1:
    employer = Party(id="e1", name="ACME", email="rh@acme.example") if with_employer else None
    values = dict(
        certificate_id="c1", dossier_id="d1", dossier_number="20X000703", funder_id="f1",
        organisation_id="o1", organisation_name="Formations Exemple",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="michelle@example.org"),
        employer=employer, training_title="Développeur web", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"), absence=Decimal("0")),
        method=2, certified_by="u1", certified_at=CERTIFIED_AT)
    return CertifiedV1(**{**values, **changes})


def contested(**changes) -> HoursContestedV1:
    values = dict(
        certificate_id="c1", dossier_id="d1", dossier_number="20X000703", funder_id="f1",
        organisation_id="o1", organisation_name="Formations Exemple",
        organisation_email="contact@of.example", month="2026-09", party="beneficiary",
        party_name="DUBOIS Michelle", reason="J'étais absente le 12.", contested_by="u9",
        contested_at=CERTIFIED_AT)
    return HoursContestedV1(**{**values, **changes})


REVIEWED = dict(document_id="doc-1", category="invoice", category_label="Facture",
                label="Facture n° 42", funder_id="f1", organisation_id="o1",
                dossier_number="20X000703", owner_user_id="u1")
LATE_EVENING = datetime.fromisoformat("2026-03-31T22:30:00+00:00")  # 1 April in Paris


def document_checked(**changes) -> DocumentCheckedV1:
    values = dict(REVIEWED, owner_email="of@example.org", checked_at=LATE_EVENING,
                  checked_by="agent")
    return DocumentCheckedV1(**{**values, **changes})


def document_rejected(**changes) -> DocumentRejectedV1:
    values = dict(REVIEWED, owner_email="of@example.org", rejected_at=LATE_EVENING,
                  rejected_by="agent", reason_code="incomplete", reason_text="il manque le verso")
    return DocumentRejectedV1(**{**values, **changes})



def month_to_certify(**changes) -> MonthToCertifyV1:
    values = dict(dossier_id="d1", dossier_number="20X000703", funder_id="f1",
                  organisation_id="o1", beneficiary_name="ANDRE Élise", month="2026-10",
                  announced_at=CERTIFIED_AT)
    return MonthToCertifyV1(**{**values, **changes})


def reopened(**changes) -> CertificateReopenedV1:
    values = dict(certificate_id="c1", dossier_id="d1", dossier_number="20X000703",
                  funder_id="f1", organisation_id="o1", month="2026-08",
                  reason="Heures de stage manquantes", reopened_by="agent",
                  reopened_at=CERTIFIED_AT)
    return CertificateReopenedV1(**{**values, **changes})


def validated(**changes) -> HoursValidatedV1:
    values = dict(certificate_id="c1", dossier_id="d1", dossier_number="20X000703",
                  funder_id="f1", organisation_id="o1", month="2026-10", party="beneficiary",
                  party_name="DUBOIS Michelle", complete=False, validated_by="ub",
                  validated_at=CERTIFIED_AT)
    return HoursValidatedV1(**{**values, **changes})


def account_changed(change: str, **changes) -> AccountChangedV1:
    values = dict(user_id="u1", funder_id="f1", role="organisation_user", organisation_id="o1",
                  name="Claire MARTIN", email="claire@of.example", active=True,
                  rights=["enter_hours"], change=change, changed_by="admin",
                  changed_at=CERTIFIED_AT)
    return AccountChangedV1(**{**values, **changes})


def count_smtp_sessions(monkeypatch) -> list:
    """Every SMTP session (smtplib.SMTP) opened from now until the test ends, in order."""
    opened = []

    class Counted(smtplib.SMTP):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(smtplib, "SMTP", Counted)
    return opened
