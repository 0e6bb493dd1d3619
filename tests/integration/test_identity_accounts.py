"""identity on RabbitMQ + PostgreSQL: first login, identifier confirmation, "mon compte",
password reset, lock-out per account and per address, idle sessions."""
from __future__ import annotations

import pytest

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from contracts.common.errors import (Conflict, Forbidden, InvalidInput, TooManyRequests,
                               Unauthenticated)
from tests.support.integration import PASSWORD, bootstrap, link_token, new_organisation

NEW_PASSWORD = "Nouveau-Secret_2027"


def login(rpc, identifier, password=PASSWORD, ip=None):
    return rpc.identity.login({"identifier": identifier, "password": password}, ip)


def new_password(password=NEW_PASSWORD, **extra):
    return {"new_password": password, "new_password_confirmation": password, **extra}


@pytest.fixture
def organisation(identity, rpc):
    admin = bootstrap(rpc)
    return rpc.identity.create_organisation(admin, new_organisation(1, "marie"))


def test_first_login_personalises_then_confirms_the_identifier(organisation, rpc, mail):
    provisional = mail.provisional_password("marie")
    session = login(rpc, "marie", provisional, "203.0.113.7")
    assert session["must_personalise"] and session["privacy_policy_pending"]
    actor = rpc.identity.authenticate(session["access_token"])
    assert actor["restricted"] and actor["email"] == "marie@example.org"
    with pytest.raises(Forbidden):  # restricted: no administration yet
        rpc.identity.list_api_tokens(actor)
    with pytest.raises(Conflict):  # personalise first
        rpc.identity.accept_privacy_policy(actor, {"version": "2026-01"})
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.personalise(actor, new_password("Password1!", new_identifier="m.durand",
                                                     current_password=provisional))
    assert raised.value.code == "weak_password"
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.personalise(actor, {"new_identifier": "m.durand",
                                         "current_password": provisional,
                                         "new_password": NEW_PASSWORD,
                                         "new_password_confirmation": NEW_PASSWORD + "x"})
    assert raised.value.code == "password_mismatch"

    me = rpc.identity.personalise(actor, new_password(new_identifier="M.Durand",
                                                      current_password=provisional))
    assert me["must_personalise"] is False and me["pending_identifier"] == "m.durand"
    assert me["user"]["identifier"] == "marie"  # until confirmed
    [change] = mail.emails("identifier_change")
    assert change["to"] == "marie@example.org"
    assert change["context"]["old_identifier"] == "marie"
    assert change["context"]["new_identifier"] == "m.durand"
    with pytest.raises(Conflict):
        rpc.identity.personalise(actor, new_password(new_identifier="marie",
                                                     current_password=NEW_PASSWORD))

    me = rpc.identity.accept_privacy_policy(actor, {"version": "2026-01"})
    assert me["privacy_policy_pending"] is False
    assert not rpc.identity.authenticate(session["access_token"])["restricted"]

    assert rpc.identity.confirm_identifier(link_token(change)) == {"identifier": "m.durand"}
    with pytest.raises(InvalidInput) as raised:  # single use
        rpc.identity.confirm_identifier(link_token(change))
    assert raised.value.code == "invalid_link"
    assert login(rpc, "m.durand", NEW_PASSWORD)["must_personalise"] is False
    with pytest.raises(Unauthenticated):
        login(rpc, "marie", NEW_PASSWORD)

    admin = bootstrap(rpc, "tpro-idf")
    trail = [row["action"] for row in rpc.identity.audit_trail(
        login_actor(rpc, "admin-tpro-ge"), organisation["id"])]
    assert {"organisation_created", "login_succeeded", "account_personalised",
            "identifier_change_requested", "privacy_policy_accepted",
            "identifier_changed"} <= set(trail)
    assert admin["funder_id"] != organisation["funder_id"]


def login_actor(rpc, identifier, password=PASSWORD):
    return rpc.identity.authenticate(login(rpc, identifier, password)["access_token"])


def test_my_account_and_password_change_ends_other_sessions(organisation, rpc, mail):
    actor = mail.first_login(rpc, "marie")
    other = login(rpc, "marie")
    # The email changes by confirmation: test_identity_credentials.
    me = rpc.identity.update_me(actor, {"name": "Marie DURAND"})
    assert me["user"]["name"] == "Marie DURAND"

    with pytest.raises(InvalidInput) as raised:
        rpc.identity.change_password(actor, new_password(current_password="Wrong_2026"))
    assert raised.value.code == "wrong_password"
    rpc.identity.change_password(actor, new_password(current_password=PASSWORD))
    rpc.identity.me(actor)  # the caller's own session goes on
    with pytest.raises(Unauthenticated):
        rpc.identity.authenticate(other["access_token"])
    login(rpc, "marie", NEW_PASSWORD)

    with pytest.raises(InvalidInput) as raised:
        rpc.identity.change_identifier(actor, {"current_password": PASSWORD,
                                               "new_identifier": "mdurand"})
    assert raised.value.code == "wrong_password"
    me = rpc.identity.change_identifier(actor, {"current_password": NEW_PASSWORD,
                                                "new_identifier": "mdurand"})
    assert me["pending_identifier"] == "mdurand"
    [change] = mail.emails("identifier_change", to="marie@example.org")
    rpc.identity.confirm_identifier(link_token(change))
    login(rpc, "mdurand", NEW_PASSWORD)


def test_password_reset(organisation, rpc, mail):
    mail.first_login(rpc, "marie")
    session = login(rpc, "marie")
    answers = [rpc.identity.request_password_reset({"identifier": identifier}, "203.0.113.7")
               for identifier in ("unknown", "MARIE")]
    assert answers[0] == answers[1]
    [reset] = mail.arrived("password_reset")
    assert reset["to"] == "marie@example.org" and reset["context"]["valid_minutes"] == 60
    token = link_token(reset)
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.reset_password({"token": token, **new_password("short")})
    assert raised.value.code == "weak_password"
    rpc.identity.reset_password({"token": token, **new_password()})
    with pytest.raises(Unauthenticated):  # every session ended
        rpc.identity.authenticate(session["access_token"])
    login(rpc, "marie", NEW_PASSWORD)
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.reset_password({"token": token, **new_password("Encore-Un_2028")})
    assert raised.value.code == "invalid_link"


def test_lock_out_per_account_and_per_address(organisation, rpc, monkeypatch, mail):
    mail.first_login(rpc, "marie")
    monkeypatch.setenv("JALON_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("JALON_IP_MAX_FAILURES", "4")
    answers = set()
    for n in range(3):
        with pytest.raises(Unauthenticated) as raised:
            login(rpc, "marie", "Wrong_2026", ip=f"198.51.100.{n}")
        answers.add(raised.value.message)
    with pytest.raises(Unauthenticated) as raised:  # locked: even the right password fails
        login(rpc, "marie", PASSWORD, ip="198.51.100.9")
    answers.add(raised.value.message)
    with pytest.raises(Unauthenticated) as raised:  # and looks like an unknown account
        login(rpc, "nobody", PASSWORD, ip="198.51.100.9")
    answers.add(raised.value.message)
    assert answers == {"Identifiant ou mot de passe incorrect."}

    for _ in range(4):
        with pytest.raises(Unauthenticated):
            login(rpc, "nobody", PASSWORD, ip="203.0.113.66")
    with pytest.raises(TooManyRequests) as raised:
        login(rpc, "admin-tpro-ge", PASSWORD, ip="203.0.113.66")
    assert raised.value.code == "too_many_attempts"
    login(rpc, "admin-tpro-ge", PASSWORD, ip="203.0.113.67")  # another address may


def test_idle_sessions_end(organisation, rpc, monkeypatch):
    session = login(rpc, "admin-tpro-ge")
    rpc.identity.authenticate(session["access_token"])
    monkeypatch.setenv("JALON_SESSION_IDLE_MINUTES", "0")
    with pytest.raises(Unauthenticated) as raised:
        rpc.identity.authenticate(session["access_token"])
    assert raised.value.code == "session_expired"
