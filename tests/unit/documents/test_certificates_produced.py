"""The ops' month-end view (jalon month-end): per funder and month, the certificate PDFs
produced (a superseded one no longer counts, other documents never do), one query."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.ops import MonthEndQuery
from services.documents import domain, handlers, models
from tests.support.sqlite_store import SqliteStore

NOW = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


def document(number: int, funder_id: str, month: str, category=domain.COMPLETION_CERTIFICATE,
             superseded: bool = False) -> dict:
    return {"id": f"doc{number}", "category": category, "label": "Certificat",
            "filename": f"certificat-{number}.pdf", "content_type": "application/pdf",
            "size": 1000, "sha256": "0" * 64, "funder_id": funder_id,
            "dossier_id": f"d{number}", "month": month, "created_at": NOW,
            "status": domain.GENERATED, "version": 1,
            "superseded_at": NOW if superseded else None}


@pytest.fixture
def db(tmp_path):
    store = SqliteStore("documents", tmp_path, models)
    store.add(models.documents, document(1, "f1", "2026-09"), document(2, "f1", "2026-09"),
              document(3, "f1", "2026-09", superseded=True),
              document(4, "f1", "2026-09", category="attendance_sheet"),
              document(5, "f2", "2026-10"))
    return store


def test_current_certificates_per_funder_and_month(db):
    assert handlers.certificates_produced(db, MonthEndQuery()) == [
        {"funder_id": "f1", "month": "2026-09", "produced": 2},
        {"funder_id": "f2", "month": "2026-10", "produced": 1}]
    assert handlers.certificates_produced(db, MonthEndQuery(funder_id="f2")) == [
        {"funder_id": "f2", "month": "2026-10", "produced": 1}]
