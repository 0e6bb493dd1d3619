"""dossiers with the real identity service, on RabbitMQ and PostgreSQL: creation, the checks
on what a dossier names, and scoping across two organisations, two funders and the parties
(get_dossier's scope is the access check certification relies on)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.dossiers.service import DossiersService
from services.identity.service import IdentityService
from servicekit.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.integration.test_identity_service import (SENT, FakeNotifications, bootstrap,
                                                     first_login, new_organisation)


@pytest.fixture
def world(service_env, container_factory, rpc):
    """Funder GE with organisations 1 and 2 (one dossier each), and funder IDF."""
    service_env("identity")
    service_env("dossiers")
    SENT.clear()
    container_factory(FakeNotifications)  # identity emails the provisional passwords
    container_factory(IdentityService)
    container_factory(DossiersService)
    admin = bootstrap(rpc, "tpro-ge")
    other_admin = bootstrap(rpc, "tpro-idf")
    first = rpc.identity.create_organisation(admin, new_organisation(1, "first"))
    second = rpc.identity.create_organisation(admin, new_organisation(2, "second"))
    michelle = rpc.dossiers.create_beneficiary(admin, {"name": "DUBOIS Michelle",
                                                       "email": "michelle@example.org"})
    paul = rpc.dossiers.create_beneficiary(admin, {"name": "LEROY Paul",
                                                   "email": "paul@example.org"})
    employer = rpc.dossiers.create_employer(admin, {"name": "Garage Martin",
                                                    "email": "rh@garage.example.org"})
    w = SimpleNamespace(admin=admin, other_admin=other_admin, first=first, second=second,
                        michelle=michelle, paul=paul, employer=employer,
                        first_user=first_login(rpc, "first"),
                        second_user=first_login(rpc, "second"))
    w.d1 = rpc.dossiers.create_dossier(admin, dossier("20X000703", first, michelle, employer))
    w.d2 = rpc.dossiers.create_dossier(admin, dossier("16/0/5756", second, paul))
    return w


def dossier(number, organisation, beneficiary, employer=None, **overrides):
    return {"number": number, "organisation_id": organisation["id"],
            "beneficiary_id": beneficiary["id"],
            "employer_id": employer["id"] if employer else None,
            "training_title": "Titre professionnel soudeur", "session_start": "2026-01-05",
            "session_end": "2026-06-30", **overrides}


def party_actor(world, role, party_id):
    return {"user_id": "u-party", "role": role, "funder_id": world.admin["funder_id"],
            "party_id": party_id}


def numbers(dossiers):
    return sorted(d["number"] for d in dossiers)


def test_create_dossier(world, rpc):
    d1 = world.d1
    assert rpc.dossiers.health() == {"service": "dossiers", "status": "ok", "database": "ok"}
    assert d1["organisation_name"] == "Organisme 1"
    assert d1["beneficiary"] == world.michelle and d1["employer"] == world.employer
    assert d1["beneficiary"]["kind"] == "beneficiary"
    assert (d1["status"], d1["status_label"]) == ("in_progress", "Dossier en cours de suivi")
    assert rpc.dossiers.get_dossier(world.admin, d1["id"]) == d1
    assert world.d2["employer"] is None


def test_create_dossier_refusals(world, rpc):
    w = world
    other_beneficiary = rpc.dossiers.create_beneficiary(w.other_admin, {
        "name": "AUTRE", "email": "autre@example.org"})
    cases = [
        (dossier("N1", w.first, w.employer), InvalidInput, "unknown_beneficiary"),
        (dossier("N1", w.first, other_beneficiary), InvalidInput, "unknown_beneficiary"),
        (dossier("N1", w.first, w.michelle, w.paul), InvalidInput, "unknown_employer"),
        (dossier("N1", {"id": "no-such-organisation"}, w.michelle), InvalidInput,
         "unknown_organisation"),
        (dossier("20X000703", w.second, w.paul), Conflict, "dossier_number_taken"),
        (dossier("N1", w.first, w.michelle, session_end="2025-12-31"), InvalidInput,
         "invalid_payload"),
    ]
    for payload, kind, code in cases:
        with pytest.raises(kind) as raised:
            rpc.dossiers.create_dossier(w.admin, payload)
        assert raised.value.code == code, payload
    # Another funder neither sees GE's organisations nor clashes with its numbers.
    with pytest.raises(InvalidInput) as raised:
        rpc.dossiers.create_dossier(w.other_admin, dossier("N2", w.first, other_beneficiary))
    assert raised.value.code == "unknown_organisation"
    for create in (rpc.dossiers.create_dossier, rpc.dossiers.create_beneficiary):
        with pytest.raises(Forbidden):
            create(w.first_user, dossier("N3", w.first, w.michelle))


def test_scoping_does_not_leak(world, rpc):
    w = world
    who_sees_what = [
        (w.admin, ["16/0/5756", "20X000703"]),
        (w.first_user, ["20X000703"]),
        (w.second_user, ["16/0/5756"]),
        (w.other_admin, []),
        (party_actor(w, "beneficiary", w.michelle["id"]), ["20X000703"]),
        (party_actor(w, "beneficiary", w.paul["id"]), ["16/0/5756"]),
        (party_actor(w, "employer", w.employer["id"]), ["20X000703"]),
        (party_actor(w, "employer", w.michelle["id"]), []),
        (party_actor(w, "beneficiary", None), []),
    ]
    for actor, visible in who_sees_what:
        assert numbers(rpc.dossiers.list_dossiers(actor)) == visible, actor
        for d in (w.d1, w.d2):
            if d["number"] in visible:
                assert rpc.dossiers.get_dossier(actor, d["id"]) == d
            else:
                with pytest.raises(NotFound) as raised:
                    rpc.dossiers.get_dossier(actor, d["id"])
                assert raised.value.code == "dossier_not_found"


def test_search(world, rpc):
    w = world
    rpc.dossiers.create_dossier(w.admin, dossier("20X000999", w.second, w.paul))
    searches = [
        (w.admin, "20x", ["20X000703", "20X000999"]),
        (w.admin, "dubois", ["20X000703"]),
        (w.admin, "  Leroy ", ["16/0/5756", "20X000999"]),
        (w.admin, "16/0", ["16/0/5756"]),
        (w.admin, "%", []),
        (w.admin, "", ["16/0/5756", "20X000703", "20X000999"]),
        (w.second_user, "20x", ["20X000999"]),
        (w.second_user, "dubois", []),
    ]
    for actor, query, expected in searches:
        assert numbers(rpc.dossiers.list_dossiers(actor, query)) == expected, query
