"""`make run`'s demo data on the real stack, loaded twice: everything the issues ask for is
there after the first run, and the second run creates nothing."""
from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.conftest import Client
from tools import demo

pytestmark = pytest.mark.e2e


def test_demo_loads_once_with_its_accounts_and_certifier_profile(stack, smtp_server):
    def bootstrap() -> bool:
        return demo.bootstrap_funder(stack.env["JALON_AMQP_URI"])

    today = date.today()
    first = demo.load(stack.base_url, bootstrap, smtp_server.emails, today)
    emails_after_first = len(smtp_server.messages())
    second = demo.load(stack.base_url, bootstrap, smtp_server.emails, today)
    assert second == first
    assert len(smtp_server.messages()) == emails_after_first, "a second run sends nothing"

    anonymous = Client(stack.base_url)
    admin = anonymous.login(demo.ORGANISATION_USER.identifier, demo.PASSWORD)
    users = admin.get(f"/organisations/{first.organisation_id}/users").json()
    assert {u["identifier"]: u["rights"] for u in users} == {
        demo.ORGANISATION_USER.identifier: ["enter_hours", "certify_electronically", "payments",
                                            "documents", "users"],
        demo.SECOND_USER.identifier: ["enter_hours"]}
    assert not any(u["must_personalise"] for u in users)
    profile = admin.get(f"/organisations/{first.organisation_id}/profile").json()
    assert profile["certifier_requested"] is True
    assert (profile["kbis"]["status"], profile["consent_letter"]["status"]) == (
        "pending", "pending")
    assert profile["certification_method"]["method"] == 1

    agent = anonymous.login(demo.AGENT.identifier, demo.PASSWORD)
    assert agent.get("/me").json()["user"]["role"] == "funder_agent"
    assert len([d for d in agent.get("/dossiers").json()
                if d["number"] == demo.DOSSIER_NUMBER]) == 1
    statuses = sorted(d["status"] for d in admin.get("/documents").json())
    assert statuses == sorted(d.status for d in demo.DOCUMENTS)
