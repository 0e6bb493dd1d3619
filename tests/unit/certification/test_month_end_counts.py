"""The ops' month-end view (jalon month-end): per funder and month, the months still open for
entry and the months certified (validated, contested and paid ones included), one query."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.ops import MonthEndQuery
from services.certification import domain, handlers, models
from tests.support.sqlite_store import SqliteStore

NOW = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


def certificate(number: int, funder_id: str, month: str, status: str) -> dict:
    return {"id": f"c{number}", "dossier_id": f"d{number}", "month": month,
            "funder_id": funder_id, "organisation_id": "o1", "status": status,
            "version": 1, "created_at": NOW, "updated_at": NOW}


@pytest.fixture
def db(tmp_path):
    store = SqliteStore("certification", tmp_path, models)
    store.add(models.certificates,
              certificate(1, "f1", "2026-09", domain.AWAITING_ENTRY),
              certificate(2, "f1", "2026-09", domain.HOURS_ENTERED),
              certificate(3, "f1", "2026-09", domain.VALIDATED),
              certificate(4, "f1", "2026-09", domain.CLOSED_BY_PAYMENT),
              certificate(5, "f1", "2026-10", domain.REOPENED),
              certificate(6, "f2", "2026-09", domain.CONTESTED),
              certificate(7, "f2", "2026-08", domain.NOT_AVAILABLE))
    return store


def test_months_to_certify_and_certified_per_funder_and_month(db):
    assert handlers.month_end_counts(db, MonthEndQuery()) == [
        {"funder_id": "f1", "month": "2026-09", "to_certify": 2, "certified": 2},
        {"funder_id": "f1", "month": "2026-10", "to_certify": 1, "certified": 0},
        {"funder_id": "f2", "month": "2026-09", "to_certify": 0, "certified": 1}]


def test_one_funder_one_month(db):
    query = MonthEndQuery(funder_id="f1", month="2026-10")
    assert handlers.month_end_counts(db, query) == [
        {"funder_id": "f1", "month": "2026-10", "to_certify": 1, "certified": 0}]
