"""Issue 15 (seed 004's « Utilisateurs ») through the gateway, on the real stack and SMTP
server: an organisation administrator adds a user with civility, last and first name and
phone; finds them with the list's filters; opens their page (status, last login, open
sessions); sends them a reset link that arrives and works; deactivates them (their session
ends, they cannot log in) and reactivates them; cannot deactivate themself."""
from __future__ import annotations

import uuid

import pytest

from tests.support.gateway import bootstrap_funder, first_login, new_organisation
from tools.client import Client, link_token, wait_for_email

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Autre-Passw0rd!"


def test_an_administrator_manages_a_user_as_seed_004_does(stack, smtp_server):
    funder = bootstrap_funder(stack)
    organisation, admin = new_organisation(stack, smtp_server, funder)
    users = f"/organisations/{organisation['id']}/users"
    suffix = uuid.uuid4().hex[:6]
    identifier, email = f"mdubois-{suffix}", f"michelle-{suffix}@horizon.example.org"

    created = admin.post(users, json={
        "identifier": identifier, "civility": "Madame", "last_name": "Dubois",
        "first_name": "Michelle", "email": email, "phone": "01 23 45 67 89",
        "rights": ["enter_hours"]})
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["name"], user["civility"], user["phone"]) == ("DUBOIS Michelle", "Madame",
                                                              "01 23 45 67 89")

    # « Gérer mes utilisateurs »: each filter a part of the field, whatever the case.
    def found(**query):
        listed = admin.get(users, params=query)
        assert listed.status_code == 200, listed.text
        return [one["identifier"] for one in listed.json()]
    assert found(name="dub") == [identifier]
    assert found(first_name="MICH", login=suffix) == [identifier]
    assert found(email="michelle-") == [identifier]
    assert found(name="dubois", first_name="claire") == []
    assert len(found(limit=1)) == 1 and len(found()) == 2

    page = admin.get(f"/users/{user['id']}").json()
    assert (page["status"], page["status_label"], page["last_login_at"],
            page["open_sessions"]) == ("provisional", "Actif, mot de passe provisoire à changer",
                                       None, [])

    michelle = first_login(stack, smtp_server, identifier, email)
    page = admin.get(f"/users/{user['id']}").json()
    assert (page["status"], page["rights"]) == ("active", ["enter_hours"])
    assert page["last_login_at"] is not None and len(page["open_sessions"]) == 1
    assert set(page["open_sessions"][0]) == {"started_at", "last_seen_at", "expires_at"}

    # The reset link: only an administrator sends it, and it arrives and works.
    admin_id = admin.get("/me").json()["user"]["id"]
    assert michelle.post(f"/users/{admin_id}/reset-link").status_code == 403
    sent = admin.post(f"/users/{user['id']}/reset-link")
    assert sent.status_code == 202, sent.text
    assert sent.json()["detail"] == ("Un lien de réinitialisation du mot de passe a été envoyé "
                                     f"à {email}.")
    text = wait_for_email(smtp_server.emails, email, "Réinitialisation de votre mot de passe")
    reset = Client(stack.base_url).post("/auth/password-reset/confirm", json={
        "token": link_token(text), "new_password": NEW_PASSWORD,
        "new_password_confirmation": NEW_PASSWORD})
    assert reset.status_code == 204, reset.text
    assert Client(stack.base_url).post("/auth/login", json={
        "identifier": identifier, "password": NEW_PASSWORD}).status_code == 200

    # Deactivated: the session ends, the login is refused; reactivated: it works again.
    session = Client(stack.base_url).login(identifier, NEW_PASSWORD)
    deactivated = admin.patch(f"/users/{user['id']}", json={"active": False})
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    assert session.get("/me").status_code == 401
    refused = Client(stack.base_url).post("/auth/login", json={"identifier": identifier,
                                                                "password": NEW_PASSWORD})
    assert refused.status_code == 401
    page = admin.get(f"/users/{user['id']}").json()
    assert (page["status_label"], page["open_sessions"]) == ("Désactivé", [])
    assert found(name="dubois") == [identifier]  # still listed, inactive
    no_link = admin.post(f"/users/{user['id']}/reset-link")
    assert (no_link.status_code, no_link.json()["code"]) == (409, "user_deactivated")

    assert admin.patch(f"/users/{user['id']}", json={"active": True}).status_code == 200
    assert Client(stack.base_url).post("/auth/login", json={
        "identifier": identifier, "password": NEW_PASSWORD}).status_code == 200

    # An administrator does not deactivate themself.
    own = admin.patch(f"/users/{admin_id}", json={"active": False})
    assert (own.status_code, own.json()["code"]) == (409, "own_account")
    assert own.json()["detail"] == "Vous ne pouvez pas désactiver votre propre compte."
    assert admin.get("/me").status_code == 200
