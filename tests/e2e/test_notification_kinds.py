"""Each kind of notification through the gateway on the real stack (issue 16): the right
people only (an organisation's user without the right a notice is about does not see it),
emails when their settings say so (read back from the real SMTP server, multipart), and links
that open the right place."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from contracts.common.formatting import month_fr
from tests.support.gateway import (DEFAULTS, PASSWORD, bootstrap_funder, deposit, enter_month,
                                   first_login, hours_only_user, letterhead_ready, month_shift,
                                   new_organisation, sign_month)
from tools import months_to_certify
from tools.client import wait_for_email
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(stack, smtp_server):
    funder = bootstrap_funder(stack)
    settings = funder.put("/certification-settings",
                          json={**DEFAULTS, "beneficiary_validation": True})
    assert settings.status_code == 200, settings.text
    organisation, admin = new_organisation(stack, smtp_server, funder)
    letterhead_ready(admin, organisation["id"])
    _, other = new_organisation(stack, smtp_server, funder, siret="55208131766522",
                                name="Autre Organisme")
    hours_only = hours_only_user(stack, smtp_server, admin, organisation["id"])
    suffix = uuid.uuid4().hex[:6]
    bene_email = f"lea-{suffix}@beneficiary.example.org"
    beneficiary = funder.post("/beneficiaries", json={"name": "ARNAUD Léa",
                                                      "email": bene_email}).json()
    today = date.today()
    dossier = funder.post("/dossiers", json={
        "number": f"NK{suffix}", "organisation_id": organisation["id"],
        "beneficiary_id": beneficiary["id"], "employer_id": None,
        "training_title": "BTS Tourisme", "session_start": str(month_shift(today, -3)),
        "session_end": str(month_shift(today, 3))})
    assert dossier.status_code == 201, dossier.text
    bene = first_login(stack, smtp_server, bene_email, bene_email)
    return {"funder": funder, "admin": admin, "other": other, "hours_only": hours_only,
            "bene": bene, "organisation_id": organisation["id"], "dossier": dossier.json()}


def notices(client, kind: str) -> list[dict]:
    return [n for n in client.get("/notifications").json() if n["kind"] == kind]


def awaited(client, kind: str, about: str = "") -> dict:
    found = wait_until(lambda: [n for n in notices(client, kind) if about in n["object"]["id"]],
                       message=f"a notification {kind} {about}")
    return found[0]


def opens(client, notice: dict) -> None:
    """The notice's link opens the object for the person notified."""
    assert client.get(notice["object"]["link"]).status_code == 200, notice


def certified(world, months_ago: int) -> tuple[str, str]:
    month = month_shift(date.today(), -months_ago).strftime("%Y-%m")
    url = f"/dossiers/{world['dossier']['id']}/certificates/{month}"
    enter_month(world["admin"], url, "70")
    sign_month(world["admin"], world["dossier"]["id"], month)
    done = world["admin"].post(f"{url}/certify", json={"attest": True})
    assert done.status_code == 200, done.text
    return month, url


def test_the_months_to_certify_reach_the_organisation_by_the_daily_job(
        world, stack, smtp_server, monkeypatch, capsys):
    hours_only, dossier = world["hours_only"], world["dossier"]
    chosen = hours_only.put("/me/alert-settings", json={"settings": [
        {"kind": "month_to_certify", "frequency": "immediate"}]})
    assert chosen.status_code == 200, chosen.text
    monkeypatch.setenv("JALON_AMQP_URI", stack.env["JALON_AMQP_URI"])
    assert months_to_certify.main([]) == 0
    assert "annoncé(s)" in capsys.readouterr().out
    month = date.today().strftime("%Y-%m")
    notice = awaited(hours_only, "month_to_certify", f"{dossier['id']}/{month}")
    assert notice["title"] == (f"Mois à certifier – dossier {dossier['number']}, "
                               f"{month_fr(month)}")
    opens(hours_only, notice)
    assert awaited(world["admin"], "month_to_certify", f"{dossier['id']}/{month}")
    assert notices(world["other"], "month_to_certify") == []
    assert notices(world["bene"], "month_to_certify") == []
    # Nadia asked for it at once: an email, text and HTML, with the link.
    address = hours_only.get("/me").json()["user"]["email"]
    text = wait_for_email(smtp_server.emails, address, "Mois à certifier – dossier "
                          f"{dossier['number']}, {month_fr(month)}")
    assert f"/dossiers/{dossier['id']}/certificates/{month}" in text
    [message] = [m for m in smtp_server.emails() if m["To"] == address
                 and str(m["Subject"]) == notice["title"]]
    assert message.get_body(preferencelist=("html",)) is not None
    # The job again (another replica, a retry): nothing announced twice.
    before = len(notices(hours_only, "month_to_certify"))
    assert months_to_certify.main([]) == 0
    assert "0 annoncé(s)" in capsys.readouterr().out
    assert len(notices(hours_only, "month_to_certify")) == before


def test_validated_contested_and_reopened_months(world):
    admin, bene, funder = world["admin"], world["bene"], world["funder"]
    validated_month, url = certified(world, 1)
    assert awaited(bene, "certified_beneficiary", validated_month)
    assert bene.post(f"{url}/validate").status_code == 200
    notice = awaited(admin, "hours_validated", validated_month)
    assert "a validé les heures" in notice["text"]
    opens(admin, notice)
    assert awaited(funder, "hours_validated", validated_month)
    assert notices(world["other"], "hours_validated") == []

    contested_month, url = certified(world, 2)
    awaited(bene, "certified_beneficiary", contested_month)
    contest = bene.post(f"{url}/contest", json={"reason": "J'étais absente le 3."})
    assert contest.status_code == 200, contest.text
    assert "J'étais absente le 3." in awaited(admin, "hours_contested", contested_month)["text"]
    assert awaited(funder, "hours_contested", contested_month)
    reopened = funder.post(f"{url}/reopen", json={"reason": "Absence à retirer"})
    assert reopened.status_code == 200, reopened.text
    notice = awaited(world["hours_only"], "certificate_reopened", contested_month)
    assert notice["text"].endswith("« Absence à retirer »")
    opens(world["hours_only"], notice)
    assert notices(bene, "certificate_reopened") == []


def test_documents_bank_details_and_payments_reach_the_users_with_that_right(world):
    admin, funder, hours_only = world["admin"], world["funder"], world["hours_only"]
    organisation_id = world["organisation_id"]
    kbis = deposit(admin, "kbis")
    rejected = funder.post(f"/documents/{kbis}/reject", json={"reason_code": "illegible"})
    assert rejected.status_code == 200, rejected.text
    opens(admin, awaited(admin, "document_rejected", kbis))
    consent = deposit(admin, "consent_letter")
    assert funder.post(f"/documents/{consent}/check").status_code == 200
    opens(admin, awaited(admin, "document_checked", consent))
    rib = deposit(admin, "bank_details")
    submitted = admin.post(f"/organisations/{organisation_id}/bank-details", json={
        "iban": "FR76 1382 5002 0008 0146 3722 518", "bic": "CEPAFRPP382",
        "invoicing": "self", "rib_document_id": rib})
    assert submitted.status_code == 201, submitted.text
    review = funder.post(f"/organisations/{organisation_id}/bank-details/review", json={
        "version": submitted.json()["version"], "decision": "validated"})
    assert review.status_code == 200, review.text
    notice = awaited(admin, "bank_details_reviewed", organisation_id)
    assert notice["title"] == "Coordonnées bancaires validées"
    opens(admin, notice)
    # The month validated above, paid: the remittance advice is in the space.
    first = month_shift(date.today(), -1)
    last = month_shift(first, 1) - timedelta(days=1)
    paid = funder.post("/payments", json={
        "number": f"AV-{uuid.uuid4().hex[:6]}", "payment_date": date.today().isoformat(),
        "organisation_id": organisation_id, "lines": [{
            "dossier_id": world["dossier"]["id"], "hours_paid": "70", "amount": "700.00",
            "period_start": first.isoformat(), "period_end": last.isoformat()}]})
    assert paid.status_code == 201, paid.text
    notice = awaited(admin, "payment_issued", paid.json()["id"])
    opens(admin, notice)
    # Nadia may enter hours only: neither documents nor payments are hers to see.
    assert notices(hours_only, "document_rejected") == []
    assert notices(hours_only, "document_checked") == []
    assert notices(hours_only, "bank_details_reviewed") == []
    assert notices(hours_only, "payment_issued") == []
    assert notices(world["other"], "bank_details_reviewed") == []


def test_the_certifier_status_reaches_every_user_of_the_organisation(world):
    admin, organisation_id = world["admin"], world["organisation_id"]
    chosen = admin.put(f"/organisations/{organisation_id}/certifier", json={"requested": True})
    assert chosen.status_code == 200, chosen.text
    notice = awaited(world["hours_only"], "certifier_status_changed", organisation_id)
    assert notice["title"] == "Statut de certificateur mis à jour"
    opens(admin, notice)
    assert notices(world["other"], "certifier_status_changed") == []


def test_account_events_tell_the_person_and_those_who_manage_the_accounts(world, smtp_server):
    admin, hours_only = world["admin"], world["hours_only"]
    me = hours_only.get("/me").json()["user"]
    changed = hours_only.post("/me/password", json={
        "current_password": PASSWORD, "new_password": "Autre-Passw0rd!2026",
        "new_password_confirmation": "Autre-Passw0rd!2026"})
    assert changed.status_code == 204, changed.text
    text = wait_for_email(smtp_server.emails, me["email"], "Votre mot de passe Jalon a été")
    assert text.startswith("Bonjour Nadia Benali,")
    [message] = [m for m in smtp_server.emails() if m["To"] == me["email"]
                 and str(m["Subject"]).startswith("Votre mot de passe Jalon")]
    assert message["List-Unsubscribe"] is None  # a security notice cannot be turned off
    assert awaited(hours_only, "account_changed")["title"] == "Mot de passe modifié"
    assert notices(admin, "account_changed") == []
    # Her credentials, sent when the administrator made her account, were told to those who
    # manage the accounts: the administrator.
    assert awaited(admin, "credentials_sent", me["id"])["title"] == (
        f"Identifiants envoyés : {me['name']}")
    assert notices(hours_only, "credentials_sent") == []

    deactivated = admin.patch(f"/users/{me['id']}", json={"active": False})
    assert deactivated.status_code == 200, deactivated.text
    notice = awaited(admin, "user_deactivated", me["id"])
    assert notice["title"] == f"Utilisateur désactivé : {me['name']}"
    opens(admin, notice)
    wait_for_email(smtp_server.emails, me["email"], "Votre compte Jalon a été désactivé")
    assert notices(world["other"], "user_deactivated") == []
