"""The actor the gateway receives names the person (or the API token), so that what they
sign names them."""
from __future__ import annotations

from datetime import date

from services.identity import domain
from tests.unit.identity.test_domain import NOW, make_user
from tests.unit.identity.test_lifecycle import org_actor


def test_a_users_actor_carries_their_name():
    assert make_user(name="Claire Martin").as_actor("s1").name == "Claire Martin"


def test_an_api_tokens_actor_is_named_after_the_token():
    _, api_token = domain.issue_api_token(org_actor(), "ERP", date(2026, 12, 31), None, NOW)
    assert api_token.as_actor().name == "jeton d'API « ERP »"
