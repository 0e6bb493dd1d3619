"""`jalon month-end`: per funder and month, the months to certify (open for entry), certified,
locked for payment, the certificate PDFs not produced yet and the emails not sent yet (with
the oldest of them, and the emails about no month apart); and the oldest effect still pending
anywhere (an unpublished outbox row of any service, an unsent email). Each number comes from
the service that holds it, one query each."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from ops import outbox
from ops.broker import OpsError, Services
from ops.output import age_seconds, age_text, console, table

COUNTS = ("to_certify", "certified", "locked", "pdfs_pending", "emails_pending")


def gather(services: Services, funder: str | None, month: str | None,
           now: datetime) -> dict:
    """`funder`: a funder's code (as its people know it) or id; None: every funder."""
    codes = {row["id"]: row["code"] for row in services.call("identity", "funders_directory")}
    funder_id = funder_id_of(codes, funder) if funder else None
    query = {"funder_id": funder_id, "month": month}
    return with_codes(combine(
        certificates=services.call("certification", "month_end_counts", query),
        locks=services.call("payments", "month_end_locks", query),
        produced=services.call("documents", "certificates_produced", query),
        emails=[row for row in services.call("notifications", "email_backlog", funder_id)
                if month is None or row["month"] == month],
        outboxes=outbox.statuses(services, now), now=now), codes)


def funder_id_of(codes: dict[str, str], given: str) -> str:
    if given in codes:
        return given
    by_code = {code: funder_id for funder_id, code in codes.items()}
    if given not in by_code:
        raise OpsError(f"no funder {given!r} (give its code or its id)", "funder_not_found")
    return by_code[given]


def with_codes(report: dict, codes: dict[str, str]) -> dict:
    """Each row also says its funder's code: ids mean nothing to the people watching."""
    for row in report["months"] + report["emails"]:
        row["funder_code"] = codes.get(row["funder_id"])
    effect = report.get("oldest_pending_effect")
    if effect and effect["kind"] == "email":
        effect["funder_code"] = codes.get(effect["where"])
    return report


def combine(certificates: list[dict], locks: list[dict], produced: list[dict],
            emails: list[dict], outboxes: list[dict], now: datetime) -> dict:
    """The report: {"months": [...], "emails": [...], "oldest_pending_effect": {...} | None,
    "not_answering": [services whose outbox could not be read]}."""
    months = defaultdict(lambda: dict.fromkeys(("to_certify", "certified", "locked",
                                                "produced", "emails_pending"), 0))
    for rows in (certificates, locks, produced):
        for row in rows:
            months[row["funder_id"], row["month"]].update(
                {key: value for key, value in row.items() if key not in ("funder_id", "month")})
    for row in emails:
        if row["month"] is not None:
            months[row["funder_id"], row["month"]]["emails_pending"] = row["pending"]
    return {
        "months": [{"funder_id": funder_id, "month": month, "to_certify": n["to_certify"],
                    "certified": n["certified"], "locked": n["locked"],
                    "pdfs_pending": max(0, n["certified"] - n["produced"]),
                    "emails_pending": n["emails_pending"]}
                   for (funder_id, month), n in sorted(months.items())],
        "emails": [{**row, "oldest_age_seconds": age_seconds(row["oldest_pending_at"], now)}
                   for row in emails],
        "oldest_pending_effect": _oldest_effect(emails, outboxes, now),
        "not_answering": [row["service"] for row in outboxes if not row["answering"]],
    }


def _oldest_effect(emails: list[dict], outboxes: list[dict], now: datetime) -> dict | None:
    pending = [("outbox", row["service"], row["oldest_unpublished_at"]) for row in outboxes
               if row["answering"] and row["oldest_unpublished_at"]]
    pending += [("email", row["funder_id"], row["oldest_pending_at"]) for row in emails]
    if not pending:
        return None
    kind, where, since = min(pending, key=lambda effect: effect[2])
    return {"kind": kind, "where": where, "since": since,
            "age_seconds": age_seconds(since, now)}


def show(report: dict) -> None:
    console.print(table("Month-end per funder and month", [
        "Funder", "Month", "To\ncertify", "Certified", "Locked", "PDFs\npending",
        "Emails\npending"], [[_funder(row), row["month"], *(row[key] for key in COUNTS)]
                            for row in report["months"]], numeric=(2, 3, 4, 5, 6), fold=(0,)))
    console.print(table("Emails pending per funder and month", [
        "Funder", "Month", "Pending", "Oldest"], [
        [_funder(row), row["month"] or "(none)", row["pending"],
         age_text(row["oldest_age_seconds"])]
        for row in report["emails"]], numeric=(2, 3), fold=(0,)))
    effect = report["oldest_pending_effect"]
    if effect is None:
        console.print("Oldest pending effect: none, everything is published and sent.")
    else:
        funder = effect.get("funder_code") or effect["where"] or "(none)"
        what = (f"{effect['where']}'s outbox" if effect["kind"] == "outbox"
                else f"an email of funder {funder}")
        console.print(f"Oldest pending effect: {what}, {age_text(effect['age_seconds'])} "
                      f"(since {effect['since']}).")
    for service in report["not_answering"]:
        console.print(f"[yellow]{service} not answering: its outbox is not counted.[/yellow]")


def _funder(row: dict) -> str:
    return row.get("funder_code") or row["funder_id"] or "(no funder)"
