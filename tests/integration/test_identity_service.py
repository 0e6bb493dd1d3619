"""identity, running for real on RabbitMQ and PostgreSQL: bootstrap, login, sessions,
organisations and their scoping.

Emails go to a fake "notifications" service that records send_direct_email calls (the `mail`
fixture, tests/integration/conftest.py): a test reads the provisional password (and links) from
them, as a user reads their email.
"""
from __future__ import annotations

import pytest
from sqlalchemy import update

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from services.identity.models import users
from servicekit.db import make_engine
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from tests.support.integration import PASSWORD, bootstrap, new_organisation, new_user, valid_siret


def test_bootstrap_funder_once(identity, rpc):
    assert rpc.identity.health() == {"service": "identity", "status": "ok", "database": "ok"}
    created = rpc.identity.bootstrap_funder({"code": "tpro-ge", "name": "Transitions Pro GE",
                                             "admin": new_user("Admin.GE")})
    assert created["admin"]["identifier"] == "admin.ge"
    assert created["admin"]["role"] == "funder_admin"
    assert created["admin"]["funder_id"] == created["funder_id"]
    assert "password" not in str(created)
    with pytest.raises(Conflict) as raised:
        rpc.identity.bootstrap_funder({"code": "tpro-ge", "name": "Autre",
                                       "admin": new_user("other")})
    assert raised.value.code == "funder_exists"


def test_bootstrap_refuses_bad_input(identity, rpc):
    for admin, code in ((new_user("weak", password="secret_2026"), "weak_password"),
                        ({"identifier": "x"}, "invalid_payload")):
        with pytest.raises(InvalidInput) as raised:
            rpc.identity.bootstrap_funder({"code": "tpro-ge", "name": "GE", "admin": admin})
        assert raised.value.code == code


def test_login_then_authenticate_then_logout(identity, rpc):
    bootstrap(rpc)
    session = rpc.identity.login({"identifier": "ADMIN-tpro-ge", "password": PASSWORD},
                                 "203.0.113.7")
    assert session["token_type"] == "Bearer" and len(session["access_token"]) >= 40
    actor = rpc.identity.authenticate(session["access_token"])
    assert actor["role"] == "funder_admin" and actor["organisation_id"] is None
    me = rpc.identity.me(actor)
    assert me["user"]["identifier"] == "admin-tpro-ge" and me["organisation"] is None

    rpc.identity.logout(session["access_token"])
    rpc.identity.logout(session["access_token"])  # twice is harmless
    with pytest.raises(Unauthenticated) as raised:
        rpc.identity.authenticate(session["access_token"])
    assert raised.value.code == "invalid_token"


def test_login_failures_all_look_the_same(identity, rpc):
    bootstrap(rpc)
    failures = []
    for identifier, password in (("admin-tpro-ge", "Wrong_2026"), ("unknown", PASSWORD)):
        with pytest.raises(Unauthenticated) as raised:
            rpc.identity.login({"identifier": identifier, "password": password})
        failures.append((raised.value.code, raised.value.message))
    engine = make_engine(identity)
    with engine.begin() as conn:
        conn.execute(update(users).values(active=False)
                     .where(users.c.identifier == "admin-tpro-ge"))
    with pytest.raises(Unauthenticated) as raised:  # the right password, but deactivated
        rpc.identity.login({"identifier": "admin-tpro-ge", "password": PASSWORD})
    failures.append((raised.value.code, raised.value.message))
    assert set(failures) == {("invalid_credentials", "Identifiant ou mot de passe incorrect.")}


def test_session_expires(identity, rpc, monkeypatch):
    bootstrap(rpc)
    monkeypatch.setenv("JALON_TOKEN_TTL_MINUTES", "0")
    session = rpc.identity.login({"identifier": "admin-tpro-ge", "password": PASSWORD})
    with pytest.raises(Unauthenticated) as raised:
        rpc.identity.authenticate(session["access_token"])
    assert raised.value.code == "session_expired"


def test_unknown_tokens(identity, rpc):
    for token in ("", "not-a-token", "x" * 43):
        with pytest.raises(Unauthenticated) as raised:
            rpc.identity.authenticate(token)
        assert raised.value.code == "invalid_token"


def test_create_organisation_and_its_first_user(identity, rpc, mail):
    admin = bootstrap(rpc)
    siret = valid_siret(1)
    spaced = f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"
    organisation = rpc.identity.create_organisation(admin, new_organisation(
        1, "Marie.Durand", siret=spaced))
    assert organisation["siret"] == siret and organisation["funder_id"] == admin["funder_id"]
    assert rpc.identity.get_organisation(admin, organisation["id"]) == organisation

    [credentials] = mail.emails("account_credentials", to="marie.durand@example.org")
    assert credentials["context"]["identifier"] == "marie.durand"
    assert credentials["context"]["organisation_name"] == "Organisme 1"
    assert credentials["context"]["link"].startswith("http")
    user = mail.first_login(rpc, "marie.durand")
    assert user["role"] == "organisation_user"
    assert user["organisation_id"] == organisation["id"]
    assert user["rights"] == ["enter_hours", "certify_certificates", "payments", "documents",
                             "users"]
    assert rpc.identity.me(user)["organisation"] == organisation
    assert user["email"] == "marie.durand@example.org"
    assert rpc.identity.get_organisation(user, organisation["id"]) == organisation
    with pytest.raises(Forbidden):  # an organisation does not create organisations
        rpc.identity.create_organisation(user, new_organisation(2, "other"))


def test_create_organisation_refusals(identity, rpc, mail):
    admin = bootstrap(rpc)
    rpc.identity.create_organisation(admin, new_organisation(1, "first"))
    cases = [
        (new_organisation(2, "bad", siret="73282932000075"), InvalidInput, "invalid_siret"),
        (new_organisation(1, "second"), Conflict, "siret_taken"),
        (new_organisation(3, "FIRST"), Conflict, "identifier_taken"),
        (new_organisation(4, "pwd", user=new_user("pwd")), InvalidInput,
         "invalid_payload"),  # no password in the request any more: identity makes one
    ]
    for payload, kind, code in cases:
        with pytest.raises(kind) as raised:
            rpc.identity.create_organisation(admin, payload)
        assert raised.value.code == code, payload
    # Refused requests left nothing behind: SIRET 3 is still free.
    assert rpc.identity.create_organisation(admin, new_organisation(3, "third"))["siret"] \
        == valid_siret(3)
    assert len(mail.emails("account_credentials")) == 2  # nothing sent for the refused ones


def test_first_user_identifier_defaults_to_the_email(identity, rpc, mail):
    admin = bootstrap(rpc)
    payload = new_organisation(1, "x")
    del payload["user"]["identifier"]
    rpc.identity.create_organisation(admin, payload)
    assert mail.provisional_password("x@example.org")


def test_organisations_do_not_leak(identity, rpc, mail):
    admin = bootstrap(rpc, "tpro-ge")
    other_funder = bootstrap(rpc, "tpro-idf")
    first = rpc.identity.create_organisation(admin, new_organisation(1, "first"))
    second = rpc.identity.create_organisation(admin, new_organisation(2, "second"))
    # The same SIRET may exist under another funder.
    rpc.identity.create_organisation(other_funder, new_organisation(1, "elsewhere"))
    first_user = mail.first_login(rpc, "first")
    for actor, organisation_id in ((first_user, second["id"]), (other_funder, first["id"]),
                                   (admin, "no-such-id")):
        with pytest.raises(NotFound) as raised:
            rpc.identity.get_organisation(actor, organisation_id)
        assert raised.value.code == "organisation_not_found"
