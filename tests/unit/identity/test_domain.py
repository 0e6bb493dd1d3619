"""identity rules: passwords, SIRET, identifiers, sessions, who sees an organisation."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from argon2 import PasswordHasher

from contracts.common import Actor, Role
from servicekit.access import acting
from contracts.common.access import require_funder_staff
from services.identity import domain
from contracts.common.errors import Forbidden, InvalidInput, Unauthenticated

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("password", [
    "Abcdefg!", "Motdepasse_1", "X" * 7 + "\\", "aaaaaaA/", "Été-2026", "A" * 1023 + "?",
    *(f"Abcdefg{special}" for special in "_!@#$%&*()-+={}[]\\;<>,.?/"),
])
def test_accepted_passwords(password):
    assert domain.password_problems(password) == []
    domain.check_password(password)


@pytest.mark.parametrize("password, missing", [
    ("Abcde!g", "au moins 8 caractères"),          # 7 characters
    ("abcdefg!", "au moins une majuscule"),
    ("Abcdefgh", "au moins un caractère spécial"),
    ("Abcdefg1", "au moins un caractère spécial"),  # a digit is not a special character
    ("Abcdefg:", "au moins un caractère spécial"),  # ':' is not in the list
    ("Abcdefg ", "au moins un caractère spécial"),  # nor is a space
    ("A" * 1024 + "!", "au plus 1024 caractères"),
])
def test_refused_passwords_say_what_is_missing(password, missing):
    with pytest.raises(InvalidInput) as raised:
        domain.check_password(password)
    assert raised.value.code == "weak_password"
    assert any(problem.startswith(missing) for problem in raised.value.details["missing"])
    assert missing in raised.value.message


def test_every_missing_rule_is_listed():
    assert len(domain.password_problems("abc")) == 3


@pytest.mark.parametrize("raw, expected", [
    ("73282932000074", "73282932000074"),
    ("732 829 320 00074", "73282932000074"),
])
def test_siret_is_normalised(raw, expected):
    assert domain.normalise_siret(raw) == expected


@pytest.mark.parametrize("raw", ["73282932000075", "7328293200007", "7328293200007A",
                                 "732829320000740"])
def test_bad_siret_is_refused(raw):
    with pytest.raises(InvalidInput) as raised:
        domain.normalise_siret(raw)
    assert raised.value.code == "invalid_siret"


def test_uai_is_normalised_and_its_key_checked():
    assert domain.normalise_uai(" 0750655e") == "0750655E"
    for raw in ("0750655F", "075065E", "07506550"):
        with pytest.raises(InvalidInput) as raised:
            domain.normalise_uai(raw)
        assert raised.value.code == "invalid_uai"


def test_identifier_is_case_insensitive():
    assert domain.normalise_identifier("  Marie.Durand@Example.ORG ") == "marie.durand@example.org"
    user = make_user(identifier="Marie.Durand")
    assert user.identifier == "marie.durand"


# --- passwords ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def passwords():
    # Cheap parameters: the rules are the same, the tests faster.
    return domain.Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def test_hash_then_verify(passwords):
    hashed = passwords.hash("Secret_123")
    assert hashed.startswith("$argon2id$")
    assert "Secret_123" not in hashed
    assert passwords.verify(hashed, "Secret_123")
    assert not passwords.verify(hashed, "secret_123")


def test_unknown_account_never_verifies(passwords):
    assert not passwords.verify(None, "anything")
    assert not passwords.verify("not-a-hash", "anything")


# --- sessions -------------------------------------------------------------------------------

def make_user(**overrides):
    fields = dict(id="u1", funder_id="f1", role="organisation_user", identifier="marie",
                  name="Marie", email="m@example.org", password_hash="h", created_at=NOW,
                  organisation_id="o1", rights=["certify_certificates"],
                  privacy_policy_version="2026-01")
    return domain.UserAccount(**{**fields, **overrides})


def test_session_stores_only_the_token_hash():
    token, session = domain.open_session(make_user(), NOW, ttl_minutes=60)
    assert session.token_hash == domain.hash_token(token) != token
    assert len(session.token_hash) == 64
    assert session.expires_at == NOW + timedelta(minutes=60)
    session.check_usable(NOW + timedelta(minutes=59))


def test_session_expires():
    _, session = domain.open_session(make_user(), NOW, ttl_minutes=60)
    with pytest.raises(Unauthenticated) as raised:
        session.check_usable(NOW + timedelta(minutes=60))
    assert raised.value.code == "session_expired"


def test_revoked_session_is_invalid():
    _, session = domain.open_session(make_user(), NOW, ttl_minutes=60)
    session.revoke(NOW)
    session.revoke(NOW + timedelta(minutes=5))  # a second logout keeps the first time
    assert session.revoked_at == NOW
    with pytest.raises(Unauthenticated) as raised:
        session.check_usable(NOW)
    assert raised.value.code == "invalid_token"


def test_two_sessions_have_different_tokens():
    first, _ = domain.open_session(make_user(), NOW, 60)
    second, _ = domain.open_session(make_user(), NOW, 60)
    assert first != second


def test_user_as_actor():
    actor = make_user().as_actor()
    assert actor == Actor(user_id="u1", role=Role.organisation_user, funder_id="f1",
                          name="Marie", organisation_id="o1", rights=["certify_certificates"], email="m@example.org")


# --- who sees an organisation ---------------------------------------------------------------

ORGANISATION = domain.Organisation(id="o1", funder_id="f1", name="OF", siret="73282932000074",
                                   email="of@example.org", legal_representative=None,
                                   address=None, created_at=NOW)


@pytest.mark.parametrize("role, funder_id, organisation_id, allowed", [
    (Role.funder_admin, "f1", None, True),
    (Role.funder_agent, "f1", None, True),
    (Role.funder_agent, "f2", None, False),           # another funder's staff
    (Role.organisation_user, "f1", "o1", True),
    (Role.organisation_user, "f1", "o2", False),      # another organisation
    (Role.organisation_user, "f1", None, False),
    (Role.beneficiary, "f1", "o1", False),
    (Role.employer, "f1", None, False),
])
def test_who_sees_an_organisation(role, funder_id, organisation_id, allowed):
    actor = Actor(user_id="u", role=role, funder_id=funder_id, organisation_id=organisation_id)
    assert domain.can_see_organisation(actor, ORGANISATION) is allowed


def test_only_funder_staff_create_organisations():
    require_funder_staff(Actor(user_id="u", role=Role.funder_agent, funder_id="f1"))
    with pytest.raises(Forbidden):
        require_funder_staff(Actor(user_id="u", role=Role.organisation_user,
                                          funder_id="f1", organisation_id="o1"))


def test_a_partys_identifier_is_its_email_or_a_unique_variant():
    assert domain.party_identifiers("Michelle.Dubois@Example.org", "3f2a1c9d-aaaa") == (
        "michelle.dubois@example.org", "michelle.dubois-3f2a1c9d")


def test_other_services_refuse_an_unfinished_first_login():
    actor = {"user_id": "u1", "role": "organisation_user", "funder_id": "f1",
             "organisation_id": "o1", "restricted": True}
    with pytest.raises(Forbidden) as raised:
        acting(actor)
    assert raised.value.code == "account_restricted"
    assert acting({**actor, "restricted": False}).organisation_id == "o1"
    with pytest.raises(InvalidInput):
        acting({"role": "nobody"})
