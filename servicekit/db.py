"""SQLAlchemy 2 for Nameko: engines that cooperate with eventlet, and a unit of work per call.

PostgreSQL goes through psycopg2 made green by psycogreen (patched on import of this module),
so a slow query yields to other green threads instead of blocking the process. SQLite (the
embedded default) is a local file: its calls are short and stay blocking. Its lock is not:
a writer that meets another green thread's open write transaction would wait in C (busy
timeout), freezing the whole process, the lock holder included, until "database is locked".
So on SQLite the writers of one process take turns on a green lock (`Database.write_gate`).
"""
from __future__ import annotations

import contextlib
import time
from datetime import datetime, timezone
from typing import Callable, Iterator

import eventlet
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, MetaData, create_engine, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from contracts.envelope import new_envelope
from contracts.events import Payload, spec_of
from servicekit import config
from servicekit import idempotency
from servicekit.context import correlation_id, idempotency_key
from contracts.common.errors import Conflict, ServiceUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

# The database is out of reach (server down or restarting, connection dropped): the caller
# gets a ServiceUnavailable (503 with Retry-After) instead of a server error.
UNREACHABLE = (OperationalError, InterfaceError, DisconnectionError)


def _make_green() -> None:
    try:
        from psycogreen.eventlet import patch_psycopg
    except ImportError:  # pragma: no cover - psycogreen is a pinned dependency
        return
    patch_psycopg()


_make_green()


def driver_url(url: str) -> str:
    """Plain postgresql:// URLs use psycopg2 (made green above), not SQLAlchemy's default."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg2://" + url[len(plain):]
    return url


def make_engine(url: str, pool_size: int = 10) -> Engine:
    url = driver_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine)
    return engine


def reading_engine(engine: Engine) -> Engine:
    """The engine's pool, for reads. On PostgreSQL in autocommit: a read is its one SELECT,
    without the BEGIN and ROLLBACK round trips around it (READ COMMITTED gives each statement
    its own snapshot inside a transaction too, so a read sees nothing less)."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


# A pooled connection back in use sooner than this was alive a moment ago: it is not pinged.
IDLE_BEFORE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping pings at every checkout: a round trip per transaction, 4 to
    19 % of a busy service's CPU (docs/performance.md). Here only a connection idle for a while
    is pinged, and replaced if dead. One that died while in steady use (a database restart
    under load) fails its statement once: SQLAlchemy then replaces every older connection of
    the pool, and the failure is a ServiceUnavailable (RPC: 503 and Retry-After; an event: its
    retry queue)."""
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # noqa: BLE001 - the pool replaces the connection and retries
            raise DisconnectionError("idle connection found dead") from exc


class WriteGate:
    """One writing transaction at a time in this process, waited for cooperatively.

    Re-entrant for the green thread that holds it, so a nested unit of work cannot deadlock.
    """

    def __init__(self):
        self._semaphore = Semaphore(1)
        self._owner = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        current = eventlet.getcurrent()
        if self._owner is current:
            yield
            return
        with self._semaphore:
            self._owner = current
            try:
                yield
            finally:
                self._owner = None


def like_pattern(query: str | None) -> str | None:
    """A LIKE pattern (escape char '\\') for a free-text search; None when nothing to search.
    The user's % and _ are searched for literally."""
    text = (query or "").strip().lower()
    if not text:
        return None
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@contextlib.contextmanager
def unreachable_is_unavailable() -> Iterator[None]:
    try:
        yield
    except UNREACHABLE as exc:
        log.warning("database_unavailable", error=type(getattr(exc, "orig", None) or exc).__name__)
        raise ServiceUnavailable("database_unavailable",
                                 "La base de données est momentanément indisponible, "
                                 "veuillez réessayer.") from None


@contextlib.contextmanager
def concurrent_change_is_conflict(message: str) -> Iterator[None]:
    """Another call changed the same record first (version check or unique key): the loser
    gets a Conflict with `message` (French, for the user) instead of a server error."""
    try:
        yield
    except (StaleDataError, IntegrityError):
        raise Conflict("concurrent_change", message) from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


Repositories = Callable[[Session], dict[str, object]]


class Reading:
    """A read-only view of the service's store: its repositories (models.py), as `reading.<name>`."""

    def __init__(self, session: Session, repositories: Repositories | None):
        self.session = session
        if repositories is not None:
            self.__dict__.update(repositories(session))


class UnitOfWork(Reading):
    """One transaction: the service's changes and the events they cause, committed together.
    The service's repositories (models.py) are reached as `uow.<name>`."""

    def __init__(self, session: Session, service: str, outbox, processed,
                 correlation_id: str | None, replaying=None, replies=None,
                 repositories: Repositories | None = None):
        super().__init__(session, repositories)
        self._service = service
        self._outbox = outbox
        self._processed = processed
        self._correlation_id = correlation_id
        self._replaying = replaying
        self._replies = replies
        self.kept_reply: str | None = None
        self.published = 0

    def keep_reply(self, reply) -> None:
        """Store the reply of the @replayable call under way with this transaction's effect,
        so that a call redelivered after commit replays it (no-op without a key)."""
        call = self._replaying
        if call is None:
            return
        text = idempotency.canonical_json(reply)
        if call.kept is None and self.kept_reply is None:
            idempotency.insert_reply(self.session, self._replies, call, text, utcnow())
        else:
            idempotency.replace_reply(self.session, self._replies, call, text)
        self.kept_reply = text

    def publish(self, event_name: str, data: Payload, subject: str | None = None) -> str:
        """Queue an event in the outbox; the relay sends it once this transaction commits."""
        spec = spec_of(self._service, event_name, data)  # its class says the version
        envelope = new_envelope(self._service, event_name, spec.version, data,
                                subject=subject, correlation_id=self._correlation_id)
        self.session.execute(insert(self._outbox).values(
            event_id=envelope.id, event_name=event_name, correlation_id=self._correlation_id,
            envelope=envelope.model_dump_json(), created_at=envelope.time,
        ))
        self.published += 1
        return envelope.id

    def claim_event(self, event_id: str, handler: str) -> bool:
        """Record that `handler` processed `event_id`; False when it already had.

        One statement: an insert that does nothing on the primary key's conflict. A concurrent
        duplicate waits (PostgreSQL) or is serialised (SQLite's write gate) until the first
        commits, then finds the record; if the first rolls back, it claims the event itself.
        """
        insert_for = _INSERTS[self.session.get_bind().dialect.name]
        claimed = self.session.execute(insert_for(self._processed).values(
            event_id=event_id, handler=handler, processed_at=utcnow()
        ).on_conflict_do_nothing())
        return claimed.rowcount == 1


# INSERT … ON CONFLICT DO NOTHING in the two databases Jalon runs on.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class Database(DependencyProvider):
    """Injects a `DatabaseAccess`; owns the engine and, if asked, the outbox relay."""

    def __init__(self, metadata: MetaData, start_mappers=None,
                 repositories: Repositories | None = None):
        self.metadata = metadata
        self.start_mappers = start_mappers
        self.repositories = repositories
        self.engine: Engine | None = None
        self.reading_engine: Engine | None = None
        self._replies_pruned_at: datetime | None = None
        self.on_commit_with_events = None  # set by the outbox relay to be woken early
        self._gate: WriteGate | None = None

    def setup(self) -> None:
        settings = config.load()
        self.engine = make_engine(settings.database_url(self.container.service_name),
                                  settings.db_pool_size)
        self._gate = WriteGate() if self.engine.dialect.name == "sqlite" else None
        self.reading_engine = reading_engine(self.engine)
        if self.start_mappers:
            self.start_mappers()

    def kill(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx) -> "DatabaseAccess":
        return DatabaseAccess(self, correlation_id(worker_ctx), idempotency_key(worker_ctx))

    def write_gate(self):
        """Hold it around any writing transaction opened outside `unit_of_work` (no-op
        except on SQLite; see the module docstring)."""
        return self._gate.held() if self._gate else contextlib.nullcontext()

    @property
    def outbox(self):
        return self.metadata.tables["outbox"]

    @property
    def processed(self):
        return self.metadata.tables["processed_events"]

    @property
    def replies(self):
        return self.metadata.tables.get(idempotency.TABLE)

    def replies_prune_due(self, now: datetime) -> bool:
        """True once per idempotency.PRUNE_EVERY in this process: pruning the stored replies
        at every call cost a transaction of its own per call."""
        if self._replies_pruned_at is not None and \
                now - self._replies_pruned_at < idempotency.PRUNE_EVERY:
            return False
        self._replies_pruned_at = now
        return True


class DatabaseAccess:
    def __init__(self, provider: Database, correlation_id: str | None,
                 idempotency_key: str | None = None):
        self._provider = provider
        self._correlation_id = correlation_id
        self.idempotency_key = idempotency_key
        self.replaying: idempotency.IdempotentCall | None = None  # set by @replayable

    @property
    def engine(self) -> Engine:
        return self._provider.engine

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        provider = self._provider
        with unreachable_is_unavailable(), provider.write_gate(), \
                Session(provider.engine, expire_on_commit=False) as session, session.begin():
            uow = UnitOfWork(session, provider.container.service_name, provider.outbox,
                             provider.processed, self._correlation_id, self.replaying,
                             provider.replies, provider.repositories)
            yield uow
        if uow.kept_reply is not None:  # committed: the call's reply is stored
            self.replaying.kept = uow.kept_reply
        if uow.published and provider.on_commit_with_events:
            provider.on_commit_with_events()

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session that reads and never writes: nothing is flushed from it."""
        with unreachable_is_unavailable(), \
                Session(self._provider.reading_engine, autoflush=False) as session:
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reading]:
        """Read through the repositories, outside any transaction of ours."""
        with self.read() as session:
            yield Reading(session, self._provider.repositories)

    def event_processed(self, event_id: str, handler: str) -> bool:
        """Whether `handler` already recorded `event_id` (a look before slow work; the claim
        in the transaction is what decides)."""
        table = self._provider.processed
        with self.read() as session:
            return session.execute(select(table.c.event_id).where(
                table.c.event_id == event_id, table.c.handler == handler)).first() is not None

    # ---- @replayable's store (servicekit.idempotency) ----------------------------------------
    def stored_reply(self, call) -> idempotency.StoredReply | None:
        with self.read() as session:
            return idempotency.find_reply(session, self._provider.replies, call)

    def store_reply(self, call, reply):
        """Store the reply of a call that succeeded (unless its transaction kept this very
        reply) and prune old ones; the reply that stands: ours, or a twin's stored first."""
        table, text, now = self._provider.replies, idempotency.canonical_json(reply), utcnow()
        prune = self._provider.replies_prune_due(now)
        if call.kept == text and not prune:
            return reply  # stored by the call's own transaction: nothing to write
        try:
            with self.unit_of_work() as uow:
                if prune:
                    idempotency.prune(uow.session, table, now)
                if call.kept is None:
                    idempotency.insert_reply(uow.session, table, call, text, now)
                elif call.kept != text:
                    idempotency.replace_reply(uow.session, table, call, text)
        except IntegrityError:
            stored = self.stored_reply(call)
            return stored.reply if stored is not None else reply
        return reply
