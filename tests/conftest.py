"""Fixtures shared by every test: a private RabbitMQ vhost, fresh PostgreSQL databases, and
in-process Nameko containers running real services against them.

Environment: JALON_TEST_AMQP_URI (default the local broker), JALON_TEST_PG_URL (an admin URL
to the local PostgreSQL, default postgresql://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # as `nameko run` does, before anything opens a socket

import os
import uuid

import pytest

from tools.sandbox import PostgresDatabases, private_vhost

BROKER = os.environ.get("JALON_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
PG_ADMIN = os.environ.get("JALON_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def amqp_uri():
    with private_vhost(BROKER, "test") as uri:
        yield uri


@pytest.fixture(scope="session")
def postgres():
    databases = PostgresDatabases(PG_ADMIN, "jt")
    yield databases
    databases.drop_all()


@pytest.fixture
def service_env(monkeypatch, tmp_path, amqp_uri, postgres):
    """Point servicekit.config at the test broker, fresh PostgreSQL databases and tmp folders.

    Returns a function that migrates a service's database and returns its URL.
    """
    from servicekit import migrate

    monkeypatch.setenv("JALON_AMQP_URI", amqp_uri)
    monkeypatch.setenv("JALON_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("JALON_RETRY_DELAYS", "1,1")
    monkeypatch.setenv("JALON_RELAY_POLL_SECONDS", "0.2")
    monkeypatch.setenv("JALON_DEAD_LETTER_QUEUE", f"jalon.dead-letters.{uuid.uuid4().hex[:6]}")

    def database_for(service: str) -> str:
        url = postgres.create(service)
        monkeypatch.setenv(f"JALON_DB_URL_{service.upper()}", url)
        migrate.upgrade(service, url)
        return url

    return database_for


@pytest.fixture
def container_factory(amqp_uri):
    """Start real Nameko containers in this process; all are stopped at the end."""
    from nameko.containers import ServiceContainer

    from servicekit import config
    from servicekit.base import patch_nameko

    patch_nameko()  # test-only services too, not just ServiceBase's
    containers = []

    def make(service_cls, **extra_config):
        conf = {**config.load().nameko_config(), "AMQP_URI": amqp_uri, **extra_config}
        container = ServiceContainer(service_cls, conf)
        containers.append(container)
        container.start()
        return container

    yield make
    # Last started, first stopped: a service still working stops before the ones it calls.
    for container in reversed(containers):
        container.kill() if container._died.ready() else container.stop()
    _delete_queues(amqp_uri, containers)


def _delete_queues(amqp_uri: str, containers) -> None:
    """Event and RPC queues are durable: left behind, one test's queue would collect the
    events of the next tests and hand them, stale, to a later test's service of that name."""
    from kombu import Connection

    queues = {}
    for container in containers:
        for extension in container.extensions:
            for queue in [getattr(extension, "queue", None),
                          *getattr(extension, "retry_queues", [])]:
                if queue is not None and getattr(queue, "name", None):
                    queues[queue.name] = queue
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for name in queues:
            channel.queue_delete(name)


@pytest.fixture
def rpc(amqp_uri):
    """A standalone RPC client (one green thread only: the standalone proxy is not safe)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30) as proxy:
        yield proxy
