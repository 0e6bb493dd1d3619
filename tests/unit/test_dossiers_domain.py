"""dossiers rules: who sees which dossier (the access check certification relies on), the
parties a dossier may name, and the search pattern."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.common import Actor, Role
from servicekit.access import require_funder_staff
from servicekit.db import like_pattern
from services.dossiers import domain
from services.dossiers.domain import PartyKind
from servicekit.errors import Forbidden, InvalidInput

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def make_dossier(**overrides):
    fields = dict(id="d1", funder_id="f1", number="20X000703", organisation_id="o1",
                  organisation_name="OF", beneficiary_id="b1", employer_id="e1",
                  training_title="Soudeur", session_start=date(2026, 1, 5),
                  session_end=date(2026, 6, 30), created_at=NOW)
    return domain.Dossier(**{**fields, **overrides})


def actor(role, funder_id="f1", organisation_id=None, party_id=None):
    return Actor(user_id="u", role=role, funder_id=funder_id, organisation_id=organisation_id,
                 party_id=party_id)


@pytest.mark.parametrize("who, allowed", [
    (actor(Role.funder_admin), True),
    (actor(Role.funder_agent), True),
    (actor(Role.funder_agent, funder_id="f2"), False),
    (actor(Role.organisation_user, organisation_id="o1"), True),
    (actor(Role.organisation_user, organisation_id="o2"), False),
    (actor(Role.organisation_user, funder_id="f2", organisation_id="o1"), False),
    (actor(Role.organisation_user), False),                  # no organisation: nothing
    (actor(Role.beneficiary, party_id="b1"), True),
    (actor(Role.beneficiary, party_id="b2"), False),
    (actor(Role.beneficiary, party_id="e1"), False),         # the employer's id, wrong role
    (actor(Role.beneficiary), False),
    (actor(Role.employer, party_id="e1"), True),
    (actor(Role.employer, party_id="b1"), False),
    (actor(Role.employer, funder_id="f2", party_id="e1"), False),
])
def test_who_sees_a_dossier(who, allowed):
    assert domain.scope_for(who).allows(make_dossier()) is allowed


def test_employer_sees_no_dossier_without_employer():
    assert not domain.scope_for(actor(Role.employer, party_id="e1")).allows(
        make_dossier(employer_id=None))


def test_scope_narrowing_is_what_the_query_filters_on():
    assert domain.scope_for(actor(Role.funder_agent)).narrowing() == {}
    assert domain.scope_for(actor(Role.organisation_user, organisation_id="o1")).narrowing() \
        == {"organisation_id": "o1"}
    assert domain.scope_for(actor(Role.beneficiary, party_id="b1")).narrowing() \
        == {"beneficiary_id": "b1"}
    assert domain.scope_for(actor(Role.beneficiary)).nothing


def test_only_funder_staff_create():
    require_funder_staff(actor(Role.funder_admin))
    with pytest.raises(Forbidden):
        require_funder_staff(actor(Role.beneficiary, party_id="b1"))


def party(kind="beneficiary", funder_id="f1"):
    return domain.Party(id="p1", funder_id=funder_id, kind=kind, name="DUBOIS Michelle",
                        email="m@example.org", created_at=NOW)


def test_check_party_accepts_the_funders_own_of_the_right_kind():
    found = party()
    assert domain.check_party(found, "f1", PartyKind.beneficiary) is found


@pytest.mark.parametrize("found, kind, code", [
    (None, PartyKind.beneficiary, "unknown_beneficiary"),
    (party(funder_id="f2"), PartyKind.beneficiary, "unknown_beneficiary"),
    (party(kind="employer"), PartyKind.beneficiary, "unknown_beneficiary"),
    (None, PartyKind.employer, "unknown_employer"),
    (party(kind="beneficiary"), PartyKind.employer, "unknown_employer"),
])
def test_check_party_refuses(found, kind, code):
    with pytest.raises(InvalidInput) as raised:
        domain.check_party(found, "f1", kind)
    assert raised.value.code == code


def test_status_label():
    assert make_dossier().status == "in_progress"
    assert make_dossier().status_label == "Dossier en cours de suivi"


@pytest.mark.parametrize("query, pattern", [
    (None, None), ("", None), ("   ", None),
    ("Dubois", "%dubois%"),
    (" 20X ", "%20x%"),
    ("50%_a\\b", "%50\\%\\_a\\\\b%"),   # LIKE wildcards are searched for literally
])
def test_search_pattern(query, pattern):
    assert like_pattern(query) == pattern
