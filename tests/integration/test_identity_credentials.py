"""identity on RabbitMQ + PostgreSQL: no account takeover from a stolen session (issue 11).

An email change needs the current password and takes effect only through the link sent to
the new address; the old address is told at once and can cancel; an address belongs to one
account of a funder, without the requester learning which addresses exist; every change of
credentials ends the account's other sessions and is in the audit trail.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from servicekit.errors import Conflict, InvalidInput, Unauthenticated
from tests.integration.test_identity_service import (  # noqa: F401  (fixture)
    PASSWORD, arrived, bootstrap, emails, first_login, identity, link_token, new_organisation)


@pytest.fixture
def funder(identity, rpc):
    """Funder staff, and two organisations (marie's, paul's) of the same funder."""
    agent = bootstrap(rpc)
    organisation = rpc.identity.create_organisation(agent, new_organisation(1, "marie"))
    rpc.identity.create_organisation(agent, new_organisation(2, "paul"))
    first_login(rpc, "marie")
    first_login(rpc, "paul")
    return {"agent": agent, "organisation": organisation}


def session(rpc, identifier: str, password: str = PASSWORD) -> str:
    return rpc.identity.login({"identifier": identifier, "password": password})["access_token"]


def is_open(rpc, token: str) -> bool:
    try:
        rpc.identity.authenticate(token)
    except Unauthenticated:
        return False
    return True


def change_email(rpc, actor: dict, email: str, **extra) -> dict:
    return rpc.identity.update_me(actor, {"email": email, "current_password": PASSWORD, **extra})


def audit_actions(rpc, funder) -> list[str]:
    return [row["action"] for row in rpc.identity.audit_trail(funder["agent"],
                                                              funder["organisation"]["id"])]


def test_an_email_change_needs_the_password_then_the_link_sent_to_the_new_address(funder, rpc):
    mine, other = session(rpc, "marie"), session(rpc, "marie")
    actor = rpc.identity.authenticate(mine)
    for payload, code in (({"email": "md@example.org"}, "current_password_required"),
                          ({"email": "md@example.org", "current_password": "Wrong_2026"},
                           "wrong_password")):
        with pytest.raises(InvalidInput) as raised:
            rpc.identity.update_me(actor, payload)
        assert raised.value.code == code
    assert rpc.identity.update_me(actor, {"name": "Marie D."})["user"]["name"] == "Marie D."

    me = change_email(rpc, actor, "md@example.org")
    assert me["user"]["email"] == "marie@example.org" and me["pending_email"] == "md@example.org"
    assert rpc.identity.me(actor)["user"]["email"] == "marie@example.org"
    [notice] = emails("email_change_notice", to="marie@example.org")
    assert notice["context"]["new_email"] == "md@example.org"
    assert "/auth/cancel-email-change?token=" in notice["context"]["link"]
    [confirmation] = emails("email_change", to="md@example.org")
    assert confirmation["context"]["taken"] is False
    assert "/auth/confirm-email?token=" in confirmation["context"]["link"]
    assert is_open(rpc, other)  # nothing changed yet

    rpc.identity.confirm_email_change(link_token(confirmation))
    me = rpc.identity.me(actor)
    assert me["user"]["email"] == "md@example.org" and me["pending_email"] is None
    assert is_open(rpc, mine) and not is_open(rpc, other)
    for used, confirm in ((confirmation, rpc.identity.confirm_email_change),
                          (notice, rpc.identity.cancel_email_change)):  # single use; too late
        with pytest.raises(InvalidInput) as raised:
            confirm(link_token(used))
        assert raised.value.code == "invalid_link"
    rpc.identity.request_password_reset({"identifier": "marie"})
    assert arrived("password_reset", to="md@example.org")
    assert {"email_change_requested", "email_changed"} <= set(audit_actions(rpc, funder))


def test_the_old_address_cancels_the_change_and_every_session(funder, rpc):
    mine, other = session(rpc, "marie"), session(rpc, "marie")
    actor = rpc.identity.authenticate(mine)
    change_email(rpc, actor, "first@example.org")
    me = change_email(rpc, actor, "thief@example.org")  # supersedes the first request
    assert me["pending_email"] == "thief@example.org"
    with pytest.raises(InvalidInput):
        rpc.identity.confirm_email_change(link_token(emails("email_change",
                                                            to="first@example.org")[0]))
    [notice] = [e for e in emails("email_change_notice")
                if e["context"]["new_email"] == "thief@example.org"]

    rpc.identity.cancel_email_change(link_token(notice))
    assert not is_open(rpc, mine) and not is_open(rpc, other)
    actor = rpc.identity.authenticate(session(rpc, "marie"))
    me = rpc.identity.me(actor)
    assert me["user"]["email"] == "marie@example.org" and me["pending_email"] is None
    [confirmation] = emails("email_change", to="thief@example.org")
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.confirm_email_change(link_token(confirmation))
    assert raised.value.code == "invalid_link"
    assert "email_change_cancelled" in audit_actions(rpc, funder)


def test_an_address_belongs_to_one_account_of_the_funder_and_the_answer_tells_nothing(
        funder, rpc):
    paul = rpc.identity.authenticate(session(rpc, "paul"))
    taken = change_email(rpc, paul, "MARIE@example.org")  # marie's, whatever the case
    free = change_email(rpc, paul, "nobody-yet@example.org")
    assert {**taken, "pending_email": None} == {**free, "pending_email": None}
    [told] = emails("email_change", to="MARIE@example.org")
    assert told["context"]["taken"] is True and told["context"]["link"] is None

    # Two accounts wait for the same free address: the first to confirm gets it.
    marie = rpc.identity.authenticate(session(rpc, "marie"))
    change_email(rpc, paul, "shared@example.org")
    change_email(rpc, marie, "shared@example.org")
    for_paul, for_marie = emails("email_change", to="shared@example.org")
    rpc.identity.confirm_email_change(link_token(for_marie))
    with pytest.raises(Conflict) as raised:
        rpc.identity.confirm_email_change(link_token(for_paul))
    assert raised.value.code == "email_taken"
    assert rpc.identity.me(paul)["user"]["email"] == "paul@example.org"

    # Another funder's account may use the same address.
    elsewhere = bootstrap(rpc, "tpro-idf")
    change_email(rpc, elsewhere, "shared@example.org")
    assert emails("email_change", to="shared@example.org")[-1]["context"]["taken"] is False


def test_every_change_of_credentials_ends_the_other_sessions_and_is_audited(funder, rpc):
    def ends_other_sessions(change, identifier="marie", password=PASSWORD):
        mine, other = session(rpc, identifier, password), session(rpc, identifier, password)
        change(rpc.identity.authenticate(mine))
        assert is_open(rpc, mine) and not is_open(rpc, other)

    def change_identifier(actor):
        rpc.identity.change_identifier(actor, {"current_password": PASSWORD,
                                               "new_identifier": "marie.d"})
        rpc.identity.confirm_identifier(link_token(emails("identifier_change")[-1]))

    ends_other_sessions(change_identifier)
    issued = {}
    ends_other_sessions(lambda actor: issued.update(rpc.identity.issue_api_token(
        actor, {"name": "logiciel", "expires_on": str(date.today() + timedelta(days=30))})),
        "marie.d")
    ends_other_sessions(lambda actor: rpc.identity.revoke_api_token(actor, issued["id"]),
                        "marie.d")
    ends_other_sessions(lambda actor: rpc.identity.change_password(actor, {
        "current_password": PASSWORD, "new_password": "Autre-Secret_2027",
        "new_password_confirmation": "Autre-Secret_2027"}), "marie.d")
    assert {"identifier_changed", "api_token_issued", "api_token_revoked",
            "password_changed"} <= set(audit_actions(rpc, funder))
