"""One request followed through every process's log by its correlation id (issue 18): the
gateway's access line, the services it calls by RPC, the consumers of the events it caused,
down to the `email_sent` line of the email it queued, written later by the delivery loop."""
from __future__ import annotations

import contextlib
import json
import uuid

import pytest
import requests

from tests.support.gateway import PASSWORD, deposit, enter_month, sign_month
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e


def lines_with(stack, process: str, correlation_id: str) -> list[dict]:
    """The JSON lines of a process's log that carry the id (as `grep <id>` would find them)."""
    found = []
    for text in stack.log_path(process).read_text(encoding="utf-8").splitlines():
        if correlation_id in text and text.startswith("{"):
            line = json.loads(text)
            if line.get("correlation_id") == correlation_id:
                found.append(line)
    return found


def events_of(stack, process: str, correlation_id: str) -> set[str]:
    return {line["event"] for line in lines_with(stack, process, correlation_id)}


def traced(name: str) -> str:
    return f"trace-{name}-{uuid.uuid4().hex[:8]}"


def access_line(stack, correlation_id: str) -> dict:
    [line] = [line for line in lines_with(stack, "gateway", correlation_id)
              if line["event"] == "http_request"]
    return line


def test_a_certification_is_followed_through_every_process(stack, world):
    url = f"{world['base']}/{world['month']}"
    enter_month(world["org"], url, "70")
    sign_month(world["org"], world["dossier_id"], world["month"])
    correlation_id = traced("certify")
    certified = world["org"].post(f"{url}/certify", json={"attest": True},
                                  headers={"X-Correlation-Id": correlation_id})
    assert certified.status_code == 200, certified.text
    assert certified.headers["X-Correlation-Id"] == correlation_id

    line = access_line(stack, correlation_id)
    assert (line["method"], line["route"], line["status"]) == (
        "POST", "/dossiers/{dossier_id}/certificates/{month}/certify", 200)
    assert line["path"] == f"{url}/certify" and line["user_id"] and line["duration_ms"] > 0
    # Every process that writes a line for it: certification, then from its `certified`
    # event dossiers (the month recorded), documents (the final certificate's PDF),
    # notifications (the emails), payments (the month locked) and integration (the public
    # event). identity checks the token without a line: a login follows.
    expected = {"gateway", "certification", "dossiers", "documents", "notifications",
                "payments", "integration"}

    def silent():
        return {name for name in expected if not lines_with(stack, name, correlation_id)}
    with contextlib.suppress(TimeoutError):  # the assertion below names the silent ones
        wait_until(lambda: not silent())
    assert silent() == set()
    wait_until(lambda: "email_sent" in events_of(stack, "notifications", correlation_id),
               message="the certification's emails sent under its id")


def test_identity_logs_a_login_under_its_id(stack, world):
    """The one process the certification reaches without a line of its own (it checks the
    token): a login of its own."""
    correlation_id = traced("login")
    login = requests.post(f"{stack.base_url}/auth/login", timeout=10, headers={
        "X-Correlation-Id": correlation_id}, json={"identifier": world["org"].identifier,
                                                   "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert access_line(stack, correlation_id)["route"] == "/auth/login"
    assert "login_succeeded" in events_of(stack, "identity", correlation_id)


def test_a_document_rejection_is_followed_to_its_email_sent(stack, world):
    logo = deposit(world["org"], "logo")
    correlation_id = traced("reject")
    rejected = world["funder"].post(f"/documents/{logo}/reject", headers={
        "X-Correlation-Id": correlation_id}, json={
        "reason_code": "illegible", "reason_text": "Logo trop petit pour être imprimé"})
    assert rejected.status_code == 200, rejected.text

    assert access_line(stack, correlation_id)["route"] == "/documents/{document_id}/reject"
    # documents records the rejection without a line; its event carries the id on to
    # integration (the public event) and notifications, whose delivery loop sends the email.
    wait_until(lambda: "public_event_logged" in events_of(stack, "integration", correlation_id),
               message="the rejection's public event under its id")

    def rejection_email_sent():
        return [line for line in lines_with(stack, "notifications", correlation_id)
                if line["event"] == "email_sent" and line["template"] == "document_rejected"]
    wait_until(rejection_email_sent, message="the rejection's email_sent under its id")


def test_a_request_that_matches_no_route_is_logged_too(stack):
    correlation_id = traced("nowhere")
    response = requests.get(f"{stack.base_url}/nowhere/at/all",
                            headers={"X-Correlation-Id": correlation_id}, timeout=10)
    assert response.status_code == 404
    line = access_line(stack, correlation_id)
    assert (line["route"], line["status"], line["user_id"]) == ("unmatched", 404, None)
