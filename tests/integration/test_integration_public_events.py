"""integration on real RabbitMQ + PostgreSQL: internal events of two funders become public
events on jalon.integration, where a queue bound to `<funder>.#` receives its funder's only,
in order, once each; a replay sends them again on the funder's own replay queue."""
from __future__ import annotations

import json
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.events import event_dispatcher

import servicekit.rpc  # noqa: F401  registers our errors so the RPC client raises them
from contracts.common.errors import InvalidInput, NotFound
from contracts.envelope import new_envelope
from contracts.integration import replay_queue
from contracts.public import INTEGRATION_EXCHANGE
from tests.support.jobs import finished_over_rpc
from tests.support.notifications import certified, document_rejected, validated
from tools.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def integration(service_env, container_factory):
    from services.integration.service import IntegrationService

    url = service_env("integration")
    container_factory(IntegrationService)
    return url


class Subscriber:
    """A funder's system: its own queue, bound to a pattern on the integration exchange (or
    an existing queue, the replay one), read as the messages arrive."""

    def __init__(self, amqp_uri: str, queue: Queue):
        self.connection = Connection(amqp_uri)
        self.queue = queue(self.connection.default_channel)
        self.queue.declare()
        self.received: list[dict] = []

    @classmethod
    def bound(cls, amqp_uri: str, pattern: str) -> "Subscriber":
        exchange = Exchange(INTEGRATION_EXCHANGE, type="topic", durable=True)
        return cls(amqp_uri, Queue(f"sub-{uuid.uuid4().hex[:8]}", exchange=exchange,
                                   routing_key=pattern, exclusive=True, durable=False))

    def drain(self) -> list[dict]:
        while (message := self.queue.get(no_ack=True)) is not None:
            self.received.append({"body": json.loads(message.body),
                                  "message_id": message.properties.get("message_id"),
                                  "routing_key": message.delivery_info["routing_key"],
                                  "persistent": message.properties.get("delivery_mode") == 2})
        return self.received

    def ids_once(self, count: int) -> list[str]:
        wait_until(lambda: len(self.drain()) >= count, message=f"{count} public events")
        return [m["body"]["id"] for m in self.received]

    def close(self) -> None:
        self.connection.close()


def send(amqp_uri: str, service: str, name: str, data) -> dict:
    envelope = new_envelope(service, name, 1, data).model_dump(mode="json")
    event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(service, name, envelope)
    return envelope


def test_a_funder_receives_its_own_public_events_in_order_once_and_replays_them(
        integration, amqp_uri, rpc):
    funder_a, funder_b = f"fa{uuid.uuid4().hex[:6]}", f"fb{uuid.uuid4().hex[:6]}"
    live = Subscriber.bound(amqp_uri, f"{funder_a}.#")
    try:
        # Each internal event has its own queue: wait for one before the next, for the order.
        certified_a = send(amqp_uri, "certification", "certified", certified(funder_id=funder_a))
        send(amqp_uri, "certification", "certified", certified(funder_id=funder_b))
        live.ids_once(1)
        validated_a = send(amqp_uri, "certification", "hours_validated",
                           validated(funder_id=funder_a))
        live.ids_once(2)
        event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(
            "certification", "hours_validated", validated_a)  # redelivered: no second one
        send(amqp_uri, "documents", "document_rejected", document_rejected(funder_id=funder_a))
        ids = live.ids_once(3)
        received = live.received
        assert [m["routing_key"] for m in received] == [
            f"{funder_a}.certification.month_certified.v1",
            f"{funder_a}.certification.hours_validated.v1",
            f"{funder_a}.documents.document_reviewed.v1"]
        assert len(set(ids)) == 3
        for message in received:
            assert message["message_id"] == message["body"]["id"] and message["persistent"]
            text = json.dumps(message["body"])
            assert funder_b not in text and "@" not in text and "DUBOIS" not in text
        assert received[0]["body"]["time"].startswith(certified_a["time"][:19])

        agent = {"user_id": "agent", "role": "funder_agent", "funder_id": funder_a}
        job = rpc.integration.start_replay(agent, {"since": certified_a["time"]})
        assert (job["kind"], job["phases"][0]["total"]) == ("integration.replay", 3)
        replay = rpc.integration.get_replay(agent, job["id"])
        assert (replay["total"], replay["queue"]) == (3, replay_queue(funder_a))
        replayed = Subscriber(amqp_uri, Queue(replay_queue(funder_a), durable=True))
        try:
            assert replayed.ids_once(3) == ids
        finally:
            replayed.queue.delete()
            replayed.close()
        done = wait_until(lambda: (r := rpc.integration.get_replay(agent, replay["id"]))
                          ["status"] == "done" and r)
        assert (done["sent"], done["total"]) == (3, 3)
        assert [r["id"] for r in rpc.integration.list_replays(agent)] == [replay["id"]]
        ended = finished_over_rpc(rpc.integration, agent, job)
        assert (ended["status"], ended["summary"]) == ("succeeded", {"sent": 3})
        assert live.drain() == received  # live traffic untouched by the replay
    finally:
        live.close()


def test_replays_refuse_what_the_log_no_longer_holds(integration, rpc):
    agent = {"user_id": "agent", "role": "funder_agent", "funder_id": "f-lonely"}
    with pytest.raises(InvalidInput) as refused:
        rpc.integration.start_replay(agent, {"since": "2000-01-01T00:00:00Z"})
    assert refused.value.code == "replay_beyond_retention"
    with pytest.raises(NotFound) as missing:
        rpc.integration.start_replay(agent, {"after_event_id": "inconnu"})
    assert missing.value.code == "public_event_not_found"
