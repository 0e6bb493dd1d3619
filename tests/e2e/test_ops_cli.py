"""`jalon`, the ops command line, against the running stack (issue 18, "An ops command line"):
each command as the ops team types it, through Typer's runner with the stack's settings."""
from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from kombu import Connection
from typer.testing import CliRunner

from contracts.envelope import routing_key
from ops.cli import app
from tests.support.gateway import certified_month, enter_month, payment
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e

# documents' handler of `certified`: an event it cannot parse is dead-lettered at once.
HANDLER_QUEUE = f"evt-certification-{routing_key('certified', 1)}--documents.on_certified"


@pytest.fixture(scope="module")
def jalon(stack):
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None, **env: str):
        result = runner.invoke(app, list(args), env={**stack.env, **env}, input=input)
        assert (result.exit_code == 0) == ok, (args, result.exit_code, result.output)
        return result
    return run


def as_json(result) -> dict | list:
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def month_end(world):
    """Of the world's dossier, last month's hours entered (to certify); the month before
    certified, which payments locks, documents renders and notifications emails."""
    entered = world["month"]
    enter_month(world["org"], f"{world['base']}/{entered}", "7")
    first, _ = certified_month(world, months_ago=2)
    return {"funder_id": world["funder_id"], "entered": entered,
            "certified": first.strftime("%Y-%m")}


def test_month_end_counts_each_stage_per_funder_and_month(jalon, month_end):
    def report():
        return as_json(jalon("month-end", "--funder", month_end["funder_id"], "--json"))
    # documents renders the certificate, notifications sends the emails: then nothing is
    # pending anywhere.
    settled = wait_until(lambda: (r := report())["oldest_pending_effect"] is None and all(
        row["pdfs_pending"] == 0 for row in r["months"]) and r,
        message="every effect of the month done")
    codes = {row.pop("funder_code") for row in settled["months"]}
    months = {row["month"]: row for row in settled["months"]}
    assert months[month_end["entered"]] == {
        "funder_id": month_end["funder_id"], "month": month_end["entered"], "to_certify": 1,
        "certified": 0, "locked": 0, "pdfs_pending": 0, "emails_pending": 0}
    assert months[month_end["certified"]] == {
        "funder_id": month_end["funder_id"], "month": month_end["certified"], "to_certify": 0,
        "certified": 1, "locked": 1, "pdfs_pending": 0, "emails_pending": 0}
    assert settled["emails"] == [] and settled["not_answering"] == []
    [code] = codes  # people know their funder by its code: --funder takes it too
    one = as_json(jalon("month-end", "--funder", code, "--month", month_end["entered"],
                        "--json"))
    assert [row["month"] for row in one["months"]] == [month_end["entered"]]
    assert "no funder 'nobody'" in jalon("month-end", "--funder", "nobody", ok=False).output
    table = jalon("month-end", "--funder", month_end["funder_id"]).stdout
    assert "Month-end per funder and month" in table and month_end["certified"] in table
    refused = jalon("month-end", "--month", "09/2026", ok=False)
    assert "is not a month like 2026-09" in refused.output


def test_outbox_of_every_service(jalon, month_end):
    rows = as_json(jalon("outbox", "--json"))
    assert {row["service"] for row in rows} >= {"certification", "payments", "documents",
                                                 "notifications", "identity", "dossiers"}
    assert all(row["answering"] and row["unpublished"] is not None for row in rows), rows
    published = {row["service"]: row["last_published_at"] for row in rows}
    assert published["payments"] is not None  # the lock of the certified month
    assert "Outbox per service" in jalon("outbox").stdout


def test_an_email_is_resent_by_the_ops_team(jalon, world, month_end):
    funder, to = world["funder"], world["beneficiary_email"]
    sent = wait_until(lambda: [e for e in funder.get("/emails").json() if e["to"] == to],
                      message="the certified month's email to the beneficiary")
    copy = as_json(jalon("emails", "resend", sent[0]["id"], "--json"))
    assert (copy["resent_from"], copy["to"]) == (sent[0]["id"], to)
    assert copy["id"] in {e["id"] for e in funder.get("/emails").json()}
    unknown = jalon("emails", "resend", "no-such-email", ok=False)
    assert "no email with id no-such-email" in unknown.output


def test_dead_letters_listed_shown_replayed_and_purged(jalon, stack):
    message_id = f"ops-poison-{uuid.uuid4().hex[:8]}"
    with Connection(stack.env["JALON_AMQP_URI"],
                    transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(b'{"hello": "world"}', exchange="", serializer=None,
                                      routing_key=HANDLER_QUEUE, message_id=message_id,
                                      content_type="application/json", content_encoding="utf-8",
                                      delivery_mode=2)

    def listed():
        found = as_json(jalon("dead-letters", "list", "--queue", HANDLER_QUEUE, "--json"))
        return [row for row in found if row["message_id"] == message_id]
    [dead] = wait_until(listed, message="the poison message dead-lettered")
    assert (dead["queue"], dead["attempts"]) == (HANDLER_QUEUE, 1)
    assert message_id in jalon("dead-letters", "list").stdout
    shown = as_json(jalon("dead-letters", "show", message_id, "--json"))
    assert shown["body"] == '{"hello": "world"}' and shown["queue"] == HANDLER_QUEUE
    assert "no dead letter with id nope" in jalon("dead-letters", "show", "nope",
                                                 ok=False).output
    jalon("dead-letters", "replay", ok=False)  # neither ids nor --all
    replayed = as_json(jalon("dead-letters", "replay", message_id, "--json"))
    assert replayed["replayed"] == [message_id] and replayed["unknown"] == []
    wait_until(listed, message="the replayed message dead-lettered again")  # still poison
    elsewhere = as_json(jalon("dead-letters", "replay", "--all", "--queue",
                              "evt-nobody-nothing.v1--nobody.on_nothing", "--json"))
    assert message_id not in elsewhere["replayed"] and listed()  # the filter keeps it
    every = as_json(jalon("dead-letters", "replay", "--all", "--queue", HANDLER_QUEUE,
                          "--json"))
    assert message_id in every["replayed"]
    wait_until(listed, message="replayed with --all, dead-lettered again")
    kept = jalon("dead-letters", "purge", "--queue", HANDLER_QUEUE, input="n\n", ok=False)
    assert "for good?" in kept.output and listed()
    purged = as_json(jalon("dead-letters", "purge", "--queue", HANDLER_QUEUE, "--yes",
                           "--json"))
    assert message_id in purged["purged"] and listed() == []


def test_an_unreachable_broker_is_one_line_and_exit_code_1(jalon):
    failed = jalon("outbox", ok=False, JALON_AMQP_URI="amqp://guest:guest@127.0.0.1:1/")
    assert failed.output.startswith("jalon: broker unreachable at amqp://guest:**@127.0.0.1:1/")
    assert "Traceback" not in failed.output


def test_jobs_listed_followed_to_their_end_and_cancelled(jalon, funder_admin, dossier):
    suffix = uuid.uuid4().hex[:6]

    def submitted(rows: int) -> str:
        answer = funder_admin.post("/payments/import", json={"payments": [
            payment(f"OPS{n}-{suffix}", dossier, str(date.today()), "10,00", advance=True)
            for n in range(rows)]})
        assert answer.status_code == 202, answer.text
        return answer.json()["id"]
    done_id = submitted(2)
    followed = jalon("jobs", "follow", done_id)
    assert f"{done_id}: succeeded" in followed.stdout and "payments" in followed.stdout
    awaited = as_json(jalon("jobs", "follow", done_id, "--json"))
    assert (awaited["status"], awaited["phases"][0]) == ("succeeded", {
        "name": "payments", "done": 2, "total": 2})
    listed = as_json(jalon("jobs", "list", "--status", "succeeded", "--json"))
    assert done_id in [job["id"] for job in listed]
    assert all(job["status"] == "succeeded" for job in listed)
    assert done_id in jalon("jobs", "list").stdout
    cancelled_id = submitted(100)
    cancelled = as_json(jalon("jobs", "cancel", cancelled_id, "--json"))
    assert cancelled["cancel_requested"] is True
    ended = jalon("jobs", "follow", cancelled_id, ok=False)
    assert f"jalon: job {cancelled_id} cancelled" in ended.output
    assert "job_finished" in jalon("jobs", "cancel", cancelled_id, ok=False).output
    assert "no job with id payments-nope" in jalon("jobs", "follow", "payments-nope",
                                                     ok=False).output
