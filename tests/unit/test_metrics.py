"""servicekit.metrics and what feeds it, without a broker: the counters each piece moves, the
gauges read at scrape time, the /metrics page served under eventlet, the stack's ports."""
from __future__ import annotations

import socket
from datetime import timedelta
from types import SimpleNamespace

import pytest
from eventlet.green.urllib import request as green_request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy import insert

from contracts.common.errors import Conflict, NotFound, ServiceUnavailable
from servicekit import config, metrics
from servicekit.db import utcnow
from servicekit.events import Subscription
from services.notifications.adapters import Mailer
from services.notifications.domain import Email
from tests.support.outbox import outbox_relay, pending_row
from tools.stack import PROCESSES, metrics_ports


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_http_request_is_counted_under_its_route_template_with_its_latency():
    route = "/dossiers/{dossier_id}/certificates/{month}/certify"
    before = value("jalon_http_requests_total", route=route, method="POST", status="200")
    metrics.observe_http(route, "POST", 200, 0.25)
    assert value("jalon_http_requests_total", route=route, method="POST",
                 status="200") == before + 1
    assert value("jalon_http_request_duration_seconds_bucket", route=route, method="POST",
                 le="0.25") >= 1


@pytest.mark.parametrize("exc, outcome", [
    (None, "ok"), (NotFound("x", "y"), "not_found"), (Conflict("x", "y"), "conflict"),
    (ServiceUnavailable("x", "y"), "service_unavailable"), (KeyError("boom"), "error")])
def test_an_outcome_is_ok_or_the_kind_of_error_never_its_message(exc, outcome):
    assert metrics.outcome_of(exc) == outcome


def worker(method: str):
    return SimpleNamespace(service_name="metrics_test", entrypoint=SimpleNamespace(
        method_name=method))


def test_every_entrypoint_call_is_counted_by_outcome_and_timed():
    provider = metrics.EntrypointMetrics()
    provider.setup()
    calls = [(worker("certify"), None), (worker("certify"), NotFound("x", "y"))]
    for ctx, exc in calls:
        provider.worker_setup(ctx)
        provider.worker_result(ctx, None, exc and (type(exc), exc, None))
        provider.worker_teardown(ctx)
    for outcome in ("ok", "not_found"):
        assert value("jalon_rpc_calls_total", service="metrics_test", method="certify",
                     outcome=outcome) == 1
    assert value("jalon_rpc_duration_seconds_count", service="metrics_test",
                 method="certify") == 2
    assert provider._started == {}  # nothing kept once the worker is done


def test_a_scraped_gauge_reads_its_sources_at_each_scrape_and_skips_a_broken_one():
    registry = CollectorRegistry()
    gauge = metrics.ScrapedGauge("jalon_test_backlog", "Test.", ["service"], registry=registry)
    rows = {"a": 3}
    gauge.read_with(("a",), lambda: rows["a"])
    gauge.read_with(("b",), lambda: 1 / 0)
    assert registry.get_sample_value("jalon_test_backlog", {"service": "a"}) == 3
    rows["a"] = 5
    assert registry.get_sample_value("jalon_test_backlog", {"service": "a"}) == 5
    assert registry.get_sample_value("jalon_test_backlog", {"service": "b"}) is None
    gauge.forget(("a",))
    assert registry.get_sample_value("jalon_test_backlog", {"service": "a"}) is None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_metrics_page_is_served_by_a_green_thread():
    port = free_port()
    metrics.serve(port, host="127.0.0.1")
    with green_request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        page = response.read().decode()
    assert "# TYPE jalon_rpc_calls_total counter" in page
    assert "jalon_outbox_backlog" in page


def test_a_busy_metrics_port_leaves_the_process_running_without_metrics():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        metrics.serve(taken.getsockname()[1], host="127.0.0.1")  # logs, does not raise


def test_each_process_of_the_stack_gets_its_own_port():
    assert metrics_ports({"JALON_METRICS_BASE_PORT": "9300"})["certification"] == 9300
    assert len(set(metrics_ports({"JALON_METRICS_BASE_PORT": "9300"}).values())) == len(PROCESSES)
    assert len(set(metrics_ports({}).values())) == len(PROCESSES)
    assert metrics_ports({"JALON_METRICS_BASE_PORT": "0"}) == {}


# ---- the pieces that move the counters ----------------------------------------------------

def subscription(queue: str) -> Subscription:
    """A Subscription with no container: only its result handling runs."""
    sub = Subscription.__new__(Subscription)
    sub.queue = SimpleNamespace(name=queue)
    sub.retry_queues = [object()]
    sub.queue_consumer = SimpleNamespace(ack_message=lambda message: None)
    sub._settle = lambda message, move, *args: None
    return sub


def test_events_are_counted_handled_retried_or_dead_lettered_per_queue():
    sub = subscription("metrics-test-queue")
    message = SimpleNamespace(headers={})
    sub.handle_result(message, None, "done", None)
    failure = RuntimeError("database away")
    sub.handle_result(message, None, None, (RuntimeError, failure, None))
    exhausted = SimpleNamespace(headers={"x-jalon-attempt": 1})
    sub.handle_result(exhausted, None, None, (RuntimeError, failure, None))
    refused = Conflict("already_certified", "déjà certifié")
    sub.handle_result(message, None, None, (Conflict, refused, None))
    counts = {outcome: value("jalon_events_total", queue="metrics-test-queue", outcome=outcome)
              for outcome in ("handled", "retried", "dead_lettered")}
    assert counts == {"handled": 1, "retried": 1, "dead_lettered": 2}


def test_the_outbox_backlog_and_age_are_read_then_published_events_counted():
    relay, sent = outbox_relay("metrics_test")
    outbox = relay.database.metadata.tables["outbox"]
    with relay.database.engine.begin() as connection:
        connection.execute(insert(outbox), [pending_row("certified", timedelta(minutes=5)),
                                            pending_row("certified", timedelta(seconds=1))])
    assert relay.backlog() == 2
    assert relay.oldest_age() >= 300
    assert relay.publish_pending() == 2 and len(sent) == 2
    assert value("jalon_events_published_total", service="metrics_test",
                 event="certified") == 2
    assert (relay.backlog(), relay.oldest_age()) == (0, 0.0)


def email(email_id: str) -> Email:
    return Email(id=email_id, recipient="someone@example.org", subject="Objet",
                 body_text="Bonjour", template="welcome", created_at=utcnow(),
                 next_attempt_at=utcnow())


def test_emails_are_counted_sent_or_failed(tmp_path, monkeypatch):
    sent, failed = value("jalon_emails_total", status="sent"), value(
        "jalon_emails_total", status="failed")
    monkeypatch.setenv("JALON_DATA_DIR", str(tmp_path))
    Mailer(config.load()).send(email("e-1"))
    monkeypatch.setenv("JALON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JALON_SMTP_PORT", str(free_port()))  # nobody listens there
    with pytest.raises(OSError):
        Mailer(config.load()).send(email("e-2"))
    assert value("jalon_emails_total", status="sent") == sent + 1
    assert value("jalon_emails_total", status="failed") == failed + 1


def test_the_page_names_only_jalon_metrics_and_defines_every_documented_one():
    page = generate_latest(REGISTRY).decode()
    for name in ("jalon_http_requests_total", "jalon_rpc_calls_total", "jalon_events_total",
                 "jalon_events_published_total", "jalon_outbox_backlog",
                 "jalon_outbox_oldest_age_seconds", "jalon_emails_total", "jalon_emails_pending",
                 "jalon_pdfs_rendered_total", "jalon_pdf_render_duration_seconds",
                 "jalon_jobs_total", "jalon_jobs_by_status"):
        assert f"# TYPE {name} " in page, name
