"""Work an RPC leaves for after its reply has gone: `self.after_reply(function, *args)`.

Nameko sends a worker's reply, then tears the worker down; the queued calls run at teardown,
in the worker's green thread, so the caller never waits for them. identity uses it for what
must not show in a request's duration (a password reset's link and email: a known identifier
must answer as fast as an unknown one).
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from servicekit.logging import get_logger

log = get_logger(__name__)


class AfterReply(DependencyProvider):

    def setup(self) -> None:
        self._queued = {}

    def get_dependency(self, worker_ctx):
        queued = self._queued[worker_ctx] = []
        return lambda function, *args: queued.append((function, args))

    def worker_teardown(self, worker_ctx) -> None:
        for function, args in self._queued.pop(worker_ctx, ()):
            try:
                function(*args)
            except Exception:  # the reply is gone: log, never raise into Nameko's teardown
                log.exception("after_reply_failed", call=function.__name__)
