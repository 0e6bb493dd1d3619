"""Poison messages published straight onto event handlers' queues, and where they end.

Each kind is a message no handler can ever process; each must end in the dead-letter queue
with the handler's queue and a reason, whatever layer refuses it (kombu's decoding or our
envelope parsing)."""
from __future__ import annotations

import json
import pickle
import uuid
from datetime import datetime, timezone

from kombu import Connection

from servicekit.deadletters import list_dead_letters


def _envelope(queue: str, version: int) -> bytes:
    """A well-formed envelope whose type matches the handler's queue but not its version."""
    service, event = queue.removeprefix("evt-").split("--")[0].split("-", 1)
    return json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": f"jalon/{service}",
        "type": f"fr.jalon.{service}.{event}", "time": datetime.now(timezone.utc).isoformat(),
        "schemaversion": version, "data": {}}).encode()


# kind -> (body, content type, content encoding) for a handler's queue
KINDS = {
    "not_json": lambda queue: (b"this is not JSON {", "application/json", "utf-8"),
    "bad_utf8": lambda queue: (b'{"id": "\xff\xfe\xfa"}', "application/json", "utf-8"),
    "refused_content_type": lambda queue: (pickle.dumps({"id": "x"}),
                                           "application/x-python-serialize", "binary"),
    "wrong_schema": lambda queue: (b'{"hello": "world"}', "application/json", "utf-8"),
    "unknown_version": lambda queue: (_envelope(queue, 99), "application/json", "utf-8"),
}


def handler_queues(queues: dict[str, int]) -> list[str]:
    """The event handlers' own queues (not their retry queues) among the broker's."""
    return sorted(name for name in queues if name.startswith("evt-") and "--retry-" not in name)


def publish_poison(amqp_uri: str, queues: list[str]) -> dict[str, dict]:
    """One message of every kind onto each queue; message id -> {kind, queue}."""
    sent = {}
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for queue in queues:
            for kind, make in KINDS.items():
                body, content_type, encoding = make(queue)
                message_id = f"poison-{kind}-{uuid.uuid4().hex[:8]}"
                producer.publish(body, exchange="", routing_key=queue, serializer=None,
                                 content_type=content_type, content_encoding=encoding,
                                 message_id=message_id, delivery_mode=2,
                                 headers={"x-faults-poison": kind})
                sent[message_id] = {"kind": kind, "queue": queue}
    return sent


def dead_lettered(amqp_uri: str, queue_name: str, sent: dict[str, dict]) -> dict[str, dict]:
    """Of the poison `sent`, those in the dead-letter queue: message id -> its dead-letter
    description (queue, error, ...), read with the ops tool (servicekit.deadletters)."""
    return {entry["message_id"]: entry for entry in list_dead_letters(amqp_uri, queue_name)
            if entry.get("message_id") in sent}
