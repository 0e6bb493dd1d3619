"""Correlation id: from the caller, over RPC, through the outbox to a consumer, and into logs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import MetaData

from contracts.events import Payload, register
from servicekit.context import RequestContext
from servicekit.db import Database
from servicekit.events import idempotent, subscribe
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.tables import add_kit_tables
from tests.support.integration import Recorded, dependency, kit_database
from tools.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


class NotedV1(Payload):
    note: str


register("kit_corr_b", "noted", 1, NotedV1)

b_metadata = MetaData()
add_kit_tables(b_metadata)
c_metadata = MetaData()
add_kit_tables(c_metadata)


class First:
    name = "kit_corr_a"
    context = RequestContext()
    second = RpcClient("kit_corr_b")
    seen = Recorded()  # (where, correlation id)

    @rpc
    def start(self):
        self.seen.append(("a", self.context))
        return self.second.note("hello")


class Second:
    name = "kit_corr_b"
    context = RequestContext()
    db = Database(b_metadata)
    relay = OutboxRelay()
    seen = Recorded()

    @rpc
    def note(self, text: str):
        self.seen.append(("b", self.context))
        with self.db.unit_of_work() as uow:
            return uow.publish("noted", NotedV1(note=text))


class Third:
    name = "kit_corr_c"
    context = RequestContext()
    db = Database(c_metadata)
    seen = Recorded()

    @subscribe("kit_corr_b", "noted")
    @idempotent
    def on_noted(self, uow, event):
        self.seen.extend([("c", self.context), ("envelope", event.envelope.correlationid)])


@pytest.fixture
def chain(service_env, container_factory, monkeypatch, postgres):
    """The three services started; what each saw so far: {where: correlation id}."""
    kit_database(monkeypatch, postgres, "kit_corr_b", b_metadata)
    kit_database(monkeypatch, postgres, "kit_corr_c", c_metadata)
    containers = [container_factory(cls) for cls in (Third, Second, First)]
    return lambda: dict(seen for container in containers
                        for seen in dependency(container, Recorded).calls)


def test_one_id_from_caller_to_event_consumer(chain, amqp_uri):
    config = {"AMQP_URI": amqp_uri, "serializer": "json"}
    with ClusterRpcProxy(config, context_data={"correlation_id": "corr-e2e-42"},
                         timeout=30) as proxy:
        proxy.kit_corr_a.start()
    seen = wait_until(lambda: "c" in (found := chain()) and found, message="the consumer")
    assert seen == {"a": "corr-e2e-42", "b": "corr-e2e-42", "c": "corr-e2e-42",
                    "envelope": "corr-e2e-42"}


def test_a_call_without_id_gets_a_fresh_one_that_still_travels(chain, rpc):
    rpc.kit_corr_a.start()
    seen = wait_until(lambda: "c" in (found := chain()) and found, message="the consumer")
    assert seen["a"] and len(seen["a"]) == 32
    assert seen["a"] == seen["b"] == seen["c"] == seen["envelope"]


WORKER_SCRIPT = textwrap.dedent('''
    import eventlet
    eventlet.monkey_patch()
    import os
    from nameko.containers import ServiceContainer
    from nameko.rpc import rpc
    from nameko.standalone.rpc import ClusterRpcProxy
    from servicekit import logging
    from servicekit.context import RequestContext

    logging.setup("kit_corr_log", "json", "INFO")
    log = logging.get_logger("kittest")

    class Logged:
        name = "kit_corr_log"
        context = RequestContext()

        @rpc
        def hello(self):
            log.info("hello_called", answer=42)

    config = {"AMQP_URI": os.environ["JALON_AMQP_URI"], "serializer": "json"}
    container = ServiceContainer(Logged, config)
    container.start()
    with ClusterRpcProxy(config, context_data={"correlation_id": "corr-log-7"}) as proxy:
        proxy.kit_corr_log.hello()
    container.stop()
''')


def test_worker_json_logs_carry_the_id(amqp_uri):
    env = {**os.environ, "JALON_AMQP_URI": amqp_uri, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", WORKER_SCRIPT], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    [hello] = [line for line in lines if line.get("event") == "hello_called"]
    assert hello["correlation_id"] == "corr-log-7"
    assert hello["entrypoint"] == "kit_corr_log.hello"
    assert hello["service"] == "kit_corr_log"
    assert hello["level"] == "info" and hello["answer"] == 42
