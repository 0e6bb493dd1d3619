"""A background loop beside a service's `Database`: the shape of the outbox relay and of the
email delivery. One green thread per replica does a batch of work, again while there is work,
then sleeps until woken (after a commit that made work) or until the poll interval passes.
A failing batch (broker or database down) is logged and tried again later: the work stays in
the database, so nothing is lost."""
from __future__ import annotations

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from servicekit import config
from servicekit.db import Database
from servicekit.logging import get_logger

log = get_logger(__name__)


class BackgroundLoop(DependencyProvider):
    """Subclasses set `name` and implement `work_once()`, which returns how much it did, or 0
    when asking again at once would find nothing (the loop then waits to be woken or polls)."""

    name = "background_loop"

    def __init__(self, database_attr: str = "db"):
        self.database_attr = database_attr
        self._wake = Event()
        self._running = False

    @property
    def database(self) -> Database:
        return next(dep for dep in self.container.dependencies
                    if isinstance(dep, Database) and dep.attr_name == self.database_attr)

    def setup(self) -> None:
        self.poll_seconds = config.load().relay_poll_seconds

    def start(self) -> None:
        self._running = True
        self.container.spawn_managed_thread(self._run, identifier=self.name)

    def stop(self) -> None:
        self._running = False
        self.wake()

    def kill(self) -> None:
        self.stop()

    def wake(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def work_once(self) -> int:
        raise NotImplementedError

    def _run(self) -> None:
        while self._running:
            try:
                while self._running and self.work_once():
                    pass
            except Exception:
                log.exception(f"{self.name}_failed")
            with eventlet.Timeout(self.poll_seconds, False):
                self._wake.wait()
            self._wake = Event()
