"""identity rules of issue 4: common passwords, provisional credentials, first login, lock-out,
idle sessions, single-use links, API tokens, rights, the profile and the certifier."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from contracts.common import ALL_RIGHTS, Actor, Role
from services.identity import domain
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
LIMITS = domain.LoginLimits(max_failures=3, lock_minutes=15)


def make_user(**overrides):
    fields = dict(id="u1", funder_id="f1", role="organisation_user", identifier="marie",
                  name="Marie", email="m@example.org", password_hash="h", created_at=NOW,
                  organisation_id="o1", rights=list(ALL_RIGHTS))
    return domain.UserAccount(**{**fields, **overrides})


def org_actor(**overrides):
    fields = dict(user_id="u1", role=Role.organisation_user, funder_id="f1",
                  organisation_id="o1", rights=list(ALL_RIGHTS))
    return Actor(**{**fields, **overrides})


# --- passwords -------------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["P@ssw0rd", "Password1!", "Azerty2026!", "MOTDEPASSE!"])
def test_common_passwords_are_refused(password):
    with pytest.raises(InvalidInput) as raised:
        domain.check_password(password)
    assert raised.value.code == "weak_password"
    assert "plus utilisés" in raised.value.message


def test_long_passwords_are_accepted():
    domain.check_password("Une phrase de passe très longue, facile à retenir ! " * 2)


def test_confirmation_must_match():
    with pytest.raises(InvalidInput) as raised:
        domain.check_new_password("Abcdefg!", "Abcdefg?")
    assert raised.value.code == "password_mismatch"


def test_provisional_passwords_follow_the_rules_and_differ():
    made = {domain.provisional_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        assert domain.password_problems(password) == [] and len(password) == 16


# --- first login -------------------------------------------------------------------------------

def test_a_provisional_account_is_restricted_until_personalised_and_policy_accepted():
    user = make_user(must_personalise=True)
    assert user.restricted and user.as_actor().restricted
    with pytest.raises(Conflict) as raised:  # personalise first
        user.accept_privacy_policy("2026-01")
    assert raised.value.code == "personalise_first"
    user.set_password("new-hash", NOW)
    assert not user.must_personalise and user.restricted  # the policy is still pending
    user.accept_privacy_policy("2026-01")
    assert not user.restricted and not user.as_actor("s1").restricted
    assert user.as_actor("s1").session_id == "s1"


# --- lock-out and sessions ----------------------------------------------------------------------

def test_failures_lock_the_account_then_the_lock_ends():
    user = make_user()
    for _ in range(LIMITS.max_failures - 1):
        user.record_failure(NOW, LIMITS)
        assert not user.is_locked(NOW)
    user.record_failure(NOW, LIMITS)
    assert user.is_locked(NOW + timedelta(minutes=14))
    assert not user.is_locked(NOW + timedelta(minutes=15))


def test_a_success_resets_the_count():
    user = make_user()
    user.record_failure(NOW, LIMITS)
    user.record_failure(NOW, LIMITS)
    user.record_success()
    user.record_failure(NOW, LIMITS)
    assert not user.is_locked(NOW)


def test_idle_and_absolute_limits():
    _token, session = domain.open_session(make_user(), NOW, ttl_minutes=480)
    session.check_usable(NOW + timedelta(minutes=29), idle_minutes=30)
    with pytest.raises(Unauthenticated) as raised:
        session.check_usable(NOW + timedelta(minutes=30), idle_minutes=30)
    assert raised.value.code == "session_expired"
    session.last_seen_at = NOW + timedelta(minutes=470)  # active all day: absolute limit
    with pytest.raises(Unauthenticated):
        session.check_usable(NOW + timedelta(minutes=480), idle_minutes=30)
    assert session.needs_touch(NOW + timedelta(minutes=471))
    assert not session.needs_touch(NOW + timedelta(minutes=470, seconds=30))


# --- single-use links ----------------------------------------------------------------------------

def test_a_link_works_once_for_its_purpose_before_it_expires():
    user = make_user()
    token, link = domain.new_link(user, domain.PASSWORD_RESET, NOW, timedelta(hours=1))
    assert link.token_hash == domain.hash_token(token) and token not in vars(link).values()
    with pytest.raises(InvalidInput):
        link.use(domain.IDENTIFIER_CHANGE, NOW)
    with pytest.raises(InvalidInput):
        link.use(domain.PASSWORD_RESET, NOW + timedelta(hours=1))
    link.use(domain.PASSWORD_RESET, NOW)
    with pytest.raises(InvalidInput) as raised:
        link.use(domain.PASSWORD_RESET, NOW)
    assert raised.value.code == "invalid_link"


# --- API tokens --------------------------------------------------------------------------------

def test_api_token_is_shown_once_and_stored_hashed():
    token, api_token = domain.issue_api_token(org_actor(), "ERP", date(2026, 12, 31), None, NOW)
    assert token.startswith("jat_") and api_token.token_hash == domain.hash_token(token)
    assert api_token.rights == list(ALL_RIGHTS)
    assert api_token.expires_at == datetime(2027, 1, 1, tzinfo=timezone.utc)
    actor = api_token.as_actor()
    assert actor.user_id == f"api-token:{api_token.id}" and actor.organisation_id == "o1"
    assert api_token.is_active(NOW)
    api_token.revoked_at = NOW
    assert not api_token.is_active(NOW)


@pytest.mark.parametrize("expires_on", [date(2026, 3, 1), date(2027, 3, 3)])
def test_api_token_expiry_is_within_a_year(expires_on):
    with pytest.raises(InvalidInput) as raised:
        domain.issue_api_token(org_actor(), "ERP", expires_on, None, NOW)
    assert raised.value.code == "invalid_expiry"


def test_api_token_rights_are_at_most_the_issuers():
    issuer = org_actor(rights=["users", "enter_hours"])
    with pytest.raises(Forbidden):
        domain.issue_api_token(issuer, "ERP", date(2027, 3, 2), ["payments"], NOW)
    _token, api_token = domain.issue_api_token(issuer, "ERP", date(2027, 3, 2),
                                               ["enter_hours"], NOW)
    assert api_token.rights == ["enter_hours"]


# --- rights ----------------------------------------------------------------------------------

def test_users_right_is_required_and_other_organisations_do_not_leak():
    domain.require_users_right(org_actor(), "o1")
    with pytest.raises(Forbidden):
        domain.require_users_right(org_actor(rights=["enter_hours"]), "o1")
    with pytest.raises(Forbidden):
        domain.require_users_right(org_actor(restricted=True), "o1")
    with pytest.raises(NotFound):
        domain.require_users_right(org_actor(), "o2")
    with pytest.raises(Forbidden):
        domain.require_users_right(Actor(user_id="a", role=Role.funder_admin, funder_id="f1"),
                                   "o1")


def test_an_organisation_keeps_an_administrator():
    admin, clerk = make_user(), make_user(id="u2", identifier="paul", rights=["enter_hours"])
    domain.check_administrators_remain([admin, clerk])
    admin.rights = ["enter_hours"]
    with pytest.raises(Conflict) as raised:
        domain.check_administrators_remain([admin, clerk])
    assert raised.value.code == "last_administrator"
    admin.rights, admin.active = list(ALL_RIGHTS), False
    with pytest.raises(Conflict):
        domain.check_administrators_remain([admin, clerk])


def test_api_tokens_cannot_act_for_a_person():
    with pytest.raises(Forbidden):
        domain.require_person(org_actor(user_id="api-token:t1"))


# --- profile and certifier ---------------------------------------------------------------------

def make_organisation():
    return domain.Organisation("o1", "f1", "OF", "73282932000074", "of@example.org", None, None,
                               NOW)


def test_profile_update_reports_changes_and_never_the_siret():
    organisation = make_organisation()
    assert organisation.update_profile({"town": "Metz", "phone": "", "name": "OF"}) == ["town"]
    assert organisation.update_profile({"town": ""}) == ["town"] and organisation.town is None
    assert organisation.update_profile({"uai": "0750655e"}) == ["uai"]
    assert organisation.uai == "0750655E"
    with pytest.raises(InvalidInput) as raised:
        organisation.update_profile({"siret": "73282932000074"})
    assert raised.value.code == "siret_read_only"
    with pytest.raises(InvalidInput):
        organisation.update_profile({"name": " "})


COMPLETE = {"legal_representative": "Jeanne MARTIN", "logo_status": "checked",
            "stamp_status": "pending", "certifier_requested": True, "kbis_status": "checked",
            "consent_status": "checked"}


@pytest.mark.parametrize("change, code", [
    ({"legal_representative": " "}, "legal_representative_missing"),
    ({"logo_status": "rejected"}, "logo_missing"),
    ({"stamp_status": "missing"}, "stamp_missing"),
    ({"certifier_requested": False}, "certifier_not_requested"),
    ({"kbis_status": "pending"}, "kbis_not_checked"),
    ({"consent_status": "rejected"}, "consent_letter_not_checked"),
])
def test_method_2_only_once_every_piece_is_there(change, code):
    assert domain.readiness(**COMPLETE).method == 2
    ready = domain.readiness(**{**COMPLETE, **change})
    assert ready.method == 1 and [piece[0] for piece in ready.missing] == [code]


def test_the_pieces_say_what_each_way_of_working_waits_for():
    ready = domain.readiness(None, "missing", "missing", False, "missing", "missing")
    assert [(code, needed) for code, _label, needed in ready.missing] == [
        ("legal_representative_missing", "hours_entry"), ("logo_missing", "hours_entry"),
        ("stamp_missing", "electronic_certification"),
        ("certifier_not_requested", "electronic_certification"),
        ("kbis_not_checked", "electronic_certification"),
        ("consent_letter_not_checked", "electronic_certification")]
    assert ready.reason.startswith("Méthode 1 : l'organisme n'a pas demandé")


def test_why_method_1_names_what_is_waited_for():
    reason = domain.readiness(**{**COMPLETE, "kbis_status": "pending"}).reason
    assert reason == ("Méthode 1 : pour la certification 100 % dématérialisée, il manque "
                      "encore l'extrait KBIS contrôlé par votre financeur.")


def test_method_2_dates_from_the_change_that_completed_it():
    organisation = domain.Organisation("o1", "f1", "OF", "73282932000074", "of@example.org",
                                       None, None, NOW)
    organisation.follow_method(2, NOW)
    organisation.follow_method(2, NOW + timedelta(days=1))  # still in force: same date
    assert organisation.certifier_since == NOW
    organisation.follow_method(1, NOW + timedelta(days=2))
    assert organisation.certifier_since is None


def test_document_status_labels():
    document = domain.OrganisationDocument("o1", "kbis", "d1", "pending", NOW)
    assert document.status_label == "En attente de contrôle"
    assert not document.reviewed("older", "checked", NOW)  # a replaced document's review
    assert document.reviewed("d1", "checked", NOW)
    assert document.status_label == "Contrôlé le 02/03/2026"
    document.uploaded("d2", NOW)
    assert document.reviewed("d2", "rejected", NOW, "illisible")
    assert document.status_label == "Non conforme : illisible"
    assert domain.document_status_label("missing", None, None) == "Non déposé"


# --- audit -----------------------------------------------------------------------------------

def test_audit_rows_name_who_and_which_organisation():
    user = make_user()
    row = domain.audit(NOW, "login_failed", user=user, ip="203.0.113.7", reason="x")
    assert (row.user_id, row.organisation_id, row.funder_id, row.ip) == ("u1", "o1", "f1",
                                                                        "203.0.113.7")
    staff = Actor(user_id="agent", role=Role.funder_agent, funder_id="f1", ip="198.51.100.1")
    row = domain.audit(NOW, "user_created", user=user, actor=staff, target="u1")
    assert (row.user_id, row.organisation_id, row.ip) == ("agent", "o1", "198.51.100.1")
    assert domain.audit(NOW, "login_failed", ip="1.2.3.4").organisation_id is None
