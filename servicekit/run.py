"""Run one Jalon process in this process: `python -m servicekit.run NAME`.

NAME is any process registered in the `jalon.services` entry points (servicekit/registry.py).
Monkey-patches for eventlet first (before anything imports sockets or threads), sets up logging
once, optionally migrates the process's database, then hands over to Nameko's runner.

Whatever Nameko 2 cannot recover from in process (a managed or worker thread dying, the runner
failing) ends the process at once with one `service_exiting` line and exit code 1: whatever
runs it (tools/stack.py, compose, Kubernetes) starts a fresh one. Every process also carries
the liveness ping and the hub watchdog (servicekit/liveness.py), and serves its Prometheus
metrics on JALON_METRICS_PORT (servicekit/metrics.py). With JALON_ENV=production a
process whose settings are unfit for a deployment does not start (config.production_problems).
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402  must precede every other import

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from servicekit import config, logging, metrics, registry  # noqa: E402
from servicekit.base import patch_nameko  # noqa: E402
from servicekit.db import Database  # noqa: E402
from servicekit.liveness import Liveness, watch_hub  # noqa: E402
from servicekit.ops import OutboxReport  # noqa: E402
from servicekit.resilience import exit_now  # noqa: E402


def watched(service_cls):
    """The class with the liveness ping and the entrypoint metrics mixed in: every process
    gets them, gateway included; with a database, also the outbox report (servicekit.ops)."""
    reports = (OutboxReport,) if isinstance(getattr(service_cls, "db", None), Database) else ()
    return type(service_cls.__name__, (service_cls, Liveness, metrics.Measured, *reports),
                {"__module__": service_cls.__module__})


def exit_when_killed(container) -> None:
    """Nameko kills a container whose thread died with an error, then lets it wind down
    half-stopped: exit instead (its traceback is already logged as "thread exited with error")."""
    kill = container.kill

    def kill_or_exit(exc_info=None):
        if exc_info is not None:
            exit_now("service_exiting", reason=type(exc_info[1]).__name__,
                     detail=str(exc_info[1])[:300])
        kill(exc_info)

    container.kill = kill_or_exit


def serve(service_cls, settings: config.Settings) -> None:
    """Run the class until SIGTERM/SIGINT (returns) or until it fails (the process exits 1)."""
    patch_nameko()
    watch_hub(settings.hub_stall_seconds, service_cls.name)
    metrics.serve(settings.metrics_port)
    runner = ServiceRunner(settings.nameko_config())
    runner.add_service(watched(service_cls))
    for container in runner.containers:
        exit_when_killed(container)

    def shutdown(*_):
        eventlet.spawn(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log = logging.get_logger(__name__)
    try:
        runner.start()
        log.info("service_started")  # the logger adds `service`
        runner.wait()
    except Exception as exc:
        exit_now("service_exiting", reason=type(exc).__name__, detail=str(exc)[:300])
    log.info("service_stopped")


def count_sql(directory: Path, name: str) -> None:
    """Measurement only (JALON_PROFILE_DIR, docs/performance.md): every SQL statement this
    process sends, counted by its first word with the seconds it took, written as JSON to
    <directory>/<name>-<pid>.json on SIGUSR1 and at exit, so that a benchmark can take the
    difference around one phase. Off by default: it costs a listener call per statement."""
    import atexit

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counts: Counter[str] = Counter()
    seconds: Counter[str] = Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def started(conn, cursor, statement, parameters, context, executemany):
        conn.info["jalon_sql_started"] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def ended(conn, cursor, statement, parameters, context, executemany):
        kind = f"{conn.engine.dialect.name} {statement.split(None, 1)[0].upper()}"
        counts[kind] += 1
        seconds[kind] += time.perf_counter() - conn.info.pop("jalon_sql_started")

    def dump(*_):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}-{os.getpid()}.json").write_text(json.dumps(
            {"counts": counts, "seconds": seconds}))

    signal.signal(signal.SIGUSR1, dump)
    atexit.register(dump)


def refuse_unfit_settings(settings: config.Settings, name: str) -> None:
    """In production, one line naming every setting still missing, then exit 1 (before any
    connection): better not started than sending emails that link to 127.0.0.1."""
    database = name if name in registry.databases() else None
    problems = config.production_problems(settings, database)
    if problems:
        log = logging.get_logger(__name__)
        log.critical("settings_invalid", problems=problems)
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=registry.names())
    parser.add_argument("--migrate", action="store_true", help="upgrade the database first")
    args = parser.parse_args()
    settings = config.load()
    logging.setup(args.name, settings.log_format, settings.log_level)
    refuse_unfit_settings(settings, args.name)
    if os.environ.get("JALON_PROFILE_DIR"):
        count_sql(Path(os.environ["JALON_PROFILE_DIR"]), args.name)
    if args.migrate and args.name in registry.databases():
        from servicekit import migrate
        migrate.upgrade(args.name)
    serve(registry.service_class(args.name), settings)


if __name__ == "__main__":
    main()
