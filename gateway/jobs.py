"""The /jobs routes (docs/jobs.md): which services run jobs, whom to ask about one, and the
answer to a submission. A job's id starts with its service's name: no lookup to route it."""
from __future__ import annotations

from werkzeug.wrappers import Response

from contracts.common.errors import NotFound, ServiceUnavailable
from gateway.errors import SERVICE_DOWN_CODES
from gateway.http import json_response

# The services mixing servicekit.jobs.JobEntrypoints in: GET /jobs asks each of them.
JOB_SERVICES = ("certification", "dossiers", "integration", "payments")

RESUBMITTED_DESCRIPTION = ("La même demande était déjà soumise (en attente, en cours ou "
                           "terminée depuis moins de 24 h) : c'est ce travail-là")
UNAVAILABLE_HEADER = "X-Unavailable-Services"
REPLAY_RESUBMITTED_DESCRIPTION = ("Le même rejeu était déjà demandé et n'est pas terminé : "
                                  "c'est ce travail-là")


def service_of(job_id: str) -> str:
    """The service that runs the job; job_not_found for an id no job service gave."""
    service = job_id.partition("-")[0]
    if service not in JOB_SERVICES:
        raise NotFound("job_not_found", "Aucun travail trouvé.")
    return service


def accepted(job: dict) -> Response:
    """202 with the new job and where to follow it; 200 with the job already submitted."""
    response = json_response(job, 200 if job["resubmitted"] else 202)
    response.headers["Location"] = f"/jobs/{job['id']}"
    return response


def listing(clients: dict[str, object], actor: dict, query: dict, limit: int) -> Response:
    """Every job service's jobs (`clients`: their RPC proxies by name) in one list, the most
    recently submitted first. One service out of reach does not take the others' jobs out: it
    is left out and named in the X-Unavailable-Services header; when none answers, 503."""
    found, down = [], []
    for name, client in clients.items():
        try:
            found.extend(client.list_jobs(actor, query))
        except ServiceUnavailable as exc:
            if exc.code not in SERVICE_DOWN_CODES or len(down) == len(clients) - 1:
                raise
            down.append(name)
    response = json_response(sorted(found, key=lambda job: job["created_at"],
                                    reverse=True)[:limit])
    if down:
        response.headers[UNAVAILABLE_HEADER] = ", ".join(down)
    return response
