"""A lost connection does not kill a container (servicekit.resilience), the liveness ping beats
while the process is healthy, and a process that stops consuming, or whose container dies,
exits non-zero at once (subprocesses: os._exit would end pytest)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError
from kombu.message import Message
from nameko.rpc import Responder, rpc

from servicekit.liveness import Liveness
from servicekit.resilience import survive_broker_restarts
from tests.support.integration import Recorded, dependency
from tools.waiting import wait_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


class Certification:
    name = "kit_resilience_certification"
    calls = Recorded()  # the months asked, once per delivery of the request

    @rpc
    def certify(self, month):
        self.calls.append(month)
        return {"month": month, "status": "certified"}


class Watched(Liveness):
    name = "kit_resilience_watched"


def fail_once(monkeypatch, owner, attribute: str, error: Exception, when=lambda *_: True):
    original = getattr(owner, attribute)
    failed = []

    def once(*args, **kwargs):
        if not failed and when(*args):
            failed.append(error)
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, once)


def is_certify_request(message) -> bool:  # not the test client's own replies
    return message.delivery_info.get("routing_key") == f"{Certification.name}.certify"


@pytest.fixture
def certification(container_factory):
    survive_broker_restarts()
    return container_factory(Certification)


def test_an_ack_on_a_reset_connection_leaves_the_container_running(monkeypatch, certification,
                                                                    rpc):
    # What certification met when RabbitMQ restarted: ack_message raising ConnectionResetError.
    fail_once(monkeypatch, Message, "ack", ConnectionResetError(104, "Connection reset by peer"),
              when=is_certify_request)
    assert rpc.kit_resilience_certification.certify("2026-02")["status"] == "certified"
    assert rpc.kit_resilience_certification.certify("2026-03")["status"] == "certified"
    assert not certification._died.ready()


def test_a_reply_that_cannot_be_sent_is_redelivered_not_fatal(monkeypatch, certification, rpc):
    # The broker gone while the worker ran: the reply's publish fails (kombu gives up).
    fail_once(monkeypatch, Responder, "send_response",
              OperationalError("[Errno 111] Connection refused"))
    assert rpc.kit_resilience_certification.certify("2026-02")["month"] == "2026-02"
    # The request came back; answered the second time.
    assert dependency(certification, Recorded).calls == ["2026-02", "2026-02"]
    assert not certification._died.ready()


def test_the_liveness_ping_touches_the_heartbeat_while_healthy(monkeypatch, tmp_path,
                                                              container_factory):
    heartbeat = tmp_path / f"{Watched.name}.alive"
    monkeypatch.setenv("JALON_LIVENESS_FILE", str(tmp_path / "{name}.alive"))
    monkeypatch.setenv("JALON_LIVENESS_INTERVAL", "0.2")
    container_factory(Watched)
    assert wait_until(heartbeat.exists, timeout=10, interval=0.05)
    first = heartbeat.stat().st_mtime_ns
    assert wait_until(lambda: heartbeat.stat().st_mtime_ns > first, timeout=10, interval=0.05)


PROCESS = """
import eventlet
eventlet.monkey_patch()
import sys
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from servicekit import config, logging
from servicekit.run import serve

class Doomed(DependencyProvider):
    def start(self):
        self.container.spawn_managed_thread(self.fail)

    def fail(self):
        eventlet.sleep(1)
        raise RuntimeError("extension bug")

class Stuck:
    name = sys.argv[1]

    @rpc
    def hang(self):
        eventlet.event.Event().wait()

class Crashing(Stuck):
    doomed = Doomed()

settings = config.load()
logging.setup(sys.argv[1], "json", "INFO")
serve(Crashing if sys.argv[2] == "crash" else Stuck, settings)
"""


def start_process(tmp_path, amqp_uri: str, name: str, mode: str) -> subprocess.Popen:
    env = {**os.environ, "JALON_AMQP_URI": amqp_uri, "JALON_MAX_WORKERS": "1",
           "JALON_LIVENESS_INTERVAL": "0.3", "JALON_LIVENESS_DEADLINE": "3",
           "JALON_LIVENESS_FILE": str(tmp_path / "{name}.alive"), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", PROCESS, name, mode], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def exited_within(process: subprocess.Popen, seconds: float) -> tuple[int, str]:
    started = time.monotonic()
    assert wait_until(lambda: process.poll() is not None, timeout=seconds, interval=0.1), \
        "still running"
    assert time.monotonic() - started <= seconds
    return process.returncode, process.stdout.read()


@pytest.fixture
def process_name(amqp_uri):
    name = f"kit_liveness_{uuid.uuid4().hex[:8]}"
    yield name
    from kombu import Connection
    with Connection(amqp_uri) as connection:
        connection.channel().queue_delete(f"rpc-{name}")


def test_a_process_whose_workers_are_all_stuck_exits_within_the_deadline(tmp_path, amqp_uri,
                                                                         rpc, process_name):
    process = start_process(tmp_path, amqp_uri, process_name, "stuck")
    try:
        heartbeat = tmp_path / f"{process_name}.alive"
        assert wait_until(heartbeat.exists, timeout=60, interval=0.1)  # healthy first
        getattr(rpc, process_name).hang.call_async()  # takes the only worker, forever
        code, output = exited_within(process, seconds=20)
    finally:
        process.kill()
    assert code == 1
    assert '"event": "liveness_lost"' in output


def test_a_container_whose_thread_dies_ends_its_process_with_one_line(tmp_path, amqp_uri,
                                                                      process_name):
    process = start_process(tmp_path, amqp_uri, process_name, "crash")
    try:
        code, output = exited_within(process, seconds=60)
    finally:
        process.kill()
    assert code == 1
    assert output.count('"event": "service_exiting"') == 1
    assert "RuntimeError" in output
