"""servicekit.jobs on SQLite, without a broker: submission and its re-submission, the claim
one runner wins, the resume of a job whose process died, the end after too many attempts,
cancellation, a failing kind, and who may see a job."""
from __future__ import annotations

import base64
import contextlib
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, create_engine, update
from sqlalchemy.orm import Session

from contracts.common import Actor, Role
from contracts.common.errors import Conflict, InvalidInput, NotFound
from contracts.jobs import JobQuery
from servicekit.db import Database, WriteGate, utcnow
from servicekit.jobs import (MAX_ATTEMPTS, JobEntrypoints, JobRunner, JobStore, JobWork,
                             add_job_tables, may_see)

metadata = MetaData()
JOBS, ITEMS = add_job_tables(metadata)
KIND = "things.import"
STAFF = Actor(user_id="u-agent", role=Role.funder_agent, funder_id="f1")
OTHER_STAFF = Actor(user_id="u-admin", role=Role.funder_admin, funder_id="f1")
CLAIRE = Actor(user_id="u-claire", role=Role.organisation_user, funder_id="f1",
               organisation_id="o1")
PAUL = Actor(user_id="u-paul", role=Role.organisation_user, funder_id="f1", organisation_id="o1")
ELSEWHERE = Actor(user_id="u-eve", role=Role.organisation_user, funder_id="f1",
                  organisation_id="o2")
OTHER_FUNDER = Actor(user_id="u-agent", role=Role.funder_agent, funder_id="f2")


class FakeContainer:
    """What a JobRunner uses of Nameko's container; workers run at once, in this thread."""

    service_name = "things"
    config: dict = {}

    def __init__(self, database: Database, works: list[JobWork]):
        self.dependencies, self.entrypoints = [database], works

    def spawn_worker(self, entrypoint, args, kwargs, context_data=None, handle_result=None):
        try:
            result, exc_info = entrypoint.work(*args), None
        except Exception:  # noqa: BLE001 - handed over as Nameko does
            result, exc_info = None, sys.exc_info()
        handle_result(None, result, exc_info)

    def spawn_managed_thread(self, run, identifier=None):
        """The loop is driven by the test (work_once)."""


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/things.db")
    metadata.create_all(engine)
    return engine


def a_runner(engine, **works) -> JobRunner:
    """A replica's runner doing `works` (kind with "_" for "."), the callables given a step."""
    database = Database(metadata)
    database.engine, database.attr_name, database._gate = engine, "db", WriteGate()
    entrypoints = []
    for kind, work in works.items():
        entrypoint = JobWork(kind.replace("_", "."))
        entrypoint.work = work
        entrypoints.append(entrypoint)
    runner = JobRunner()
    runner.container = FakeContainer(database, entrypoints)
    runner.setup()
    runner.start()
    return runner


def submit(engine, actor=STAFF, payload=None, kind=KIND) -> dict:
    with Session(engine) as session, session.begin():
        return JobStore(session, metadata).submit(kind, actor, payload or {"rows": [1, 2, 3]},
                                                  {"rows": 3, "files": None})


def job(engine, job_id: str, actor=None) -> dict:
    with Session(engine) as session:
        store = JobStore(session, metadata)
        return store.view(store.visible(actor, job_id), with_items=True)


def set_job(engine, job_id: str, **values) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(JOBS).where(JOBS.c.id == job_id).values(**values))


def count_rows(step) -> None:
    """A resumable kind: reports each row not yet done, then counts them."""
    rows = step.payload["rows"]
    for position in range(step.done("rows") + 1, len(rows) + 1):
        step.advance("rows", 1, {position: {"row": position, "result": "created"}})
    step.set_total("files", 0)
    step.finish({"created": len(step.outcomes())})


# ---- submission -------------------------------------------------------------------------------

def test_a_submission_is_queued_and_the_same_one_again_is_recognised(engine):
    first = submit(engine)
    assert (first["status"], first["resubmitted"], first["kind"]) == ("queued", False, KIND)
    assert first["id"].startswith("things-") and first["items"] is None
    assert first["phases"] == [{"name": "rows", "done": 0, "total": 3},
                               {"name": "files", "done": 0, "total": None}]
    # Another of the funder's staff sending the same file: the same job.
    again = submit(engine, OTHER_STAFF)
    assert (again["id"], again["resubmitted"]) == (first["id"], True)
    assert submit(engine, payload={"rows": [1]})["id"] != first["id"]
    assert submit(engine, OTHER_FUNDER)["id"] != first["id"]
    assert submit(engine, CLAIRE)["id"] != first["id"]


def test_a_failed_or_cancelled_job_is_not_reused(engine):
    first = submit(engine)
    set_job(engine, first["id"], status="failed", finished_at=utcnow())
    second = submit(engine)
    assert (second["resubmitted"], second["id"] != first["id"]) == (False, True)


def test_a_job_succeeded_long_ago_is_not_reused(engine):
    first = submit(engine)
    set_job(engine, first["id"], status="succeeded", finished_at=utcnow() - timedelta(days=2))
    assert submit(engine)["id"] != first["id"]


def test_work_asked_again_on_purpose_is_recognised_only_until_it_is_over(engine):
    def again() -> dict:
        with Session(engine) as session, session.begin():
            return JobStore(session, metadata).submit(KIND, STAFF, {"rows": [1]}, {"rows": 1},
                                                      window=timedelta(0))
    first = again()
    set_job(engine, first["id"], status="running")
    assert (again()["id"], again()["resubmitted"]) == (first["id"], True)
    set_job(engine, first["id"], status="succeeded", finished_at=utcnow())
    assert again()["id"] != first["id"]


def test_a_submission_wakes_the_runner_once_committed(engine):
    runner = a_runner(engine, things_import=count_rows)
    with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
        JobStore(session, metadata).submit(KIND, STAFF, {"rows": []}, {"rows": 0})
        raise RuntimeError("rolled back")
    assert not runner._wake.ready()
    submit(engine)
    assert runner._wake.ready()


# ---- running ------------------------------------------------------------------------------------

def test_the_jobs_in_each_status_are_counted_when_scraped(engine):
    runner = a_runner(engine, things_import=count_rows)
    done, waiting = submit(engine), submit(engine, payload={"rows": [9]})
    runner.work_once()
    set_job(engine, waiting["id"], status="queued")  # whichever the runner took first
    set_job(engine, done["id"], status="succeeded")
    by_status = {status: REGISTRY.get_sample_value("jalon_jobs_by_status", {
        "service": "things", "status": status})
        for status in ("queued", "running", "succeeded", "failed", "cancelled")}
    assert by_status == {"queued": 1, "running": 0, "succeeded": 1, "failed": 0,
                         "cancelled": 0}
    runner.stop()
    assert REGISTRY.get_sample_value("jalon_jobs_by_status", {
        "service": "things", "status": "queued"}) is None


def test_a_job_is_run_by_the_one_runner_that_claims_it(engine):
    first = submit(engine)
    one, other = a_runner(engine, things_import=count_rows), a_runner(engine,
                                                                      things_import=count_rows)
    claimed = one.claim()
    assert (claimed.id, claimed.status, claimed.attempts) == (first["id"], "running", 1)
    assert other.claim() is None
    one.run(claimed)
    done = job(engine, first["id"])
    assert (done["status"], done["summary"]) == ("succeeded", {"created": 3})
    assert done["phases"] == [{"name": "rows", "done": 3, "total": 3},
                              {"name": "files", "done": 0, "total": 0}]
    assert [item["row"] for item in done["items"]] == [1, 2, 3]
    assert done["started_at"] and done["finished_at"]
    assert one.work_once() == other.work_once() == 0


def test_a_runner_claims_only_the_kinds_it_does(engine):
    submit(engine, kind="other.export")
    assert a_runner(engine, things_import=count_rows).claim() is None


def test_a_job_whose_process_died_is_resumed_from_its_progress(engine):
    first = submit(engine)

    def dies_after_one_row(step):
        step.advance("rows", 1, {1: {"row": 1, "result": "created"}})
        raise SystemExit("the process dies")  # not an Exception: the worker never reports

    dead = a_runner(engine, things_import=dies_after_one_row)
    with pytest.raises(SystemExit):
        dead.run(dead.claim())
    survivor = a_runner(engine, things_import=count_rows)
    assert survivor.claim() is None  # its heartbeat is fresh: still someone's
    set_job(engine, first["id"], heartbeat_at=utcnow() - timedelta(seconds=31))
    claimed = survivor.claim()
    assert (claimed.attempts, claimed.phases[0]["done"]) == (2, 1)
    survivor.run(claimed)
    done = job(engine, first["id"])
    assert (done["status"], done["summary"]) == ("succeeded", {"created": 3})


def test_a_run_whose_job_was_taken_over_stops_and_leaves_it_to_the_new_run(engine):
    first = submit(engine)

    def overtaken(step):
        step.advance("rows", 1, {1: {"row": 1}})
        # Its heartbeat went stale (a stalled process): another replica claimed the job.
        set_job(engine, first["id"], attempts=step.attempts + 1)
        step.advance("rows", 1, {2: {"row": 2}})

    a_runner(engine, things_import=overtaken).work_once()
    left = job(engine, first["id"])
    assert (left["status"], left["phases"][0]["done"], left["items"]) == (
        "running", 1, [{"row": 1}])


def test_a_job_interrupted_too_often_fails_visibly(engine):
    first = submit(engine)
    set_job(engine, first["id"], status="running", attempts=MAX_ATTEMPTS,
            heartbeat_at=utcnow() - timedelta(minutes=5))
    runner = a_runner(engine, things_import=count_rows)
    assert runner.work_once() == 1
    failed = job(engine, first["id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "job_interrupted")
    assert failed["finished_at"] is not None and failed["items"] == []


def test_a_failing_kind_fails_its_job_with_the_error_code_or_job_failed(engine):
    def refuses(step):
        raise InvalidInput("empty_file", "Le fichier est vide.")

    def breaks(step):
        raise KeyError("bug")

    refused, broken = submit(engine), submit(engine, kind="things.export")
    runner = a_runner(engine, things_import=refuses, things_export=breaks)
    assert runner.work_once() == runner.work_once() == 1
    assert job(engine, refused["id"])["error"] == {"code": "empty_file",
                                                   "message": "Le fichier est vide."}
    assert job(engine, broken["id"])["error"]["code"] == "job_failed"
    assert job(engine, broken["id"])["status"] == "failed"


def test_a_file_produced_is_attached_to_the_job(engine):
    first = submit(engine)

    def exports(step):
        step.attach_file(b"a;b\n", "reglements.csv", "text/csv")

    a_runner(engine, things_import=exports).work_once()
    assert job(engine, first["id"])["file"] == {
        "name": "reglements.csv", "media_type": "text/csv",
        "url": f"/jobs/{first['id']}/file"}


def test_progress_recorded_with_the_work_is_rolled_back_with_it(engine):
    first = submit(engine)

    def records_in_the_works_transaction(step):
        with Session(engine) as session, session.begin():
            JobStore(session, metadata).record(step, "rows", 1, {1: {"row": 1}})
        with pytest.raises(RuntimeError), Session(engine) as session, session.begin():
            JobStore(session, metadata).record(step, "rows", 1, {2: {"row": 2}})
            raise RuntimeError("the work failed: nothing of it stays")
        step.advance("rows", 1, {2: {"row": 2, "again": True}})
        step.finish({"rows": step.done("rows")})

    a_runner(engine, things_import=records_in_the_works_transaction).work_once()
    done = job(engine, first["id"])
    assert (done["summary"], done["items"]) == ({"rows": 2}, [{"row": 1},
                                                              {"row": 2, "again": True}])


# ---- cancelling ---------------------------------------------------------------------------------

def cancel(engine, job_id: str, actor=STAFF) -> dict:
    with Session(engine) as session, session.begin():
        store = JobStore(session, metadata)
        return store.request_cancel(store.visible(actor, job_id))


def ended_count(status: str) -> float:
    return REGISTRY.get_sample_value("jalon_jobs_total", {
        "service": "things", "kind": KIND, "status": status}) or 0


def test_a_queued_job_is_cancelled_at_once_and_a_finished_one_cannot_be(engine):
    first = submit(engine)
    counted = ended_count("cancelled")
    cancelled = cancel(engine, first["id"])
    assert (cancelled["status"], cancelled["cancel_requested"]) == ("cancelled", True)
    assert ended_count("cancelled") == counted + 1  # as a job a runner ended
    assert a_runner(engine, things_import=count_rows).claim() is None
    with pytest.raises(Conflict) as exc:
        cancel(engine, first["id"])
    assert exc.value.code == "job_finished"


def test_a_running_job_stops_at_its_next_step_once_cancelled(engine):
    first = submit(engine)

    def cancelled_midway(step):
        step.advance("rows", 1, {1: {"row": 1}})
        cancel(engine, first["id"])
        step.advance("rows", 1, {2: {"row": 2}})
        step.advance("rows", 1, {3: {"row": 3}})

    a_runner(engine, things_import=cancelled_midway).work_once()
    stopped = job(engine, first["id"])
    assert (stopped["status"], stopped["phases"][0]["done"]) == ("cancelled", 2)
    assert [item["row"] for item in stopped["items"]] == [1, 2]


# ---- who sees a job ------------------------------------------------------------------------

def test_a_funder_job_is_its_staffs_and_an_organisation_job_its_users(engine):
    staff_job, claire_job = submit(engine), submit(engine, CLAIRE)
    with Session(engine) as session:
        rows = {row.id: row for row in session.execute(JOBS.select())}
    staff_row, claire_row = rows[staff_job["id"]], rows[claire_job["id"]]
    assert [may_see(who, staff_row) for who in (STAFF, OTHER_STAFF, CLAIRE, OTHER_FUNDER)] == [
        True, True, False, False]
    assert [may_see(who, claire_row) for who in (CLAIRE, PAUL, ELSEWHERE, STAFF)] == [
        True, True, False, False]
    assert may_see(None, claire_row)  # the ops command line


def test_anyone_else_is_told_the_job_does_not_exist(engine):
    first = submit(engine)
    for outsider in (CLAIRE, OTHER_FUNDER):
        with pytest.raises(NotFound) as exc:
            job(engine, first["id"], outsider)
        assert exc.value.code == "job_not_found"
        with pytest.raises(NotFound):
            cancel(engine, first["id"], outsider)
    with pytest.raises(NotFound):
        job(engine, "things-unknown", STAFF)


def test_the_list_shows_the_callers_jobs_newest_first_and_every_job_to_ops(engine):
    older, newer, claires = submit(engine), submit(engine, payload={"rows": [9]}), \
        submit(engine, CLAIRE)
    with Session(engine) as session:
        store = JobStore(session, metadata)
        assert [j["id"] for j in store.listed(STAFF, JobQuery())] == [newer["id"], older["id"]]
        assert [j["id"] for j in store.listed(PAUL, JobQuery())] == [claires["id"]]
        assert store.listed(OTHER_FUNDER, JobQuery()) == []
        assert len(store.listed(None, JobQuery())) == 3
        assert [j["id"] for j in store.listed(STAFF, JobQuery(limit=1))] == [newer["id"]]
        assert store.listed(STAFF, JobQuery(status="running")) == []


# ---- the RPCs every service with jobs has -------------------------------------------------------

class Things(JobEntrypoints):
    """A service's view of its store, as `self.db` gives it (reading, unit_of_work)."""

    def __init__(self, engine):
        self.engine = engine

    @property
    def db(self):
        return self

    @contextlib.contextmanager
    def reading(self):
        with Session(self.engine) as session:
            yield SimpleNamespace(jobs=JobStore(session, metadata))

    @contextlib.contextmanager
    def unit_of_work(self):
        with Session(self.engine) as session, session.begin():
            yield SimpleNamespace(jobs=JobStore(session, metadata))


def test_the_job_rpcs_answer_the_caller_and_the_ops_command_line(engine):
    first, service = submit(engine), Things(engine)
    caller = STAFF.model_dump(mode="json")
    assert service.get_job(caller, first["id"])["items"] == []
    assert [j["id"] for j in service.list_jobs(None, {"status": "queued"})] == [first["id"]]
    with pytest.raises(InvalidInput):
        service.list_jobs(caller, {"limit": 0})
    with pytest.raises(NotFound) as exc:
        service.job_file(caller, first["id"])
    assert exc.value.code == "job_file_not_found"

    def exports(step):
        step.attach_file(b"a;b\n", "reglements.csv", "text/csv")

    a_runner(engine, things_import=exports).work_once()
    produced = service.job_file(caller, first["id"])
    assert (produced["filename"], base64.b64decode(produced["content_base64"])) == (
        "reglements.csv", b"a;b\n")
    with pytest.raises(NotFound):
        service.job_file(CLAIRE.model_dump(mode="json"), first["id"])
    with pytest.raises(Conflict):
        service.cancel_job(caller, first["id"])
