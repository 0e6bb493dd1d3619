"""Consuming events: idempotent handlers, retries with backoff, dead letters and their replay,
poison messages (bodies that do not decode, on event and RPC queues alike), and two versions of
one event published and read side by side."""
from __future__ import annotations

import functools
import os
import pickle
from datetime import datetime, timezone

import pytest
from kombu import Connection, Queue
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from contracts.envelope import new_envelope
from contracts.events import Payload, register
from servicekit import deadletters
from servicekit.context import RequestContext
from servicekit.db import Database, make_engine
from servicekit.events import ATTEMPT_HEADER, idempotent, subscribe
from servicekit.outbox import OutboxRelay
from servicekit.poison import DEAD_LETTER_HEADER
from servicekit.tables import add_kit_tables
from tests.support.integration import Recorded, dependency, kit_database, publish_raw, recorded
from tools.waiting import wait_until

SOURCE = "kittest"
CONSUMER = "kit_events"
QUEUE = f"evt-{SOURCE}-pinged--{CONSUMER}.on_pinged"
RPC_QUEUE = f"rpc-{CONSUMER}"


class PingedV1(Payload):
    n: int


register(SOURCE, "pinged", 1, PingedV1)

metadata = MetaData()
_, processed = add_kit_tables(metadata)
effects = Table("effects", metadata, Column("id", Integer, primary_key=True),
                Column("event_id", String(36), nullable=False), Column("n", Integer))


class Behaviour:
    """What the handler does this test: fail the first `failures` attempts (-1: always)."""

    def __init__(self):
        self.failures = 0
        self.attempts: list[int] = []  # n of every attempt that reached the handler body
        self.finished: list[int] = []  # n of every delivery that ended without error

    def attempt(self, n: int) -> None:
        self.attempts.append(n)
        if self.failures == -1 or self.attempts.count(n) <= self.failures:
            raise RuntimeError(f"handler broken for n={n}")


class Behaving(DependencyProvider):
    """The Consumer's Behaviour, one per container: per test."""

    def setup(self) -> None:
        self.behaviour = Behaviour()

    def get_dependency(self, worker_ctx) -> Behaviour:
        return self.behaviour


def counted(handler):
    """Outermost wrapper: notes each delivery that completed, including no-op duplicates."""

    @functools.wraps(handler)
    def wrapper(self, event):
        result = handler(self, event)
        self.behaviour.finished.append(event.data.n)
        return result

    return wrapper


class Consumer:
    name = CONSUMER
    context = RequestContext()
    db = Database(metadata)
    behaviour = Behaving()

    @subscribe(SOURCE, "pinged")
    @counted
    @idempotent
    def on_pinged(self, uow, event):
        self.behaviour.attempt(event.data.n)
        uow.session.execute(insert(effects).values(event_id=event.id, n=event.data.n))

    @rpc
    def ping(self):
        return "pong"


def envelope(n: int) -> dict:
    return new_envelope(SOURCE, "pinged", 1, PingedV1(n=n)).model_dump(mode="json")


@pytest.fixture
def started(service_env, container_factory, monkeypatch, postgres):
    """The Consumer's container and an engine on its database."""
    url = kit_database(monkeypatch, postgres, CONSUMER, metadata)
    container = container_factory(Consumer)
    engine = make_engine(url)
    yield container, engine
    engine.dispose()


@pytest.fixture
def consumer(started):
    return started[1]


@pytest.fixture
def behaviour(started) -> Behaviour:
    return dependency(started[0], Behaving).behaviour


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def dead_letters(amqp_uri):
    return deadletters.list_dead_letters(amqp_uri, os.environ["JALON_DEAD_LETTER_QUEUE"])


def replay(amqp_uri):
    return deadletters.replay(amqp_uri, os.environ["JALON_DEAD_LETTER_QUEUE"])


def take_dead_letter(amqp_uri):
    """The first dead letter itself (raw body, properties), removed from the queue."""
    queue = Queue(os.environ["JALON_DEAD_LETTER_QUEUE"], durable=True)
    with Connection(amqp_uri) as connection:
        return queue(connection.default_channel).get(no_ack=True)


def publish_bytes(amqp_uri: str, queue: str, body: bytes, content_type: str,
                  content_encoding: str, message_id: str) -> None:
    """Bytes straight to a consumer's queue, as a broken or hostile publisher would send them."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(body, exchange="", routing_key=queue,
                                      content_type=content_type,
                                      content_encoding=content_encoding,
                                      message_id=message_id, delivery_mode=2)


def test_duplicate_delivery_has_one_effect(consumer, amqp_uri, behaviour):
    body = envelope(1)
    publish_raw(amqp_uri, SOURCE, "pinged", body)
    publish_raw(amqp_uri, SOURCE, "pinged", body)
    wait_until(lambda: len(behaviour.finished) >= 2, message="both deliveries")
    assert count(consumer, effects) == 1
    assert count(consumer, processed, processed.c.event_id == body["id"]) == 1
    assert count(consumer, processed) == 1
    assert dead_letters(amqp_uri) == []


def test_failing_twice_then_succeeding_is_retried(consumer, amqp_uri, behaviour):
    behaviour.failures = 2
    publish_raw(amqp_uri, SOURCE, "pinged", envelope(2))
    wait_until(lambda: behaviour.finished, message="success after two retries")
    assert behaviour.attempts == [2, 2, 2]
    assert count(consumer, effects) == 1
    assert dead_letters(amqp_uri) == []


def test_hopeless_handler_dead_letters_then_replay_after_fix(consumer, amqp_uri, behaviour):
    behaviour.failures = -1
    body = envelope(3)
    publish_raw(amqp_uri, SOURCE, "pinged", body, headers={"nameko.correlation_id": "corr-3"})
    [dead] = wait_until(lambda: dead_letters(amqp_uri), message="the dead letter")
    assert behaviour.attempts == [3, 3, 3]  # first try + the two retry delays
    assert dead["queue"] == QUEUE
    assert dead["attempts"] == 3
    assert "handler broken for n=3" in dead["error"]
    assert count(consumer, effects) == 0
    assert count(consumer, processed) == 0  # the failed transactions recorded nothing

    behaviour.failures = 0  # the fix is deployed
    assert len(replay(amqp_uri)["replayed"]) == 1
    wait_until(lambda: behaviour.finished, message="the replayed event")
    assert count(consumer, effects, effects.c.event_id == body["id"]) == 1
    assert dead_letters(amqp_uri) == []


def test_malformed_envelope_dead_letters_at_once_and_does_not_block(consumer, amqp_uri, behaviour):
    publish_raw(amqp_uri, SOURCE, "pinged", {"id": "x", "data": "not an envelope"})
    good = envelope(4)
    publish_raw(amqp_uri, SOURCE, "pinged", good)
    wait_until(lambda: behaviour.finished == [4], message="the good message")
    [dead] = wait_until(lambda: dead_letters(amqp_uri), message="the malformed one")
    assert dead["attempts"] == 1
    assert dead["queue"] == QUEUE
    assert "invalid envelope" in dead["error"]
    assert behaviour.attempts == [4]  # the handler never saw the malformed one


def test_unknown_schema_version_is_not_retried(consumer, amqp_uri, behaviour):
    body = {**envelope(5), "schemaversion": 9}
    publish_raw(amqp_uri, SOURCE, "pinged", body)
    [dead] = wait_until(lambda: dead_letters(amqp_uri), message="the dead letter")
    assert "unsupported event" in dead["error"] and dead["attempts"] == 1
    assert behaviour.attempts == []


def test_dead_letter_header_is_on_the_message(consumer, amqp_uri):
    publish_raw(amqp_uri, SOURCE, "pinged", {"nonsense": True})
    wait_until(lambda: dead_letters(amqp_uri), message="the dead letter")
    message = take_dead_letter(amqp_uri)
    header = message.headers[DEAD_LETTER_HEADER]
    assert header["queue"] == QUEUE and ATTEMPT_HEADER not in message.headers
    assert datetime.fromisoformat(header["failed_at"]) <= datetime.now(timezone.utc)


def test_retry_queue_deleted_under_a_running_service_loses_nothing(consumer, amqp_uri, behaviour):
    behaviour.failures = 1  # every event fails once, then succeeds on its retry
    publish_raw(amqp_uri, SOURCE, "pinged", envelope(6))
    wait_until(lambda: 6 in behaviour.finished, message="the warm-up retry")
    # kombu now remembers the retry queue as declared; an operator deletes it anyway.
    with Connection(amqp_uri) as connection:
        connection.default_channel.queue_delete(f"{QUEUE}--retry-1s")
    publish_raw(amqp_uri, SOURCE, "pinged", envelope(7))
    wait_until(lambda: 7 in behaviour.finished, message="the retried event")
    assert behaviour.attempts.count(7) == 2


UNDECODABLE = {
    "not_json": (b"{certified: yes", "application/json", "utf-8", "DecodeError"),
    "invalid_utf8": (b'{"n": "\xff\xfe"}', "application/json", "utf-8", "DecodeError"),
    "pickle_refused": (pickle.dumps({"n": 1}), "application/x-python-serialize", "binary",
                       "ContentDisallowed"),
    "unknown_type": (b"\x00\x01", "application/x-unknown", "binary", "ContentDisallowed"),
}


@pytest.mark.parametrize("kind", UNDECODABLE)
def test_undecodable_body_is_dead_lettered_as_it_came(consumer, amqp_uri, kind, behaviour):
    body, content_type, content_encoding, error = UNDECODABLE[kind]
    publish_bytes(amqp_uri, QUEUE, body, content_type, content_encoding, f"poison-{kind}")
    publish_raw(amqp_uri, SOURCE, "pinged", envelope(8))
    wait_until(lambda: behaviour.finished == [8], message="the good message after the poison")
    [dead] = wait_until(lambda: dead_letters(amqp_uri), message="the poison's dead letter")
    assert dead["message_id"] == f"poison-{kind}" and dead["queue"] == QUEUE
    assert dead["attempts"] == 1 and dead["undecodable"] is True
    assert dead["error"].startswith("undecodable body: ") and error in dead["error"]
    assert datetime.fromisoformat(dead["failed_at"]) <= datetime.now(timezone.utc)

    assert replay(amqp_uri) == {"replayed": [], "skipped": [{
        "message_id": f"poison-{kind}", "queue": QUEUE, "reason": "undecodable",
        "detail": deadletters.SKIPS["undecodable"]}]}
    message = take_dead_letter(amqp_uri)  # replay left it there, bytes and type intact
    assert (message.content_type, message.content_encoding) == (content_type, content_encoding)
    raw = message.body  # py-amqp hands over text when the declared encoding decodes it
    assert (raw if isinstance(raw, bytes) else raw.encode(content_encoding)) == body
    assert behaviour.attempts == [8]


def test_undecodable_rpc_request_is_dead_lettered_and_rpc_goes_on(consumer, amqp_uri, rpc):
    publish_bytes(amqp_uri, RPC_QUEUE, b"not json", "application/json", "utf-8", "poison-rpc")
    [dead] = wait_until(lambda: dead_letters(amqp_uri), message="the RPC poison's dead letter")
    assert dead["queue"] == RPC_QUEUE and dead["undecodable"] is True
    assert rpc.kit_events.ping() == "pong"


def test_replay_skips_a_message_without_our_header(consumer, amqp_uri):
    assert dead_letters(amqp_uri) == []  # declares the queue: a stray copy lands in it
    publish_bytes(amqp_uri, os.environ["JALON_DEAD_LETTER_QUEUE"], b"{}", "application/json", "utf-8", "stray")
    assert replay(amqp_uri)["skipped"] == [{
        "message_id": "stray", "queue": None, "reason": "no_dead_letter_header",
        "detail": deadletters.SKIPS["no_dead_letter_header"]}]
    assert [m["message_id"] for m in dead_letters(amqp_uri)] == ["stray"]


VERSIONED = "kit_versions"


class ChimedV1(Payload):
    n: int


class ChimedV2(Payload):
    n: int
    tone: str


register(VERSIONED, "chimed", 1, ChimedV1)
register(VERSIONED, "chimed", 2, ChimedV2)

versions_metadata = MetaData()
add_kit_tables(versions_metadata)


class Versions:
    """Publishes both versions of `chimed` through its outbox, as a publisher does while
    readers of version 1 remain, and reads each version with a handler of its own."""

    name = VERSIONED
    context = RequestContext()
    db = Database(versions_metadata)
    relay = OutboxRelay()
    read = Recorded()  # (version the handler reads, the payload it got)

    @rpc
    def chime(self, n: int) -> None:
        with self.db.unit_of_work() as uow:
            uow.publish("chimed", ChimedV1(n=n))
            uow.publish("chimed", ChimedV2(n=n, tone="low"))

    @subscribe(VERSIONED, "chimed")
    def on_chimed(self, event):
        self.read.append((1, event.data))

    @subscribe(VERSIONED, "chimed", version=2)
    def on_chimed_v2(self, event):
        self.read.append((2, event.data))


def test_two_versions_of_one_event_each_reach_only_their_reader(service_env, container_factory,
                                                                 monkeypatch, postgres, rpc,
                                                                 amqp_uri):
    kit_database(monkeypatch, postgres, VERSIONED, versions_metadata)
    read = recorded(container_factory(Versions), "read")
    rpc.kit_versions.chime(1)
    rpc.kit_versions.chime(2)
    # Queues are first in, first out: a copy of the other version published with n=1 would
    # reach a handler before its n=2 does.
    wait_until(lambda: len(read) >= 4, message="both versions, twice")
    assert sorted(read, key=repr) == [
        (1, ChimedV1(n=1)), (1, ChimedV1(n=2)),
        (2, ChimedV2(n=1, tone="low")), (2, ChimedV2(n=2, tone="low")),
    ]
    assert dead_letters(amqp_uri) == []
