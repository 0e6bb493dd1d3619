"""Issue 15 through the gateway, on the real stack and SMTP server: a funder opens
self-service sign-up with seed 003's password rules; an organisation signs up on the page's
API, activates its account with the emailed code and a password that follows the rules, and
logs in with its email; a second sign-up for the same SIRET answers the same and tells the
administrator; funder staff list the sign-ups and suspend one, which can no longer log in."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlparse

import pytest

from tests.support.gateway import bootstrap_funder
from tools.client import Client, wait_for_email

pytestmark = pytest.mark.e2e

SIRET = "55210055400013"
OPCO_TEXT = ("entre 8 et 12 caractères, dont une majuscule, une minuscule, et un chiffre ou un "
             "caractère spécial.")


def form(code: str, email: str, siret: str = SIRET) -> dict:
    return {"funder_code": code, "siret": siret, "organisation_name": "Centre Atlas Formation",
            "profile": "training_organisation", "certified": True, "terms_accepted": True,
            "holder": {"civility": "Madame", "last_name": "Durand", "first_name": "Alice",
                       "email": email, "email_confirmation": email, "phone": "01 02 03 04 05"}}


def test_an_organisation_signs_up_activates_and_can_be_suspended(stack, smtp_server):
    code = f"opco-{uuid.uuid4().hex[:6]}"
    funder = bootstrap_funder(stack, code)
    anonymous = Client(stack.base_url)
    email = f"alice-{uuid.uuid4().hex[:6]}@atlas.example.org"

    # By default the funder creates the accounts: sign-up is closed, as for an unknown code.
    closed = anonymous.post("/signup", json=form(code, email))
    unknown = anonymous.post("/signup", json=form("pas-un-financeur", email))
    assert closed.status_code == unknown.status_code == 422
    assert closed.json()["code"] == unknown.json()["code"] == "signup_closed"
    assert closed.json()["detail"] == unknown.json()["detail"]

    settings = funder.put("/account-settings", json={"account_creation": "self_service",
                                                     "password_rules": "opco"})
    assert settings.status_code == 200, settings.text
    assert settings.json()["password_rules_text"] == OPCO_TEXT
    rules = anonymous.get("/password-rules", params={"funder_code": code})
    assert (rules.status_code, rules.json()["text"], rules.json()["max_length"]) == (200,
                                                                                    OPCO_TEXT, 12)

    page = anonymous.get("/signup", params={"funder": code})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert ("Je certifie que le titulaire du compte est autorisé à effectuer les opérations "
            "sélectionnées ci-dessus.") in page.text
    assert "Organisme de formation / CFA" in page.text
    assert "J'accepte les conditions d'utilisation des Services en Ligne" in page.text

    accepted = anonymous.post("/signup", json=form(code, email))
    assert accepted.status_code == 202, accepted.text
    assert "valables 15 minutes" in accepted.json()["detail"]

    text = wait_for_email(smtp_server.emails, email, "Activez votre compte")
    activation_code = re.search(r"votre code d'activation est : ([A-Z0-9]{8})", text).group(1)
    link = re.search(r"(http\S+/signup/activate\?\S+)", text).group(1)
    assert parse_qs(urlparse(link).query) == {"funder": [code], "email": [email],
                                              "code": [activation_code]}
    opened = anonymous.get("/signup/activate" + link.split("/signup/activate", 1)[1])
    assert opened.status_code == 200 and f'value="{activation_code}"' in opened.text

    too_long = anonymous.post("/signup/activate", json={
        "email": email, "code": activation_code, "new_password": "Atlas_2026_ok",
        "new_password_confirmation": "Atlas_2026_ok"})  # 13 characters
    assert too_long.status_code == 422 and too_long.json()["code"] == "weak_password"
    assert OPCO_TEXT in too_long.json()["detail"]
    done = anonymous.post("/signup/activate", json={
        "email": email, "code": activation_code, "new_password": "Atlas_2026",
        "new_password_confirmation": "Atlas_2026"})
    assert done.status_code == 200, done.text
    assert done.json()["identifier"] == email

    holder = anonymous.login(email.upper(), "Atlas_2026")
    me = holder.get("/me").json()
    assert me["organisation"]["siret"] == SIRET and "users" in me["rights"]

    # The same SIRET again, from someone else: the same answer, no account, the admin told.
    intruder = f"mallory-{uuid.uuid4().hex[:6]}@example.net"
    again = anonymous.post("/signup", json=form(code, intruder))
    assert (again.status_code, again.json()) == (202, accepted.json())
    notice = wait_for_email(smtp_server.emails, email, "Demande de compte pour votre organisme")
    assert f"SIRET {SIRET}, déjà inscrit au nom de votre organisme" in notice
    assert not [m for m in smtp_server.emails() if m["To"] == intruder]

    listed = funder.get("/signups").json()
    [signup] = [one for one in listed if one["email"] == email]
    assert (signup["status"], signup["holder_name"]) == ("active", "Alice DURAND")
    suspended = funder.post(f"/signups/{signup['id']}/suspend")
    assert suspended.status_code == 200 and suspended.json()["status_label"] == "Suspendu"
    refused = anonymous.post("/auth/login", json={"identifier": email, "password": "Atlas_2026"})
    assert refused.status_code == 401
    assert holder.get("/me").status_code == 401  # its session ended
