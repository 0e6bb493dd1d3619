"""notifications' tables: every outgoing email, its delivery state and retries; and the
repository that reaches them (`uow.emails`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text,
                        UniqueConstraint, and_, func, or_, select, tuple_, update)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, registry

from servicekit.tables import UtcDateTime, add_kit_tables
from services.notifications.domain import PENDING, SENDING, Email, Funder
from services.notifications.domain import (AlertPerson, AlertSetting, Digest, Notification,
                                          NotificationRead)

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
    Column("resent_from", String(36)),  # the email a funder's staff sent again (issue 16)
    Column("correlation_id", String(64)),  # the request that queued it, for its delivery's logs
    Column("month", String(7)),  # YYYY-MM, for an email about a certificate's month
    # A redelivered or concurrent event cannot queue the same email twice.
    UniqueConstraint("event_id", "recipient", "template", name="uq_emails_event_recipient"),
)
# Funders' names, as identity's funder_bootstrapped gave them: emails name and sign with them.
funders = Table(
    "funders", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
)
# The delivery loop's query: pending emails that are due, sending ones whose lease passed.
Index("ix_emails_due", emails.c.status, emails.c.next_attempt_at)

# ---- the notification centre (issue 16) ----
notifications = Table(
    "notifications", metadata,
    Column("id", String(36), primary_key=True),
    Column("event_id", String(36)),
    Column("kind", String(50), nullable=False),
    Column("audience_type", String(20), nullable=False),  # user, party, organisation, funder
    Column("audience_id", String(64), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("title", String(500), nullable=False),
    Column("text", Text, nullable=False),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("link", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # A redelivered event cannot notify the same audience twice.
    UniqueConstraint("event_id", "audience_type", "audience_id", "kind",
                     name="uq_notifications_event_audience"),
)
Index("ix_notifications_audience", notifications.c.audience_type, notifications.c.audience_id,
      notifications.c.created_at)

notification_reads = Table(
    "notification_reads", metadata,
    Column("notification_id", String(36), ForeignKey("notifications.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("read_at", UtcDateTime(), nullable=False),
)

alert_persons = Table(
    "alert_persons", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("funder_id", String(64), nullable=False),
    Column("role", String(30), nullable=False),
    Column("email", String(320)),
    Column("organisation_id", String(64)),
    Column("party_id", String(64), index=True),
    Column("rights", JSON(), nullable=False, default=list),
    Column("updated_at", UtcDateTime(), nullable=False),
)

alert_settings = Table(
    "alert_settings", metadata,
    Column("user_id", String(64), ForeignKey("alert_persons.user_id"), primary_key=True),
    Column("kind", String(50), primary_key=True),
    Column("frequency", String(20), nullable=False),  # immediate, digest, none
)

# One row per person and day, inserted by the replica that sends that digest (the claim).
digests = Table(
    "digests", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("notifications", Integer, nullable=False, default=0),
)

_registry = registry()


def start_mappers() -> None:
    """Map the domain classes; calling it again (several containers in one process) is harmless."""
    if not _registry.mappers:
        _registry.map_imperatively(Email, emails)
        _registry.map_imperatively(Notification, notifications)
        _registry.map_imperatively(NotificationRead, notification_reads)
        _registry.map_imperatively(AlertPerson, alert_persons)
        _registry.map_imperatively(AlertSetting, alert_settings)
        _registry.map_imperatively(Digest, digests)
        _registry.map_imperatively(Funder, funders)


class Emails:
    def __init__(self, session: Session):
        self._session = session

    def add(self, email: Email) -> None:
        self._session.add(email)

    def next_due(self, now: datetime) -> Email | None:
        """The most overdue email (`Email.is_due`), row-locked; one another sender holds
        locked is skipped, not waited for. An email asked for by a call (no event: a
        certification code, a password link) goes first: someone waits for it, while at
        month-end hundreds of certified months' emails may be queued ahead of it."""
        due = or_(and_(Email.status == PENDING, Email.next_attempt_at <= now),
                  and_(Email.status == SENDING, Email.claimed_until <= now))
        return self._session.scalars(
            select(Email).where(due)
            .order_by(Email.event_id.is_not(None), Email.next_attempt_at).limit(1)
            .with_for_update(skip_locked=True)).first()

    def waiting(self) -> int:
        """How many emails are still to send: queued, retried later, or being sent."""
        return self._session.scalar(select(func.count()).select_from(Email)
                                    .where(Email.status.in_((PENDING, SENDING))))

    def get(self, email_id: str) -> Email | None:
        return self._session.get(Email, email_id)

    def record_outcome(self, claimed: Email, outcome: Email, claimed_until: datetime) -> bool:
        """Write what a send changed (`claimed` -> `outcome`) unless the claim that ended at
        `claimed_until` was taken over meanwhile: one conditional UPDATE, no lock nor re-read.
        False when the claim was lost (nothing written)."""
        changed = {column.key: getattr(outcome, column.key) for column in emails.columns
                   if getattr(outcome, column.key) != getattr(claimed, column.key)}
        written = self._session.execute(update(emails).where(
            emails.c.id == outcome.id, emails.c.status == SENDING,
            emails.c.claimed_until == claimed_until).values(changed or {"status": outcome.status}))
        return written.rowcount == 1

    def backlog(self, funder_id: str | None) -> list[dict]:
        """{funder_id, month, pending, oldest_pending_at} per funder and month (None: emails
        about no month) with emails not sent yet."""
        key = (emails.c.funder_id, emails.c.month)
        query = (select(*key, func.count().label("pending"),
                        func.min(emails.c.created_at).label("oldest_pending_at"))
                 .where(emails.c.status.in_([PENDING, SENDING]))
                 .group_by(*key).order_by(*(column.nulls_first() for column in key)))
        if funder_id:
            query = query.where(emails.c.funder_id == funder_id)
        return [row._asdict() for row in self._session.execute(query)]

    def of_funder(self, funder_id: str, event_id: str | None = None) -> list[Email]:
        """The funder's emails (of one event, if given), oldest first."""
        query = select(Email).where(Email.funder_id == funder_id)
        if event_id is not None:
            query = query.where(Email.event_id == event_id)
        return list(self._session.scalars(query.order_by(Email.created_at)))


class Funders:
    def __init__(self, session: Session):
        self._session = session

    def add(self, funder: Funder) -> None:
        self._session.add(funder)

    def get(self, funder_id: str) -> Funder | None:
        return self._session.get(Funder, funder_id)


class Notifications:
    """The notification centre: notifications per audience, read marks per person."""

    def __init__(self, session: Session):
        self._session = session

    def add(self, notification: Notification) -> None:
        self._session.add(notification)

    def _seen_by(self, audiences: list[tuple[str, str]]):
        return tuple_(Notification.audience_type, Notification.audience_id).in_(audiences)

    def _unread(self, user_id: str):
        read = select(NotificationRead.notification_id).where(
            NotificationRead.user_id == user_id)
        return Notification.id.not_in(read)

    def of_person(self, audiences: list[tuple[str, str]], user_id: str, unread_only: bool,
                  limit: int, offset: int) -> list[tuple[Notification, datetime | None]]:
        """Newest first, each with the person's read mark (None: unread)."""
        query = (select(Notification, NotificationRead.read_at)
                 .outerjoin(NotificationRead, and_(
                     NotificationRead.notification_id == Notification.id,
                     NotificationRead.user_id == user_id))
                 .where(self._seen_by(audiences)))
        if unread_only:
            query = query.where(NotificationRead.read_at.is_(None))
        query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
        return [tuple(row) for row in self._session.execute(query.limit(limit).offset(offset))]

    def unread_count(self, audiences: list[tuple[str, str]], user_id: str) -> int:
        return self._session.scalar(select(func.count()).select_from(Notification).where(
            self._seen_by(audiences), self._unread(user_id)))

    def seen_one(self, audiences: list[tuple[str, str]], notification_id: str
                 ) -> Notification | None:
        return self._session.scalars(select(Notification).where(
            Notification.id == notification_id, self._seen_by(audiences))).first()

    def for_digest(self, audiences: list[tuple[str, str]], user_id: str, kinds: list[str],
                   since: datetime, until: datetime) -> list[Notification]:
        """Unread notifications of these kinds created in (since, until], oldest first."""
        return list(self._session.scalars(select(Notification).where(
            self._seen_by(audiences), self._unread(user_id), Notification.kind.in_(kinds),
            Notification.created_at > since, Notification.created_at <= until)
            .order_by(Notification.created_at, Notification.id)))

    def unread_ids(self, audiences: list[tuple[str, str]], user_id: str) -> list[str]:
        return list(self._session.scalars(select(Notification.id).where(
            self._seen_by(audiences), self._unread(user_id))))

    def read_mark(self, notification_id: str, user_id: str) -> NotificationRead | None:
        return self._session.get(NotificationRead, (notification_id, user_id))

    def mark_read(self, read: NotificationRead) -> None:
        self._session.add(read)


class AlertSettings:
    """Each person's alert settings, and who they are (AlertPerson)."""

    def __init__(self, session: Session):
        self._session = session

    def person(self, user_id: str) -> AlertPerson | None:
        return self._session.get(AlertPerson, user_id)

    def save_person(self, person: AlertPerson) -> AlertPerson:
        return self._session.merge(person)

    def of_person(self, user_id: str) -> list[AlertSetting]:
        return list(self._session.scalars(select(AlertSetting).where(
            AlertSetting.user_id == user_id)))

    def save(self, setting: AlertSetting) -> None:
        self._session.merge(setting)

    def frequencies(self, asked: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
        """For each (audience type, user or party id, kind) asked, the setting of the person
        it names, all in one query; absent: never set."""
        if not asked:
            return {}

        def named(audience_type: str):
            return AlertPerson.party_id if audience_type == "party" else AlertPerson.user_id
        rows = self._session.execute(
            select(AlertSetting.frequency, AlertSetting.kind, AlertPerson.user_id,
                   AlertPerson.party_id)
            .join(AlertPerson, AlertPerson.user_id == AlertSetting.user_id)
            .where(or_(*(and_(named(audience_type) == audience_id, AlertSetting.kind == kind)
                         for audience_type, audience_id, kind in asked)))).all()
        found = {}
        for audience_type, audience_id, kind in asked:
            column = "party_id" if audience_type == "party" else "user_id"
            frequency = next((row.frequency for row in rows
                              if getattr(row, column) == audience_id and row.kind == kind), None)
            if frequency is not None:
                found[audience_type, audience_id, kind] = frequency
        return found

    def digest_persons(self) -> list[AlertPerson]:
        """The persons a digest may reach: the active ones (with an address). Some kinds
        come in the digest until a person chooses otherwise."""
        return list(self._session.scalars(select(AlertPerson).where(
            AlertPerson.email.is_not(None)).order_by(AlertPerson.user_id)))

    def persons_of(self, audience_type: str, audience_id: str) -> list[AlertPerson]:
        """The persons an audience may include (domain.sees decides, rights included)."""
        if audience_type == "organisation":
            where = AlertPerson.organisation_id == audience_id.split(":")[0]
        elif audience_type == "funder":
            where = and_(AlertPerson.funder_id == audience_id,
                         AlertPerson.organisation_id.is_(None), AlertPerson.party_id.is_(None))
        else:
            where = (AlertPerson.party_id if audience_type == "party"
                     else AlertPerson.user_id) == audience_id
        return list(self._session.scalars(select(AlertPerson).where(
            where, AlertPerson.email.is_not(None)).order_by(AlertPerson.user_id)))


class Digests:
    def __init__(self, session: Session):
        self._session = session

    def claim(self, digest: Digest) -> bool:
        """Insert the day's row unless it exists; True when this transaction did. A
        concurrent claim waits for ours to end (PostgreSQL's unique index; SQLite's write
        gate), then finds the row and does nothing."""
        insert = (postgresql_insert if self._session.bind.dialect.name == "postgresql"
                  else sqlite_insert)
        claimed = self._session.execute(insert(digests).values(
            user_id=digest.user_id, day=digest.day, created_at=digest.created_at,
            notifications=digest.notifications).on_conflict_do_nothing())
        return claimed.rowcount == 1

    def record(self, user_id: str, day, notifications: int) -> None:
        self._session.execute(digests.update().where(
            digests.c.user_id == user_id, digests.c.day == day).values(
            notifications=notifications))

    def previous(self, user_id: str, day) -> Digest | None:
        return self._session.scalars(select(Digest).where(
            Digest.user_id == user_id, Digest.day < day).order_by(Digest.day.desc())).first()


def repositories(session: Session) -> dict[str, object]:
    return {"emails": Emails(session), "funders": Funders(session),
            "notifications": Notifications(session),
            "alert_settings": AlertSettings(session), "digests": Digests(session)}
