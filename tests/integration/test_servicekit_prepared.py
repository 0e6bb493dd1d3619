"""Slow work before an event's transaction (`@idempotent(prepare=…)`, documents' PDF render) and
a subscription's own prefetch (`@subscribe(…, prefetch=n)`), on real RabbitMQ and PostgreSQL."""
from __future__ import annotations

import eventlet
import pytest
from kombu import Connection
from nameko.extensions import DependencyProvider
from sqlalchemy import Column, MetaData, String, Table, func, insert, select

from contracts.envelope import new_envelope
from contracts.events import Payload, register
from servicekit.context import RequestContext
from servicekit.db import Database, make_engine
from servicekit.events import idempotent, subscribe
from servicekit.tables import add_kit_tables
from tests.support.integration import dependency, kit_database, publish_raw
from tools.waiting import wait_until

SOURCE = "kitprep"
CONSUMER = "kit_prepared"


class RangV1(Payload):
    n: int


register(SOURCE, "rang", 1, RangV1)
register(SOURCE, "knocked", 1, RangV1)

metadata = MetaData()
_, processed = add_kit_tables(metadata)
filed = Table("filed", metadata, Column("event_id", String(36), primary_key=True),
              Column("prepared", String(50), nullable=False))


class Gate:
    """Holds every `prepare` (and every knock) until the test opens it; notes who came."""

    def __init__(self):
        self.open = eventlet.Event()
        self.prepared: list[int] = []
        self.knocked: list[int] = []

    def prepare(self, n: int) -> str:
        self.prepared.append(n)
        self.open.wait()
        return f"rendered-{n}"

    def knock(self, n: int) -> None:
        self.knocked.append(n)
        self.open.wait()


class Gating(DependencyProvider):
    def setup(self) -> None:
        self.gate = Gate()

    def get_dependency(self, worker_ctx) -> Gate:
        return self.gate


class Preparing:
    name = CONSUMER
    context = RequestContext()
    db = Database(metadata)
    gate = Gating()

    def render(self, event):
        return self.gate.prepare(event.data.n)

    @subscribe(SOURCE, "rang", prefetch=1)
    @idempotent(prepare=render)
    def on_rang(self, uow, event, rendered):
        uow.session.execute(insert(filed).values(event_id=event.id, prepared=rendered))

    @subscribe(SOURCE, "knocked")  # the container's default prefetch, on the same channel
    def on_knocked(self, event):
        self.gate.knock(event.data.n)


def envelope(name: str, n: int) -> dict:
    return new_envelope(SOURCE, name, 1, RangV1(n=n)).model_dump(mode="json")


def ready(amqp_uri: str, handler: str) -> int:
    """Messages waiting in the handler's queue, not yet delivered to any consumer."""
    with Connection(amqp_uri) as connection:
        queue = f"evt-{SOURCE}-{handler[3:]}--{CONSUMER}.{handler}"
        return connection.default_channel.queue_declare(queue, passive=True).message_count


@pytest.fixture
def started(service_env, container_factory, monkeypatch, postgres):
    url = kit_database(monkeypatch, postgres, CONSUMER, metadata)
    container = container_factory(Preparing)
    engine = make_engine(url)
    gate = dependency(container, Gating).gate
    yield gate, engine
    if not gate.open.ready():  # a failed test must not leave workers waiting at the stop
        gate.open.send()
    engine.dispose()


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(filed.c.prepared))]


def count_processed(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(processed)).scalar()


def test_a_subscription_takes_only_its_prefetch_and_its_neighbour_the_default(started, amqp_uri):
    gate, engine = started
    for n in range(4):
        publish_raw(amqp_uri, SOURCE, "rang", envelope("rang", n))
        publish_raw(amqp_uri, SOURCE, "knocked", envelope("knocked", n))
    wait_until(lambda: gate.prepared and len(gate.knocked) == 4, message="both handlers busy")
    eventlet.sleep(0.5)  # a broker that ignored the prefetch would have delivered by now
    assert len(gate.prepared) == 1 and ready(amqp_uri, "on_rang") == 3
    assert ready(amqp_uri, "on_knocked") == 0
    gate.open.send()
    wait_until(lambda: len(rows(engine)) == 4, message="every event filed")
    assert sorted(rows(engine)) == [(f"rendered-{n}",) for n in range(4)]


def test_a_prepared_event_is_prepared_once_and_filed_once(started, amqp_uri):
    gate, engine = started
    gate.open.send()
    body = envelope("rang", 7)
    publish_raw(amqp_uri, SOURCE, "rang", body)
    wait_until(lambda: rows(engine), message="the first delivery filed")
    publish_raw(amqp_uri, SOURCE, "rang", body)  # a redelivery: nothing prepared, nothing filed
    publish_raw(amqp_uri, SOURCE, "rang", envelope("rang", 8))
    wait_until(lambda: len(rows(engine)) == 2, message="the next event filed")
    assert gate.prepared == [7, 8]
    assert rows(engine) == [("rendered-7",), ("rendered-8",)] and count_processed(engine) == 2
