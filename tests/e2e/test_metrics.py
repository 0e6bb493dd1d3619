"""Every process of the real stack serves its Prometheus metrics, and one certification moves
the right counters in the right processes: the RPC in certification (counted and timed), its
`certified` event leaving the outbox and handled off the queues of documents, notifications
and payments, the final certificate rendered by documents, the emails sent by notifications,
the certify route in the gateway."""
from __future__ import annotations

from datetime import date

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.gateway import enter_month, month_shift, sign_month
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e

CERTIFY_ROUTE = "/dossiers/{dossier_id}/certificates/{month}/certify"
CONSUMERS = ("documents", "notifications", "payments")  # of the certified event


def scrape(url: str) -> list:
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    return [sample for family in text_string_to_metric_families(page.text)
            for sample in family.samples]


def total(samples: list, name: str, **labels) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(s.value for s in samples
               if s.name == name and labels.items() <= s.labels.items())


class Counters:
    def __init__(self, stack):
        self.urls = stack.metrics_urls

    def __call__(self, process: str, name: str, **labels) -> float:
        return total(scrape(self.urls[process]), name, **labels)


def certified_handled(stack, process: str) -> float:
    """`certified` events the process's handlers took off their queues and handled."""
    return sum(s.value for s in scrape(stack.metrics_urls[process])
               if s.name == "jalon_events_total" and s.labels["outcome"] == "handled"
               and "certification-certified" in s.labels["queue"])


def outbox_backlog(stack, process: str) -> float | None:
    found = [s.value for s in scrape(stack.metrics_urls[process])
             if s.name == "jalon_outbox_backlog" and s.labels == {"service": process}]
    return found[0] if found else None


def test_every_process_serves_its_metrics(stack):
    assert set(stack.metrics_urls) == set(stack.processes)
    for process, url in stack.metrics_urls.items():
        samples = scrape(url)
        # Each has answered RPCs or pings by now: its entrypoints are counted.
        assert total(samples, "jalon_rpc_calls_total", service=process) > 0, process
    # The services that run jobs say how many are in each status, read at scrape time.
    for process in ("certification", "dossiers", "integration", "payments"):
        statuses = {s.labels["status"] for s in scrape(stack.metrics_urls[process])
                    if s.name == "jalon_jobs_by_status" and s.labels["service"] == process}
        assert statuses == {"queued", "running", "succeeded", "failed", "cancelled"}, process


def test_a_certification_moves_the_counters_of_every_process_it_touches(stack, world):
    count = Counters(stack)
    month = month_shift(date.today(), -2).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    enter_month(world["org"], url, "70")
    sign_month(world["org"], world["dossier_id"], month)  # renders the draft: counted before
    before = {
        "rpc": count("certification", "jalon_rpc_calls_total", method="certify", outcome="ok"),
        "published": count("certification", "jalon_events_published_total",
                           event="certified"),
        "pdfs": count("documents", "jalon_pdfs_rendered_total", document="certificate"),
        "emails": count("notifications", "jalon_emails_total", status="sent"),
        "http": count("gateway", "jalon_http_requests_total", route=CERTIFY_ROUTE,
                      method="POST", status="200"),
        "timed": count("certification", "jalon_rpc_duration_seconds_count", method="certify"),
        "handled": {process: certified_handled(stack, process) for process in CONSUMERS},
    }
    certified = world["org"].post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text
    # Nameko sends an RPC's reply (the entrypoint's handle_result) before the dependencies'
    # worker_result, where the call is counted: the answer can arrive first.
    eventually(lambda: count("certification", "jalon_rpc_calls_total", method="certify",
                             outcome="ok") == before["rpc"] + 1,
               message="certification counts the certify call")
    assert count("gateway", "jalon_http_requests_total", route=CERTIFY_ROUTE, method="POST",
                 status="200") == before["http"] + 1
    assert count("certification", "jalon_rpc_duration_seconds_count",
                 method="certify") == before["timed"] + 1
    for process in CONSUMERS:
        eventually(lambda: certified_handled(stack, process) > before["handled"][process],
                   message=f"{process} handles the certified event off its queue")
    eventually(lambda: count("certification", "jalon_events_published_total",
                             event="certified") == before["published"] + 1,
               message="the certified event leaves the outbox")
    eventually(lambda: count("documents", "jalon_pdfs_rendered_total",
                             document="certificate") > before["pdfs"],
               message="documents renders the certificate")
    eventually(lambda: count("notifications", "jalon_emails_total",
                             status="sent") > before["emails"],
               message="notifications sends the certification's emails")
    eventually(lambda: outbox_backlog(stack, "certification") == 0,
               message="the outbox backlog, read at scrape time, is empty again")
    assert count("documents", "jalon_pdf_render_duration_seconds_count",
                 document="certificate") > before["pdfs"]
    assert any(sample.name == "jalon_emails_pending"
               for sample in scrape(stack.metrics_urls["notifications"]))
    assert count("gateway", "jalon_http_request_duration_seconds_count",
                 route=CERTIFY_ROUTE, method="POST") >= 1
