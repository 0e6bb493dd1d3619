"""Per-funder access on the real broker (tools.integration grant): funder B's user reads its
own queue and nothing of funder A's — no consuming A's queues, no binding to A's keys or `#`,
no queue of its own making, no publishing."""
from __future__ import annotations

import json

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker

from contracts.integration import replay_queue
from contracts.public import INTEGRATION_EXCHANGE
from tests.support.public_events import funder_access, hours_validated, publish
from tools.integration import live_queue
from tools.waiting import wait_until

pytestmark = pytest.mark.integration
ACCESS_REFUSED = 403


@pytest.fixture(scope="module")
def funders(amqp_uri):
    with funder_access(amqp_uri, "fa") as a, funder_access(amqp_uri, "fb") as b:
        yield a, b


@pytest.fixture
def as_b(funders):
    connection = pika.BlockingConnection(pika.URLParameters(funders[1][1]))
    yield connection
    if connection.is_open:
        connection.close()


def refusal(connection, action) -> int:
    """The reply code of the broker closing a channel on `action`."""
    channel = connection.channel()
    with pytest.raises(ChannelClosedByBroker) as closed:
        action(channel)
    return closed.value.reply_code


def test_b_cannot_consume_a_queues(funders, as_b):
    (a, _), _ = funders
    for queue in (live_queue(a), replay_queue(a)):
        assert refusal(as_b, lambda ch: ch.basic_get(queue, auto_ack=False)) == ACCESS_REFUSED
        assert refusal(as_b, lambda ch: ch.basic_consume(queue, lambda *_: None)) == \
            ACCESS_REFUSED


@pytest.mark.parametrize("pattern", ["{a}.#", "#", "*.certification.#", "{a}.certification.*.v1"])
def test_b_cannot_bind_its_queue_to_a_events(funders, as_b, pattern):
    (a, _), (b, _) = funders
    key = pattern.format(a=a)
    assert refusal(as_b, lambda ch: ch.queue_bind(live_queue(b), INTEGRATION_EXCHANGE,
                                                  key)) == ACCESS_REFUSED


def test_b_may_narrow_its_own_binding(funders, as_b):
    _, (b, _) = funders
    channel = as_b.channel()
    channel.queue_bind(live_queue(b), INTEGRATION_EXCHANGE, f"{b}.payments.#")
    channel.queue_unbind(live_queue(b), INTEGRATION_EXCHANGE, f"{b}.payments.#")


def test_b_declares_nothing_and_publishes_nothing(funders, as_b):
    (a, _), (b, _) = funders
    assert refusal(as_b, lambda ch: ch.queue_declare("b-own-queue")) == ACCESS_REFUSED
    assert refusal(as_b, lambda ch: ch.queue_delete(live_queue(b))) == ACCESS_REFUSED
    assert refusal(as_b, lambda ch: ch.queue_purge(live_queue(a))) == ACCESS_REFUSED

    def publish_as_b(channel):
        channel.confirm_delivery()
        channel.basic_publish(INTEGRATION_EXCHANGE, f"{b}.certification.x.v1", b"{}")
    assert refusal(as_b, publish_as_b) == ACCESS_REFUSED


def test_b_reads_its_own_funders_events_only(amqp_uri, funders, as_b):
    (a, _), (b, _) = funders
    events = [hours_validated(a), hours_validated(b, "2026-09"), hours_validated(a),
              hours_validated(b, "2026-10")]
    publish(amqp_uri, events)
    channel = as_b.channel()
    received = []

    def drained():
        while (message := channel.basic_get(live_queue(b), auto_ack=True))[0] is not None:
            received.append(json.loads(message[2]))
        return len(received) >= 2
    wait_until(drained, timeout=10, message="B's two events")
    assert [m["id"] for m in received] == [events[1][1].id, events[3][1].id]
    assert channel.queue_declare(live_queue(b), passive=True).method.message_count == 0
