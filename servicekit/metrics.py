"""Prometheus metrics: every metric any Jalon process exports, defined once, here.

Each process serves its own registry on JALON_METRICS_PORT (`serve`, 0 = off), so a replica's
counters are its own and Prometheus sums them; labels stay bounded (a route template, never a
raw path; an error's kind, never its message). docs/metrics.md lists them for the ops team.

Gauges that describe a database (outbox backlog, emails pending, jobs) are read at scrape time
(`ScrapedGauge`) rather than set by the loop that works on the rows: a stuck relay would leave
its last value standing, and a stuck relay is what they must show.
"""
from __future__ import annotations

import time
from typing import Callable, Iterator

import eventlet
from eventlet import wsgi
from nameko.extensions import DependencyProvider
from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Histogram,
                               disable_created_metrics, make_wsgi_app)
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.registry import Collector

from contracts.common.errors import ERROR_KINDS
from servicekit.logging import get_logger

log = get_logger(__name__)

disable_created_metrics()  # a `_created` series per label set only doubles every page

# PDFs and imports take seconds, not milliseconds: the default buckets stop at 10 s.
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)

HTTP_REQUESTS = Counter("jalon_http_requests", "HTTP requests answered by the gateway.",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("jalon_http_request_duration_seconds",
                         "Time the gateway took to answer, by route template.",
                         ["route", "method"])
RPC_CALLS = Counter("jalon_rpc_calls", "Entrypoint calls handled by a service (RPC, events, "
                    "timers), by outcome: ok, or the kind of error.",
                    ["service", "method", "outcome"])
RPC_SECONDS = Histogram("jalon_rpc_duration_seconds", "Time a service's entrypoint took.",
                        ["service", "method"])
EVENTS = Counter("jalon_events", "Events taken off a queue: handled, retried later or "
                 "dead-lettered.", ["queue", "outcome"])
EVENTS_PUBLISHED = Counter("jalon_events_published", "Events the outbox relay published.",
                           ["service", "event"])
EMAILS = Counter("jalon_emails", "Emails the sender tried, by result: sent or failed.",
                 ["status"])
PDFS_RENDERED = Counter("jalon_pdfs_rendered", "PDFs rendered, by template.", ["document"])
PDF_SECONDS = Histogram("jalon_pdf_render_duration_seconds", "Time one PDF took to render.",
                        ["document"], buckets=SLOW_BUCKETS)
JOBS = Counter("jalon_jobs", "Jobs that ended, by status: succeeded, failed or cancelled.",
               ["service", "kind", "status"])


def observe_http(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request; `route` is its template (/users/{user_id}), never the path."""
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_SECONDS.labels(route, method).observe(seconds)


def outcome_of(exc: BaseException | None) -> str:
    """ok, a business error's kind (not_found, conflict...), or `error` for anything else."""
    if exc is None:
        return "ok"
    for kind in ERROR_KINDS:
        if isinstance(exc, kind):
            return _snake(kind.__name__)
    return "error"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class ScrapedGauge(Collector):
    """A gauge whose samples are read when Prometheus scrapes: each source, registered under
    its label values, returns the current value (a query on the process's database)."""

    def __init__(self, name: str, documentation: str, labelnames: list[str],
                 registry: CollectorRegistry = REGISTRY):
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        self._sources: dict[tuple[str, ...], Callable[[], float]] = {}
        registry.register(self)

    def read_with(self, labels: tuple[str, ...], source: Callable[[], float]) -> None:
        self._sources[labels] = source

    def forget(self, labels: tuple[str, ...]) -> None:
        self._sources.pop(labels, None)

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, source in list(self._sources.items()):
            try:
                family.add_metric(list(labels), source())
            except Exception as exc:  # one unreadable source must not blank the whole page
                log.warning("metric_unreadable", metric=self.name, error=type(exc).__name__)
        yield family


OUTBOX_BACKLOG = ScrapedGauge("jalon_outbox_backlog", "Outbox rows not yet published.",
                              ["service"])
OUTBOX_OLDEST_AGE = ScrapedGauge("jalon_outbox_oldest_age_seconds",
                                 "Age of the oldest unpublished outbox row (0 when none).",
                                 ["service"])
EMAILS_PENDING = ScrapedGauge("jalon_emails_pending", "Emails waiting to be sent.", [])
JOBS_BY_STATUS = ScrapedGauge("jalon_jobs_by_status", "Jobs in each status now.",
                              ["service", "status"])


class EntrypointMetrics(DependencyProvider):
    """Counts and times every worker of the container it is declared on (servicekit.run mixes
    it into every class it runs)."""

    def setup(self) -> None:
        self._started: dict[int, float] = {}

    def worker_setup(self, worker_ctx) -> None:
        self._started[id(worker_ctx)] = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self._started.get(id(worker_ctx))
        service, method = worker_ctx.service_name, worker_ctx.entrypoint.method_name
        RPC_CALLS.labels(service, method, outcome_of(exc_info and exc_info[1])).inc()
        if started is not None:
            RPC_SECONDS.labels(service, method).observe(time.monotonic() - started)

    def worker_teardown(self, worker_ctx) -> None:
        self._started.pop(id(worker_ctx), None)  # here: Nameko runs it even after a failure


def serve(port: int, host: str = "0.0.0.0") -> None:
    """This process's /metrics on `port`, in a green thread (0: not served)."""
    if not port:
        return
    try:
        listener = eventlet.listen((host, port))
    except OSError as exc:  # the process's work matters more than its metrics: go on without
        log.error("metrics_unavailable", port=port, error=str(exc))
        return
    eventlet.spawn_n(wsgi.server, listener, make_wsgi_app(), log_output=False)
    log.info("metrics_serving", port=port)


class Measured:
    """Mixed into every class `servicekit.run` runs, like the liveness ping."""

    entrypoint_metrics = EntrypointMetrics()
