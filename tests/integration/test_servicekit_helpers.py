"""Helpers shared by the servicekit integration tests (no tests here).

Kept in a test_servicekit_* module so the kit's tests stay within their own files; the test
modules import it as `tests.integration.test_servicekit_helpers`.
"""
from __future__ import annotations

import json

import eventlet
from kombu import Connection, Exchange, Queue
from nameko.standalone.events import get_event_exchange
from sqlalchemy import MetaData

from servicekit.db import make_engine


def kit_database(monkeypatch, postgres, service: str, metadata: MetaData) -> str:
    """A fresh PostgreSQL database for a throw-away service, with its tables created."""
    url = postgres.create(service)
    monkeypatch.setenv(f"JALON_DB_URL_{service.upper()}", url)
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return url


def wait_until(predicate, timeout: float = 15, message: str = "condition"):
    """Poll (cooperatively) until predicate() is truthy; fail the test after `timeout`."""
    with eventlet.Timeout(timeout, AssertionError(f"timed out waiting for {message}")):
        while not (result := predicate()):
            eventlet.sleep(0.05)
    return result


def publish_raw(amqp_uri: str, source: str, routing_key: str, body: dict,
                headers: dict | None = None) -> None:
    """Publish JSON to a service's event exchange as Nameko would (for crafted messages)."""
    exchange = get_event_exchange(source, {})
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(serializer="json")
        producer.publish(body, exchange=exchange, routing_key=routing_key, declare=[exchange],
                         headers=headers or {}, delivery_mode=2)


class Tap:
    """A private queue bound to a service's event exchange: sees every event it publishes."""

    def __init__(self, amqp_uri: str, source: str, routing_key: str):
        self.connection = Connection(amqp_uri)
        exchange: Exchange = get_event_exchange(source, {})
        self.queue = Queue(f"tap-{source}-{routing_key}", exchange=exchange,
                           routing_key=routing_key, auto_delete=False, durable=False,
                           exclusive=True)(self.connection.default_channel)
        self.queue.declare()

    def drain(self) -> list[dict]:
        bodies = []
        while (message := self.queue.get(no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
        return bodies

    def close(self) -> None:
        self.connection.close()


def dependency(container, kind):
    """The container's one dependency provider of class `kind`."""
    return next(dep for dep in container.dependencies if isinstance(dep, kind))
