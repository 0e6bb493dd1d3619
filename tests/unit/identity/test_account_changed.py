"""identity publishes `account_changed` (issue 16) in the transaction of each change of a user
account, with the account as it now is: notifications tells the person and keeps its copy of
their address and rights true."""
from __future__ import annotations

import pytest

from contracts.common import ALL_RIGHTS, Role
from contracts.common.errors import Conflict
from contracts.events import DossierCreatedV1
from contracts.identity import (ChangeIdentifier, ChangePassword, PasswordReset, Personalise,
                                UpdateMe, UserUpdate)
from services.identity import domain, handlers
from tests.support.identity import PASSWORD, world

NEW_PASSWORD = "Nouveau_2027"
TYPED = {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD}


@pytest.fixture
def w():
    return world()


def changes(w) -> list[tuple[str, str, str | None]]:
    """(change, user id, changed by) of each account_changed published, in order."""
    return [(event.change, event.user_id, event.changed_by)
            for event in w.db.events("account_changed")]


def in_transaction(w):
    def once(add):
        with w.db.unit_of_work() as uow:
            return add(uow)
    return once


# --- credentials sent -------------------------------------------------------------------------

def test_a_new_user_is_published_as_it_is_with_its_credentials(w):
    reply = handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", {
        "identifier": "hugo", "name": "Hugo", "email": "hugo@example.org",
        "rights": ["enter_hours"]})
    [published] = w.db.published
    event = published.data
    assert (published.name, published.subject) == ("account_changed", reply["id"])
    assert (event.change, event.changed_by, event.changed_at) == ("credentials_sent",
                                                                  w.manager.id, w.clock())
    assert (event.funder_id, event.role, event.organisation_id, event.party_id) == (
        "f1", "organisation_user", "o1", None)
    assert (event.name, event.email, event.active, event.rights) == (
        "Hugo", "hugo@example.org", True, ["enter_hours"])


def test_an_inactive_new_user_is_sent_no_credentials_nor_published(w):
    handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", {
        "identifier": "hugo", "name": "Hugo", "email": "hugo@example.org",
        "rights": ["enter_hours"], "active": False})
    assert changes(w) == []


def test_an_organisations_first_user_and_a_funder_user_are_published(w):
    handlers.create_organisation(w.db, w.ports, w.actor(w.admin), {
        "name": "Organisme 2", "siret": "73282932000082", "email": "of2@example.org",
        "user": {"identifier": "paul", "name": "Paul", "email": "paul@example.org"}})
    lucie = handlers.create_funder_user(w.db, w.ports, w.actor(w.admin), {
        "identifier": "lucie", "name": "Lucie", "email": "lucie@example.org",
        "role": "funder_agent"})
    paul = w.repositories["users"].by_identifier("paul")
    assert changes(w) == [("credentials_sent", paul.id, w.admin.id),
                          ("credentials_sent", lucie["id"], w.admin.id)]
    assert sorted(w.db.events("account_changed")[0].rights) == sorted(ALL_RIGHTS)
    assert w.db.events("account_changed")[1].role == Role.funder_agent.value


def test_party_accounts_are_published_with_their_party(w):
    dossier = DossierCreatedV1(
        dossier_id="d1", dossier_number="2026-0001", funder_id="f1", organisation_id="o1",
        beneficiary={"id": "p-beneficiary-1", "name": "Léa", "email": "lea@example.org",
                     "kind": "beneficiary"},
        employer=None, created_by="u", created_at="2026-03-02T09:00:00Z")
    handlers.open_party_accounts(w.db, w.ports, dossier, "u", in_transaction(w))
    [event] = w.db.events("account_changed")
    assert (event.change, event.party_id, event.role, event.changed_by) == (
        "credentials_sent", "p-beneficiary-1", "beneficiary", "u")
    handlers.resend_party_credentials(w.db, w.ports, w.actor(w.admin), "p-beneficiary-1")
    assert changes(w)[-1] == ("credentials_sent", event.user_id, w.admin.id)


def test_resent_credentials_are_published(w):
    hugo = w.account("hugo")
    handlers.resend_credentials(w.db, w.ports, w.actor(w.manager), hugo.id)
    assert changes(w) == [("credentials_sent", hugo.id, w.manager.id)]


def test_an_activated_sign_up_publishes_its_account(w):
    handlers.update_account_settings(w.db, w.ports, w.actor(w.admin),
                                     {"account_creation": "self_service"})
    email = "alice@of3.example.org"
    handlers.sign_up(w.db, w.ports, {
        "funder_code": "tpro-ge", "siret": "44306184100047", "organisation_name": "Organisme 3",
        "profile": "training_organisation",
        "holder": {"civility": "Madame", "last_name": "Durand", "first_name": "Alice",
                   "email": email, "email_confirmation": email},
        "certified": True, "terms_accepted": True})
    w.after_reply.run()
    handlers.activate_signup(w.db, w.ports, {
        "email": email, "code": w.emails.of("signup_activation")[-1]["code"], **TYPED})
    alice = w.repositories["users"].by_identifier(email)
    assert changes(w) == [("credentials_sent", alice.id, None)]
    [signup] = handlers.list_signups(w.db, w.actor(w.admin))
    handlers.suspend_signup(w.db, w.ports, w.actor(w.admin), signup["id"])
    assert changes(w)[-1] == ("deactivated", alice.id, w.admin.id)
    assert w.db.events("account_changed")[-1].active is False


# --- identifier, email and password -----------------------------------------------------------

def test_personalising_is_one_change_and_the_identifier_follows_at_its_confirmation(w):
    paul = w.account("paul", must_personalise=True, privacy_policy_version=None)
    handlers.personalise(w.db, w.ports, w.actor(paul), Personalise(
        current_password=PASSWORD, new_identifier="p.durand", **TYPED))
    assert changes(w) == [("personalised", paul.id, paul.id)]
    handlers.confirm_identifier(w.db, w.ports, w.emails.token("identifier_change"))
    assert changes(w)[-1] == ("identifier_changed", paul.id, None)


def test_an_identifier_is_published_once_confirmed(w):
    handlers.change_identifier(w.db, w.ports, w.actor(w.manager), ChangeIdentifier(
        current_password=PASSWORD, new_identifier="m.durand"))
    assert changes(w) == []
    handlers.confirm_identifier(w.db, w.ports, w.emails.token("identifier_change"))
    assert changes(w) == [("identifier_changed", w.manager.id, None)]


def test_an_email_is_published_once_confirmed_with_the_new_address(w):
    handlers.update_me(w.db, w.ports, w.actor(w.manager), UpdateMe(
        email="md@example.org", current_password=PASSWORD))
    assert changes(w) == []
    handlers.confirm_email_change(w.db, w.ports, w.emails.token("email_change"))
    [event] = w.db.events("account_changed")
    assert (event.change, event.email, event.changed_by) == ("email_changed", "md@example.org",
                                                             None)


def test_a_changed_or_reset_password_is_published(w):
    handlers.change_password(w.db, w.ports, w.actor(w.manager), ChangePassword(
        current_password=PASSWORD, **TYPED))
    handlers.send_reset_link(w.db, w.ports, w.manager.id)
    handlers.reset_password(w.db, w.ports, PasswordReset(
        token=w.emails.token("password_reset"), **TYPED))
    assert changes(w) == [("password_changed", w.manager.id, w.manager.id),
                          ("password_changed", w.manager.id, None)]


# --- an administrator's update of a user ------------------------------------------------------

def update(w, user, **fields):
    handlers.update_user(w.db, w.ports, w.actor(w.manager), user.id, UserUpdate(**fields))
    return [change for change, _user_id, _by in changes(w)]


def test_rights_are_published_and_an_unchanged_update_is_not(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    assert update(w, hugo, rights=["enter_hours"], name="Hugo B.") == []
    assert update(w, hugo, rights=["enter_hours", "documents"]) == ["rights_changed"]
    assert w.db.events("account_changed")[-1].rights == ["enter_hours", "documents"]


def test_a_deactivation_wins_over_the_rights_changed_with_it(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    assert update(w, hugo, active=False, rights=["documents"]) == ["deactivated"]
    assert w.db.events("account_changed")[-1].active is False


def test_a_reactivation_and_its_rights_are_both_published(w):
    hugo = w.account("hugo", rights=["enter_hours"], active=False)
    assert update(w, hugo, active=True, rights=["documents"]) == ["reactivated",
                                                                   "rights_changed"]


def test_a_never_used_accounts_email_is_published_at_once(w):
    hugo = w.account("hugo", must_personalise=True, privacy_policy_version=None)
    assert update(w, hugo, email="hugo.b@example.org") == ["email_changed"]
    assert w.db.events("account_changed")[-1].email == "hugo.b@example.org"


def test_a_used_accounts_email_waits_for_its_link(w):
    hugo = w.account("hugo")
    assert update(w, hugo, email="hugo.b@example.org") == []


def test_a_refused_update_publishes_nothing(w):
    with pytest.raises(Conflict):
        update(w, w.manager, rights=["enter_hours"])  # the last administrator
    assert changes(w) == []


def test_account_changes_of_an_update():
    before = {"rights": ["a"], "active": True, "email": "x@example.org"}
    user = domain.UserAccount("u", "f1", "organisation_user", "x", "X", "y@example.org", "h",
                              None, rights=["b"])
    assert domain.account_changes(before, user) == ["rights_changed", "email_changed"]
    user.active = False
    assert domain.account_changes(before, user) == ["deactivated"]
