"""A subscriber to Jalon's public events: plain pika (pip install pika), nothing of Jalon's.

    python subscriber.py --url "amqps://integration-<funder_id>:<password>@<host>:5671/<vhost>" \\
        --funder-id <funder_id> [--store handled-events.sqlite3]

It consumes the funder's two queues, `integration.<funder_id>.live` (the live stream) and
`integration.<funder_id>.replay` (the replays you ask for), with manual acks and a prefetch
limit. Each event is handled once by its envelope `id`, kept in a small SQLite file: delivery is
at least once, so the same event may come again (redelivered after a lost connection, sent twice
after a crash of Jalon's relay, or replayed). A message is acked only after it is handled; one
whose handling fails is requeued and comes again. A lost connection is opened again.

Replace `handle` with your own code; here it writes each event as one JSON line on stdout.
See docs/integration.md for the routing keys, the envelope and each event's fields.
"""
from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
import time
from datetime import datetime, timezone
from typing import Callable

import pika
from pika.exceptions import (AMQPConnectionError, ProbableAccessDeniedError,
                             ProbableAuthenticationError)

log = logging.getLogger("jalon-subscriber")

Handler = Callable[[dict], None]


def handle(envelope: dict) -> None:
    """Your code: the event's fields are in envelope["data"] (docs/integration.md)."""
    print(json.dumps(envelope, ensure_ascii=False), flush=True)


class HandledEvents:
    """The ids of the events already handled, in a SQLite file. Keep them at least as long as a
    replay may reach back (Jalon's retention), so that a replayed event is recognised."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS handled_events "
                        "(id TEXT PRIMARY KEY, type TEXT NOT NULL, handled_at TEXT NOT NULL)")
        self.db.commit()

    def handle_once(self, envelope: dict, handler: Handler) -> bool:
        """Runs `handler` unless the event was handled before; False for a duplicate. The id is
        recorded in the same transaction: if the handler fails, it is not, and the event will
        be handled when it comes again."""
        with self.db:
            recorded = self.db.execute(
                "INSERT OR IGNORE INTO handled_events (id, type, handled_at) VALUES (?, ?, ?)",
                (envelope["id"], envelope["type"], datetime.now(timezone.utc).isoformat()))
            if recorded.rowcount == 0:
                return False
            handler(envelope)
        return True


class Subscriber:
    def __init__(self, url: str, queues: list[str], handled: HandledEvents, handler: Handler,
                 prefetch: int = 20, retry_pause: float = 5, reconnect_delay: float = 5):
        self.parameters = pika.URLParameters(url)
        self.queues = queues
        self.handled = handled
        self.handler = handler
        self.prefetch = prefetch
        self.retry_pause = retry_pause
        self.reconnect_delay = reconnect_delay

    def run(self) -> None:
        """Consumes until interrupted, opening the connection again whenever it is lost."""
        while True:
            try:
                self._consume()
            except (ProbableAuthenticationError, ProbableAccessDeniedError):
                raise  # a wrong password or vhost: trying again will not help
            except AMQPConnectionError as exc:
                log.warning("connection lost (%r); again in %s s", exc, self.reconnect_delay)
                time.sleep(self.reconnect_delay)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(self.parameters)
        try:
            channel = connection.channel()
            # At most this many unacked messages at a time: the broker waits for our acks.
            channel.basic_qos(prefetch_count=self.prefetch)
            for queue in self.queues:
                channel.basic_consume(queue, self.on_message)
            log.info("consuming %s", ", ".join(self.queues))
            channel.start_consuming()
        finally:
            if connection.is_open:
                connection.close()

    def on_message(self, channel, method, properties, body: bytes) -> None:
        try:
            envelope = json.loads(body)
            event_id = envelope["id"]
        except (ValueError, KeyError, TypeError):
            log.error("not an event, dropped: %r", body[:200])
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        try:
            fresh = self.handled.handle_once(envelope, self.handler)
        except Exception:
            log.exception("event %s not handled: requeued", event_id)
            channel.basic_nack(method.delivery_tag, requeue=True)
            time.sleep(self.retry_pause)  # not at full speed if it fails every time
            return
        log.info("%s %s %s%s", "handled" if fresh else "duplicate skipped", envelope.get("type"),
                 event_id, " (redelivered)" if method.redelivered else "")
        channel.basic_ack(method.delivery_tag)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True,
                        help="amqp(s)://integration-<funder_id>:<password>@host:port/vhost")
    parser.add_argument("--funder-id", required=True)
    parser.add_argument("--store", default="handled-events.sqlite3")
    parser.add_argument("--prefetch", type=int, default=20)
    parser.add_argument("--reconnect-delay", type=float, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    queues = [f"integration.{args.funder_id}.live", f"integration.{args.funder_id}.replay"]
    subscriber = Subscriber(args.url, queues, HandledEvents(args.store), handle,
                            prefetch=args.prefetch, reconnect_delay=args.reconnect_delay)
    try:
        subscriber.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
