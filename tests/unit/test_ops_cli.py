"""`jalon`'s own logic without a broker: the month-end report put together from the services'
counts, the outbox table when a service does not answer, ages as people read them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from nameko.exceptions import RpcTimeout, UnknownService
from rich.console import Console
from typer.testing import CliRunner

from ops import month_end, outbox
from ops.broker import OpsError, Services
from ops.cli import app
from ops.output import age_text
from servicekit import registry

NOW = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


class FakeServices:
    """Answers `outbox_status` for every service but those in `down`."""

    def __init__(self, *down: str):
        self.down = down

    def call(self, service: str, method: str, *args):
        if service in self.down:
            raise OpsError(f"{service} not answering (no reply within 10 s)")
        return {"service": service, "unpublished": 2,
                "oldest_unpublished_at": "2026-10-30T08:58:00Z",
                "last_published_at": "2026-10-30T08:59:30Z"}


def test_a_service_not_answering_is_a_row_saying_so():
    rows = {row["service"]: row for row in outbox.statuses(FakeServices("payments"), NOW)}
    assert set(rows) == set(registry.databases())
    assert rows["payments"] == {
        "service": "payments", "answering": False,
        "error": "payments not answering (no reply within 10 s)", "unpublished": None,
        "oldest_unpublished_at": None, "oldest_age_seconds": None, "last_published_at": None}
    assert (rows["documents"]["answering"], rows["documents"]["oldest_age_seconds"]) == (
        True, 120)


def test_month_end_puts_each_service_s_counts_on_one_row():
    report = month_end.combine(
        certificates=[{"funder_id": "f1", "month": "2026-09", "to_certify": 3, "certified": 5}],
        locks=[{"funder_id": "f1", "month": "2026-09", "locked": 4},
               {"funder_id": "f1", "month": "2026-08", "locked": 1}],
        produced=[{"funder_id": "f1", "month": "2026-09", "produced": 2}],
        emails=[{"funder_id": "f1", "month": "2026-09", "pending": 7,
                 "oldest_pending_at": "2026-10-30T08:50:00Z"},
                {"funder_id": "f1", "month": None, "pending": 1,
                 "oldest_pending_at": "2026-10-30T08:55:00Z"}],
        outboxes=outbox.statuses(FakeServices("payments"), NOW), now=NOW)
    assert report["months"] == [
        {"funder_id": "f1", "month": "2026-08", "to_certify": 0, "certified": 0, "locked": 1,
         "pdfs_pending": 0, "emails_pending": 0},
        {"funder_id": "f1", "month": "2026-09", "to_certify": 3, "certified": 5, "locked": 4,
         "pdfs_pending": 3, "emails_pending": 7}]
    assert [row["oldest_age_seconds"] for row in report["emails"]] == [600, 300]
    assert report["oldest_pending_effect"] == {
        "kind": "email", "where": "f1", "since": "2026-10-30T08:50:00Z", "age_seconds": 600}
    assert report["not_answering"] == ["payments"]


def test_a_funder_is_named_by_its_code_or_its_id():
    codes = {"f-1": "tpro-idf", "f-2": "tpro-bzh"}
    assert [month_end.funder_id_of(codes, given) for given in ("tpro-bzh", "f-1")] == [
        "f-2", "f-1"]
    with pytest.raises(OpsError) as refused:
        month_end.funder_id_of(codes, "tpro-paca")
    assert refused.value.code == "funder_not_found"
    report = month_end.with_codes({"months": [{"funder_id": "f-1"}],
                                   "emails": [{"funder_id": None}]}, codes)
    assert (report["months"][0]["funder_code"], report["emails"][0]["funder_code"]) == (
        "tpro-idf", None)


def test_ages_as_people_read_them():
    assert [age_text(s) for s in (None, 42, 185, 7800, 3 * 86400 + 4 * 3600)] == [
        "—", "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"]


def test_replay_needs_ids_or_all():
    result = CliRunner().invoke(app, ["dead-letters", "replay"])
    assert result.exit_code == 1
    assert result.output == "jalon: give message ids, or --all (with --queue to keep one queue's)\n"


class Silent:
    """A cluster proxy whose every call times out, or names a service nobody runs."""

    def __init__(self, error: Exception):
        self.error = error

    def __getattr__(self, service):
        return self

    def __call__(self, *args):
        raise self.error


def test_a_service_that_does_not_answer_is_named():
    timed_out = Services(Silent(RpcTimeout()), "amqp://guest:secret@broker//", 10)
    with pytest.raises(OpsError, match=r"^payments not answering \(no reply within 10 s\)$"):
        timed_out.call("payments", "month_end_locks", {})
    unknown = Services(Silent(UnknownService("payments")), "amqp://broker//", 10)
    with pytest.raises(OpsError, match=r"^payments not answering \(no payments consumer"):
        unknown.call("payments", "month_end_locks", {})


def test_the_month_end_table_keeps_every_column_readable_in_80_columns(monkeypatch):
    """A long funder code is folded, never squeezed out by the counts beside it."""
    narrow = Console(width=80, record=True)
    monkeypatch.setattr(month_end, "console", narrow)
    report = month_end.combine(
        certificates=[{"funder_id": "f1", "month": "2026-09", "to_certify": 214,
                       "certified": 1873}], locks=[], produced=[],
        emails=[{"funder_id": "f1", "month": "2026-09", "pending": 94,
                 "oldest_pending_at": "2026-10-30T08:50:00Z"}], outboxes=[], now=NOW)
    month_end.show(month_end.with_codes(report, {"f1": "transitions-pro-ile-de-france"}))
    shown = narrow.export_text()
    assert max(len(line) for line in shown.splitlines()) <= 80
    first_table = shown.split("Emails pending per funder and month")[0]
    funder_cells = [line.split("│")[1].strip() for line in first_table.splitlines()
                    if line.startswith("│")]
    assert "".join(funder_cells) == "transitions-pro-ile-de-france"
    for header in ("Funder", "certify", "Certified", "Locked", "PDFs", "Emails", "pending"):
        assert header in shown
    assert "1873" in shown and "94" in shown
