"""Long work as jobs: answered at once, run in the background, followed by its progress.

How a service uses it (the HTTP shape is docs/jobs.md):

    # models.py
    add_job_tables(metadata)
    def repositories(session): return {..., "jobs": JobStore(session, metadata)}
    # migrations: one step calling create_tables_v1(op) / drop_tables_v1(op)

    # service.py
    class SomeService(JobEntrypoints, ServiceBase):   # get_job, list_jobs, job_file, cancel_job
        job_runner = JobRunner()
        @rpc
        def import_things(self, actor, payload):       # the submission
            return handlers.import_things(self.db, acting(actor), payload)
        @job("some.import")                           # the work, in a worker of its own
        def run_import(self, step):
            handlers.run_import(self.db, self.ports, step)

    # handlers.py
    with db.unit_of_work() as uow:
        reply = uow.jobs.submit("some.import", actor, payload, {"rows": 500, "files": None})
    ... def run_import(db, ports, step):
        start = step.done("rows")                      # resumed: what was recorded is done
        step.advance("rows", 25, {position: outcome})  # commits; raises JobCancelled
        # or the work and its progress in one transaction:
        with db.unit_of_work() as uow:
            ...; uow.jobs.record(step, "rows", 25, {position: outcome})
        step.raise_if_cancelled()
        step.set_total("files", n); step.attach_file(data, name, media_type)
        step.finish({"created": 498})

A kind is named "<service>.<work>" and its job ids "<service>-<hex>": the gateway routes
/jobs/{job_id} by the prefix. The same payload submitted again by the same owner while its
job is queued or running (or within RESUBMISSION_WINDOW after it succeeded) gets that job
back, marked `resubmitted`.

Each replica's `JobRunner` claims one job at a time by a conditional UPDATE (one replica wins
it, on SQLite and PostgreSQL alike), runs it in a worker of the service (its dependencies,
RPC clients included, and the submission's correlation id) and beats its heartbeat while it
runs. A job whose heartbeat is older than JALON_JOB_STALE_SECONDS lost its process: another
claim resumes it, up to MAX_ATTEMPTS, after which it fails visibly (`job_interrupted`). A run
that was only stalled then finds the job taken at its next write (JobTakenOver: that step
rolled back) and stops, so that two runs never both record progress.

A kind must therefore be resumable: it gets the progress already recorded and goes on from
there. Work done after the last `advance` is done again, so each unit must be idempotent
(an import row already written is found and reported as before); where the kind can, it
records its work and its progress in one transaction (`uow.jobs.record(step, ...)`, as the
dossier imports do).
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import get_args

import eventlet
import structlog
from eventlet.event import Event
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint
from nameko.rpc import rpc
from sqlalchemy import (JSON, Boolean, Column, DateTime, Integer, LargeBinary, MetaData, String,
                        Table, Text, and_, delete, event, func, insert, or_, select,
                        update)
from sqlalchemy.orm import Session

from contracts.common import Actor
from contracts.common.errors import Conflict, JalonError, NotFound
from contracts.jobs import FINISHED, Job, JobFileContent, JobQuery, JobStatus
from servicekit import config, metrics
from servicekit.access import acting
from servicekit.db import utcnow
from servicekit.idempotency import canonical_json
from servicekit.logging import get_logger
from servicekit.loop import BackgroundLoop
from servicekit.tables import UtcDateTime
from servicekit.validation import parse

log = get_logger(__name__)

MAX_ATTEMPTS = 3
RESUBMISSION_WINDOW = timedelta(hours=24)
# Only these count as "the same job" for a re-submission: a failed or cancelled one is redone.
_RECOGNISED = ("queued", "running", "succeeded")
_SUBMITTED = "jalon.jobs.submitted"
_CANCELLED = "jalon.jobs.cancelled"  # the kinds of the queued jobs cancelled, once committed


class JobCancelled(Exception):
    """Raised by JobStep.advance once cancellation was asked: the runner marks it cancelled."""


class JobTakenOver(Exception):
    """This run's heartbeat went stale and another claim took the job: this run stops, its
    last step rolled back, and leaves the job to the new one."""


# ---- tables ---------------------------------------------------------------------------------

def _job_columns(time_type) -> list[Column]:
    return [
        Column("id", String(64), primary_key=True),
        Column("kind", String(60), nullable=False),
        Column("user_id", String(64), nullable=False),
        Column("role", String(30), nullable=False),
        Column("funder_id", String(64), nullable=False),
        Column("organisation_id", String(64)),
        Column("actor", JSON, nullable=False),  # the work is done as its submitter
        Column("fingerprint", String(64), nullable=False, index=True),
        Column("status", String(20), nullable=False, index=True),
        Column("phases", JSON, nullable=False),
        Column("payload", Text, nullable=False),
        Column("summary", JSON),
        Column("error", JSON),
        Column("file", LargeBinary),
        Column("file_name", String(200)),
        Column("media_type", String(150)),
        Column("cancel_requested", Boolean, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("correlation_id", String(64)),
        Column("created_at", time_type, nullable=False, index=True),
        Column("started_at", time_type),
        Column("finished_at", time_type),
        Column("heartbeat_at", time_type),
    ]


def _item_columns() -> list[Column]:
    return [Column("job_id", String(64), primary_key=True),
            Column("position", Integer, primary_key=True),
            Column("outcome", JSON, nullable=False)]


def add_job_tables(metadata: MetaData) -> tuple[Table, Table]:
    """For the services that run jobs: `jobs` and `job_items` (one report per input row)."""
    return (Table("jobs", metadata, *_job_columns(UtcDateTime())),
            Table("job_items", metadata, *_item_columns()))


def _indexed_v1() -> list[str]:
    return [column.name for column in _job_columns(DateTime(timezone=True)) if column.index]


def create_tables_v1(op) -> None:
    """The Alembic step that creates the tables as add_job_tables first shaped them: one
    definition for every service's history (a later change is a new step, never an edit)."""
    op.create_table("jobs", *[Column(c.name, c.type, primary_key=c.primary_key,
                                     nullable=c.nullable)
                              for c in _job_columns(DateTime(timezone=True))])
    for name in _indexed_v1():
        op.create_index(f"ix_jobs_{name}", "jobs", [name], unique=False)
    op.create_table("job_items", *_item_columns())


def drop_tables_v1(op) -> None:
    op.drop_table("job_items")
    for name in _indexed_v1():
        op.drop_index(f"ix_jobs_{name}", table_name="jobs")
    op.drop_table("jobs")


# ---- who may see a job ----------------------------------------------------------------------

def owner_scope(actor: Actor) -> str:
    """Whose job it is: an organisation's users share theirs, a funder's staff theirs, anyone
    else keeps their own."""
    if actor.organisation_id:
        return f"organisation:{actor.funder_id}:{actor.organisation_id}"
    if actor.is_funder_staff:
        return f"funder:{actor.funder_id}"
    return f"user:{actor.funder_id}:{actor.user_id}"


def may_see(actor: Actor | None, row) -> bool:
    """None is the ops command line (internal RPC only): every job."""
    if actor is None or (actor.user_id, actor.funder_id) == (row.user_id, row.funder_id):
        return True
    return owner_scope(actor) == owner_scope(Actor.model_validate(row.actor))


def fingerprint(kind: str, actor: Actor, payload: dict) -> str:
    return hashlib.sha256(f"{kind}\n{owner_scope(actor)}\n{canonical_json(payload)}"
                          .encode()).hexdigest()


def job_not_found() -> NotFound:
    return NotFound("job_not_found", "Aucun travail trouvé.")


# ---- the store --------------------------------------------------------------------------------

def phase_list(phases: dict[str, int | None]) -> list[dict]:
    return [{"name": name, "done": 0, "total": total} for name, total in phases.items()]


class JobStore:
    """A service's jobs, as `uow.jobs` / `reading.jobs` (models.py's repositories)."""

    def __init__(self, session: Session, metadata: MetaData):
        self.session = session
        self.jobs = metadata.tables["jobs"]
        self.items = metadata.tables["job_items"]
        # What a view needs: not the payload (a whole upload) nor the file produced.
        self.shown = [column for column in self.jobs.c if column.name not in ("payload", "file")]

    def submit(self, kind: str, actor: Actor, payload: dict, phases: dict[str, int | None],
               window: timedelta = RESUBMISSION_WINDOW) -> dict:
        """The job's view (contracts.jobs.Job): a new one queued, or the same submission's
        job, `resubmitted` (a succeeded one only within `window`: 0 for work that is asked
        again on purpose). The runner is woken once this transaction commits; the job's work
        carries the submitting call's correlation id."""
        digest = fingerprint(kind, actor, payload)
        self._serialise(digest)
        jobs, now = self.jobs, utcnow()
        same = self.session.execute(
            select(*self.shown).where(jobs.c.fingerprint == digest, jobs.c.kind == kind,
                               jobs.c.status.in_(_RECOGNISED),
                               or_(jobs.c.status != "succeeded",
                                   jobs.c.finished_at > now - window))
            .order_by(jobs.c.created_at.desc()).limit(1)).first()
        if same is not None:  # the digest names its owner: theirs
            return self.view(same, resubmitted=True)
        job_id = f"{kind.partition('.')[0]}-{uuid.uuid4().hex}"
        self.session.execute(insert(jobs).values(
            id=job_id, kind=kind, user_id=actor.user_id, role=str(actor.role.value),
            funder_id=actor.funder_id, organisation_id=actor.organisation_id,
            actor=actor.model_dump(mode="json"), fingerprint=digest, status="queued",
            phases=phase_list(phases), payload=json.dumps(payload), summary={},
            cancel_requested=False, attempts=0,
            correlation_id=structlog.contextvars.get_contextvars().get("correlation_id"),
            created_at=now))
        self.session.info[_SUBMITTED] = True
        log.info("job_submitted", job_id=job_id, kind=kind)
        return self.view(self.row(job_id))

    def _serialise(self, digest: str) -> None:
        """Two identical submissions at once (a double click, two replicas) would both find no
        job and both add one: on PostgreSQL the second waits for the first's transaction, held
        by a lock on the fingerprint. (SQLite's writers are one at a time already.)"""
        if self.session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)
            self.session.execute(select(func.pg_advisory_xact_lock(key)))

    def row(self, job_id: str):
        return self.session.execute(select(*self.shown).where(self.jobs.c.id == job_id)).first()

    def statuses(self, job_ids: list[str]) -> dict[str, str]:
        """Each job's status, by id (the ids that are no job left out)."""
        jobs = self.jobs
        return dict(self.session.execute(select(jobs.c.id, jobs.c.status)
                                         .where(jobs.c.id.in_(job_ids))).all())

    def file(self, job_id: str) -> bytes | None:
        return self.session.execute(select(self.jobs.c.file)
                                    .where(self.jobs.c.id == job_id)).scalar()

    def visible(self, actor: Actor | None, job_id: str):
        """The job the actor may see; job_not_found for anyone else, as for none."""
        row = self.row(str(job_id))
        if row is None or not may_see(actor, row):
            raise job_not_found()
        return row

    def listed(self, actor: Actor | None, query: JobQuery) -> list[dict]:
        jobs = self.jobs
        statement = select(*self.shown).order_by(jobs.c.created_at.desc())
        if actor is not None:
            statement = statement.where(jobs.c.funder_id == actor.funder_id)
        if query.status:
            statement = statement.where(jobs.c.status == query.status)
        if query.kind:
            statement = statement.where(jobs.c.kind == query.kind)
        found = []
        for row in self.session.execute(statement).yield_per(200):
            if may_see(actor, row):
                found.append(self.view(row))
                if len(found) == query.limit:
                    break
        return found

    def outcomes(self, job_id: str) -> dict[int, dict]:
        """Each input row's report recorded so far, by position."""
        items = self.items
        return {position: outcome for position, outcome in self.session.execute(
            select(items.c.position, items.c.outcome).where(items.c.job_id == job_id)
            .order_by(items.c.position))}

    def record(self, step: "JobStep", phase: str, count: int,
               outcomes: dict[int, dict] | None = None) -> None:
        """step.advance within this unit of work: the work and its progress commit together
        (a resumed job never does a recorded chunk again). Then step.raise_if_cancelled."""
        step.record(self.session, phase, count, outcomes)

    def request_cancel(self, row) -> dict:
        """A queued job is cancelled at once; a running one at its next step."""
        if row.status in FINISHED:
            raise Conflict("job_finished", "Ce travail est déjà terminé.")
        jobs = self.jobs
        self.session.execute(update(jobs).where(jobs.c.id == row.id)
                             .values(cancel_requested=True))
        # Still queued, said the database: a runner claiming it meanwhile sees it cancelled.
        ended = self.session.execute(update(jobs).where(jobs.c.id == row.id,
                                                        jobs.c.status == "queued")
                                     .values(status="cancelled", finished_at=utcnow()))
        log.info("job_cancel_requested", job_id=row.id, kind=row.kind)
        if ended.rowcount == 1:  # ended here, not by a runner: counted here
            self.session.info.setdefault(_CANCELLED, []).append(row.kind)
        return self.view(self.row(row.id))

    def view(self, row, resubmitted: bool = False, with_items: bool = False) -> dict:
        file = None if row.file_name is None else {
            "name": row.file_name, "media_type": row.media_type, "url": f"/jobs/{row.id}/file"}
        job = Job(id=row.id, kind=row.kind, status=row.status, phases=row.phases,
                  created_at=row.created_at, started_at=row.started_at,
                  finished_at=row.finished_at, summary=row.summary or {},
                  items=list(self.outcomes(row.id).values()) if with_items else None,
                  error=row.error, file=file, cancel_requested=row.cancel_requested,
                  resubmitted=resubmitted)
        return job.model_dump(mode="json")


# ---- after a commit: waking the runner, counting cancellations ----------------------------

_runners: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # engine -> JobRunner


@event.listens_for(Session, "after_commit")
def _wake_runner(session: Session) -> None:
    if session.info.pop(_SUBMITTED, False):
        runner = _runners.get(session.get_bind())
        if runner is not None:
            runner.wake()


@event.listens_for(Session, "after_commit")
def _count_cancelled(session: Session) -> None:
    for kind in session.info.pop(_CANCELLED, ()):
        metrics.JOBS.labels(service=kind.partition(".")[0], kind=kind, status="cancelled").inc()


@event.listens_for(Session, "after_rollback")
def _forget_submission(session: Session) -> None:
    session.info.pop(_SUBMITTED, None)
    session.info.pop(_CANCELLED, None)


# ---- running ------------------------------------------------------------------------------

@dataclass
class JobStep:
    """What a kind's work is given: the job's payload and progress, and how to record more."""

    job_id: str
    kind: str
    actor: Actor
    payload: dict
    attempts: int
    runner: "JobRunner" = field(repr=False)
    summary: dict = field(default_factory=dict)

    def done(self, phase: str) -> int:
        """As committed: progress recorded in a transaction rolled back never counts."""
        with self.runner.session() as session:
            return _phase(self._phases(session), phase)["done"]

    def total(self, phase: str) -> int | None:
        with self.runner.session() as session:
            return _phase(self._phases(session), phase)["total"]

    def outcomes(self) -> dict[int, dict]:
        """The reports recorded so far (a resumed job has some), by position."""
        with self.runner.session() as session:
            return JobStore(session, self.runner.database.metadata).outcomes(self.job_id)

    def set_total(self, phase: str, total: int) -> None:
        with self.runner.database.write_gate(), self.runner.session() as session, \
                session.begin():
            phases = self._phases(session)
            _phase(phases, phase)["total"] = total
            self._update(session, phases=phases)

    def advance(self, phase: str, count: int, outcomes: dict[int, dict] | None = None) -> None:
        """`count` more done in `phase`, with these rows' reports (replacing any at the same
        positions), committed; then JobCancelled if cancellation was asked meanwhile."""
        with self.runner.database.write_gate(), self.runner.session() as session, \
                session.begin():
            self.record(session, phase, count, outcomes)
        self.raise_if_cancelled()

    def record(self, session: Session, phase: str, count: int,
               outcomes: dict[int, dict] | None = None) -> None:
        """As advance, in the caller's transaction, so that the work and its progress commit
        together; the caller then calls raise_if_cancelled."""
        items = self.runner.items
        phases = self._phases(session)
        _phase(phases, phase)["done"] += count
        if outcomes:
            session.execute(delete(items).where(items.c.job_id == self.job_id,
                                                items.c.position.in_(list(outcomes))))
            session.execute(insert(items), [
                {"job_id": self.job_id, "position": position, "outcome": outcome}
                for position, outcome in outcomes.items()])
        self._update(session, phases=phases, heartbeat_at=utcnow())

    def _update(self, session: Session, **values) -> None:
        """Write to the job while this run still holds it; JobTakenOver (and the transaction
        rolled back) once another claim took it."""
        if session.execute(update(self.runner.jobs).where(self.runner.held(
                self.job_id, self.attempts)).values(**values)).rowcount != 1:
            raise JobTakenOver(self.job_id)

    def raise_if_cancelled(self) -> None:
        jobs = self.runner.jobs
        with self.runner.session() as session:
            if session.execute(select(jobs.c.cancel_requested)
                               .where(jobs.c.id == self.job_id)).scalar():
                raise JobCancelled(self.job_id)

    def attach_file(self, data: bytes, name: str, media_type: str) -> None:
        with self.runner.database.write_gate(), self.runner.session() as session, \
                session.begin():
            self._update(session, file=data, file_name=name, media_type=media_type)

    def finish(self, summary: dict) -> None:
        """The counts shown at the end; the runner marks the job succeeded when it returns."""
        self.summary = summary

    def _phases(self, session: Session) -> list[dict]:
        jobs = self.runner.jobs
        return session.execute(select(jobs.c.phases).where(jobs.c.id == self.job_id)).scalar()


def _phase(phases: list[dict], name: str) -> dict:
    return next(phase for phase in phases if phase["name"] == name)


class JobWork(Entrypoint):
    """@job(kind): the service method that does a kind's work, given a JobStep."""

    def __init__(self, kind: str, **kwargs):
        self.kind = kind
        # Not a server error in Nameko's log: the runner logs how the job ended.
        super().__init__(expected_exceptions=(JobCancelled, JobTakenOver, JalonError),
                         **kwargs)


job = JobWork.decorator


class JobRunner(BackgroundLoop):
    """Declare next to a `Database` on a service with @job methods; see the module docstring."""

    name = "job_runner"

    def setup(self) -> None:
        super().setup()
        self.stale = timedelta(seconds=config.load().job_stale_seconds)
        self.works: dict[str, JobWork] = {}
        for status in get_args(JobStatus):
            metrics.JOBS_BY_STATUS.read_with((self.container.service_name, status),
                                             partial(self.count, status))

    def stop(self) -> None:
        super().stop()
        for status in get_args(JobStatus):
            metrics.JOBS_BY_STATUS.forget((self.container.service_name, status))

    def count(self, status: str) -> int:
        """The service's jobs in `status` now (read at scrape time)."""
        with self.session() as session:
            return session.execute(select(func.count()).where(self.jobs.c.status == status)
                                   ).scalar()

    def start(self) -> None:
        self.works = {entrypoint.kind: entrypoint for entrypoint in self.container.entrypoints
                      if isinstance(entrypoint, JobWork)}
        _runners[self.database.engine] = self
        super().start()

    def get_dependency(self, worker_ctx) -> None:
        return None

    @property
    def jobs(self) -> Table:
        return self.database.metadata.tables["jobs"]

    @property
    def items(self) -> Table:
        return self.database.metadata.tables["job_items"]

    def session(self) -> Session:
        return Session(self.database.engine)

    def work_once(self) -> int:
        row = self.claim()
        if row is None:
            return 0
        if row.attempts > MAX_ATTEMPTS:
            self._end(row, "failed", error={
                "code": "job_interrupted",
                "message": "Le travail a été interrompu plusieurs fois ; soumettez-le de "
                           "nouveau."})
        else:
            self.run(row)
        return 1

    def claim(self):
        """One job of ours, queued or left by a dead process, taken with attempts + 1 (None:
        nothing to do). Several replicas may try the same: one UPDATE matches."""
        jobs, now = self.jobs, utcnow()
        claimable = and_(jobs.c.kind.in_(list(self.works)), or_(
            jobs.c.status == "queued",
            and_(jobs.c.status == "running", jobs.c.heartbeat_at < now - self.stale)))
        with self.database.write_gate(), self.session() as session, session.begin():
            candidates = session.execute(select(jobs.c.id).where(claimable)
                                         .order_by(jobs.c.created_at).limit(5)).scalars().all()
            for job_id in candidates:
                taken = session.execute(update(jobs).where(jobs.c.id == job_id, claimable).values(
                    status="running", attempts=jobs.c.attempts + 1, heartbeat_at=now))
                if taken.rowcount == 1:
                    session.execute(update(jobs).where(jobs.c.id == job_id,
                                                       jobs.c.started_at.is_(None))
                                    .values(started_at=now))
                    return session.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return None

    def run(self, row) -> None:
        """Run the job in a worker, beating its heartbeat until the worker is done."""
        step = JobStep(job_id=row.id, kind=row.kind, actor=Actor.model_validate(row.actor),
                       payload=json.loads(row.payload), attempts=row.attempts, runner=self)
        log.info("job_started", job_id=row.id, kind=row.kind, attempt=row.attempts)
        finished = Event()

        def handle_result(worker_ctx, result, exc_info):
            finished.send(exc_info)
            return result, exc_info

        try:
            self.container.spawn_worker(
                self.works[row.kind], (step,), {},
                context_data={"correlation_id": row.correlation_id or uuid.uuid4().hex},
                handle_result=handle_result)
        except ContainerBeingKilled:
            return  # stale soon: another process resumes it
        beat = self.stale.total_seconds() / 3
        while not finished.ready():
            with eventlet.Timeout(beat, False):
                finished.wait()
            if not finished.ready():
                self._beat(row)
        self._settle(row, step, finished.wait())

    def held(self, job_id: str, attempts: int):
        """The job, while the run that claimed it as attempt `attempts` still holds it."""
        jobs = self.jobs
        return and_(jobs.c.id == job_id, jobs.c.attempts == attempts,
                    jobs.c.status == "running")

    def _beat(self, row) -> None:
        with self.database.write_gate(), self.session() as session, session.begin():
            session.execute(update(self.jobs).where(self.held(row.id, row.attempts))
                            .values(heartbeat_at=utcnow()))

    def _settle(self, row, step: JobStep, exc_info) -> None:
        if exc_info is None:
            self._end(row, "succeeded", summary=step.summary)
        elif isinstance(exc_info[1], JobCancelled):
            self._end(row, "cancelled")
        elif isinstance(exc_info[1], JobTakenOver):
            log.warning("job_taken_over", job_id=row.id, kind=row.kind, attempt=row.attempts)
        else:
            exc = exc_info[1]
            error = ({"code": exc.code, "message": exc.message} if isinstance(exc, JalonError)
                     else {"code": "job_failed",
                           "message": "Le travail a échoué ; l'équipe technique a l'erreur "
                                      "dans ses journaux."})
            log.error("job_error", job_id=row.id, kind=row.kind,
                      error=type(exc).__name__, code=error["code"])
            self._end(row, "failed", error=error)

    def _end(self, row, status: str, **values) -> None:
        with self.database.write_gate(), self.session() as session, session.begin():
            ended = session.execute(update(self.jobs).where(self.held(row.id, row.attempts))
                                    .values(status=status, finished_at=utcnow(), **values))
        if ended.rowcount != 1:
            log.warning("job_taken_over", job_id=row.id, kind=row.kind, attempt=row.attempts)
            return
        log.info("job_ended", job_id=row.id, kind=row.kind, status=status)
        metrics.JOBS.labels(service=self.container.service_name, kind=row.kind,
                            status=status).inc()


# ---- the RPCs of a service with jobs -----------------------------------------------------------

def _caller(actor) -> Actor | None:
    return None if actor is None else acting(actor)


class JobEntrypoints:
    """Mixed into a service class that runs jobs (it has `db` and a JobRunner). The gateway
    calls them with the user as actor; the ops command line with None (every job)."""

    @rpc
    def get_job(self, actor, job_id):
        with self.db.reading() as reading:
            row = reading.jobs.visible(_caller(actor), job_id)
            return reading.jobs.view(row, with_items=True)

    @rpc
    def list_jobs(self, actor, query=None):
        caller, parsed = _caller(actor), parse(JobQuery, query or {})
        with self.db.reading() as reading:
            return reading.jobs.listed(caller, parsed)

    @rpc
    def job_file(self, actor, job_id):
        with self.db.reading() as reading:
            row = reading.jobs.visible(_caller(actor), job_id)
            if row.file_name is None:
                raise NotFound("job_file_not_found",
                               "Ce travail n'a pas (encore) produit de fichier.")
            content = reading.jobs.file(row.id)
        return JobFileContent(filename=row.file_name, content_type=row.media_type,
                              content_base64=base64.b64encode(content).decode("ascii")
                              ).model_dump(mode="json")

    @rpc
    def cancel_job(self, actor, job_id):
        with self.db.unit_of_work() as uow:
            return uow.jobs.request_cancel(uow.jobs.visible(_caller(actor), job_id))
