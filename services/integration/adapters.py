"""integration's I/O: the relay of the public log to the integration exchange, the replay
queues a replay job publishes to, the loop that prunes the log past its retention, and the
loop that POSTs webhooks' deliveries (with its HTTP client).

The relay and the webhooks' loop are green threads in every replica, woken after any worker
that succeeded (a translation or a request has then committed) and polling as a fallback for
other replicas' work.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher

from contracts.public import INTEGRATION_EXCHANGE
from servicekit import config
from servicekit.db import DatabaseAccess, utcnow
from servicekit.loop import BackgroundLoop
from servicekit.outbox import TableRelay
from services.integration import handlers
from services.integration.domain.webhooks import MAX_ANSWER_CHARS, UnsafeAddress, WebhookPolicy

PRUNE_EVERY_SECONDS = 3600
# A sender's lease on a delivery outlasts its POST (the timeout) by far: past it, another
# sender posts the delivery again.
LEASE_MARGIN_SECONDS = 50


class WokenAfterWorkers:
    """A loop to wake once a worker of the service has finished without error."""

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        if exc_info is None:
            self.wake()


class PublicEventRelay(WokenAfterWorkers, TableRelay):
    """The public log to the durable topic exchange, under each row's routing key."""

    name = "public_event_relay"
    table_name = "public_events"

    def exchange_to_declare(self) -> Exchange:
        return Exchange(INTEGRATION_EXCHANGE, type="topic", durable=True)

    def routing_key_of(self, row, envelope: dict) -> str:
        return row.routing_key


class ReplayQueues:
    """Publishes to a funder's replay queue (durable, declared on first use) with confirms."""

    def __init__(self, amqp_uri: str):
        self.publisher = Publisher(amqp_uri, use_confirms=True, serializer="json")
        self.declared: set[str] = set()

    def send(self, queue: str, envelope: str, event_id: str,
             correlation_id: str | None) -> None:
        declare = [] if queue in self.declared else [Queue(queue, durable=True)]
        headers = {"nameko.correlation_id": correlation_id} if correlation_id else {}
        self.publisher.publish(json.loads(envelope), exchange="", routing_key=queue,
                               declare=declare, message_id=event_id, extra_headers=headers)
        self.declared.add(queue)


class WebhookSender:
    """POSTs to funders' endpoints: no redirect followed (the address is the one registered),
    a timeout, only the answer's first 2 KB read. The environment's proxies and .netrc are
    ignored: no credentials of this host may reach an address funder staff chose."""

    def __init__(self, timeout: float, allow_private: bool = False):
        self.timeout, self.allow_private = timeout, allow_private
        self.session = requests.Session()
        self.session.trust_env = False

    def check(self, url: str) -> None:
        """Every address the host resolves to must be public (a name that does not resolve
        is left to the send, which fails and is retried)."""
        if self.allow_private:
            return
        parts = urlsplit(url)
        try:
            found = socket.getaddrinfo(parts.hostname, parts.port or 443,
                                       proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return
        for *_, address in found:
            ip = ipaddress.ip_address(address[0].split("%")[0])
            if not ip.is_global or ip.is_multicast:
                raise UnsafeAddress(f"{parts.hostname} -> {ip}")

    def post(self, url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
        self.check(url)
        with self.session.post(url, data=body.encode(), headers=headers, timeout=self.timeout,
                               allow_redirects=False, stream=True) as response:
            answer = response.raw.read(MAX_ANSWER_CHARS, decode_content=True)
            return response.status_code, answer.decode("utf-8", errors="replace")


def integration_ports(amqp_uri: str) -> handlers.Ports:
    settings = config.load()
    return handlers.Ports(
        clock=utcnow, retention=timedelta(days=settings.integration_retention_days),
        replays=ReplayQueues(amqp_uri),
        sender=WebhookSender(settings.webhook_timeout_seconds,
                             allow_private=settings.webhooks_allow_private),
        webhooks=WebhookPolicy(
            allow_http=settings.webhooks_allow_http,
            secret_overlap=timedelta(hours=settings.webhook_secret_overlap_hours),
            retry_delays=tuple(timedelta(seconds=s) for s in settings.webhook_retry_delays),
            lease=timedelta(seconds=settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS)))


class IntegrationPorts(BackgroundLoop):
    """Injects the worker's `handlers.Ports`; prunes the log hourly."""

    name = "log_pruning"

    def setup(self) -> None:
        super().setup()
        self.ports = integration_ports(self.container.config["AMQP_URI"])
        self._pruned_at: float | None = None

    def get_dependency(self, worker_ctx) -> handlers.Ports:
        return self.ports

    def work_once(self) -> int:
        if self._pruned_at is None or time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
            handlers.prune_public_events(DatabaseAccess(self.database, None), self.ports)
            self._pruned_at = time.monotonic()
        return 0


class WebhookDelivery(WokenAfterWorkers, BackgroundLoop):
    """POSTs the due deliveries one at a time, each claimed with a lease (several replicas
    share the work)."""

    name = "webhook_delivery"

    def setup(self) -> None:
        super().setup()
        self.ports = integration_ports(self.container.config["AMQP_URI"])

    def get_dependency(self, worker_ctx) -> None:
        return None

    def work_once(self) -> int:
        return handlers.deliver_next_webhook(DatabaseAccess(self.database, None), self.ports)
