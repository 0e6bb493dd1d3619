"""An organisation's users as seed 004 manages them (issue 15): civility and names, the list's
filters and pages, a user's own page, the reset link an administrator sends, deactivation."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contracts.common import Role
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.identity import Credentials, PasswordReset, UserUpdate
from services.identity import handlers
from services.identity.domain import users as user_rules
from tests.support.identity import PASSWORD, world

NEW_PASSWORD = "Nouveau_2027"


@pytest.fixture
def w():
    return world()


def add_user(w, identifier="mdubois", **fields):
    payload = {"identifier": identifier, "email": f"{identifier}@example.org",
               "rights": ["enter_hours"], "civility": "Madame", "first_name": "Michelle",
               "last_name": "Dubois", "phone": "01 23 45 67 89", **fields}
    return handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", payload)


def listed(w, viewer=None, **query):
    return [u["identifier"] for u in
            handlers.list_users(w.db, w.actor(viewer or w.manager), "o1", query)]


# --- names ------------------------------------------------------------------------------------

def test_a_new_users_name_is_made_of_its_last_and_first_name():
    assert user_rules.display_name(" dubois ", "Michelle") == "DUBOIS Michelle"


def test_a_user_is_added_with_civility_names_and_phone(w):
    reply = add_user(w)
    assert (reply["name"], reply["civility"], reply["first_name"], reply["last_name"],
            reply["phone"]) == ("DUBOIS Michelle", "Madame", "Michelle", "Dubois",
                                "01 23 45 67 89")
    assert w.emails.of("account_credentials")[-1]["to"] == "mdubois@example.org"


def test_a_user_named_the_old_way_still_works(w):
    reply = handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", {
        "identifier": "hugo", "name": "Hugo Bernard", "email": "hugo@example.org",
        "rights": ["enter_hours"]})
    assert (reply["name"], reply["first_name"], reply["last_name"]) == ("Hugo Bernard", None,
                                                                         None)


def test_a_user_needs_a_name_or_both_names(w):
    with pytest.raises(InvalidInput):
        add_user(w, first_name=None)
    with pytest.raises(InvalidInput):
        add_user(w, civility="Mademoiselle")


def test_a_changed_last_name_makes_the_name_again_and_is_audited(w):
    user = add_user(w)
    reply = handlers.update_user(w.db, w.ports, w.actor(w.manager), user["id"],
                                 UserUpdate(last_name="Martin", phone="06 00 00 00 00"))
    assert (reply["name"], reply["first_name"], reply["phone"]) == (
        "MARTIN Michelle", "Michelle", "06 00 00 00 00")
    [updated] = [e for e in w.repositories["audit"].all() if e.action == "user_updated"]
    assert updated.details["changed"] == ["last_name", "name", "phone"]


# --- the list ---------------------------------------------------------------------------------

def test_users_are_filtered_by_name_first_name_login_and_email(w):
    add_user(w)
    add_user(w, "jpetit", first_name="Jean", last_name="Petit", civility="Monsieur",
             email="jean.petit@cfa.fr")
    assert listed(w, name="DUB") == ["mdubois"]
    assert listed(w, name="marie") == ["marie"]  # an older account, by its display name
    assert listed(w, first_name="jea") == ["jpetit"]
    assert listed(w, login="PETIT") == ["jpetit"]
    assert listed(w, email="@CFA.fr") == ["jpetit"]
    assert listed(w, email="example.org") == ["mdubois", "marie"]
    assert listed(w, name="dubois", first_name="jean") == []


def test_the_list_comes_a_page_at_a_time(w):
    add_user(w)
    add_user(w, "jpetit", first_name="Jean", last_name="Petit")
    # By name: « DUBOIS Michelle », « Marie », « PETIT Jean »
    assert listed(w, limit=2) == ["mdubois", "marie"]
    assert listed(w, limit=2, page=2) == ["jpetit"]
    assert listed(w, limit=2, page=3) == []


def test_funder_staff_filter_the_list_too(w):
    add_user(w)
    assert listed(w, w.admin, name="dubois") == ["mdubois"]


def test_a_user_without_the_users_right_filters_nothing(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    with pytest.raises(Forbidden):
        handlers.list_users(w.db, w.actor(hugo), "o1", {"name": "x"})


# --- a user's page ----------------------------------------------------------------------------

def test_a_users_page_shows_rights_status_last_login_and_open_sessions(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    _token, first = w.session(hugo)
    w.clock.advance(minutes=5)
    _token, second = w.session(hugo)
    first.revoke(w.clock())
    page = handlers.get_user(w.db, w.ports, w.actor(w.manager), hugo.id)
    assert (page["status"], page["status_label"], page["rights"]) == ("active", "Actif",
                                                                      ["enter_hours"])
    assert page["rights_labels"] == ["Saisie des heures"]
    assert datetime.fromisoformat(page["last_login_at"]) == second.created_at
    assert len(page["open_sessions"]) == 1
    assert set(page["open_sessions"][0]) == {"started_at", "last_seen_at", "expires_at"}


def test_a_new_users_page_says_its_password_is_provisional(w):
    user = add_user(w)
    page = handlers.get_user(w.db, w.ports, w.actor(w.admin), user["id"])
    assert (page["status"], page["last_login_at"], page["open_sessions"]) == (
        "provisional", None, [])
    assert page["status_label"] == "Actif, mot de passe provisoire à changer"


def test_sessions_past_their_idle_limit_are_not_open(w):
    hugo = w.account("hugo")
    w.session(hugo)
    w.clock.advance(minutes=w.ports.settings.session_idle_minutes + 1)
    assert handlers.get_user(w.db, w.ports, w.actor(w.manager), hugo.id)["open_sessions"] == []


def test_another_organisations_user_has_no_page(w):
    zoe = w.account("zoe", organisation=w.other_organisation())
    with pytest.raises(NotFound):
        handlers.get_user(w.db, w.ports, w.actor(w.manager), zoe.id)
    funder_agent = w.account("agent", Role.funder_agent)
    with pytest.raises(NotFound):
        handlers.get_user(w.db, w.ports, w.actor(w.manager), funder_agent.id)


# --- the reset link ---------------------------------------------------------------------------

def test_an_administrator_sends_a_reset_link_that_works(w):
    hugo = w.account("hugo")
    reply = handlers.send_user_reset_link(w.db, w.ports, w.actor(w.manager), hugo.id)
    assert reply["detail"] == ("Un lien de réinitialisation du mot de passe a été envoyé à "
                               "hugo@example.org.")
    [email] = w.emails.of("password_reset")
    assert email["to"] == "hugo@example.org"
    assert "reset_link_sent" in w.repositories["audit"].actions()
    handlers.reset_password(w.db, w.ports, PasswordReset(
        token=w.emails.token("password_reset"), new_password=NEW_PASSWORD,
        new_password_confirmation=NEW_PASSWORD))
    assert handlers.login(w.db, w.ports, Credentials(identifier="hugo", password=NEW_PASSWORD))


def test_only_an_administrator_of_the_organisation_sends_a_reset_link(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    with pytest.raises(Forbidden):
        handlers.send_user_reset_link(w.db, w.ports, w.actor(hugo), w.manager.id)
    zoe = w.account("zoe", organisation=w.other_organisation())
    with pytest.raises(NotFound):
        handlers.send_user_reset_link(w.db, w.ports, w.actor(w.manager), zoe.id)
    assert w.emails.of("password_reset") == []


def test_a_deactivated_user_gets_no_reset_link(w):
    hugo = w.account("hugo", active=False)
    with pytest.raises(Conflict) as raised:
        handlers.send_user_reset_link(w.db, w.ports, w.actor(w.manager), hugo.id)
    assert raised.value.code == "user_deactivated" and w.emails.sent == []


# --- deactivation -----------------------------------------------------------------------------

def test_deactivation_ends_sessions_links_and_api_tokens_and_login(w):
    hugo = w.account("hugo", rights=["users", "enter_hours"])
    token, _session = w.session(hugo)
    issued = handlers.issue_api_token(w.db, w.ports, w.actor(hugo), {
        "name": "ERP", "expires_on": (w.clock().date() + timedelta(days=30)).isoformat()})
    handlers.send_user_reset_link(w.db, w.ports, w.actor(w.manager), hugo.id)
    handlers.update_user(w.db, w.ports, w.actor(w.manager), hugo.id, UserUpdate(active=False))
    for bearer in (token, issued["token"]):
        with pytest.raises(Exception) as raised:
            handlers.authenticate(w.db, w.ports, bearer)
        assert raised.value.code == "invalid_token"
    with pytest.raises(InvalidInput):
        handlers.reset_password(w.db, w.ports, PasswordReset(
            token=w.emails.token("password_reset"), new_password=NEW_PASSWORD,
            new_password_confirmation=NEW_PASSWORD))
    with pytest.raises(Exception) as raised:
        handlers.login(w.db, w.ports, Credentials(identifier="hugo", password=PASSWORD))
    assert raised.value.code == "invalid_credentials"
    page = handlers.get_user(w.db, w.ports, w.actor(w.manager), hugo.id)
    assert (page["status"], page["status_label"], page["open_sessions"]) == (
        "deactivated", "Désactivé", [])


def test_a_reactivated_user_logs_in_again(w):
    hugo = w.account("hugo", active=False)
    reply = handlers.update_user(w.db, w.ports, w.actor(w.manager), hugo.id,
                                 UserUpdate(active=True))
    assert reply["active"] is True and "user_activated" in w.repositories["audit"].actions()
    assert handlers.login(w.db, w.ports, Credentials(identifier="hugo", password=PASSWORD))


def test_an_administrator_does_not_deactivate_themself(w):
    w.account("second", rights=["users"])  # not the last administrator
    with pytest.raises(Conflict) as raised:
        handlers.update_user(w.db, w.ports, w.actor(w.manager), w.manager.id,
                             UserUpdate(active=False))
    assert raised.value.code == "own_account"
    assert w.repositories["users"].get(w.manager.id).active  # rolled back


def test_an_administrator_deactivates_another_while_one_stays(w):
    second = w.account("second", rights=["users"])
    reply = handlers.update_user(w.db, w.ports, w.actor(second), w.manager.id,
                                 UserUpdate(active=False))
    assert reply["active"] is False


def test_the_last_active_administrator_stays(w):
    """The only administrator: their own deactivation is refused, and so is giving up the
    users right (the organisation would have no administrator left)."""
    with pytest.raises(Conflict) as raised:
        handlers.update_user(w.db, w.ports, w.actor(w.manager), w.manager.id,
                             UserUpdate(active=False))
    assert raised.value.code == "own_account"
    with pytest.raises(Conflict) as raised:
        handlers.update_user(w.db, w.ports, w.actor(w.manager), w.manager.id,
                             UserUpdate(rights=["enter_hours"]))
    assert raised.value.code == "last_administrator"
    assert w.repositories["users"].get(w.manager.id).active
