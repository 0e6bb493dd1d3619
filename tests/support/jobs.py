"""Jobs (servicekit.jobs) in memory, for handlers' fast tests: `FakeJobs` is `uow.jobs`,
`FakeStep` what a kind's work is given. A test submits through the handler, then runs the
job's work on `jobs.step(job_id)`, as the runner would; `crash_after` stops it midway (a dead
process) so that running a fresh step of the same job shows the resume."""
from __future__ import annotations

import copy
import uuid
from datetime import timedelta

from contracts.common import Actor
from contracts.jobs import FINISHED, Job
from servicekit.jobs import RESUBMISSION_WINDOW, JobCancelled, fingerprint, phase_list
from tools.waiting import wait_until


class Crashed(Exception):
    """The process running the job died (FakeStep.crash_after)."""


class FakeJobs:
    def __init__(self):
        self.jobs: dict[str, dict] = {}  # job id -> its record (as the jobs table holds it)

    def submit(self, kind: str, actor: Actor, payload: dict, phases: dict,
               window: timedelta = RESUBMISSION_WINDOW) -> dict:
        digest = fingerprint(kind, actor, payload)
        recognised = ("queued", "running") + (("succeeded",) if window else ())
        for record in self.jobs.values():
            if record["fingerprint"] == digest and record["status"] in recognised:
                return self.view(record["id"], resubmitted=True)
        job_id = f"{kind.partition('.')[0]}-{uuid.uuid4().hex}"
        self.jobs[job_id] = {"id": job_id, "kind": kind, "actor": actor,
                             "payload": copy.deepcopy(payload), "phases": phase_list(phases),
                             "fingerprint": digest, "status": "queued", "outcomes": {},
                             "summary": {}, "file": None, "cancel_requested": False}
        return self.view(job_id)

    def statuses(self, job_ids: list[str]) -> dict[str, str]:
        return {job_id: self.jobs[job_id]["status"] for job_id in job_ids if job_id in self.jobs}

    def forget(self, job_id: str) -> None:
        """Past the re-submission window: the same payload is a new job."""
        self.jobs[job_id]["fingerprint"] = None

    def view(self, job_id: str, resubmitted: bool = False) -> dict:
        record = self.jobs[job_id]
        return Job(id=job_id, kind=record["kind"], status=record["status"],
                   phases=record["phases"], created_at="2026-03-02T09:00:00Z",
                   summary=record["summary"], items=list(record["outcomes"].values()),
                   cancel_requested=record["cancel_requested"],
                   resubmitted=resubmitted).model_dump(mode="json")

    def record(self, step: "FakeStep", phase: str, count: int,
               outcomes: dict | None = None) -> None:
        """As JobStore.record: within the unit of work, rolled back with it."""
        step.progress(phase, count, outcomes)

    def step(self, job_id: str, crash_after: int | None = None) -> "FakeStep":
        return FakeStep(self, job_id, crash_after)

    def run(self, job_id: str, work, crash_after: int | None = None) -> dict:
        """Run `work(step)` to its end as the runner does; the job's view after."""
        record = self.jobs[job_id]
        record["status"] = "running"
        try:
            work(self.step(job_id, crash_after))
        except JobCancelled:
            record["status"] = "cancelled"
        else:
            record["status"] = "succeeded"
        return self.view(job_id)


class FakeStep:
    def __init__(self, store: FakeJobs, job_id: str, crash_after: int | None = None):
        self.store, self.job_id = store, job_id
        self.kind, self.actor = self.record["kind"], self.record["actor"]
        self.payload = copy.deepcopy(self.record["payload"])
        self.crash_after = crash_after
        self.summary: dict = {}

    @property
    def record(self) -> dict:
        """Looked up each time: a rolled-back unit of work gives the store a copy."""
        return self.store.jobs[self.job_id]

    @property
    def phases(self) -> list[dict]:
        return self.record["phases"]

    def done(self, phase: str) -> int:
        return self._phase(phase)["done"]

    def total(self, phase: str) -> int | None:
        return self._phase(phase)["total"]

    def outcomes(self) -> dict[int, dict]:
        return dict(sorted(copy.deepcopy(self.record["outcomes"]).items()))

    def set_total(self, phase: str, total: int) -> None:
        self._phase(phase)["total"] = total

    def advance(self, phase: str, count: int, outcomes: dict | None = None) -> None:
        self.progress(phase, count, outcomes)
        self.raise_if_cancelled()

    def progress(self, phase: str, count: int, outcomes: dict | None = None) -> None:
        """What advance and FakeJobs.record write; `crash_after` counts both."""
        if self.crash_after is not None:
            if self.crash_after == 0:
                raise Crashed(self.job_id)
            self.crash_after -= 1
        self._phase(phase)["done"] += count
        self.record["outcomes"].update(copy.deepcopy(outcomes or {}))

    def raise_if_cancelled(self) -> None:
        if self.record["cancel_requested"]:
            raise JobCancelled(self.job_id)

    def attach_file(self, data: bytes, name: str, media_type: str) -> None:
        self.record["file"] = (data, name, media_type)

    def finish(self, summary: dict) -> None:
        self.summary = self.record["summary"] = summary

    def _phase(self, name: str) -> dict:
        return next(phase for phase in self.phases if phase["name"] == name)


def finished_over_rpc(service, actor: dict, job: dict, timeout: float = 60) -> dict:
    """For integration tests: the job a service's RPC answered, followed by its get_job until
    it is over (items included)."""
    def over() -> dict | None:
        found = service.get_job(actor, job["id"])
        return found if found["status"] in FINISHED else None
    return wait_until(over, timeout=timeout, interval=0.2, message=f"job {job['id']} over")
