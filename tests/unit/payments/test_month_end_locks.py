"""The ops' month-end view (jalon month-end): per funder and month, the dossier months locked
for payment now (an unlocked one no longer counts), one query."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.common.errors import InvalidInput
from services.payments import handlers, models
from tests.support.sqlite_store import SqliteStore

NOW = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


def lock(dossier_id: str, funder_id: str, month: str, locked: bool = True) -> dict:
    return {"dossier_id": dossier_id, "month": month, "funder_id": funder_id,
            "organisation_id": "o1", "certificate_id": f"c-{dossier_id}-{month}",
            "training_hours": 70, "internship_hours": 0, "absence_hours": 0,
            "locked_at": NOW, "locked": locked}


@pytest.fixture
def db(tmp_path):
    store = SqliteStore("payments", tmp_path, models)
    store.add(models.month_locks, lock("d1", "f1", "2026-09"), lock("d2", "f1", "2026-09"),
              lock("d3", "f1", "2026-09", locked=False), lock("d1", "f1", "2026-08"),
              lock("d4", "f2", "2026-09"), lock("d5", "f2", "2026-07", locked=False))
    return store


def test_locked_months_per_funder_and_month(db):
    assert handlers.month_end_locks(db, {}) == [
        {"funder_id": "f1", "month": "2026-08", "locked": 1},
        {"funder_id": "f1", "month": "2026-09", "locked": 2},
        {"funder_id": "f2", "month": "2026-09", "locked": 1}]
    assert handlers.month_end_locks(db, {"month": "2026-09", "funder_id": "f2"}) == [
        {"funder_id": "f2", "month": "2026-09", "locked": 1}]


def test_a_month_not_like_yyyy_mm_is_refused(db):
    with pytest.raises(InvalidInput) as refused:
        handlers.month_end_locks(db, {"month": "09/2026"})
    assert refused.value.code == "invalid_payload"
