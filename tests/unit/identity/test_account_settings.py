"""Issue 15, on fakes: a funder's account settings, its password rule set (each seed's built
in) wherever a password is chosen, and seed 003's self-service sign-up with its activation
code, refusals that tell an outsider nothing, and suspension by funder staff."""
from __future__ import annotations

import pytest

from contracts.common import Role
from contracts.common.errors import (Conflict, Forbidden, InvalidInput, NotFound,
                                     TooManyRequests, Unauthenticated)
from contracts.identity import ChangeIdentifier, ChangePassword, Credentials, PasswordReset
from services.identity import domain, handlers
from tests.support.identity import OTHER_SIRET, PASSWORD, SIRET, world

OPCO, APPRENTISSAGE, TPRO = (domain.PASSWORD_RULE_SETS[name]
                             for name in ("opco", "apprentissage", "transitions_pro"))
NEW_SIRET = "55210055400013"  # a valid SIRET no organisation of the world holds


@pytest.fixture
def w():
    return world()


def settle(w, **settings):
    """The world's funder with these account settings (its administrator's act)."""
    return handlers.update_account_settings(w.db, w.ports, w.actor(w.admin), settings)


# --- the three rule sets ----------------------------------------------------------------------

@pytest.mark.parametrize("password, missing", [
    ("Abcdef1", ["au moins 8 caractères"]),                       # 7
    ("Abcdefg1", []),                                             # 8
    ("Abcdefghij_1", []),                                         # 12
    ("Abcdefghijk_1", ["au plus 12 caractères"]),                 # 13
    ("abcdefg1", ["au moins une majuscule"]),
    ("ABCDEFG1", ["au moins une minuscule"]),
    ("Abcdefgh", ["au moins un chiffre ou un caractère spécial"]),
    ("Abcdefg!", []),
    ("Azerty123!", ["un mot de passe moins courant (celui-ci figure parmi les plus utilisés)"]),
])
def test_opco_rules_are_8_to_12_with_upper_lower_and_digit_or_special(password, missing):
    assert OPCO.problems(password) == missing


@pytest.mark.parametrize("password, missing", [
    ("Abcde_1", ["au moins 8 caractères"]),                       # 7
    ("Abcdef_1", []),                                             # 8
    ("Abcdefghi_12", []),                                         # 12
    ("Abcdefghij_12", []),                                        # 13
    ("abcdef_1", ["au moins une majuscule"]),
    ("Abcdefg1", ["au moins un caractère spécial parmi _ ! @ # $ % & * ( ) - + = { } [ ] "
                  "\\ ; < > , . ? /"]),
    ("P@ssw0rd!", ["un mot de passe moins courant (celui-ci figure parmi les plus utilisés)"]),
])
def test_transitions_pro_rules_are_today_s(password, missing):
    assert TPRO.problems(password) == missing
    assert TPRO.problems(password) == domain.password_problems(password)


@pytest.mark.parametrize("password, ok", [
    ("abcdef1", False),             # 7
    ("abcdef12", True),             # 8: no class is required, only the characters
    ("abcdefghij12", True),         # 12
    ("abcdefghij123", True),        # 13
    ("Ab1 &@_.,:!?%+*=-/", True),   # every allowed special, and the space
    ("abcdef12#", False), ("abcdef12$", False), ("abcdéf12", False), ("abcdef12;", False),
    ("motdepasse123", False),       # common
])
def test_apprentissage_rules_allow_its_characters_only(password, ok):
    assert (APPRENTISSAGE.problems(password) == []) is ok


def test_a_weak_password_error_says_the_rules_in_french():
    with pytest.raises(InvalidInput) as raised:
        OPCO.check("Abcdefghijk_1")
    assert raised.value.code == "weak_password"
    assert raised.value.message == ("Le mot de passe doit contenir au plus 12 caractères. "
                                    "Règles : entre 8 et 12 caractères, dont une majuscule, "
                                    "une minuscule, et un chiffre ou un caractère spécial.")
    assert raised.value.details["rules"] == OPCO.text


# --- the settings -----------------------------------------------------------------------------

def test_settings_default_to_today_s_behaviour(w):
    settings = handlers.get_account_settings(w.db, w.actor(w.admin))
    assert (settings["account_creation"], settings["password_rules"],
            settings["require_known_siret"]) == ("by_funder", "transitions_pro", False)
    assert settings["password_rules_text"].startswith("au moins 8 caractères, dont au moins "
                                                      "une majuscule")


def test_the_funder_administrator_changes_the_settings_and_it_is_audited(w):
    reply = settle(w, account_creation="self_service", password_rules="opco",
                   require_known_siret=True)
    assert (reply["account_creation"], reply["password_rules"],
            reply["require_known_siret"]) == ("self_service", "opco", True)
    assert handlers.get_account_settings(w.db, w.actor(w.admin))["password_rules"] == "opco"
    [row] = [e for e in w.repositories["audit"].all() if e.action == "account_settings_changed"]
    assert row.details == {"account_creation": "self_service", "password_rules": "opco",
                           "require_known_siret": True}


def test_only_the_funder_administrator_changes_the_settings(w):
    agent = w.account("agent", Role.funder_agent)
    assert handlers.get_account_settings(w.db, w.actor(agent))["password_rules"] == \
        "transitions_pro"
    for who in (agent, w.manager):
        with pytest.raises(Forbidden):
            handlers.update_account_settings(w.db, w.ports, w.actor(who),
                                             {"password_rules": "opco"})
    with pytest.raises(Forbidden):
        handlers.get_account_settings(w.db, w.actor(w.manager))


def test_an_unknown_rule_set_is_refused(w):
    with pytest.raises(InvalidInput):
        settle(w, password_rules="aucune")


def test_the_rules_are_public_by_funder_code(w):
    settle(w, password_rules="apprentissage")
    rules = handlers.get_password_rules(w.db, "tpro-ge")
    assert (rules["password_rules"], rules["text"], rules["min_length"]) == (
        "apprentissage", APPRENTISSAGE.text, 8)
    with pytest.raises(NotFound):
        handlers.get_password_rules(w.db, "inconnu")


# --- the funder's rules wherever a password is chosen -----------------------------------------

def change(w, new, current=PASSWORD):
    handlers.change_password(w.db, w.ports, w.actor(w.manager), ChangePassword(
        current_password=current, new_password=new, new_password_confirmation=new))


def test_a_new_rule_set_applies_at_the_next_change_only(w):
    settle(w, password_rules="opco")
    # Secret_2026 was chosen under the old rules: it still logs in.
    handlers.login(w.db, w.ports, Credentials(identifier="marie", password=PASSWORD))
    with pytest.raises(InvalidInput) as raised:
        change(w, "Abcdefghij_12")  # 13 characters: fine before, too long for opco
    assert raised.value.code == "weak_password" and OPCO.text in raised.value.message
    change(w, "Abcdefghij_1")
    assert w.manager.password_hash == "hashed:Abcdefghij_1"


def test_the_first_login_follows_the_funder_s_rules(w):
    settle(w, password_rules="apprentissage")
    newcomer = w.account("lea", must_personalise=True)
    # What the first-login page shows before the password is chosen.
    assert handlers.me(w.db, w.actor(newcomer))["password_rules"] == APPRENTISSAGE.text
    with pytest.raises(InvalidInput) as raised:
        handlers.personalise(w.db, w.ports, w.actor(newcomer), handlers.Personalise(
            current_password=PASSWORD, new_password="Nouveau#2027",
            new_password_confirmation="Nouveau#2027", new_identifier="lea"))
    assert raised.value.code == "weak_password" and "#" not in APPRENTISSAGE.text


def test_a_reset_follows_the_funder_s_rules(w):
    settle(w, password_rules="opco")
    handlers.send_reset_link(w.db, w.ports, w.manager.id)
    token = w.emails.token("password_reset")
    assert handlers.get_link_password_rules(w.db, token) == {"password_rules": "opco",
                                                             "text": OPCO.text}
    assert handlers.get_link_password_rules(w.db, "dead")["password_rules"] == \
        "transitions_pro"
    with pytest.raises(InvalidInput):
        handlers.reset_password(w.db, w.ports, PasswordReset(
            token=token, new_password="Abcdefghij_12", new_password_confirmation="Abcdefghij_12"))
    handlers.reset_password(w.db, w.ports, PasswordReset(
        token=token, new_password="Abcdefgh_12", new_password_confirmation="Abcdefgh_12"))
    assert w.manager.password_hash == "hashed:Abcdefgh_12"


# --- self-service sign-up ---------------------------------------------------------------------

def form(siret=NEW_SIRET, email="alice@of3.example.org", **changes):
    return {"funder_code": "tpro-ge", "siret": siret, "organisation_name": "Organisme 3",
            "profile": "training_organisation",
            "holder": {"civility": "Madame", "last_name": "Durand", "first_name": "Alice",
                       "email": email, "email_confirmation": email.upper(),
                       "phone": "01 02 03 04 05"},
            "certified": True, "terms_accepted": True, "captcha_token": "human", **changes}


@pytest.fixture
def open_w(w):
    settle(w, account_creation="self_service", password_rules="opco")
    return w


def activation(email="alice@of3.example.org", code=None, password="Bienvenu_26", w=None):
    return {"email": email, "code": code or w.emails.of("signup_activation")[-1]["code"],
            "new_password": password, "new_password_confirmation": password}


def test_a_sign_up_sends_a_code_then_activation_makes_the_organisation(open_w):
    w = open_w
    reply = handlers.sign_up(w.db, w.ports, form(), "203.0.113.9")
    assert reply["status"] == "accepted" and "15 minutes" in reply["message"]
    assert w.emails.sent == []  # after the reply
    w.after_reply.run()
    [email] = w.emails.of("signup_activation")
    assert email["to"] == "alice@of3.example.org" and email["name"] == "Alice DURAND"
    assert len(email["code"]) == 8 and email["valid_minutes"] == 15
    assert email["link"] == ("https://jalon.test/signup/activate?funder=tpro-ge"
                             f"&email=alice%40of3.example.org&code={email['code']}")
    [pending] = handlers.list_signups(w.db, w.actor(w.admin), "pending")
    assert (pending["siret"], pending["status_label"]) == (NEW_SIRET, "En attente d'activation")

    done = handlers.activate_signup(w.db, w.ports, activation(w=w))
    assert done["identifier"] == "alice@of3.example.org"
    organisation = w.repositories["organisations"].get(done["organisation_id"])
    assert (organisation.siret, organisation.name) == (NEW_SIRET, "Organisme 3")
    session = handlers.login(w.db, w.ports, Credentials(identifier="Alice@of3.example.org",
                                                        password="Bienvenu_26"))
    assert session["privacy_policy_pending"] and not session["must_personalise"]
    alice = w.repositories["users"].by_identifier("alice@of3.example.org")
    assert alice.organisation_id == organisation.id and "users" in alice.rights
    [active] = handlers.list_signups(w.db, w.actor(w.admin))
    assert (active["status"], active["organisation_id"]) == ("active", organisation.id)
    with pytest.raises(InvalidInput):  # the code works once
        handlers.activate_signup(w.db, w.ports, activation(w=w))


def test_the_identifier_of_a_signed_up_account_is_its_email_for_good(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    w.after_reply.run()
    handlers.activate_signup(w.db, w.ports, activation(w=w))
    alice = w.repositories["users"].by_identifier("alice@of3.example.org")
    with pytest.raises(Conflict) as raised:
        handlers.change_identifier(w.db, w.ports, w.actor(alice), ChangeIdentifier(
            current_password="Bienvenu_26", new_identifier="alice"))
    assert raised.value.code == "identifier_fixed"


def test_activation_follows_the_funder_s_rules(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    w.after_reply.run()
    with pytest.raises(InvalidInput) as raised:
        handlers.activate_signup(w.db, w.ports, activation(password="Bienvenue_2026", w=w))
    assert raised.value.code == "weak_password" and "au plus 12 caractères" in \
        raised.value.message
    assert w.repositories["signups"].all()[0].status == "pending"


def test_a_wrong_code_counts_and_five_kill_it(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    w.after_reply.run()
    for _ in range(5):
        with pytest.raises(InvalidInput) as raised:
            handlers.activate_signup(w.db, w.ports, activation(code="ZZZZZZZZ", w=w))
        assert raised.value.code == "invalid_activation_code"
    with pytest.raises(InvalidInput):
        handlers.activate_signup(w.db, w.ports, activation(w=w))  # the right one, too late
    assert w.repositories["signups"].all()[0].code_attempts == 5


def test_the_code_lives_a_few_minutes(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    w.after_reply.run()
    w.clock.advance(minutes=15)
    with pytest.raises(InvalidInput) as raised:
        handlers.activate_signup(w.db, w.ports, activation(w=w))
    assert raised.value.code == "invalid_activation_code"


def test_a_registered_siret_gets_no_second_account_and_the_same_reply(open_w):
    w = open_w
    fresh = handlers.sign_up(w.db, w.ports, form())
    taken = handlers.sign_up(w.db, w.ports, form(siret=SIRET, email="mallory@example.net"))
    assert taken == fresh
    w.after_reply.run()
    assert [e["to"] for e in w.emails.of("signup_activation")] == ["alice@of3.example.org"]
    [notice] = w.emails.of("signup_siret_taken")
    assert (notice["to"], notice["siret"]) == ("marie@example.org", SIRET)
    assert [s.siret for s in w.repositories["signups"].all()] == [NEW_SIRET]
    assert "signup_siret_taken" in w.repositories["audit"].actions()


def test_an_address_holding_an_account_gets_the_same_reply_and_its_holder_is_told(open_w):
    w = open_w
    w.account("bob@of9.example.org", email="bob@of9.example.org")
    reply = handlers.sign_up(w.db, w.ports, form(email="Bob@of9.example.org"))
    w.after_reply.run()
    assert reply == handlers.sign_up(w.db, w.ports, form(siret=OTHER_SIRET))
    assert [e["to"] for e in w.emails.of("signup_email_taken")] == ["bob@of9.example.org"]
    assert [e["to"] for e in w.emails.of("signup_activation")] == []


def test_sign_up_is_closed_the_same_way_for_by_funder_and_unknown_funders(w):
    with pytest.raises(InvalidInput) as by_funder:
        handlers.sign_up(w.db, w.ports, form())
    with pytest.raises(InvalidInput) as unknown:
        handlers.sign_up(w.db, w.ports, form(funder_code="inconnu"))
    assert (by_funder.value.code, by_funder.value.message) == (unknown.value.code,
                                                               unknown.value.message)
    assert by_funder.value.code == "signup_closed" and w.repositories["signups"].all() == []


@pytest.mark.parametrize("changes, code", [
    ({"certified": False}, "statement_required"),
    ({"terms_accepted": False}, "terms_required"),
    ({"siret": "73282932000075"}, "invalid_siret"),
])
def test_the_form_s_checks(open_w, changes, code):
    with pytest.raises(InvalidInput) as raised:
        handlers.sign_up(open_w.db, open_w.ports, form(**changes))
    assert raised.value.code == code


def test_both_email_typings_must_agree(open_w):
    signup = form()
    signup["holder"]["email_confirmation"] = "alice@of4.example.org"
    with pytest.raises(InvalidInput) as raised:
        handlers.sign_up(open_w.db, open_w.ports, signup)
    assert raised.value.code == "email_mismatch"


def test_a_refused_captcha_stops_the_sign_up(open_w):
    open_w.captcha.required = True
    with pytest.raises(InvalidInput) as raised:
        handlers.sign_up(open_w.db, open_w.ports, form(captcha_token="robot"), "198.51.100.7")
    assert raised.value.code == "captcha_failed"
    assert open_w.captcha.checked == [("robot", "198.51.100.7")]
    assert open_w.repositories["signups"].all() == []


def test_sign_ups_from_one_address_are_limited(open_w):
    w = open_w
    w.captcha.required = True
    for _ in range(5):  # refused or not, each counts
        with pytest.raises(InvalidInput):
            handlers.sign_up(w.db, w.ports, form(captcha_token="robot"), "198.51.100.8")
    with pytest.raises(TooManyRequests) as raised:
        handlers.sign_up(w.db, w.ports, form(), "198.51.100.8")
    assert raised.value.code == "too_many_signups"
    assert handlers.sign_up(w.db, w.ports, form(), "198.51.100.9")["status"] == "accepted"
    w.clock.advance(minutes=16)
    assert handlers.sign_up(w.db, w.ports, form(), "198.51.100.8")["status"] == "accepted"


def test_a_funder_may_require_a_known_siret(open_w):
    w = open_w
    settle(w, require_known_siret=True)
    known = {("tpro-ge", NEW_SIRET)}
    w.ports = w.ports.__class__(**{**w.ports.__dict__,
                                   "siret_directory": lambda code, siret: (code, siret) in known})
    with pytest.raises(InvalidInput) as raised:
        handlers.sign_up(w.db, w.ports, form(siret=OTHER_SIRET))
    assert raised.value.code == "unknown_siret"
    assert handlers.sign_up(w.db, w.ports, form())["status"] == "accepted"


def test_a_suspended_account_cannot_log_in(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    w.after_reply.run()
    handlers.activate_signup(w.db, w.ports, activation(w=w))
    [signup] = handlers.list_signups(w.db, w.actor(w.admin))
    agent = w.account("agent", Role.funder_agent)
    reply = handlers.suspend_signup(w.db, w.ports, w.actor(agent), signup["id"])
    assert (reply["status"], reply["status_label"]) == ("suspended", "Suspendu")
    with pytest.raises(Unauthenticated):
        handlers.login(w.db, w.ports, Credentials(identifier="alice@of3.example.org",
                                                  password="Bienvenu_26"))
    assert [s["id"] for s in handlers.list_signups(w.db, w.actor(w.admin), "suspended")] == \
        [signup["id"]]
    with pytest.raises(Conflict):
        handlers.suspend_signup(w.db, w.ports, w.actor(agent), signup["id"])


def test_a_suspended_sign_up_cannot_be_activated(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    w.after_reply.run()
    [signup] = handlers.list_signups(w.db, w.actor(w.admin))
    handlers.suspend_signup(w.db, w.ports, w.actor(w.admin), signup["id"])
    with pytest.raises(InvalidInput):
        handlers.activate_signup(w.db, w.ports, activation(w=w))


def test_organisations_neither_list_nor_suspend_sign_ups(open_w):
    w = open_w
    handlers.sign_up(w.db, w.ports, form())
    [signup] = handlers.list_signups(w.db, w.actor(w.admin))
    with pytest.raises(Forbidden):
        handlers.list_signups(w.db, w.actor(w.manager))
    with pytest.raises(Forbidden):
        handlers.suspend_signup(w.db, w.ports, w.actor(w.manager), signup["id"])
    with pytest.raises(NotFound):
        handlers.suspend_signup(w.db, w.ports, w.actor(w.admin), "nope")
