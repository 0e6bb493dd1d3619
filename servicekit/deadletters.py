"""The dead-letter queue, for the ops: list, show, replay, purge (`jalon dead-letters`, and
`python -m servicekit.deadletters list|replay [ID...]`).

`list` describes each dead message (id, content type, queue, attempts, error, whether its body
decodes) and leaves it in place; `show` adds one message's headers and body; `replay` sends the
given messages (or all, or those of one handler's queue) back to the queue of the handler that
failed, with their retry count reset, and removes them from the dead letters. It skips, and
leaves in place, a message whose body does not decode (sent back, it would only be
dead-lettered again: the publisher must be fixed) and one without our header (nobody knows
where it belongs); each skip says why with a stable code. `purge` removes the matching ones for
good. Every action takes the messages out one by one and requeues those it leaves.
"""
from __future__ import annotations

import argparse
import base64
import json

from kombu import Connection, Queue

from servicekit import config
from servicekit.events import ATTEMPT_HEADER
from servicekit.poison import DEAD_LETTER_HEADER

SKIPS = {
    "undecodable": "its body does not decode: replayed, it would be dead-lettered again",
    "no_dead_letter_header": "it has no x-jalon-dead-letter header: its queue is unknown",
}


def _drain(connection: Connection, queue_name: str):
    """Every message now in the queue, unacked; the caller acks or requeues each."""
    queue = Queue(queue_name, durable=True)(connection.default_channel)
    queue.declare()
    messages = []
    while (message := queue.get(no_ack=False)) is not None:
        messages.append(message)
    return messages


def _selected(info: dict, ids: set[str] | None, original_queue: str | None) -> bool:
    """Of the given ids (None: any) and failed on `original_queue` (None: any)."""
    return ((not ids or info["message_id"] in ids)
            and (original_queue is None or info.get("queue") == original_queue))


def list_dead_letters(amqp_uri: str, queue_name: str,
                      original_queue: str | None = None) -> list[dict]:
    with Connection(amqp_uri) as connection:
        messages = _drain(connection, queue_name)
        described = [_describe(m) for m in messages]
        for message in messages:
            message.requeue()
    return [info for info in described if _selected(info, None, original_queue)]


def show(amqp_uri: str, queue_name: str, message_id: str) -> dict | None:
    """The message's description, its headers and its body (text when it is UTF-8, else
    base64), or None when no dead letter has this id."""
    with Connection(amqp_uri) as connection:
        messages = _drain(connection, queue_name)
        found = [_in_full(m) for m in messages if _describe(m)["message_id"] == message_id]
        for message in messages:
            message.requeue()
    return found[0] if found else None


def purge(amqp_uri: str, queue_name: str, ids: set[str] | None = None,
          original_queue: str | None = None) -> list[str]:
    """Remove the matching dead letters for good; their message ids."""
    purged = []
    with Connection(amqp_uri) as connection:
        for message in _drain(connection, queue_name):
            info = _describe(message)
            if _selected(info, ids, original_queue):
                message.ack()
                purged.append(info["message_id"])
            else:
                message.requeue()
    return purged


def replay(amqp_uri: str, queue_name: str, ids: set[str] | None = None,
           original_queue: str | None = None) -> dict:
    """{"replayed": [message ids], "skipped": [{message_id, queue, reason, detail}]}."""
    replayed, skipped = [], []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for message in _drain(connection, queue_name):
            info = _describe(message)
            if not _selected(info, ids, original_queue):
                message.requeue()
            elif reason := _skip_reason(info):
                message.requeue()
                skipped.append({"message_id": info["message_id"], "queue": info.get("queue"),
                                "reason": reason, "detail": SKIPS[reason]})
            else:
                _send_back(producer, message, info)
                replayed.append(info["message_id"])
    return {"replayed": replayed, "skipped": skipped}


def _skip_reason(info: dict) -> str | None:
    if "queue" not in info:
        return "no_dead_letter_header"
    return "undecodable" if info.get("undecodable") else None


def _send_back(producer, message, info: dict) -> None:
    headers = {k: v for k, v in message.headers.items()
               if k not in (DEAD_LETTER_HEADER, ATTEMPT_HEADER)}
    producer.publish(message.body, exchange="", routing_key=info["queue"],
                     headers=headers, content_type=message.content_type,
                     content_encoding=message.content_encoding,
                     message_id=info["message_id"], delivery_mode=2)
    message.ack()


def _describe(message) -> dict:
    dead = message.headers.get(DEAD_LETTER_HEADER, {})
    return {"message_id": message.properties.get("message_id"),
            "content_type": message.content_type, **dead}


def _in_full(message) -> dict:
    headers = {k: v for k, v in message.headers.items() if k != DEAD_LETTER_HEADER}
    return {**_describe(message), "headers": headers, **_body(message.body)}


def _body(body: bytes | str) -> dict:
    """{"body": text} or, for bytes that are not UTF-8, {"body_base64": …} (kombu hands a
    text content type's body over decoded)."""
    if isinstance(body, str):
        return {"body": body}
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(body).decode("ascii")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("ids", nargs="*", help="message ids to replay (default: all)")
    args = parser.parse_args()
    settings = config.load()
    if args.action == "list":
        result = list_dead_letters(settings.amqp_uri, settings.dead_letter_queue)
    else:
        result = replay(settings.amqp_uri, settings.dead_letter_queue, set(args.ids) or None)
    print(json.dumps(result, indent=2, ensure_ascii=False))  # CLI output, not a log line


if __name__ == "__main__":
    main()
