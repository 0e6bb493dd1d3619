"""(f) replicas: what a second documents process buys in PDF throughput.

One stack with two documents processes; certifier organisations set up as month-end's
(bench/month_end.py), in two halves. For each half in turn, documents is held (stopped, as a
deployment scaled to zero) while the clients certify the half's months by method 2, so that
its certified events wait in documents' queue; once every other effect is done and the stack
is idle, one documents process (first half) or two (second half) start and render and file
that backlog. The throughput counts from the first certificate filed to the last, by the
documents' own timestamps: a process's start is not in it. The ratio: two processes ÷ one.
"""
from __future__ import annotations

import time
from datetime import datetime

from bench import cpu
from bench.month_end import Ready, certify_all, dossiers_of, measure_cpu, organisations_ready
from bench.run import wait_for_months
from tools.smtp import SmtpServer
from tools.waiting import wait_until

DOCUMENTS = ("documents", "documents.2")


def drive(stack, amqp_uri: str, smtp: SmtpServer, organisations: int, dossiers: int,
          clients: int) -> dict:
    with organisations_ready(stack, amqp_uri, smtp, organisations, dossiers, clients) as ready:
        half = len(ready.organisations) // 2
        one = backlog(stack, smtp, ready, ready.organisations[:half], DOCUMENTS[:1])
        two = backlog(stack, smtp, ready, ready.organisations[half:], DOCUMENTS)
    return {"setup_s": ready.setup_s, "settle_s": ready.settle_s, "one": one, "two": two,
            "ratio_two_to_one": (round(two["pdfs_per_s"] / one["pdfs_per_s"], 3)
                                 if one.get("pdfs_per_s") and two.get("pdfs_per_s") else None),
            "notes": "one/two: a backlog of certified months rendered and filed by one or two "
                     "documents processes, the rest of the stack idle; pdfs_per_s: (PDFs - 1) "
                     "over the time from the first filed to the last (documents' created_at); "
                     "elapsed_s: from the processes' start to the last PDF listed; cpu: "
                     "bench/cpu.py over that time"}


def backlog(stack, smtp: SmtpServer, ready: Ready, organisations, processes) -> dict:
    work = dossiers_of(organisations)
    stack.hold(*DOCUMENTS)
    emails = ready.inbox.to_beneficiaries_and_employers["certified"]
    certify_all(ready, work)
    # The other effects done (the two emails of each month sent last): only documents works.
    wait_until(lambda: ready.inbox.to_beneficiaries_and_employers["certified"]
               >= emails + 2 * len(work), 600, message="the certified months' emails")
    cpu.wait_idle({name: process for name, process in stack.processes.items()
                   if name not in DOCUMENTS})
    before = measure_cpu(stack, smtp)
    started = time.perf_counter()
    stack.release(*processes)
    filed: dict[tuple[str, str], datetime] = {}
    pending = [(organisation.client, dossier_id) for organisation, (dossier_id, _) in work]

    def done(item) -> bool:
        client, dossier_id = item
        filed_at = _filed_at(client, dossier_id, ready.month)
        if filed_at is not None:
            filed[item] = filed_at
        return filed_at is not None

    wait_for_months(pending, done, timeout=600)
    elapsed = time.perf_counter() - started
    times = sorted(filed.values())
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0
    return {"processes": len(processes), "months": len(work), "pdfs": len(filed),
            "months_not_done": len(pending), "elapsed_s": round(elapsed, 3),
            "pdfs_per_s": round((len(times) - 1) / span, 3) if span else None,
            "cpu": cpu.used(before, measure_cpu(stack, smtp), len(filed))}


def _filed_at(client, dossier_id: str, month: str) -> datetime | None:
    """When the month's certificate was filed; None before (or while documents answers 503)."""
    try:
        documents = client.call("GET", f"/dossiers/{dossier_id}/documents").json()
    except RuntimeError:  # HttpError among them
        return None
    return next((datetime.fromisoformat(document["created_at"]) for document in documents
                 if document.get("month") == month), None)
