"""Is this process still doing its job? Checked from inside, per process, not per service.

A health RPC would not do: replicas share the RPC queue, so a sibling could answer for a hung
replica. Instead every JALON_LIVENESS_INTERVAL s the process sends a ping to a queue of its
own (exclusive, auto-delete: gone with the connection, declared again by kombu on reconnect),
consumed through the container's own QueueConsumer and handled by a worker like any request.
A ping that comes back proves the consumer, its channel and the worker pool; it touches the
heartbeat file that `python -m servicekit.probe NAME` reads. No ping back for
JALON_LIVENESS_DEADLINE s and the process exits to be restarted: a consumer lost for good, a
pool stuck forever, or a broker down that long (a fresh process then waits for the broker, with
fresh connections, rather than trusting Nameko 2 to have recovered every one of them).

The eventlet hub itself is watched from a native thread (`watch_hub`): if no green thread runs
for JALON_HUB_STALL_SECONDS, nothing green can report it.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from functools import partial

import eventlet
from eventlet import patcher
from kombu import Queue
from nameko.amqp.publish import Publisher
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint
from nameko.messaging import QueueConsumer

from servicekit import config
from servicekit.logging import get_logger
from servicekit.resilience import exit_now

log = get_logger(__name__)

# A ping that cannot be sent soon is a missed beat, not a reason to keep trying.
PING_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.5, "interval_step": 0.5,
                     "interval_max": 1}


class LivenessPing(Entrypoint):
    """Consumes this process's ping queue; each ping runs an empty worker, then beats."""

    queue_consumer = QueueConsumer()

    def setup(self) -> None:
        settings = config.load()
        self.interval = settings.liveness_interval
        self.deadline = settings.liveness_deadline
        self.heartbeat = settings.heartbeat_path(self.container.service_name)
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        name = f"jalon.liveness.{self.container.service_name}.{uuid.uuid4().hex[:12]}"
        self.queue = Queue(name, routing_key=name, exclusive=True, auto_delete=True)
        self.publisher = Publisher(self.container.config["AMQP_URI"], serializer="json",
                                   expiration=max(1, int(self.interval)),
                                   retry_policy=PING_RETRY_POLICY)
        self._running = False
        self.last_beat = time.monotonic()
        self.queue_consumer.register_provider(self)

    def start(self) -> None:
        self._running = True
        self.last_beat = time.monotonic()
        self.container.spawn_managed_thread(self._ping_until_stopped, identifier="liveness")

    def stop(self) -> None:
        self._running = False
        self.queue_consumer.unregister_provider(self)

    def kill(self) -> None:
        self._running = False

    def handle_message(self, body, message) -> None:
        try:
            self.container.spawn_worker(self, (), {},
                                        handle_result=partial(self._handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.ack_message(message)  # a ping is not worth keeping

    def _handle_result(self, message, worker_ctx, result, exc_info):
        self.queue_consumer.ack_message(message)
        if exc_info is None:
            self.last_beat = time.monotonic()
            self.heartbeat.touch()
        return result, exc_info

    def _ping_until_stopped(self) -> None:
        while self._running:
            # Each ping in its own thread: a publish stuck on a dead broker never delays the
            # deadline check (and no timeout interrupts kombu halfway through its pool).
            self.container.spawn_managed_thread(self._ping, identifier="liveness_ping")
            eventlet.sleep(self.interval)
            silent = time.monotonic() - self.last_beat
            if self._running and silent > self.deadline:
                exit_now("liveness_lost", silent_seconds=round(silent, 1),
                         deadline_seconds=self.deadline)

    def _ping(self) -> None:
        try:
            self.publisher.publish({}, exchange="", routing_key=self.queue.name)
        except Exception as exc:  # a missed beat; the deadline decides
            log.warning("liveness_ping_failed", error=type(exc).__name__)


class Liveness:
    """Mixed into every class `servicekit.run` runs (the services and the gateway)."""

    @LivenessPing.decorator
    def liveness_ping(self) -> None:
        """Nothing to do: having run proves the consumer and the worker pool."""


def watch_hub(stall_seconds: float, process: str) -> None:
    """Exit the process when the eventlet hub has not run a green thread for `stall_seconds`.

    The watchdog is a native thread and the hub it reports on may be stuck holding logging's
    handler lock mid-line, so it writes its one line straight to fd 2 before os._exit.
    """
    tick_seconds = min(1.0, stall_seconds / 4)
    last_tick = [time.monotonic()]

    def tick() -> None:
        while True:
            last_tick[0] = time.monotonic()
            eventlet.sleep(tick_seconds)

    def watch() -> None:
        sleep = patcher.original("time").sleep
        while True:
            sleep(tick_seconds)
            stalled = time.monotonic() - last_tick[0]
            if stalled > stall_seconds:
                line = json.dumps({"event": "hub_stalled", "service": process,
                                   "level": "critical", "stalled_seconds": round(stalled, 1),
                                   "exit_code": 1})
                os.write(2, line.encode() + b"\n")
                os._exit(1)

    eventlet.spawn_n(tick)
    patcher.original("threading").Thread(target=watch, name="hub-watchdog", daemon=True).start()

