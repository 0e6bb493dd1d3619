"""`jalon`, the ops team's command line (docs/operations.md, "The jalon command line").

Run beside the system (`make run`) with the same JALON_* settings: every command reads the
broker JALON_AMQP_URI names. Rich tables by default, `--json` for scripts; a broker or service
that cannot be reached, or an unknown id, is one line on stderr and exit code 1.
"""
from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from ops import dead_letters, jobs, month_end, outbox
from ops.broker import OpsError, services
from ops.commands import reported
from ops.output import JsonOption, console, now, print_json

app = typer.Typer(help="Jalon's ops command line: month-end status, dead letters, outboxes, "
                       "jobs, emails.", no_args_is_help=True)
app.add_typer(dead_letters.app, name="dead-letters")
app.add_typer(jobs.app, name="jobs")
emails = typer.Typer(help="Emails sent by notifications.", no_args_is_help=True)
app.add_typer(emails, name="emails")


MONTH = re.compile(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$")


def _month(value: str | None) -> str | None:
    if value is not None and not MONTH.match(value):
        raise typer.BadParameter(f"{value!r} is not a month like 2026-09 (YYYY-MM)")
    return value


@app.command("month-end")
@reported
def month_end_(funder: Annotated[Optional[str], typer.Option(
                   "--funder", help="one funder's code (or id)")] = None,
               month: Annotated[Optional[str], typer.Option(
                   "--month", help="one month, YYYY-MM", callback=_month)] = None,
               as_json: JsonOption = False) -> None:
    """Per funder and month: to certify, certified, locked, PDFs and emails pending."""
    with services() as cluster:
        report = month_end.gather(cluster, funder, month, now())
    if as_json:
        return print_json(report)
    month_end.show(report)


@app.command("outbox")
@reported
def outbox_(as_json: JsonOption = False) -> None:
    """Per service: events not published yet, the oldest one's age, the last publish."""
    with services() as cluster:
        rows = outbox.statuses(cluster, now())
    if as_json:
        return print_json(rows)
    outbox.show(rows)


@emails.command("resend")
@reported
def resend(email_id: str, as_json: JsonOption = False) -> None:
    """Send an email again (a copy, queued now), whichever funder it belongs to."""
    with services() as cluster:
        try:
            copy = cluster.call("notifications", "resend_email_as_ops", email_id)
        except OpsError as exc:
            if exc.code == "email_not_found":
                raise OpsError(f"no email with id {email_id}") from None
            raise
    if as_json:
        return print_json(copy)
    console.print(f"Queued {copy['id']} to {copy['to']}, a copy of {email_id} "
                  f"(« {copy['subject']} »).", highlight=False)
