"""deploy/grafana/month-end.json: importable JSON whose every query names only metrics that
servicekit/metrics.py defines (or RabbitMQ's own, from its Prometheus plugin)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from servicekit import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/month-end.json"

# What a query may name besides metrics: PromQL's functions, aggregations and keywords.
PROMQL = {"sum", "max", "min", "avg", "count", "rate", "irate", "increase",
          "histogram_quantile", "by", "without", "on", "ignoring", "and", "or", "unless"}
SERIES_SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"],
                   "gauge": [""]}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def jalon_series() -> set[str]:
    """Every series name the metrics module exports, counters with `_total` and so on."""
    defined = [value for value in vars(metrics).values()
               if hasattr(value, "describe") and not isinstance(value, type)]
    return {family.name + suffix for collector in defined for family in collector.describe()
            for suffix in SERIES_SUFFIXES[family.type]}


def named_in(expr: str) -> set[str]:
    """The identifiers of a PromQL query, once label matchers, groupings, ranges and strings
    are taken out."""
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))


def queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"]
            for target in panel.get("targets", [])]


def test_the_dashboard_is_importable_with_unique_panel_ids():
    board = dashboard()
    assert board["uid"] and board["title"] and board["schemaVersion"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    graphs = [panel for panel in board["panels"] if panel["type"] != "row"]
    assert graphs and all(panel["targets"] and panel["datasource"] for panel in graphs)


def test_every_query_names_only_metrics_we_export_or_rabbitmq_ones():
    known = jalon_series()
    unknown = {name for expr in queries() for name in named_in(expr)
               if name not in known | PROMQL and not name.startswith("rabbitmq_")}
    assert unknown == set()


def test_the_month_end_questions_each_have_a_panel():
    used = {name for expr in queries() for name in named_in(expr)}
    assert {"jalon_events_published_total", "jalon_outbox_oldest_age_seconds",
            "jalon_emails_pending", "jalon_pdf_render_duration_seconds_bucket",
            "rabbitmq_queue_messages_ready", "jalon_http_requests_total",
            "jalon_events_total", "jalon_emails_total", "jalon_jobs_total",
            "jalon_jobs_by_status"} <= used


def test_the_checker_would_catch_a_misspelt_metric():
    assert "jalon_emails_sent_total" in named_in('sum(rate(jalon_emails_sent_total{a="b"}[5m]))')
    assert "jalon_emails_sent_total" not in jalon_series()
    assert "jalon_emails_total" in jalon_series()
