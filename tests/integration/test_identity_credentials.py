"""identity on RabbitMQ + PostgreSQL: no account takeover from a stolen session (issue 11).

An email change needs the current password and takes effect only through the link sent to
the new address; the old address is told at once and can cancel; an address belongs to one
account of a funder, without the requester learning which addresses exist; every change of
credentials ends the account's other sessions and is in the audit trail. The first login
needs the provisional password; an administrator's change of a user's email waits for the
link like the user's own; two confirmations of one address cannot both win.
"""
from __future__ import annotations

from datetime import date, timedelta

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from servicekit.db import make_engine
from contracts.common.errors import Conflict, InvalidInput, Unauthenticated
from tests.support.integration import PASSWORD, bootstrap, link_token, new_organisation
from tools.waiting import wait_until


@pytest.fixture
def funder(identity, rpc, mail):
    """Funder staff, and two organisations (marie's, paul's) of the same funder."""
    agent = bootstrap(rpc)
    organisation = rpc.identity.create_organisation(agent, new_organisation(1, "marie"))
    rpc.identity.create_organisation(agent, new_organisation(2, "paul"))
    mail.first_login(rpc, "marie")
    mail.first_login(rpc, "paul")
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


def test_an_email_change_needs_the_password_then_the_link_sent_to_the_new_address(
        funder, rpc, mail):
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
    [notice] = mail.emails("email_change_notice", to="marie@example.org")
    assert notice["context"]["new_email"] == "md@example.org"
    assert "/auth/cancel-email-change?token=" in notice["context"]["link"]
    [confirmation] = mail.emails("email_change", to="md@example.org")
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
    assert mail.arrived("password_reset", to="md@example.org")
    assert {"email_change_requested", "email_changed"} <= set(audit_actions(rpc, funder))


def test_the_old_address_cancels_the_change_and_every_session(funder, rpc, mail):
    mine, other = session(rpc, "marie"), session(rpc, "marie")
    actor = rpc.identity.authenticate(mine)
    change_email(rpc, actor, "first@example.org")
    me = change_email(rpc, actor, "thief@example.org")  # supersedes the first request
    assert me["pending_email"] == "thief@example.org"
    with pytest.raises(InvalidInput):
        rpc.identity.confirm_email_change(link_token(mail.emails("email_change",
                                                                 to="first@example.org")[0]))
    [notice] = [e for e in mail.emails("email_change_notice")
                if e["context"]["new_email"] == "thief@example.org"]

    rpc.identity.cancel_email_change(link_token(notice))
    assert not is_open(rpc, mine) and not is_open(rpc, other)
    actor = rpc.identity.authenticate(session(rpc, "marie"))
    me = rpc.identity.me(actor)
    assert me["user"]["email"] == "marie@example.org" and me["pending_email"] is None
    [confirmation] = mail.emails("email_change", to="thief@example.org")
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.confirm_email_change(link_token(confirmation))
    assert raised.value.code == "invalid_link"
    assert "email_change_cancelled" in audit_actions(rpc, funder)


def test_an_address_belongs_to_one_account_of_the_funder_and_the_answer_tells_nothing(
        funder, rpc, mail):
    paul = rpc.identity.authenticate(session(rpc, "paul"))
    taken = change_email(rpc, paul, "MARIE@example.org")  # marie's, whatever the case
    free = change_email(rpc, paul, "nobody-yet@example.org")
    assert {**taken, "pending_email": None} == {**free, "pending_email": None}
    [told] = mail.emails("email_change", to="MARIE@example.org")
    assert told["context"]["taken"] is True and told["context"]["link"] is None

    # Two accounts wait for the same free address: the first to confirm gets it.
    marie = rpc.identity.authenticate(session(rpc, "marie"))
    change_email(rpc, paul, "shared@example.org")
    change_email(rpc, marie, "shared@example.org")
    for_paul, for_marie = mail.emails("email_change", to="shared@example.org")
    rpc.identity.confirm_email_change(link_token(for_marie))
    with pytest.raises(Conflict) as raised:
        rpc.identity.confirm_email_change(link_token(for_paul))
    assert raised.value.code == "email_taken"
    assert rpc.identity.me(paul)["user"]["email"] == "paul@example.org"

    # Another funder's account may use the same address.
    elsewhere = bootstrap(rpc, "tpro-idf")
    change_email(rpc, elsewhere, "shared@example.org")
    assert mail.emails("email_change", to="shared@example.org")[-1]["context"]["taken"] is False


def test_every_change_of_credentials_ends_the_other_sessions_and_is_audited(funder, rpc, mail):
    def ends_other_sessions(change, identifier="marie", password=PASSWORD):
        mine, other = session(rpc, identifier, password), session(rpc, identifier, password)
        change(rpc.identity.authenticate(mine))
        assert is_open(rpc, mine) and not is_open(rpc, other)

    def change_identifier(actor):
        rpc.identity.change_identifier(actor, {"current_password": PASSWORD,
                                               "new_identifier": "marie.d"})
        rpc.identity.confirm_identifier(link_token(mail.emails("identifier_change")[-1]))

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


def test_the_first_login_needs_the_provisional_password(funder, rpc, mail):
    rpc.identity.create_organisation(funder["agent"], new_organisation(3, "lucie"))
    provisional = mail.provisional_password("lucie")
    actor = rpc.identity.authenticate(session(rpc, "lucie", provisional))
    chosen = {"new_identifier": "lucie", "new_password": "Voleur-Secret_2027",
              "new_password_confirmation": "Voleur-Secret_2027"}
    for payload, code in ((chosen, "invalid_payload"),
                          ({**chosen, "current_password": "Devine_2026"}, "wrong_password"),
                          ({**chosen, "current_password": provisional,
                            "new_password": provisional, "new_password_confirmation":
                                provisional}, "same_password")):
        with pytest.raises(InvalidInput) as raised:
            rpc.identity.personalise(actor, payload)
        assert raised.value.code == code
    assert rpc.identity.me(actor)["must_personalise"] is True
    rpc.identity.personalise(actor, {**chosen, "current_password": provisional})
    assert session(rpc, "lucie", "Voleur-Secret_2027")


def new_user(rpc, admin: dict, identifier: str) -> dict:
    return rpc.identity.create_user(admin, admin["organisation_id"], {
        "identifier": identifier, "name": identifier.title(),
        "email": f"{identifier}@example.org", "rights": ["enter_hours"]})


def test_an_administrators_change_of_a_users_email_waits_for_the_link(funder, rpc, mail):
    marie = rpc.identity.authenticate(session(rpc, "marie"))
    hugo = new_user(rpc, marie, "hugo")
    mail.first_login(rpc, "hugo")
    hugos = session(rpc, "hugo")

    details = rpc.identity.update_user(marie, hugo["id"], {"email": "thief@example.org",
                                                           "name": "Hugo L."})
    assert (details["email"], details["name"]) == ("hugo@example.org", "Hugo L.")
    assert rpc.identity.me(rpc.identity.authenticate(hugos))["pending_email"] == \
        "thief@example.org"
    [notice] = mail.emails("email_change_notice", to="hugo@example.org")
    assert "/auth/cancel-email-change?token=" in notice["context"]["link"]
    assert notice["context"]["by_administrator"] is True  # the notice says who asked
    [confirmation] = mail.emails("email_change", to="thief@example.org")
    rpc.identity.request_password_reset({"identifier": "hugo"})
    assert mail.arrived("password_reset", to="hugo@example.org")  # not to the new address yet

    rpc.identity.confirm_email_change(link_token(confirmation))
    assert not is_open(rpc, hugos)  # no session asked: every one ends
    assert rpc.identity.me(rpc.identity.authenticate(session(rpc, "hugo")))["user"][
        "email"] == "thief@example.org"
    assert "email_change_requested" in audit_actions(rpc, funder)


def test_an_administrator_corrects_the_address_of_an_account_never_used_at_once(funder, rpc, mail):
    marie = rpc.identity.authenticate(session(rpc, "marie"))
    lea = new_user(rpc, marie, "lea")
    details = rpc.identity.update_user(marie, lea["id"], {"email": "lea.p@example.org"})
    assert details["email"] == "lea.p@example.org" and not mail.emails("email_change")
    rpc.identity.resend_credentials(marie, lea["id"])
    assert mail.emails("account_credentials", to="lea.p@example.org")


def test_two_confirmations_of_one_address_at_once_give_it_to_one_account(
        funder, rpc, identity, amqp_uri, mail):
    marie = rpc.identity.authenticate(session(rpc, "marie"))
    paul = rpc.identity.authenticate(session(rpc, "paul"))
    change_email(rpc, marie, "shared@example.org")
    change_email(rpc, paul, "shared@example.org")
    tokens = [link_token(email) for email in mail.emails("email_change", to="shared@example.org")]

    def confirm(token):
        with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30) as own:
            try:
                return own.identity.confirm_email_change(token)
            except Conflict as refused:
                return refused.code

    engine = make_engine(identity)
    with engine.connect() as holder:  # the funder's lock, held while both confirm
        holder.execute(text("SELECT id FROM funders WHERE id = :id FOR UPDATE"),
                       {"id": marie["funder_id"]})
        confirming = [eventlet.spawn(confirm, token) for token in tokens]

        def waiting() -> int:
            with engine.connect() as probe:
                return probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'")).scalar()

        # Both wait: the check and the change of each are serialised (without the lock,
        # both checked before either committed, and both won).
        wait_until(lambda: waiting() == 2, message="both confirmations at the funder's lock")
        holder.rollback()
        outcomes = sorted(str(g.wait()) for g in confirming)
    engine.dispose()
    assert outcomes == ["None", "email_taken"]
    owners = [rpc.identity.me(actor)["user"]["email"] for actor in (marie, paul)]
    assert owners.count("shared@example.org") == 1
