"""After certification, through the gateway on the real stack (issue 5): the beneficiary
then the employer validate the hours from their own space, or contest them (the organisation
is emailed; the funder reopens); the funder is emailed per its settings; the final PDF is
there for the three parties; funder staff transmit the hours for payment."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.support.gateway import (DEFAULTS, bootstrap_funder, enter_month, first_login,
                                   letterhead_ready, month_shift, new_organisation, sign_month)
from tools.client import wait_for_email
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(stack, smtp_server):
    """A funder asking for both validations and emailed at certification (by default); an
    organisation with its letterhead; a dossier with a beneficiary and an employer (real
    accounts), and another beneficiary's dossier."""
    funder = bootstrap_funder(stack)
    suffix = uuid.uuid4().hex[:6]
    # Emailed by default (seed 002), at its administrator's address: nothing to set.
    funder_email = f"{funder.identifier}@funder.example.org"

    def with_address():
        settings = funder.get("/certification-settings").json()
        return settings if settings["funder_notification_email"] else None

    defaults = wait_until(with_address)  # once certification has seen the funder bootstrapped
    assert (defaults["notify_funder"], defaults["funder_notification_email"]) == (
        True, funder_email)
    saved = funder.put("/certification-settings", json={
        **{k: v for k, v in defaults.items() if k in DEFAULTS or k == "funder_notification_email"},
        "beneficiary_validation": True, "employer_validation": True})
    assert saved.status_code == 200, saved.text
    organisation, org = new_organisation(stack, smtp_server, funder)
    letterhead_ready(org, organisation["id"])
    emails = {"bene": f"lea-{suffix}@beneficiary.example.org",
              "empl": f"rh-{suffix}@employer.example.org",
              "other": f"paul-{suffix}@beneficiary.example.org"}
    beneficiary = funder.post("/beneficiaries", json={"name": "PETIT Léa",
                                                      "email": emails["bene"]}).json()
    employer = funder.post("/employers", json={"name": "Menuiserie Petit",
                                               "email": emails["empl"]}).json()
    other = funder.post("/beneficiaries", json={"name": "AUTRE Paul",
                                                "email": emails["other"]}).json()
    today = date.today()
    dossiers = []
    for number, who, employer_id in ((f"AC{suffix}", beneficiary, employer["id"]),
                                     (f"AD{suffix}", other, None)):
        created = funder.post("/dossiers", json={
            "number": number, "organisation_id": organisation["id"],
            "beneficiary_id": who["id"], "employer_id": employer_id,
            "training_title": "CAP Menuisier", "session_start": str(month_shift(today, -3)),
            "session_end": str(month_shift(today, 3))})
        assert created.status_code == 201, created.text
        dossiers.append(created.json())
    parties = {role: first_login(stack, smtp_server, email, email)
               for role, email in emails.items()}
    return {"funder": funder, "org": org, "funder_email": funder_email,
            "organisation_email": organisation["email"], "dossier": dossiers[0],
            "base": f"/dossiers/{dossiers[0]['id']}/certificates", "emails": emails,
            **parties}


def certified(world, months_ago: int) -> tuple[str, str]:
    """The dossier's month, entered, signed and certified (method 1): (month, its url)."""
    org, dossier_id = world["org"], world["dossier"]["id"]
    month = month_shift(date.today(), -months_ago).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    enter_month(org, url, "70")
    sign_month(org, dossier_id, month)
    done = org.post(f"{url}/certify", json={"attest": True})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "awaiting_beneficiary_validation"
    return month, url


def test_validations_the_pdf_for_every_party_and_the_transmission(smtp_server, world):
    month, url = certified(world, 1)
    bene, empl, other, funder = world["bene"], world["empl"], world["other"], world["funder"]
    number = world["dossier"]["number"]
    text = wait_for_email(smtp_server.emails, world["funder_email"],
                          "Certificat de réalisation certifié")
    assert number in text and "validation du bénéficiaire puis de l'employeur" in text
    invited = wait_for_email(smtp_server.emails, world["emails"]["bene"],
                             "Certificat de réalisation d")  # de septembre, d'octobre
    assert "valider ces heures depuis votre espace" in invited
    assert len([m for m in smtp_server.emails() if m["To"] == world["funder_email"]]) == 1

    assert funder.post(f"{url}/transmit").json()["code"] == "not_transmittable"
    early = empl.post(f"{url}/validate")
    assert early.status_code == 409 and early.json()["code"] == "not_awaiting_validation"
    assert other.post(f"{url}/validate").status_code == 404
    assert world["org"].post(f"{url}/validate").status_code == 403
    first = bene.post(f"{url}/validate")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "awaiting_employer_validation"
    waiting = empl.get("/pending-actions").json()
    assert [(a["month"], a["status"]) for a in waiting["actions"]] == [
        (month, "awaiting_employer_validation")]
    done = empl.post(f"{url}/validate")
    assert (done.status_code, done.json()["status"]) == (200, "validated")

    # The final PDF, for the beneficiary and the employer too; not for another beneficiary.
    for party in (bene, empl):
        listed = party.get(f"/dossiers/{world['dossier']['id']}/documents")
        assert listed.status_code == 200, listed.text
        final = [d for d in listed.json()
                 if d["category"] == "completion_certificate" and d.get("month") == month]
        assert len(final) == 1, listed.json()
        content = party.get(f"/documents/{final[0]['id']}/content")
        assert content.status_code == 200 and content.content.startswith(b"%PDF")
    assert other.get(f"/documents/{final[0]['id']}/content").status_code == 404
    assert other.get(f"/dossiers/{world['dossier']['id']}/documents").json() == []

    assert world["org"].post(f"{url}/transmit").status_code == 403
    sent = funder.post(f"{url}/transmit")
    assert sent.status_code == 200, sent.text
    again = funder.post(f"{url}/transmit")
    assert again.json()["transmitted_at"] == sent.json()["transmitted_at"]


def test_a_contest_emails_the_organisation_and_the_funder_reopens(smtp_server, world):
    month, url = certified(world, 2)
    refused = world["bene"].post(f"{url}/contest", json={"reason": ""})
    assert refused.status_code == 422
    contested = world["bene"].post(f"{url}/contest", json={"reason": "Absente le 2"})
    assert contested.status_code == 200, contested.text
    assert contested.json()["status_label"] == (
        "Heures contestées par le bénéficiaire : Absente le 2")
    text = wait_for_email(smtp_server.emails, world["organisation_email"], "Heures contestées")
    assert "Motif : Absente le 2" in text and world["dossier"]["number"] in text
    assert world["org"].put(f"{url}/hours", json={"training_hours": "63"}).status_code == 409
    reopened = world["funder"].post(f"{url}/reopen", json={"reason": "Contestation fondée"})
    assert (reopened.status_code, reopened.json()["status"]) == (200, "reopened")
    enter_month(world["org"], url, "63")
