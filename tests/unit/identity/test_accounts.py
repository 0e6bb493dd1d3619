"""Account rules that used to live in the entrypoints: how an account starts, why a login is
refused, what an update audits, who may act on which account."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.common import ALL_RIGHTS, Actor, Role
from contracts.common.errors import Conflict, Forbidden, NotFound
from services.identity import domain

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def account(**overrides) -> domain.UserAccount:
    fields = dict(identifier="marie", name="Marie", email="m@example.org", password_hash="h",
                  role=Role.organisation_user, funder_id="f1", provisional=False,
                  organisation_id="o1", rights=list(ALL_RIGHTS))
    return domain.new_account(NOW, **{**fields, **overrides})


def actor(**overrides) -> Actor:
    fields = dict(user_id="admin", role=Role.organisation_user, funder_id="f1",
                  organisation_id="o1", rights=list(ALL_RIGHTS))
    return Actor(**{**fields, **overrides})


def test_a_provisional_account_must_finish_its_first_login():
    user = account(provisional=True)
    assert user.must_personalise and user.privacy_policy_pending and user.restricted
    assert not account().restricted and account().role == Role.organisation_user.value


@pytest.mark.parametrize("user, matches, locked, reason", [
    (None, False, False, "unknown_identifier"),
    ("user", True, True, "locked"),
    ("user", False, False, "wrong_password"),
    ("inactive", True, False, "inactive"),
    ("user", True, False, None),
])
def test_why_a_login_is_refused(user, matches, locked, reason):
    found = None if user is None else account(active=user != "inactive")
    if locked:
        found.locked_until = NOW + timedelta(minutes=1)
    assert domain.login_refusal(found, matches, NOW) == reason


def test_an_update_audits_rights_deactivation_and_fields():
    user = account()
    before = {"rights": list(user.rights), "active": True}
    user.rights, user.active = ["enter_hours"], False
    actions = dict(domain.user_changes(before, user, {"rights": [], "active": False,
                                                      "name": "M"}))
    assert actions["rights_changed"]["after"] == ["enter_hours"]
    assert set(actions) == {"rights_changed", "user_deactivated", "user_updated"}
    assert list(domain.user_changes({"rights": user.rights, "active": False}, user, {})) == []


def test_an_administrator_manages_its_organisations_users_only():
    domain.require_manages(actor(), account())
    for other in (account(organisation_id="o2"), account(funder_id="f2"), None):
        with pytest.raises(NotFound):
            domain.require_manages(actor(), other)
    with pytest.raises(Forbidden):
        domain.require_manages(actor(rights=["enter_hours"]), account())


def test_funder_staff_resend_to_any_account_of_their_funder():
    staff = actor(role=Role.funder_agent, organisation_id=None, rights=[])
    domain.require_may_resend(staff, account(organisation_id=None, role=Role.funder_agent))
    with pytest.raises(NotFound):
        domain.require_may_resend(staff, account(funder_id="f2"))


def test_nobody_resends_their_own_credentials_which_would_end_their_own_session():
    staff = actor(role=Role.funder_agent, organisation_id=None, rights=[])
    for who, whose in ((staff, account(organisation_id=None, role=Role.funder_agent)),
                       (actor(), account())):
        whose.id = who.user_id
        with pytest.raises(Conflict) as refused:
            domain.require_may_resend(who, whose)
        assert refused.value.code == "own_account"


def test_an_own_account_is_active_and_reached_by_a_person():
    domain.require_own_account(actor(user_id="u1"), account())
    with pytest.raises(NotFound):
        domain.require_own_account(actor(), account(active=False))
    with pytest.raises(Forbidden):
        domain.require_own_account(actor(user_id="api-token:t1"), account())
