"""Long work as jobs on the real stack (issue 18, docs/jobs.md): an import of 500 payments,
the documented maximum, answers 202 at once; its progress moves phase by phase, every row is
reported, every remittance advice counted, and sending the same file again is recognised."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from contracts.jobs import FINISHED
from tests.support.gateway import payment
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e
ROWS = 500


def test_an_import_of_500_payments_is_a_job_followed_to_its_end(funder_admin, dossier):
    suffix = uuid.uuid4().hex[:6]
    rows = [payment(f"J{n}-{suffix}", dossier, str(date.today()), "10,00", advance=True)
            for n in range(ROWS - 2)] + [{"number": f"BAD1-{suffix}"},
                                         {"number": f"BAD2-{suffix}", "lines": []}]
    submitted = funder_admin.post("/payments/import", json={"payments": rows})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert (job["status"], job["resubmitted"]) == ("queued", False)
    assert submitted.headers["Location"] == f"/jobs/{job['id']}"
    again = funder_admin.post("/payments/import", json={"payments": rows})
    assert (again.status_code, again.json()["id"], again.json()["resubmitted"]) == (
        200, job["id"], True)

    seen = []  # each phase's progress as polled, while it moved

    def over() -> dict | None:
        current = funder_admin.get(submitted.headers["Location"]).json()
        seen.append(tuple(phase["done"] for phase in current["phases"]))
        return current if current["status"] in FINISHED else None

    done = wait_until(over, timeout=300, interval=0.2, message="the import job over")
    assert done["status"] == "succeeded", done["error"]
    assert any(0 < payments < ROWS for payments, _ in seen), seen  # rows reported as they go
    assert any(0 < advices < ROWS - 2 for _, advices in seen), seen  # PDFs counted as made
    assert done["phases"] == [{"name": "payments", "done": ROWS, "total": ROWS},
                              {"name": "remittance_advices", "done": ROWS - 2,
                               "total": ROWS - 2}]
    assert done["summary"] == {"created": ROWS - 2, "unchanged": 0, "errors": 2,
                               "remittance_advices_issued": ROWS - 2,
                               "remittance_advices_failed": 0}
    assert [item["row"] for item in done["items"]] == list(range(1, ROWS + 1))
    assert {item["result"] for item in done["items"][:-2]} == {"created"}
    for refused in done["items"][-2:]:
        assert refused["result"] == "error" and "lines" in [
            problem["field"] for problem in refused["problems"]], refused
    last = funder_admin.get(f"/payments/{done['items'][ROWS - 3]['payment_id']}").json()
    assert last["status"] == "issued" and last["remittance_document_id"]
    listed = funder_admin.get("/jobs", params={"kind": "payments.import"}).json()
    assert listed[0]["id"] == job["id"] and listed[0]["items"] is None


def test_a_queued_or_running_import_can_be_cancelled_and_an_ended_one_cannot(funder_admin,
                                                                              dossier):
    suffix = uuid.uuid4().hex[:6]
    rows = [payment(f"C{n}-{suffix}", dossier, str(date.today()), "10,00", advance=True)
            for n in range(200)]
    job = funder_admin.post("/payments/import", json={"payments": rows}).json()
    cancelled = funder_admin.post(f"/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"], cancelled.text
    ended = funder_admin.finished_job(cancelled)
    assert ended["status"] == "cancelled" and ended["phases"][0]["done"] < 200
    refused = funder_admin.post(f"/jobs/{job['id']}/cancel")
    assert (refused.status_code, refused.json()["code"]) == (409, "job_finished")


def test_an_import_survives_the_death_of_the_process_running_it(stack, funder_admin, dossier):
    """Killed mid-import (no goodbye), payments is restarted; once the job's heartbeat is
    stale (JALON_JOB_STALE_SECONDS) the new process resumes it: every row reported once,
    every payment written and issued once."""
    suffix = uuid.uuid4().hex[:6]
    count = 60
    rows = [payment(f"K{n}-{suffix}", dossier, str(date.today()), "10,00", advance=True)
            for n in range(count)]
    location = funder_admin.post("/payments/import",
                                 json={"payments": rows}).headers["Location"]

    def job() -> dict:
        answer = funder_admin.get(location)  # 503 while payments is down
        return answer.json() if answer.status_code == 200 else {"status": "unknown"}

    def under_way() -> bool:
        return job().get("phases", [{"done": 0}])[0]["done"] > 0

    def ended() -> dict | None:
        current = job()
        return current if current["status"] in FINISHED else None

    wait_until(under_way, timeout=60, message="the import under way")
    restarts = stack.restarts["payments"]
    stack.processes["payments"].kill()
    wait_until(lambda: stack.restarts["payments"] > restarts, timeout=60,
               message="payments restarted")
    done = wait_until(ended, timeout=240, interval=0.5, message="the import resumed and over")
    assert done["status"] == "succeeded", done["error"]
    assert [item["row"] for item in done["items"]] == list(range(1, count + 1))
    assert {item["remittance_advice"] for item in done["items"]} == {"issued"}
    assert len({item["payment_id"] for item in done["items"]}) == count
    assert done["summary"]["created"] + done["summary"]["unchanged"] == count
    for number in (rows[0]["number"], rows[-1]["number"]):
        listed = funder_admin.get("/payments", params={"payment_number": number}).json()
        assert listed["rows"] == 1, listed
