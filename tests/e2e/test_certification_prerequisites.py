"""« Votre identité » before hours and certification (seeds 001, 002), through the gateway:
the legal representative and the logo before any online entry of hours and method 1; for the
100 % dematerialised method also the stamp, « Je suis certificateur », the KBIS and the consent
letter checked by the funder, each refused with its own code. Identity alone judges it: every
request asks it. Rights per seed 002: method 1 with the hours right, method 2 with
`certify_certificates`."""
from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from tests.support.gateway import (bootstrap_funder, deposit, hours_only_user,
                                   month_shift, new_organisation, sign_month)
from tools.client import wait_for_email
from tools.demo import scanned_pdf
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e

HOURS = {"training_hours": "70", "internship_hours": "0", "absence_hours": "0"}
ASK = {"attest": True, "accept_ip": True}
CERTIFIER_CODES = ["stamp_missing", "certifier_not_requested", "kbis_not_checked",
                   "consent_letter_not_checked"]


@pytest.fixture(scope="module")
def newcomer(stack, smtp_server):
    """A new organisation, « Votre identité » empty, with a dossier begun three months ago."""
    funder = bootstrap_funder(stack)
    organisation, org = new_organisation(stack, smtp_server, funder, name="Organisme Nouveau")
    beneficiary = funder.post("/beneficiaries", json={
        "name": "MARTIN Paul", "email": f"paul-{uuid.uuid4().hex[:6]}@beneficiary.example.org"})
    today = date.today()
    dossier = funder.post("/dossiers", json={
        "number": f"PRE{uuid.uuid4().hex[:6]}", "organisation_id": organisation["id"],
        "beneficiary_id": beneficiary.json()["id"], "training_title": "CAP Boulanger",
        "session_start": month_shift(today, -3).isoformat(),
        "session_end": month_shift(today, 2).isoformat()})
    assert dossier.status_code == 201, dossier.text
    return {"funder": funder, "org": org, "organisation_id": organisation["id"],
            "dossier_id": dossier.json()["id"],
            "url": lambda months: f"/dossiers/{dossier.json()['id']}/certificates/"
                                  f"{month_shift(today, months).strftime('%Y-%m')}"}


def refused(response, code: str) -> dict:
    assert (response.status_code, response.json()["code"]) == (409, code), response.text
    return response.json()


def until_refused_with(call, code: str) -> dict:
    """Identity hears of a deposit or a check by documents' event: the refusal moves on to
    the next missing piece once it has."""
    return wait_until(lambda: (lambda r: r.status_code == 409 and r.json()["code"] == code
                               and r.json())(call()), message=f"refused with {code}")


def test_each_missing_piece_is_refused_with_its_code_until_method_2_works(newcomer,
                                                                          smtp_server):
    org, funder, url = newcomer["org"], newcomer["funder"], newcomer["url"](-1)
    profile = f"/organisations/{newcomer['organisation_id']}"

    # No online entry before the legal representative and the logo.
    problem = refused(org.put(f"{url}/hours", json=HOURS), "legal_representative_missing")
    assert problem["details"] == {"missing": ["legal_representative_missing", "logo_missing"]}
    assert "« Votre identité »" in problem["detail"] and "le logo" in problem["detail"]
    refused(org.patch(f"{url}/hours", json={"training_hours": "7"}),
            "legal_representative_missing")
    assert org.get(f"{url}/hours/proposal", params={"source": "spread"}).status_code == 200
    assert org.patch(f"{profile}/profile",
                     json={"legal_representative": "Jeanne MARTIN"}).status_code == 200
    refused(org.put(f"{url}/hours", json=HOURS), "logo_missing")
    deposit(org, "logo")
    wait_until(lambda: org.put(f"{url}/hours", json=HOURS).status_code == 200,
               message="hours entered once identity knows the logo")

    # Method 2: each of its pieces in turn.
    problem = refused(org.post(f"{url}/certification-code", json=ASK), "stamp_missing")
    assert problem["details"] == {"missing": CERTIFIER_CODES}
    refused(org.post(f"{url}/certify", json={**ASK, "method": 2, "code": "1234"}),
            "stamp_missing")
    deposit(org, "stamp")
    until_refused_with(lambda: org.post(f"{url}/certification-code", json=ASK),
                       "certifier_not_requested")
    assert org.put(f"{profile}/certifier", json={"requested": True}).status_code == 200
    refused(org.post(f"{url}/certification-code", json=ASK), "kbis_not_checked")
    kbis, consent = deposit(org, "kbis"), deposit(org, "consent_letter")
    assert funder.post(f"/documents/{kbis}/check").status_code == 200
    until_refused_with(lambda: org.post(f"{url}/certification-code", json=ASK),
                       "consent_letter_not_checked")
    assert funder.post(f"/documents/{consent}/check").status_code == 200

    sent = wait_until(lambda: (lambda r: r.status_code == 202 and r.json())(
        org.post(f"{url}/certification-code", json=ASK)), message="method 2 open")
    assert sent["code_length"] == 4
    text = wait_for_email(smtp_server.emails, org.email, "Votre code de vérification")
    code = re.search(r"^\s*(\d{4})\s*$", text, re.MULTILINE).group(1)
    done = org.post(f"{url}/certify", json={**ASK, "method": 2, "code": code})
    assert (done.status_code, done.json()["method"]) == (200, 2), done.text
    since = org.get(f"{profile}/profile").json()["certification_method"]["certifier_since"]
    assert since and done.json()["status"] == "certified"


def test_an_hours_only_user_certifies_by_method_1_but_not_by_method_2(stack, smtp_server,
                                                                      world):
    clerk = hours_only_user(stack, smtp_server, world["org"], world["organisation_id"])
    month = month_shift(date.today(), -3).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    assert clerk.put(f"{url}/hours", json=HOURS).status_code == 200
    for path, body in (("/certification-code", ASK),
                       ("/certify", {**ASK, "method": 2, "code": "1234"})):
        forbidden = clerk.post(url + path, json=body)
        assert forbidden.status_code == 403, forbidden.text
        assert (forbidden.json()["code"], forbidden.json()["details"]) == (
            "missing_right", {"right": "certify_certificates"})
    # Seed 002: method 1 needs only the hours right, the signed certificate's deposit too;
    # the other deposits need the documents right.
    kbis = clerk.post("/documents", data={"category": "kbis"},
                      files={"file": ("kbis.pdf", scanned_pdf(), "application/pdf")})
    assert (kbis.status_code, kbis.json()["details"]) == (403, {"right": "documents"})
    sign_month(clerk, world["dossier_id"], month)
    done = clerk.post(f"{url}/certify", json={"attest": True, "method": 1})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["method"]) == ("certified", 1)
    # Its letterhead complete, no stamp: method 1 is valid, with a warning (seed 001).
    assert "stamp_missing" in [w["code"] for w in done.json()["warnings"]]
