"""The notification centre through the gateway on the real stack (issue 16): a certified
month notifies the beneficiary (with the link to the month), read marks are theirs, another
beneficiary sees nothing; a beneficiary who chose the daily digest gets it once, by the real
SMTP server, however many times the digest runs."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from contracts.common.formatting import of_month_fr
from tests.support.gateway import (bootstrap_funder, enter_month, first_login, letterhead_ready,
                                   month_shift, new_organisation, sign_month)
from tools import digest
from tools.client import wait_for_email
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(stack, smtp_server):
    funder = bootstrap_funder(stack)
    organisation, org = new_organisation(stack, smtp_server, funder)
    letterhead_ready(org, organisation["id"])
    suffix = uuid.uuid4().hex[:6]
    emails = {"bene": f"nina-{suffix}@beneficiary.example.org",
              "other": f"yves-{suffix}@beneficiary.example.org"}
    beneficiary = funder.post("/beneficiaries", json={"name": "ROUX Nina",
                                                      "email": emails["bene"]}).json()
    other = funder.post("/beneficiaries", json={"name": "AUTRE Yves",
                                                "email": emails["other"]}).json()
    today = date.today()
    dossiers = []
    for number, who in ((f"NC{suffix}", beneficiary), (f"ND{suffix}", other)):
        created = funder.post("/dossiers", json={
            "number": number, "organisation_id": organisation["id"],
            "beneficiary_id": who["id"], "employer_id": None,
            "training_title": "BTS Tourisme", "session_start": str(month_shift(today, -3)),
            "session_end": str(month_shift(today, 3))})
        assert created.status_code == 201, created.text
        dossiers.append(created.json())
    parties = {role: first_login(stack, smtp_server, email, email)
               for role, email in emails.items()}
    return {"org": org, "dossier": dossiers[0], "emails": emails, **parties}


def certify(world, months_ago: int) -> str:
    month = month_shift(date.today(), -months_ago).strftime("%Y-%m")
    url = f"/dossiers/{world['dossier']['id']}/certificates/{month}"
    enter_month(world["org"], url, "70")
    sign_month(world["org"], world["dossier"]["id"], month)
    done = world["org"].post(f"{url}/certify", json={"attest": True})
    assert done.status_code == 200, done.text
    return month


def notified(client, month: str) -> dict:
    def found():
        return [n for n in client.get("/notifications").json()
                if n["object"]["link"].endswith(f"/certificates/{month}")]
    return wait_until(found, message=f"the notification of {month}")[0]


def test_the_beneficiary_is_notified_with_the_link_and_only_they_see_it(world):
    bene, other = world["bene"], world["other"]
    month = certify(world, 1)
    notice = notified(bene, month)
    assert notice["kind"] == "certified_beneficiary"
    assert notice["object"]["link"] == f"/dossiers/{world['dossier']['id']}/certificates/{month}"
    assert notice["title"] == (f"Certificat de réalisation {of_month_fr(month)} – dossier "
                               f"{world['dossier']['number']}")
    assert notice["read_at"] is None
    assert bene.get("/notifications/unread-count").json()["unread"] >= 1

    assert other.get("/notifications").json() == []
    assert other.get("/notifications/unread-count").json() == {"unread": 0}
    assert other.post(f"/notifications/{notice['id']}/read").status_code == 404

    read = bene.post(f"/notifications/{notice['id']}/read")
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    assert notice["id"] not in [n["id"] for n in
                                bene.get("/notifications", params={"unread": "true"}).json()]
    assert bene.post("/notifications/read-all").json() == {"unread": 0}
    assert bene.get("/notifications/unread-count").json() == {"unread": 0}


def test_the_daily_digest_arrives_once(world, stack, smtp_server, monkeypatch, capsys):
    bene, address = world["bene"], world["emails"]["bene"]
    chosen = bene.put("/me/alert-settings", json={"settings": [
        {"kind": "certified", "frequency": "digest"}]})
    assert chosen.status_code == 200, chosen.text
    assert {s["kind"]: s["frequency"] for s in chosen.json()}["certified"] == "digest"
    refused = bene.put("/me/alert-settings", json={"settings": [
        {"kind": "security", "frequency": "none"}]})
    assert (refused.status_code, refused.json()["code"]) == (422, "alert_locked")

    month = certify(world, 2)
    notified(bene, month)
    monkeypatch.setenv("JALON_AMQP_URI", stack.env["JALON_AMQP_URI"])
    assert digest.main([]) == 0
    # Others' digests may go too (the persons of other tests on this stack): hers is one.
    assert "0 envoyé(s)" not in capsys.readouterr().out
    text = wait_for_email(smtp_server.emails, address, "Votre récapitulatif Jalon du")
    assert f"/dossiers/{world['dossier']['id']}/certificates/{month}" in text
    assert "/me/alert-settings" in text
    assert digest.main([]) == 0  # a second run (another replica, a retry): nothing more
    assert "0 envoyé(s)" in capsys.readouterr().out
    digests = [m for m in smtp_server.emails()
               if m["To"] == address and str(m["Subject"]).startswith("Votre récapitulatif")]
    assert len(digests) == 1
