"""POST /payments/import as a job (docs/jobs.md): submitted at once, then run row by row and
advice by advice, resumable after a crash, stopped by a cancellation."""
from __future__ import annotations

import pytest

from contracts.common.errors import Forbidden, InvalidInput
from services.payments import handlers
from tests.support.jobs import Crashed
from tests.support.payments import (FUNDER, a_dossier, certified_locks, fake_ports,
                                    new_payment_payload, organisation_user, payments_database,
                                    staff)


def a_batch(dossier: dict, count: int = 3) -> dict:
    return {"payments": [new_payment_payload(f"J{n}", dossier) for n in range(1, count + 1)]}


def run(db, ports, job_id: str, crash_after: int | None = None) -> dict:
    return db.repositories["jobs"].run(
        job_id, lambda step: handlers.run_import(db, ports, step), crash_after)


def test_an_import_is_submitted_at_once_and_recognised_when_submitted_again():
    dossier = a_dossier()
    db = payments_database(certified_locks(dossier))
    job = handlers.import_payments(db, staff(), a_batch(dossier))
    assert (job["kind"], job["status"], job["resubmitted"]) == ("payments.import", "queued",
                                                                False)
    assert job["id"].startswith("payments-")
    assert job["phases"] == [{"name": "payments", "done": 0, "total": 3},
                             {"name": "remittance_advices", "done": 0, "total": None}]
    assert db.repositories["payments"].by_number(FUNDER, "J1") is None  # the job writes
    again = handlers.import_payments(db, staff(), a_batch(dossier))
    assert (again["id"], again["resubmitted"]) == (job["id"], True)
    other = handlers.import_payments(db, staff(), a_batch(dossier, 2))
    assert other["id"] != job["id"]


def test_an_import_is_refused_at_once_to_organisations_and_for_a_malformed_batch():
    db = payments_database()
    with pytest.raises(Forbidden):
        handlers.import_payments(db, organisation_user(), a_batch(a_dossier()))
    with pytest.raises(InvalidInput):
        handlers.import_payments(db, staff(), {"payments": []})
    assert db.repositories["jobs"].jobs == {}


def test_the_job_reports_each_row_then_counts_the_advices_issued(monkeypatch):
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    batch = a_batch(dossier)
    batch["payments"].insert(1, {"number": "NOLINES"})
    job = run(db, ports, handlers.import_payments(db, staff(), batch)["id"])
    assert job["status"] == "succeeded"
    assert job["phases"] == [{"name": "payments", "done": 4, "total": 4},
                             {"name": "remittance_advices", "done": 3, "total": 3}]
    assert [(r["row"], r["result"], r.get("remittance_advice")) for r in job["items"]] == [
        (1, "created", "issued"), (2, "error", None), (3, "created", "issued"),
        (4, "created", "issued")]
    assert job["summary"] == {"created": 3, "unchanged": 0, "errors": 1,
                              "remittance_advices_issued": 3, "remittance_advices_failed": 0}
    assert len(db.events("payment_issued")) == 3 and len(ports.documents.advices) == 3


def test_a_failed_advice_leaves_the_payment_processing_and_is_reported():
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    ports.documents.down = True
    job = run(db, ports, handlers.import_payments(db, staff(), a_batch(dossier, 1))["id"])
    [row] = job["items"]
    assert (row["result"], row["remittance_advice"]) == ("created", "failed")
    assert db.repositories["payments"].get(row["payment_id"]).status == "processing"
    assert job["summary"]["remittance_advices_failed"] == 1
    assert db.events("payment_issued") == []


def test_an_interrupted_import_resumes_where_it_was_and_writes_nothing_twice(monkeypatch):
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    job_id = handlers.import_payments(db, staff(), a_batch(dossier, 5))["id"]
    # The first chunk is recorded; the process dies after writing the second, unrecorded.
    with pytest.raises(Crashed):
        run(db, ports, job_id, crash_after=1)
    step = db.repositories["jobs"].step(job_id)
    assert step.done("payments") == 2
    job = run(db, ports, job_id)
    assert [r["result"] for r in job["items"]] == [
        "created", "created", "unchanged", "unchanged", "created"]
    # The payments the dead attempt wrote get their advice all the same, each once.
    assert [r["remittance_advice"] for r in job["items"]] == ["issued"] * 5
    assert len(ports.documents.advices) == 5 and len(db.events("payment_issued")) == 5


def test_an_import_interrupted_among_the_advices_renders_no_advice_twice(monkeypatch):
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    job_id = handlers.import_payments(db, staff(), a_batch(dossier, 4))["id"]
    # 2 chunks of rows, the pending marks, one chunk of advices; the second chunk dies.
    with pytest.raises(Crashed):
        run(db, ports, job_id, crash_after=4)
    assert len(ports.documents.advices) == 4
    job = run(db, ports, job_id)
    assert job["phases"][1] == {"name": "remittance_advices", "done": 4, "total": 4}
    assert len(ports.documents.advices) == 4 and len(db.events("payment_issued")) == 4


def test_a_cancelled_import_stops_after_its_current_chunk(monkeypatch):
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    dossier = a_dossier()
    db, ports = payments_database(certified_locks(dossier)), fake_ports(dossier)
    job_id = handlers.import_payments(db, staff(), a_batch(dossier, 5))["id"]
    db.repositories["jobs"].jobs[job_id]["cancel_requested"] = True
    job = run(db, ports, job_id)
    assert job["status"] == "cancelled"
    assert [r["result"] for r in job["items"]] == ["created", "created"]
