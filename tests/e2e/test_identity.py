"""Identity and access through the gateway, the whole stack running, emails through a real
SMTP server: first login, password reset, sessions, users and rights, API tokens, the
certifier profile after the funder's checks, and the audit trail."""
from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from tests.support.gateway import (PASSWORD, bootstrap_funder, deposit, first_login,
                                   letterhead_ready, new_organisation)
from tools.client import Client, link_token, provisional_password, wait_for_email
from tools.waiting import wait_until as eventually

NEW_PASSWORD = "Autre-Passw0rd!2026"
POLICY = {"version": "2026-01"}


def problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["code"]


def mail(smtp_server, to: str, subject: str, skip: int = 0) -> str:
    return wait_for_email(smtp_server.emails, to, subject, skip=skip)


@pytest.fixture(scope="module")
def org(dossier):
    """The organisation of the module's dossier, through its administrator (first user)."""
    return dossier["organisation"]


def test_first_login_end_to_end(stack, smtp_server, funder_admin):
    suffix = uuid.uuid4().hex[:6]
    email = f"lea-{suffix}@premier.example.org"
    created = funder_admin.post("/organisations", json={
        "name": "Premier Pas Formation", "siret": "55208131766522",
        "email": f"contact-{suffix}@premier.example.org",
        "user": {"name": "Léa Petit", "email": email}})  # identifier: the email by default
    assert created.status_code == 201, created.text

    credentials = mail(smtp_server, email, "Vos identifiants de connexion")
    assert f"Identifiant provisoire : {email}" in credentials
    assert stack.env.get("JALON_PUBLIC_URL", "http://127.0.0.1:8000") in credentials
    provisional = provisional_password(smtp_server.emails, email)
    anonymous = Client(stack.base_url)
    session = anonymous.post("/auth/login", json={"identifier": email, "password": provisional})
    assert session.status_code == 200, session.text
    assert (session.json()["must_personalise"], session.json()["privacy_policy_pending"]) == (
        True, True)
    user = Client(stack.base_url, session.json()["access_token"])
    assert problem(user.get("/dossiers"), 403) == "personalisation_required"
    assert user.get("/me").json()["must_personalise"] is True

    weak = user.post("/auth/personalise", json={
        "new_identifier": f"lea-{suffix}", "current_password": provisional,
        "new_password": "motdepasse",
        "new_password_confirmation": "motdepasse"})
    assert weak.status_code == 422
    stolen = user.post("/auth/personalise", json={  # a stolen session knows no password
        "new_identifier": f"lea-{suffix}", "current_password": "Devine-Passw0rd!",
        "new_password": PASSWORD, "new_password_confirmation": PASSWORD})
    assert problem(stolen, 422) == "wrong_password"
    me = user.post("/auth/personalise", json={
        "new_identifier": f"lea-{suffix}", "current_password": provisional,
        "new_password": PASSWORD,
        "new_password_confirmation": PASSWORD})
    assert me.status_code == 200, me.text
    assert me.json()["pending_identifier"] == f"lea-{suffix}"
    confirmation = mail(smtp_server, email, "Confirmez votre nouvel identifiant")
    assert email in confirmation and f"lea-{suffix}" in confirmation  # old and new
    token = link_token(confirmation)
    # The emailed link opens a page whose button sends the POST; opening it confirms nothing
    # (mail scanners prefetch links), so the POST below is still the first use.
    page = anonymous.get("/auth/confirm-identifier", params={"token": token})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f'data-token="{token}"' in page.text
    assert 'data-action="/auth/confirm-identifier"' in page.text
    assert anonymous.post("/auth/confirm-identifier", json={"token": token}).status_code in (
        200, 204)
    assert anonymous.post("/auth/confirm-identifier", json={"token": token}).status_code \
        in (404, 409, 422)  # single use

    assert problem(user.get("/dossiers"), 403) == "personalisation_required"  # policy pending
    assert user.post("/auth/privacy-policy", json=POLICY).status_code == 200
    assert user.get("/dossiers").status_code == 200
    assert problem(anonymous.post("/auth/login", json={"identifier": email,
                                                       "password": PASSWORD}), 401) \
        == "invalid_credentials"
    again = anonymous.post("/auth/login", json={"identifier": f"lea-{suffix}",
                                                "password": PASSWORD}).json()
    assert (again["must_personalise"], again["privacy_policy_pending"]) == (False, False)


def test_password_reset_end_to_end(stack, smtp_server):
    _, _, client = _fresh_organisation(stack, smtp_server)
    anonymous = Client(stack.base_url)
    known = anonymous.post("/auth/password-reset", json={"identifier": client.identifier})
    unknown = anonymous.post("/auth/password-reset", json={"identifier": "personne-ici"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()  # no way to tell which accounts exist

    token = link_token(mail(smtp_server, client.email, "Réinitialisation de votre mot de passe"))
    mismatch = anonymous.post("/auth/password-reset/confirm", json={
        "token": token, "new_password": NEW_PASSWORD, "new_password_confirmation": PASSWORD})
    assert mismatch.status_code == 422
    done = anonymous.post("/auth/password-reset/confirm", json={
        "token": token, "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD})
    assert done.status_code in (200, 204), done.text
    reused = anonymous.post("/auth/password-reset/confirm", json={
        "token": token, "new_password": PASSWORD, "new_password_confirmation": PASSWORD})
    assert reused.status_code in (404, 409, 422)
    assert problem(client.get("/me"), 401)  # a reset ends every session
    assert anonymous.post("/auth/login", json={"identifier": client.identifier,
                                               "password": PASSWORD}).status_code == 401
    Client(stack.base_url).login(client.identifier, NEW_PASSWORD)


def test_change_password_ends_the_other_sessions(stack, smtp_server):
    _, _, here = _fresh_organisation(stack, smtp_server)
    elsewhere = Client(stack.base_url).login(here.identifier, PASSWORD)
    wrong = here.post("/me/password", json={
        "current_password": "pas-le-bon", "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD})
    assert wrong.status_code in (401, 403, 422)
    changed = here.post("/me/password", json={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    assert here.get("/me").status_code == 200
    assert problem(elsewhere.get("/me"), 401)


def test_an_email_change_waits_for_the_link_sent_to_the_new_address(stack, smtp_server):
    _, _, here = _fresh_organisation(stack, smtp_server)
    elsewhere = Client(stack.base_url).login(here.identifier, PASSWORD)
    new_email = f"nouvelle-{uuid.uuid4().hex[:6]}@horizon.example.org"
    assert problem(here.patch("/me", json={"email": new_email}), 422) \
        == "current_password_required"
    asked = here.patch("/me", json={"email": new_email, "current_password": PASSWORD})
    assert asked.status_code == 200, asked.text
    assert (asked.json()["user"]["email"], asked.json()["pending_email"]) == (here.email,
                                                                             new_email)
    notice = mail(smtp_server, here.email, "Demande de changement de votre adresse e-mail")
    assert new_email in notice and "/auth/cancel-email-change?token=" in notice

    token = link_token(mail(smtp_server, new_email, "Confirmez votre nouvelle adresse e-mail"))
    anonymous = Client(stack.base_url)
    page = anonymous.get("/auth/confirm-email", params={"token": token})
    assert page.status_code == 200 and 'data-action="/auth/confirm-email"' in page.text
    assert here.get("/me").json()["user"]["email"] == here.email  # opening the link: nothing
    assert anonymous.post("/auth/confirm-email", json={"token": token}).status_code == 204
    assert here.get("/me").json()["user"]["email"] == new_email
    assert problem(elsewhere.get("/me"), 401)  # the other session ended
    assert problem(anonymous.post("/auth/confirm-email", json={"token": token}), 422) \
        == "invalid_link"


def test_users_rights_and_deactivation(stack, smtp_server, org, dossier):
    organisation_id, suffix = dossier["organisation_id"], uuid.uuid4().hex[:6]
    email = f"saisie-{suffix}@horizon.example.org"
    created = org.post(f"/organisations/{organisation_id}/users", json={
        "identifier": f"saisie-{suffix}", "name": "Nadia Benali", "email": email,
        "active": True, "rights": ["enter_hours"]})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert org.post(f"/organisations/{organisation_id}/users", json={
        "identifier": f"x-{suffix}", "name": "Sans droit", "email": f"x-{suffix}@h.example.org",
        "active": True, "rights": []}).status_code == 422  # at least one right
    clerk = first_login(stack, smtp_server, f"saisie-{suffix}", email)

    month = date.today().replace(day=1).strftime("%Y-%m")
    hours = {"training_hours": "10,00", "internship_hours": "0", "absence_hours": "0"}
    entered = clerk.put(f"/dossiers/{dossier['id']}/certificates/{month}/hours", json=hours)
    assert entered.status_code == 200, entered.text
    refused = clerk.post("/documents", data={"category": "other", "label": "Note"},
                         files={"file": ("note.pdf", _pdf())})
    assert problem(refused, 403) == "missing_right"
    assert problem(clerk.post(f"/organisations/{organisation_id}/users", json={
        "identifier": f"y-{suffix}", "name": "Y", "email": f"y-{suffix}@h.example.org",
        "active": True, "rights": ["documents"]}), 403)
    assert problem(clerk.post("/api-tokens", json={
        "name": "x", "expires_on": str(date.today() + timedelta(days=10))}), 403)

    granted = org.patch(f"/users/{user_id}", json={"rights": ["enter_hours", "documents"]})
    assert granted.status_code == 200 and set(granted.json()["rights"]) == {"enter_hours",
                                                                              "documents"}
    allowed = clerk.post("/documents", data={"category": "other", "label": "Note"},
                         files={"file": ("note.pdf", _pdf())})
    assert allowed.status_code == 201, allowed.text
    listed = {u["id"]: u for u in org.get(f"/organisations/{organisation_id}/users").json()}
    assert listed[user_id]["active"] is True

    assert org.patch(f"/users/{user_id}", json={"active": False}).status_code == 200
    assert problem(clerk.get("/me"), 401)
    assert Client(stack.base_url).post("/auth/login", json={
        "identifier": f"saisie-{suffix}", "password": PASSWORD}).status_code == 401


def test_api_token_issue_use_revoke(stack, org, dossier):
    expires_on = date.today() + timedelta(days=30)
    too_late = org.post("/api-tokens", json={"name": "ERP", "expires_on":
                                             str(date.today() + timedelta(days=400))})
    assert too_late.status_code == 422
    issued = org.post("/api-tokens", json={"name": "ERP", "expires_on": str(expires_on),
                                           "rights": ["enter_hours"]})
    assert issued.status_code == 201, issued.text
    secret = issued.json()["token"]
    assert secret.startswith("jat_")
    software = Client(stack.base_url, secret)
    assert dossier["id"] in [d["id"] for d in software.get("/dossiers").json()]
    assert software.get(f"/dossiers/{dossier['id']}").status_code == 200

    listed = {t["id"]: t for t in org.get("/api-tokens").json()}
    shown = listed[issued.json()["id"]]
    assert shown["active"] is True and shown["expires_at"].startswith(str(expires_on)[:4])
    assert secret not in json.dumps(listed)  # shown once, stored hashed

    assert org.delete(f"/api-tokens/{issued.json()['id']}").status_code == 204
    assert problem(software.get("/dossiers"), 401)
    after = {t["id"]: t for t in org.get("/api-tokens").json()}[issued.json()["id"]]
    assert after["active"] is False and after["revoked_at"]


def test_certifier_profile_follows_the_funders_checks(stack, smtp_server):
    funder_admin, organisation, client = _fresh_organisation(stack, smtp_server)
    profile_path = f"/organisations/{organisation['id']}/profile"
    assert client.get(profile_path).json()["certification_method"]["method"] == 1
    chosen = client.put(f"/organisations/{organisation['id']}/certifier",
                        json={"requested": True})
    assert chosen.status_code == 200 and chosen.json()["certifier_requested"] is True
    assert problem(client.patch(profile_path, json={"siret": "73282932000074"}), 422) == \
        "siret_read_only"
    deposited = {}
    for category in ("kbis", "consent_letter"):
        receipt = client.post("/documents", data={"category": category},
                              files={"file": (f"{category}.pdf", _pdf())})
        assert receipt.status_code == 201, receipt.text
        deposited[category] = receipt.json()["document_id"]

    def pending():
        profile = client.get(profile_path).json()
        return all(profile[c]["status"] == "pending" for c in deposited) and profile
    profile = eventually(pending)
    assert profile["kbis"]["status_label"] == "En attente de contrôle"
    assert profile["certification_method"]["method"] == 1

    assert funder_admin.post(f"/documents/{deposited['kbis']}/check").status_code == 200
    kbis_checked = eventually(lambda: client.get(profile_path).json()["kbis"]["status"]
                              == "checked" and client.get(profile_path).json())
    assert kbis_checked["kbis"]["status_label"].startswith("Contrôlé le ")
    assert kbis_checked["certification_method"]["method"] == 1  # the letter is not checked yet
    assert funder_admin.post(f"/documents/{deposited['consent_letter']}/check"
                             ).status_code == 200
    waiting = eventually(lambda: (lambda p: p["consent_letter"]["status"] == "checked" and p)(
        client.get(profile_path).json()))["certification_method"]
    # Method 2 also waits for the letterhead and the stamp (seeds 001, 002), named.
    assert (waiting["method"], [p["code"] for p in waiting["missing"]]) == (
        1, ["legal_representative_missing", "logo_missing", "stamp_missing"])
    letterhead_ready(client, organisation["id"])
    deposit(client, "stamp")
    in_force = eventually(lambda: client.get(profile_path).json()["certification_method"]
                          ["method"] == 2 and client.get(profile_path).json())
    assert in_force["certification_method"]["reason"]
    assert in_force["certification_method"]["certifier_since"]


def test_audit_trail_for_funder_staff_without_secrets(stack, smtp_server):
    funder_admin, organisation, client = _fresh_organisation(stack, smtp_server)
    provisional = provisional_password(smtp_server.emails, client.email)
    anonymous = Client(stack.base_url)
    anonymous.post("/auth/login", json={"identifier": client.identifier, "password": "Faux!1"})
    issued = client.post("/api-tokens", json={
        "name": "Audit", "expires_on": str(date.today() + timedelta(days=5))}).json()
    client.post("/me/password", json={"current_password": PASSWORD,
                                      "new_password": NEW_PASSWORD,
                                      "new_password_confirmation": NEW_PASSWORD})
    path = f"/organisations/{organisation['id']}/audit"
    assert client.get(path).status_code == 200  # issue 15: its administrator reads it too
    trail = funder_admin.get(path)
    assert trail.status_code == 200, trail.text
    actions = {entry["action"] for entry in trail.json()}
    assert {"organisation_created", "password_changed", "api_token_issued"} <= actions, actions
    assert "login_failed" in actions
    assert all(entry["at"].endswith(("Z", "+00:00")) for entry in trail.json())
    text = json.dumps(trail.json())
    for secret in (PASSWORD, NEW_PASSWORD, provisional, issued["token"], "Faux!1"):
        assert secret not in text


# ---- helpers ---------------------------------------------------------------------------------

def _fresh_organisation(stack, smtp_server) -> tuple[Client, dict, Client]:
    """(its funder's administrator, an organisation, its administrator): a new funder each
    time, since a funder holds one organisation per SIRET."""
    funder = bootstrap_funder(stack)
    organisation, client = new_organisation(stack, smtp_server, funder, siret="55208131766522")
    return funder, organisation, client


def _pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>Pièce jointe de test</p>").write_pdf()


def test_beneficiary_and_employer_accounts_come_with_their_dossier(stack, smtp_server,
                                                                  funder_admin, dossier):
    """The module's dossier emailed its beneficiary and employer their credentials; each sees
    that dossier, and a beneficiary of another dossier does not."""
    beneficiary = first_login(stack, smtp_server, dossier["beneficiary_email"],
                              dossier["beneficiary_email"])
    employer = first_login(stack, smtp_server, dossier["employer_email"],
                           dossier["employer_email"])
    credentials = mail(smtp_server, dossier["beneficiary_email"], "Vos identifiants")
    assert "pour suivre le dossier de formation n° 20X" in credentials
    assert beneficiary.get("/me").json()["user"]["role"] == "beneficiary"
    for party in (beneficiary, employer):
        assert [d["id"] for d in party.get("/dossiers").json()] == [dossier["id"]]
        assert party.get(f"/dossiers/{dossier['id']}").status_code == 200
        assert problem(party.get("/api-tokens"), 403) == "forbidden_role"

    suffix = uuid.uuid4().hex[:6]
    other_email = f"autre-{suffix}@beneficiary.example.org"
    other = funder_admin.post("/beneficiaries", json={"name": "AUTRE Paul", "email": other_email})
    created = funder_admin.post("/dossiers", json={
        "number": f"16/0/{suffix}", "organisation_id": dossier["organisation_id"],
        "beneficiary_id": other.json()["id"], "training_title": "CAP CUISINE",
        "session_start": str(date.today()), "session_end": str(date.today() + timedelta(days=90))})
    assert created.status_code == 201, created.text
    stranger = first_login(stack, smtp_server, other_email, other_email)
    assert problem(stranger.get(f"/dossiers/{dossier['id']}"), 404) == "dossier_not_found"
    assert [d["number"] for d in stranger.get("/dossiers").json()] == [f"16/0/{suffix}"]

    # Lost email: funder staff send new credentials; the account personalises again.
    resent = funder_admin.post(f"/parties/{other.json()['id']}/resend-credentials")
    assert resent.status_code == 200 and resent.json()["credentials_sent"], resent.text
    assert stranger.get("/dossiers").status_code == 401  # its sessions ended
    password = provisional_password(smtp_server.emails, other_email, skip=1)
    session = Client(stack.base_url).post("/auth/login", json={"identifier": other_email,
                                                                "password": password})
    assert session.status_code == 200 and session.json()["must_personalise"], session.text


def test_an_administrator_resends_a_users_credentials(stack, smtp_server, org):
    suffix = uuid.uuid4().hex[:6]
    email = f"hugo-{suffix}@horizon.example.org"
    created = org.post(f"/organisations/{org_id(org)}/users", json={
        "identifier": f"hugo-{suffix}", "name": "Hugo Leroy", "email": email,
        "active": True, "rights": ["enter_hours"]})
    assert created.status_code == 201, created.text
    first = provisional_password(smtp_server.emails, email)
    resent = org.post(f"/users/{created.json()['id']}/resend-credentials")
    assert resent.status_code == 200 and resent.json()["must_personalise"], resent.text
    second = provisional_password(smtp_server.emails, email, skip=1)
    assert second != first
    anonymous = Client(stack.base_url)
    assert anonymous.post("/auth/login", json={"identifier": f"hugo-{suffix}",
                                               "password": first}).status_code == 401
    assert first_login(stack, smtp_server, f"hugo-{suffix}", email).get("/me").status_code == 200


def org_id(client: Client) -> str:
    return client.get("/me").json()["user"]["organisation_id"]


def test_failed_logins_and_reset_requests_are_limited_per_address(stack):
    """From one address: as many failed logins as the limit allows, then 429 for any account;
    the same for reset requests, whatever the identifier. Another address is not concerned."""
    anonymous = Client(stack.base_url)
    address = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    wrong = {"identifier": f"personne-{uuid.uuid4().hex[:6]}", "password": "Faux-Passw0rd!"}
    for _ in range(int(stack.env["JALON_IP_MAX_FAILURES"])):
        assert problem(anonymous.post("/auth/login", json=wrong, headers=address), 401) == \
            "invalid_credentials"
    assert problem(anonymous.post("/auth/login", json=wrong, headers=address), 429) == \
        "too_many_attempts"
    for n in range(int(stack.env["JALON_RESET_MAX_PER_ADDRESS"])):
        assert anonymous.post("/auth/password-reset", json={"identifier": f"x{n}"},
                              headers=address).status_code == 202
    assert problem(anonymous.post("/auth/password-reset", json={"identifier": "x9"},
                                  headers=address), 429) == "too_many_reset_requests"
    elsewhere = {"X-Forwarded-For": "203.0.113.250"}
    assert anonymous.post("/auth/password-reset", json={"identifier": "x9"},
                          headers=elsewhere).status_code == 202
