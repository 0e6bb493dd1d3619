"""`jalon jobs list | follow ID | cancel ID`: long work of every service (servicekit.jobs),
asked as ops (actor None: every funder's jobs). A job's id starts with its service's name;
a listing asks every service with a database, and those without jobs say so."""
from __future__ import annotations

import time
from typing import Annotated, Optional, get_args

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.jobs import FINISHED, MAX_LISTED, JobStatus
from ops.broker import OpsError, Services, services
from ops.commands import reported
from ops.output import JsonOption, console, print_json, table
from servicekit import registry

app = typer.Typer(help="Long work (imports, exports) run as jobs by the services.",
                  no_args_is_help=True)

POLL_SECONDS = 0.5
NO_JOBS = "method_not_found"  # a service that runs no jobs
STATUSES = get_args(JobStatus)


def _status(value: str | None) -> str | None:
    if value is not None and value not in STATUSES:
        raise typer.BadParameter(f"{value!r} is none of {', '.join(STATUSES)}")
    return value


@app.command("list")
@reported
def list_(status: Annotated[Optional[str], typer.Option(
              "--status", help=" | ".join(STATUSES), callback=_status)] = None,
          kind: Annotated[Optional[str], typer.Option(
              "--kind", help="one kind, e.g. payments.import")] = None,
          limit: Annotated[int, typer.Option(min=1, max=MAX_LISTED)] = 50,
          as_json: JsonOption = False) -> None:
    """Every service's jobs, the most recently submitted first."""
    query = {"status": status, "kind": kind, "limit": limit}
    with services() as cluster:
        found = [job for name in registry.databases() for job in _listed(cluster, name, query)]
    found = sorted(found, key=lambda job: job["created_at"], reverse=True)[:limit]
    if as_json:
        return print_json(found)
    console.print(table(f"Jobs ({len(found)})", [
        "Job id", "Kind", "Status", "Progress", "Submitted"], [
        [job["id"], job["kind"], job["status"], _progress(job),
         job["created_at"][:16].replace("T", " ")]
        for job in found], fold=(3, 4)))


@app.command()
@reported
def follow(job_id: str, as_json: JsonOption = False) -> None:
    """A progress bar per phase until the job ends; exit code 1 unless it succeeded."""
    with services() as cluster:
        job = _wait(cluster, job_id) if as_json else _watch(cluster, job_id)
    if as_json:
        print_json(job)
    else:
        console.print(f"{job['id']}: {job['status']} {job['summary'] or ''}", highlight=False)
    if job["status"] != "succeeded":
        error = job["error"] or {"code": job["status"], "message": ""}
        raise OpsError(f"job {job_id} {job['status']}: {error['code']} {error['message']}")


@app.command()
@reported
def cancel(job_id: str, as_json: JsonOption = False) -> None:
    """Cancel a job: a queued one at once, a running one at its next step."""
    with services() as cluster:
        job = _call(cluster, job_id, "cancel_job")
    if as_json:
        return print_json(job)
    said = ("cancelled." if job["status"] == "cancelled"
            else f"{job['status']}, cancellation requested: it stops at its next step.")
    console.print(f"{job['id']}: {said}", highlight=False)


def _listed(cluster: Services, service: str, query: dict) -> list[dict]:
    """The service's jobs; none from one that runs none, or does not answer (said on stderr:
    the others are still listed)."""
    try:
        return cluster.call(service, "list_jobs", None, query)
    except OpsError as exc:
        if exc.code != NO_JOBS:
            typer.echo(f"jalon: {exc}; its jobs are not listed", err=True)
        return []


def _call(cluster: Services, job_id: str, method: str) -> dict:
    """`method(None, job_id)` of the job's service; an unknown id is an OpsError saying so."""
    service = job_id.partition("-")[0]
    unknown = OpsError(f"no job with id {job_id}")
    if service not in registry.databases():
        raise unknown
    try:
        return cluster.call(service, method, None, job_id)
    except OpsError as exc:
        if exc.code in ("job_not_found", NO_JOBS):
            raise unknown from None
        raise


def _wait(cluster: Services, job_id: str) -> dict:
    while (job := _call(cluster, job_id, "get_job"))["status"] not in FINISHED:
        time.sleep(POLL_SECONDS)
    return job


def _watch(cluster: Services, job_id: str) -> dict:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        bars = {}
        while True:
            job = _call(cluster, job_id, "get_job")
            for phase in job["phases"]:
                if phase["name"] not in bars:
                    bars[phase["name"]] = progress.add_task(phase["name"], total=phase["total"])
                progress.update(bars[phase["name"]], completed=phase["done"],
                                total=phase["total"])
            if job["status"] in FINISHED:
                return job
            time.sleep(POLL_SECONDS)


def _progress(job: dict) -> str:
    return ", ".join(f"{phase['name']} {phase['done']}/{phase['total'] or '?'}"
                     for phase in job["phases"])
