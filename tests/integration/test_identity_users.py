"""identity on RabbitMQ + PostgreSQL: an organisation's users and rights, funder staff, API
tokens, credentials resent, the audit trail."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from tests.support.integration import PASSWORD, bootstrap, new_organisation


def new_member(identifier, rights=("enter_hours",), **extra):
    return {"identifier": identifier, "name": identifier.title(),
            "email": f"{identifier}@example.org", "rights": list(rights), **extra}


@pytest.fixture
def setup(identity, rpc, mail):
    agent = bootstrap(rpc)
    first = rpc.identity.create_organisation(agent, new_organisation(1, "marie"))
    second = rpc.identity.create_organisation(agent, new_organisation(2, "other"))
    return {"agent": agent, "first": first, "second": second,
            "admin": mail.first_login(rpc, "marie"), "other": mail.first_login(rpc, "other")}


def test_an_administrator_manages_its_users(setup, rpc, mail):
    admin, first = setup["admin"], setup["first"]
    created = rpc.identity.create_user(admin, first["id"], new_member("paul"))
    assert created["credentials_sent"] and created["must_personalise"]
    assert created["rights"] == ["enter_hours"] and created["active"]
    paul = mail.first_login(rpc, "paul")
    assert paul["rights"] == ["enter_hours"] and paul["organisation_id"] == first["id"]
    for refused, kind in ((lambda: rpc.identity.create_user(paul, first["id"], new_member("x")),
                           Forbidden),  # no users right
                          (lambda: rpc.identity.create_user(admin, first["id"],
                                                            new_member("x", rights=())),
                           InvalidInput),  # at least one right
                          (lambda: rpc.identity.create_user(admin, first["id"],
                                                            new_member("PAUL")), Conflict),
                          (lambda: rpc.identity.create_user(admin, setup["second"]["id"],
                                                            new_member("x")), NotFound),
                          (lambda: rpc.identity.update_user(setup["other"], paul["user_id"],
                                                            {"active": False}), NotFound)):
        with pytest.raises(kind):
            refused()

    listed = rpc.identity.list_users(admin, first["id"])
    assert [u["identifier"] for u in listed] == ["marie", "paul"]
    assert rpc.identity.list_users(setup["agent"], first["id"]) == listed
    with pytest.raises(Forbidden):
        rpc.identity.list_users(paul, first["id"])

    changed = rpc.identity.update_user(admin, paul["user_id"],
                                       {"rights": ["enter_hours", "documents"],
                                        "name": "Paul MARTIN"})
    assert changed["rights"] == ["enter_hours", "documents"] and changed["name"] == "Paul MARTIN"
    session = rpc.identity.login({"identifier": "paul", "password": PASSWORD})
    rpc.identity.update_user(admin, paul["user_id"], {"active": False})
    with pytest.raises(Unauthenticated):  # deactivation ends the sessions
        rpc.identity.authenticate(session["access_token"])

    with pytest.raises(Conflict) as raised:  # the last administrator keeps the users right
        rpc.identity.update_user(admin, admin["user_id"], {"rights": ["enter_hours"]})
    assert raised.value.code == "last_administrator"

    actions = [row["action"] for row in rpc.identity.audit_trail(setup["agent"], first["id"])]
    assert {"user_created", "rights_changed", "user_updated", "user_deactivated"} <= set(actions)
    own = rpc.identity.audit_trail(admin, first["id"])  # issue 15: its administrator reads it
    assert {"user_created", "rights_changed"} <= {row["action"] for row in own}
    assert "password" not in str(rpc.identity.audit_trail(setup["agent"], first["id"])).lower()


def test_resend_credentials_replaces_the_provisional_password(setup, rpc, mail):
    created = rpc.identity.create_user(setup["admin"], setup["first"]["id"], new_member("paul"))
    first_password = mail.provisional_password("paul")
    resent = rpc.identity.resend_credentials(setup["agent"], created["id"])
    assert resent["credentials_sent"] and mail.provisional_password("paul") != first_password
    with pytest.raises(Unauthenticated):
        rpc.identity.login({"identifier": "paul", "password": first_password})
    mail.first_login(rpc, "paul")
    with pytest.raises(NotFound):
        rpc.identity.resend_credentials(setup["other"], created["id"])


def test_funder_users(setup, rpc, mail):
    agent = setup["agent"]  # the bootstrap administrator
    created = rpc.identity.create_funder_user(agent, {"identifier": "lucie", "name": "Lucie",
                                                      "email": "lucie@example.org",
                                                      "role": "funder_agent"})
    assert created["role"] == "funder_agent" and created["credentials_sent"]
    lucie = mail.first_login(rpc, "lucie")
    assert lucie["role"] == "funder_agent" and lucie["funder_id"] == agent["funder_id"]
    for actor in (lucie, setup["admin"]):
        with pytest.raises(Forbidden):
            rpc.identity.create_funder_user(actor, {"identifier": "x1", "name": "X",
                                                    "email": "x@example.org",
                                                    "role": "funder_admin"})


def test_api_tokens(setup, rpc, mail):
    admin = setup["admin"]
    expires_on = (date.today() + timedelta(days=30)).isoformat()
    issued = rpc.identity.issue_api_token(admin, {"name": "ERP", "expires_on": expires_on,
                                                  "rights": ["enter_hours"]})
    second = rpc.identity.issue_api_token(admin, {"name": "Autre", "expires_on": expires_on})
    assert issued["token"].startswith("jat_") and second["rights"] == admin["rights"]
    machine = rpc.identity.authenticate(issued["token"])
    assert machine == {**machine, "user_id": f"api-token:{issued['id']}",
                       "role": "organisation_user", "organisation_id": setup["first"]["id"],
                       "rights": ["enter_hours"], "restricted": False}
    listed = rpc.identity.list_api_tokens(admin)
    assert [t["name"] for t in listed] == ["ERP", "Autre"] and "jat_" not in str(listed)
    with pytest.raises(NotFound):
        rpc.identity.revoke_api_token(setup["other"], issued["id"])
    with pytest.raises(Forbidden):  # a token does not manage tokens
        rpc.identity.issue_api_token(machine, {"name": "x", "expires_on": expires_on})
    with pytest.raises(InvalidInput):
        rpc.identity.issue_api_token(admin, {"name": "x", "expires_on": (
            date.today() + timedelta(days=400)).isoformat()})
    revoked = rpc.identity.revoke_api_token(admin, issued["id"])
    assert revoked["active"] is False and revoked["revoked_at"]
    with pytest.raises(Unauthenticated):
        rpc.identity.authenticate(issued["token"])
    rpc.identity.authenticate(second["token"])
    actions = [row["action"] for row in rpc.identity.audit_trail(setup["agent"],
                                                                 setup["first"]["id"])]
    assert actions.count("api_token_issued") == 2 and "api_token_revoked" in actions
    assert issued["token"] not in str(rpc.identity.audit_trail(setup["agent"],
                                                               setup["first"]["id"]))
    assert all(issued["token"] not in str(e) for e in mail.sent)
