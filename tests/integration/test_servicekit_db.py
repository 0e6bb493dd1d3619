"""Database dependency on PostgreSQL under eventlet: a slow query does not block the process."""
from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.exc import OperationalError

from servicekit import db, idempotency
from servicekit.context import RequestContext
from servicekit.db import Database, make_engine
from servicekit.tables import add_kit_tables
from tests.support.integration import kit_database

metadata = MetaData()
add_kit_tables(metadata)
notes = Table("notes", metadata, Column("id", Integer, primary_key=True),
              Column("text", String(50), nullable=False))


class SleepyService:
    name = "kit_db_a"
    context = RequestContext()
    db = Database(metadata)

    @rpc
    def nap(self):
        with self.db.unit_of_work() as uow:
            uow.session.execute(text("SELECT pg_sleep(1)"))
        return "rested"

    @rpc
    def write(self, value: str, fail: bool = False):
        with self.db.unit_of_work() as uow:
            uow.session.execute(insert(notes).values(text=value))
            if fail:
                raise RuntimeError("boom")

    @rpc
    def count(self):
        with self.db.read() as session:
            return session.execute(select(func.count()).select_from(notes)).scalar()


def _call_nap(amqp_uri: str) -> str:
    # One standalone proxy per green thread: the standalone proxy is not thread safe.
    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30) as proxy:
        return proxy.kit_db_a.nap()


def _concurrent_naps(amqp_uri: str, calls: int) -> float:
    started = time.monotonic()
    pool = eventlet.GreenPool(calls)
    results = list(pool.imap(_call_nap, [amqp_uri] * calls))
    assert results == ["rested"] * calls
    return time.monotonic() - started


def test_slow_queries_run_concurrently(service_env, container_factory, monkeypatch, postgres,
                                       amqp_uri):
    kit_database(monkeypatch, postgres, "kit_db_a", metadata)
    container_factory(SleepyService)
    elapsed = _concurrent_naps(amqp_uri, 10)
    # Ten serial pg_sleep(1) take >= 10 s; green ones overlap. Wide margin: not a benchmark.
    assert elapsed < 5, f"ten 1 s queries took {elapsed:.1f} s: the driver blocks the hub"


def test_without_psycogreen_the_queries_block(service_env, container_factory, monkeypatch,
                                              postgres, amqp_uri):
    """The control experiment: the same calls serialise once the wait callback is removed."""
    import psycopg2.extensions
    kit_database(monkeypatch, postgres, "kit_db_a", metadata)
    container_factory(SleepyService)
    _call_nap(amqp_uri)  # warm the pool's first connection while still green
    green_callback = psycopg2.extensions.get_wait_callback()
    assert green_callback is not None, "servicekit.db did not install psycogreen"
    psycopg2.extensions.set_wait_callback(None)
    try:
        elapsed = _concurrent_naps(amqp_uri, 3)
    finally:
        psycopg2.extensions.set_wait_callback(green_callback)
    assert elapsed >= 3


def test_unit_of_work_commits_or_rolls_back(service_env, container_factory, monkeypatch,
                                            postgres, rpc):
    kit_database(monkeypatch, postgres, "kit_db_a", metadata)
    container_factory(SleepyService)
    rpc.kit_db_a.write("kept")
    try:
        rpc.kit_db_a.write("dropped", fail=True)
    except Exception as exc:  # nameko RemoteError for a non-Jalon error
        assert "boom" in str(exc)
    else:
        raise AssertionError("the failing call did not fail")
    assert rpc.kit_db_a.count() == 1


class SqliteWriter:
    name = "kit_db_lite"
    context = RequestContext()
    db = Database(metadata)

    @rpc
    def slow_write(self, value: str):
        # Holds its write transaction across a green pause, like a handler rendering a PDF.
        with self.db.unit_of_work() as uow:
            uow.session.execute(insert(notes).values(text=value))
            eventlet.sleep(0.5)

    @rpc
    def count(self):
        with self.db.read() as session:
            return session.execute(select(func.count()).select_from(notes)).scalar()


def _slow_write(amqp_uri: str, value: str) -> None:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=60) as proxy:
        proxy.kit_db_lite.slow_write(value)


def test_sqlite_writers_take_turns_without_freezing(service_env, container_factory, monkeypatch,
                                                    tmp_path, amqp_uri, rpc):
    """Embedded mode: concurrent writers wait for each other green, not in SQLite's C busy
    loop (which froze the process, lock holder included, until 'database is locked')."""
    from servicekit.db import make_engine
    url = f"sqlite:///{tmp_path}/lite.db"
    monkeypatch.setenv("JALON_DB_URL_KIT_DB_LITE", url)
    metadata.create_all(make_engine(url))
    container_factory(SqliteWriter)
    pool = eventlet.GreenPool(4)
    list(pool.imap(_slow_write, [amqp_uri] * 4, ["a", "b", "c", "d"]))
    assert rpc.kit_db_lite.count() == 4


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def _terminate(url: str, pid: int) -> None:
    admin = make_engine(url)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    time.sleep(0.2)  # the server closes the socket


def test_a_pooled_connection_is_pinged_only_after_idling(monkeypatch, postgres):
    """No round trip per checkout; one that idled is checked and, dead, replaced unseen. One
    that dies in steady use fails once as unavailable, then the pool has replaced it."""
    monkeypatch.setattr(db, "IDLE_BEFORE_PING_SECONDS", 0.5)
    url = postgres.create("kit_db_ping")
    engine = make_engine(url)
    try:
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first

        _terminate(url, first)
        time.sleep(0.5)  # idle long enough: pinged at checkout, found dead, replaced
        assert _backend_pid(engine) != first

        second = _backend_pid(engine)
        _terminate(url, second)  # checked out again at once: not pinged
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) not in (first, second)
    finally:
        engine.dispose()


def test_a_read_on_postgresql_is_its_statements_alone(postgres):
    """No BEGIN / ROLLBACK around a read: its connection is in autocommit while it reads, and
    back to transactions for the next writer from the same pool."""
    engine = make_engine(postgres.create("kit_db_reads"))
    access = db.DatabaseAccess(SimpleNamespace(reading_engine=db.reading_engine(engine)), None)
    try:
        with access.read() as session:
            assert session.execute(text("SELECT 1")).scalar() == 1
            assert session.connection().connection.dbapi_connection.autocommit is True
            assert session.autoflush is False
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.autocommit is False
    finally:
        engine.dispose()


def test_stored_replies_are_pruned_once_in_a_while_not_by_every_call(postgres):
    """A call whose own transaction stored its reply writes nothing more; replies past the
    retention go at the first store of the process, then once per PRUNE_EVERY."""
    kit = MetaData()
    add_kit_tables(kit)
    replies = idempotency.add_idempotency_table(kit)
    engine = make_engine(postgres.create("kit_db_prune"))
    kit.create_all(engine)
    provider = Database(kit)
    provider.engine, provider.reading_engine = engine, db.reading_engine(engine)
    provider.container = SimpleNamespace(service_name="kit_db_prune")
    access = db.DatabaseAccess(provider, None)
    expired = db.utcnow() - idempotency.RETENTION - timedelta(minutes=1)

    def stored_keys() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(select(replies.c.key)).scalars())

    def expired_reply(key: str) -> None:
        with engine.begin() as conn:
            conn.execute(insert(replies).values(scope="s", key=key, fingerprint="f",
                                                reply="{}", created_at=expired))

    def call(key: str, kept: str | None = None):
        return idempotency.IdempotentCall("s", key, "f", kept)

    try:
        expired_reply("old-1")
        assert access.store_reply(call("k1"), {"n": 1}) == {"n": 1}
        assert stored_keys() == {"k1"}
        expired_reply("old-2")
        access.store_reply(call("k2"), {"n": 2})
        kept = call("k3", kept=idempotency.canonical_json({"n": 3}))
        assert access.store_reply(kept, {"n": 3}) == {"n": 3}
        assert stored_keys() == {"old-2", "k1", "k2"}  # no prune, nothing written for k3
        provider._replies_pruned_at -= idempotency.PRUNE_EVERY
        access.store_reply(call("k4"), {"n": 4})
        assert stored_keys() == {"k1", "k2", "k4"}
    finally:
        engine.dispose()
