"""The dossier imports as jobs on the real stack (issue 18, docs/jobs.md): an organisation's
large JSON batch answers 202 at once, its progress moves, every row is reported and sending the
same batch again is the same job; a funder's spreadsheet reports its bad row by its line."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from contracts.jobs import FINISHED
from tests.support.gateway import new_organisation
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e
# The documented maximum (5,000) takes about 20 s here: the suite is at its time limit.
ROWS = 1000


@pytest.fixture(scope="module")
def organisation(stack, smtp_server, funder_admin):
    """An organisation of funder_admin's and its administrator's client."""
    return new_organisation(stack, smtp_server, funder_admin)


def row(number: str, **overrides) -> dict:
    """One beneficiary for every row: the batch is about the rows, not about accounts."""
    return {"number": number,
            "beneficiary": {"name": "LOT Import", "email": "lot-import@example.org"},
            "training_title": "CAP Boulanger", "session_start": "2026-02-02",
            "session_end": "2026-09-30", **overrides}


def test_a_batch_of_1000_dossiers_is_a_job_followed_to_its_end(stack, organisation):
    _, administrator = organisation
    expires = str(date.today() + timedelta(days=30))
    token = administrator.post("/api-tokens", json={"name": "ERP", "expires_on": expires,
                                                    "rights": ["enter_hours"]})
    assert token.status_code == 201, token.text
    software = type(administrator)(stack.base_url, token.json()["token"])
    suffix = uuid.uuid4().hex[:6]
    rows = [row(f"LOT{suffix}-{n}") for n in range(1, ROWS - 1)] + [
        row(f"LOT{suffix}-1"), row(f"LOT{suffix}-X", session_end="2026-01-01")]
    submitted = software.post("/dossiers/import", json={"rows": rows})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert (job["kind"], job["resubmitted"]) == ("dossiers.import", False)
    assert submitted.headers["Location"] == f"/jobs/{job['id']}"
    again = software.post("/dossiers/import", json={"rows": rows})
    assert (again.status_code, again.json()["id"], again.json()["resubmitted"]) == (
        200, job["id"], True)

    seen = progress_until_over(stack, job["id"])
    assert any(0 < rows_done < ROWS for rows_done in seen), seen  # reported as it goes
    done = software.get(submitted.headers["Location"]).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["phases"] == [{"name": "rows", "done": ROWS, "total": ROWS}]
    assert done["summary"] == {"created": ROWS - 2, "updated": 0, "unchanged": 0, "errors": 2}
    assert [item["row"] for item in done["items"]] == list(range(1, ROWS + 1))
    assert {item["outcome"] for item in done["items"][:-2]} == {"created"}
    assert [item["errors"][0]["code"] for item in done["items"][-2:]] == [
        "duplicate_number", "session_end_before_start"]
    last = software.get(f"/dossiers/{done['items'][ROWS - 3]['dossier_id']}").json()
    assert last["number"] == f"LOT{suffix}-{ROWS - 2}"


def progress_until_over(stack, job_id: str) -> list[int]:
    """The rows done, as polled until the job is over. Asked of dossiers as the ops command
    line does, not through the gateway: each request there is authenticated by identity,
    which the import's dossier_created events keep busy meanwhile."""
    from nameko.standalone.rpc import ClusterRpcProxy

    seen = []
    with ClusterRpcProxy({"AMQP_URI": stack.env["JALON_AMQP_URI"], "serializer": "json"},
                         timeout=30) as rpc:
        def over() -> bool:
            current = rpc.dossiers.get_job(None, job_id)
            seen.append(current["phases"][0]["done"])
            return current["status"] in FINISHED
        wait_until(over, timeout=300, interval=0.2, message=f"{job_id} over")
    return seen


def test_a_spreadsheet_import_reports_its_bad_row_by_its_line(funder_admin, organisation):
    siret, suffix = organisation[0]["siret"], uuid.uuid4().hex[:6]
    lines = ["N° dossier;SIRET;Bénéficiaire;E-mail bénéficiaire;Formation;Début de session;"
             "Fin de session",
             f"XL{suffix}-1;{siret};PETIT Anne;anne-{suffix}@example.org;Soudeur;05/01/2026;"
             "30/06/2026",
             "",
             f"XL{suffix}-2;{siret};ROUX Paul;paul-{suffix}@example.org;Soudeur;31/02/2026;"
             "30/06/2026"]
    submitted = funder_admin.post("/dossiers/import/spreadsheet", files={"file": (
        "dossiers.csv", "\r\n".join(lines).encode())})
    assert submitted.status_code == 202, submitted.text
    done = funder_admin.finished_job(submitted)
    assert (done["kind"], done["status"]) == ("dossiers.import_spreadsheet", "succeeded")
    assert [(item["row"], item["outcome"]) for item in done["items"]] == [
        (2, "created"), (4, "error")]
    [error] = done["items"][1]["errors"]
    assert (error["row"], error["field"], error["column"], error["code"]) == (
        4, "session_start", "Début de session", "invalid_date") and error["message"]
    refused = funder_admin.post("/dossiers/import/spreadsheet", files={"file": (
        "dossiers.pdf", b"%PDF-1.4\x00\x01")})
    assert (refused.status_code, refused.json()["code"]) == (422, "not_a_spreadsheet")
