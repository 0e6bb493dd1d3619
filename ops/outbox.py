"""`jalon outbox`: per service, the events committed but not published yet (how many, how
old the oldest) and the last publish, read from each service's `outbox_status` RPC
(servicekit.ops); a service that does not answer is a row saying so, not a failed table."""
from __future__ import annotations

from datetime import datetime

from ops.broker import OpsError, Services
from ops.output import age_seconds, age_text, console, table
from servicekit import registry


def statuses(services: Services, now: datetime) -> list[dict]:
    """One row per service with a database, stable keys whether it answered or not."""
    return [_status(services, name, now) for name in registry.databases()]


def _status(services: Services, name: str, now: datetime) -> dict:
    try:
        status = services.call(name, "outbox_status")
    except OpsError as exc:
        return {"service": name, "answering": False, "error": str(exc), "unpublished": None,
                "oldest_unpublished_at": None, "oldest_age_seconds": None,
                "last_published_at": None}
    return {**status, "answering": True, "error": None,
            "oldest_age_seconds": age_seconds(status["oldest_unpublished_at"], now)}


def show(rows: list[dict]) -> None:
    console.print(table("Outbox per service", [
        "Service", "Unpublished", "Oldest\nunpublished", "Last\npublished"], [
        [row["service"], row["unpublished"], age_text(row["oldest_age_seconds"]),
         row["last_published_at"] or "—"] if row["answering"] else
        [row["service"], "not answering", "", ""] for row in rows], numeric=(1, 2)))
