"""Outbox + relay: events leave only after commit, exactly once, and survive a broker failure."""
from __future__ import annotations

import eventlet
import pytest
from nameko.rpc import rpc
from sqlalchemy import MetaData, select

from contracts.events import Payload, register
from servicekit.context import RequestContext
from servicekit.db import Database, make_engine
from servicekit.outbox import OutboxRelay
from servicekit.tables import add_kit_tables
from tests.support.integration import Tap, dependency, kit_database
from tools.waiting import wait_until

SERVICE = "kit_outbox"


class PingedV1(Payload):
    n: int


register(SERVICE, "pinged", 1, PingedV1)

metadata = MetaData()
outbox, _ = add_kit_tables(metadata)


class Pinger:
    name = SERVICE
    context = RequestContext()
    db = Database(metadata)
    relay = OutboxRelay()

    @rpc
    def ping(self, n: int, fail_after_publish: bool = False):
        with self.db.unit_of_work() as uow:
            event_id = uow.publish("pinged", PingedV1(n=n), subject=f"n/{n}")
            if fail_after_publish:
                raise RuntimeError("changed my mind")
        return event_id


@pytest.fixture
def pinger(service_env, container_factory, monkeypatch, postgres, amqp_uri):
    url = kit_database(monkeypatch, postgres, SERVICE, metadata)
    tap = Tap(amqp_uri, SERVICE, "pinged")
    container = container_factory(Pinger)
    engine = make_engine(url)
    yield container, tap, engine
    tap.close()
    engine.dispose()


def passes(relay: OutboxRelay, monkeypatch) -> list[int]:
    """The relay's passes from now on (what each published): grows with every poll."""
    done: list[int] = []
    work_once = relay.work_once

    def counted() -> int:
        done.append(work_once())
        return done[-1]

    monkeypatch.setattr(relay, "work_once", counted)
    return done


def outbox_rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(outbox.c.event_id, outbox.c.published_at)).all()


def test_rolled_back_unit_of_work_publishes_nothing(pinger, rpc):
    _, tap, engine = pinger
    with pytest.raises(Exception, match="changed my mind"):
        rpc.kit_outbox.ping(1, fail_after_publish=True)
    assert outbox_rows(engine) == []
    # A committed event after it is the only one that ever reaches the exchange.
    kept = rpc.kit_outbox.ping(2)
    received = wait_until(tap.drain, message="the committed event")
    assert [body["id"] for body in received] == [kept]
    assert received[0]["data"] == {"n": 2}


def test_committed_event_is_published_once_and_marked(pinger, rpc, monkeypatch):
    container, tap, engine = pinger
    event_id = rpc.kit_outbox.ping(3)
    wait_until(lambda: all(row.published_at for row in outbox_rows(engine)),
               message="published_at")
    relay = dependency(container, OutboxRelay)
    assert relay.publish_pending() == 0  # nothing left: a later pass does not re-send
    later = passes(relay, monkeypatch)
    wait_until(lambda: len(later) >= 3, message="three more polls of the relay")
    assert later[:3] == [0, 0, 0]  # none sent it again
    received = tap.drain()
    assert [body["id"] for body in received] == [event_id]
    assert received[0]["type"] == "fr.jalon.kit_outbox.pinged"
    assert received[0]["subject"] == "n/3"
    [row] = outbox_rows(engine)
    assert row.event_id == event_id and row.published_at is not None


def test_uses_publisher_confirms(pinger):
    container, _, _ = pinger
    assert dependency(container, OutboxRelay).publisher.use_confirms is True


def test_broker_failure_keeps_row_pending_until_it_can_publish(pinger, rpc, monkeypatch):
    container, tap, engine = pinger
    relay = dependency(container, OutboxRelay)
    real_publish = relay.publisher.publish
    broker_back = eventlet.event.Event()
    attempts = []

    def flaky_publish(*args, **kwargs):
        attempts.append(kwargs.get("message_id"))
        if not broker_back.ready():
            raise ConnectionError("broker down")
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(relay.publisher, "publish", flaky_publish)
    event_id = rpc.kit_outbox.ping(4)  # the business call succeeds: the event waits its turn
    wait_until(lambda: attempts, message="a publish attempt")
    assert [row.published_at for row in outbox_rows(engine)] == [None]
    assert tap.drain() == []
    broker_back.send(True)
    received = wait_until(tap.drain, message="the event once the broker is back")
    assert [body["id"] for body in received] == [event_id]
    wait_until(lambda: outbox_rows(engine)[0].published_at, message="published_at")


def test_two_replicas_share_the_outbox_without_duplicates(pinger, rpc, container_factory,
                                                          monkeypatch):
    first, tap, engine = pinger
    second = container_factory(Pinger)  # a second replica, its own relay on the same database
    sent = [rpc.kit_outbox.ping(n) for n in range(20)]
    received: list[dict] = []
    wait_until(lambda: received.extend(tap.drain()) or len(received) >= len(sent),
               message="every event")
    wait_until(lambda: all(row.published_at for row in outbox_rows(engine)),
               message="every row marked")
    later = [passes(dependency(replica, OutboxRelay), monkeypatch) for replica in (first, second)]
    wait_until(lambda: all(len(done) >= 3 for done in later),
               message="three more polls of both relays")
    assert [done[:3] for done in later] == [[0, 0, 0], [0, 0, 0]]  # neither re-sent
    received.extend(tap.drain())
    assert sorted(body["id"] for body in received) == sorted(sent)
