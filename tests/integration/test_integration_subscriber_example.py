"""docs/integration/subscriber.py, run as a funder would run it, on the real broker with the
user tools.integration grants: each event handled once, whatever the broker sends again (a
duplicate, a redelivery after a nack), and consuming again after its connection is closed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pika
import pytest

from contracts.export import broker_address
from tests.support.public_events import funder_access, hours_validated, publish
from tools.integration import broker_user, live_queue
from tools.waiting import wait_until

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "integration" / "subscriber.py"


class RunningExample:
    def __init__(self, url: str, funder_id: str, tmp_path: Path):
        self.output = tmp_path / "handled.jsonl"
        self.errors = tmp_path / "subscriber.log"
        with self.output.open("w") as out, self.errors.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(EXAMPLE), "--url", url, "--funder-id", funder_id,
                 "--store", str(tmp_path / "handled.sqlite3"), "--reconnect-delay", "0.5"],
                stdout=out, stderr=err)

    def handled(self) -> list[str]:
        return [json.loads(line)["id"] for line in self.output.read_text().splitlines()]

    def log(self) -> str:
        return self.errors.read_text()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def requeue_once(user_url: str, queue: str) -> None:
    """Take the first message without acking it and give it back: it comes again, marked
    redelivered."""
    connection = pika.BlockingConnection(pika.URLParameters(user_url))
    try:
        channel = connection.channel()
        method = wait_until(lambda: channel.basic_get(queue)[0], message="a message")
        channel.basic_nack(method.delivery_tag, requeue=True)
    finally:
        connection.close()


def queue_is_empty(amqp_uri: str, queue: str) -> bool:
    """Nothing ready and nothing unacked: every message was acked."""
    vhost = broker_address(amqp_uri)[2]
    listed = subprocess.run(["rabbitmqctl", "list_queues", "-p", vhost, "--quiet",
                             "--formatter", "json", "name", "messages"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    return {q["name"]: q["messages"] for q in json.loads(listed)}[queue] == 0


def close_connections_of(user: str) -> None:
    subprocess.run(["rabbitmqctl", "close_all_user_connections", user, "test: connection lost"],
                   capture_output=True, timeout=60, check=True)


def test_each_event_is_handled_once(amqp_uri, tmp_path):
    with funder_access(amqp_uri, "fs") as (funder_id, user_url):
        first, second, third = (hours_validated(funder_id, m)
                                for m in ("2026-08", "2026-09", "2026-10"))
        publish(amqp_uri, [first, second, first])  # the third message: a duplicate
        requeue_once(user_url, live_queue(funder_id))
        example = RunningExample(user_url, funder_id, tmp_path)
        try:
            wait_until(lambda: queue_is_empty(amqp_uri, live_queue(funder_id)), timeout=20,
                       message="the three messages acked")
            assert "(redelivered)" in example.log()
            close_connections_of(broker_user(funder_id))
            publish(amqp_uri, [third, second])  # after the connection is back: a duplicate
            wait_until(lambda: len(example.handled()) >= 3, timeout=20,
                       message="the third event handled after reconnecting")
            wait_until(lambda: queue_is_empty(amqp_uri, live_queue(funder_id)), timeout=20,
                       message="the duplicate acked")
        finally:
            example.stop()
        assert example.handled() == [first[1].id, second[1].id, third[1].id], example.log()
        assert example.log().count("duplicate skipped") == 2
        assert "connection lost" in example.log()
