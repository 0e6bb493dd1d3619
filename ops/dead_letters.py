"""`jalon dead-letters list | show ID | replay (ID... | --all) | purge`, over the dead-letter
queue (servicekit.deadletters); `--queue` keeps the messages that failed on that handler's
queue."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ops.broker import OpsError, dead_letter_queue
from ops.commands import reported
from ops.output import JsonOption, console, print_json, table
from servicekit import deadletters

app = typer.Typer(help="The dead-letter queue: messages no handler could take.",
                  no_args_is_help=True)

QueueOption = Annotated[Optional[str], typer.Option(
    "--queue", help="only messages that failed on this handler's queue")]
ERROR_WIDTH = 60


@app.command("list")
@reported
def list_(queue: QueueOption = None, as_json: JsonOption = False) -> None:
    """Every dead letter: id, queue it failed on, attempts, error."""
    with dead_letter_queue() as (amqp_uri, dead_letters):
        found = deadletters.list_dead_letters(amqp_uri, dead_letters, queue)
    if as_json:
        return print_json(found)
    console.print(table(f"Dead letters ({len(found)})", [
        "Message id", "Queue", "Attempts", "Failed at", "Error"], [
        [row["message_id"], row.get("queue", "?"), row.get("attempts", "?"),
         row.get("failed_at", "?")[:19], _short(row.get("error", ""))] for row in found],
        numeric=(2,), fold=(1, 4)))


@app.command()
@reported
def show(message_id: str, as_json: JsonOption = False) -> None:
    """One dead letter in full: where and why it failed, its headers and its body."""
    with dead_letter_queue() as (amqp_uri, dead_letters):
        found = deadletters.show(amqp_uri, dead_letters, message_id)
    if found is None:
        raise OpsError(f"no dead letter with id {message_id}")
    if as_json:
        return print_json(found)
    for key, value in found.items():
        if key not in ("headers", "body", "body_base64"):
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)
    console.print("[bold]headers[/bold]:", found["headers"])
    body = found.get("body")
    console.print("[bold]body[/bold]:" if body is not None else "[bold]body (base64)[/bold]:")
    console.print(body if body is not None else found["body_base64"], markup=False,
                  highlight=False)


@app.command()
@reported
def replay(message_ids: Annotated[Optional[list[str]], typer.Argument(
               help="ids of the messages to send back")] = None,
           all_: Annotated[bool, typer.Option("--all", help="every dead letter (of --queue)")]
           = False,
           queue: QueueOption = None, as_json: JsonOption = False) -> None:
    """Send dead letters back to the queue they failed on, their retries reset."""
    ids = set(message_ids or ())
    if bool(ids) == all_:
        raise OpsError("give message ids, or --all (with --queue to keep one queue's)")
    with dead_letter_queue() as (amqp_uri, dead_letters):
        result = deadletters.replay(amqp_uri, dead_letters, ids or None, queue)
    unknown = sorted(ids - set(result["replayed"]) - {s["message_id"] for s in result["skipped"]})
    if as_json:
        print_json({**result, "unknown": unknown})
    else:
        console.print(f"Replayed {len(result['replayed'])}: {', '.join(result['replayed'])}",
                      highlight=False)
        for skipped in result["skipped"]:
            console.print(f"Skipped {skipped['message_id']} ({skipped['reason']}): "
                          f"{skipped['detail']}", highlight=False)
    if unknown:
        raise OpsError(f"no dead letter with id {', '.join(unknown)}")


@app.command()
@reported
def purge(queue: QueueOption = None,
          yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
          as_json: JsonOption = False) -> None:
    """Remove dead letters for good (those of --queue, or all), after a confirmation."""
    with dead_letter_queue() as (amqp_uri, dead_letters):
        listed = {row["message_id"] for row in
                  deadletters.list_dead_letters(amqp_uri, dead_letters, queue)}
        if not listed:
            purged = []
        else:
            if not yes:
                typer.confirm(f"Remove {len(listed)} dead letter(s) for good?", abort=True)
            # Only those listed: one dead-lettered since the prompt was not seen.
            purged = deadletters.purge(amqp_uri, dead_letters, listed, queue)
    if as_json:
        return print_json({"purged": purged})
    console.print(f"Purged {len(purged)} dead letter(s).")


def _short(error: str) -> str:
    line = error.splitlines()[0] if error else ""
    return line if len(line) <= ERROR_WIDTH else line[:ERROR_WIDTH - 1] + "…"
