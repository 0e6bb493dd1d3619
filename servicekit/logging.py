"""structlog, set up once per process; every line carries the current correlation id.

The correlation id lives in a contextvar (greenlet-local under eventlet), bound for each
Nameko worker by servicekit.context.RequestContext.

Lines come from native threads too: what runs in eventlet.tpool (weasyprint, fontTools,
pypdf, Pillow, openpyxl, argon2) runs in a real OS thread, and those libraries log. After
eventlet.monkey_patch() threading's locks are green, and eventlet greens the RLocks that
already exist, logging's own included. A native thread that waits on a green lock a green
thread holds raises `greenlet.error: cannot switch to a different thread` and can leave the
lock broken, so that every later line, and every worker writing one, waits forever. So every
lock on a line's way is native: logging's module lock, every handler's lock (existing ones and
any made later), and structlog writes through the same stdlib root handler instead of
PrintLogger, whose per-file lock is green; and a record no longer asks
threading.current_thread() its thread's name, which eventlet answers under a green lock when
asked from a native thread. A native lock is safe among green threads too: it is
held only while one record is formatted and written to stderr, which never yields to the
eventlet hub, so no green thread is ever suspended holding it, and whoever waits (green or
native) waits for that one write only. (Handing native threads' records to a green-side queue
would also work, but needs a native-to-green wake-up and still a native lock for the queue.)
"""
from __future__ import annotations

import logging
import sys

import structlog
from eventlet import patcher

_native_thread = patcher.original("_thread")
_configured = False


def setup(service: str, log_format: str = "console", level: str = "INFO") -> None:
    global _configured
    if _configured:
        return
    _configured = True
    _native_locks()

    def add_service(_, __, event_dict):
        event_dict.setdefault("service", service)
        return event_dict

    shared = [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    # One handler, one lock, for every line: ours and libraries' (nameko, kombu, weasyprint...).
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer,
        ], foreign_pre_chain=shared)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kombu").setLevel("WARNING")
    logging.getLogger("amqp").setLevel("WARNING")


def _native_locks() -> None:
    """logging's module lock and every handler's lock, now and later, are native locks."""
    # A record's threadName comes from threading.current_thread(), which eventlet answers
    # under a green lock in a native thread; no line of ours shows it.
    logging.logThreads = False
    logging._lock = _native_thread.RLock()
    logging.Handler.createLock = _create_native_lock
    for reference in logging._handlerList:
        handler = reference()
        if handler is not None and handler.lock is not None:
            handler.lock = _native_thread.RLock()


def _create_native_lock(handler: logging.Handler) -> None:
    handler.lock = _native_thread.RLock()
    logging._register_at_fork_reinit_lock(handler)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


def bound(**fields):
    """A `with` block whose lines all carry these fields (those not None): e.g. the correlation
    id of the request behind the work a background loop picked up."""
    return structlog.contextvars.bound_contextvars(
        **{name: value for name, value in fields.items() if value is not None})
