"""« Votre identité » before entry and certification, asked of identity at each step (no copy
of it is kept here), and the rights per seed 002: method 1 is part of entering hours
(`enter_hours`), method 2 needs « certification des certificats de réalisation »
(`certify_certificates`)."""
from __future__ import annotations

import base64

import pytest

from contracts.certification import Certify, CodeRequest, HoursChange, TemplateUpload
from contracts.common import Role
from contracts.common.errors import Conflict, Forbidden
from services.certification import adapters, handlers
from tests.support.certification import (FakeIdentity, a_dossier, an_actor, certification_db,
                                         ports)
from tests.support.identity import CERTIFIER, NO_LETTERHEAD
from tests.unit.certification.test_handlers import (HOURS, MONTH, NOW, ORG_USER, at_now,
                                                    entered, ref)

HOURS_ONLY = an_actor(Role.organisation_user, rights=["enter_hours"], email="nadia@lac.example")
ASK = CodeRequest(attest=True, accept_ip=True)
METHOD_2 = {"attest": True, "method": 2, "accept_ip": True}


def world_of(dossier: dict, **facts):
    return at_now(ports(dossier, identity=FakeIdentity(**facts, certifier_since=NOW)))


def refused(call) -> Conflict:
    with pytest.raises(Conflict) as exc:
        call()
    return exc.value


def test_no_online_entry_without_the_legal_representative_and_the_logo():
    dossier = a_dossier()
    db, world = certification_db(), world_of(dossier, **NO_LETTERHEAD)
    for call in (lambda: handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS),
                 lambda: handlers.change_hours(db, world, ORG_USER, ref(dossier),
                                               HoursChange(training_hours="7"))):
        error = refused(call)
        assert (error.code, error.details) == (
            "legal_representative_missing",
            {"missing": ["legal_representative_missing", "logo_missing"]})
    filled = adapters.write_template("month", [adapters.TemplateLine(
        dossier["number"], "DUBOIS Marie", "PHARMACIE", MONTH)])
    upload = TemplateUpload(filename="heures.xlsx",
                            content_base64=base64.b64encode(filled).decode())
    assert refused(lambda: handlers.import_hours(db, world, ORG_USER, upload)).code == \
        "legal_representative_missing"
    assert db.repositories["certificates"].rows == {}
    # The entry form's proposals store nothing: open.
    handlers.propose_hours(db, world, ORG_USER, ref(dossier), "spread")


def test_a_logo_alone_missing_is_named():
    dossier = a_dossier()
    error = refused(lambda: handlers.enter_hours(certification_db(),
                                                 world_of(dossier, logo="rejected"), ORG_USER,
                                                 ref(dossier), HOURS))
    assert (error.code, error.details) == ("logo_missing", {"missing": ["logo_missing"]})


def test_the_readiness_is_asked_of_identity_each_time():
    dossier = a_dossier()
    db, world = certification_db(), world_of(dossier, **NO_LETTERHEAD)
    refused(lambda: handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS))
    world.identity.facts.clear()  # « Votre identité » completed: the next entry passes
    assert handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS)["status"] == \
        "hours_entered"
    assert world.identity.profiles_asked == 2


def test_method_1_needs_the_letterhead_and_warns_of_a_missing_stamp():
    dossier = a_dossier()
    db = certification_db(entered(dossier))
    error = refused(lambda: handlers.certify(db, world_of(dossier, legal_representative=None),
                                             ORG_USER, ref(dossier), Certify(attest=True)))
    assert error.code == "legal_representative_missing"
    assert error.message.startswith("Avant de certifier, complétez « Votre identité »")
    reply = handlers.certify(db, world_of(dossier), ORG_USER, ref(dossier),
                             Certify(attest=True))
    assert "stamp_missing" in [w["code"] for w in reply["warnings"]]


@pytest.mark.parametrize("undone, code", [
    ({"stamp": "missing"}, "stamp_missing"),
    ({"certifier_requested": False}, "certifier_not_requested"),
    ({"kbis": "pending"}, "kbis_not_checked"),
    ({"consent_letter": "rejected"}, "consent_letter_not_checked"),
    ({"logo": "missing"}, "logo_missing"),
])
def test_method_2_waits_for_each_piece(undone, code):
    dossier = a_dossier()
    db, world = certification_db(entered(dossier)), world_of(dossier, **{**CERTIFIER, **undone})
    assert refused(lambda: handlers.request_code(db, world, ORG_USER, ref(dossier),
                                                 ASK)).code == code
    assert refused(lambda: handlers.certify(db, world, ORG_USER, ref(dossier),
                                            Certify(**METHOD_2, code="1234"))).code == code
    assert world.notifications.sent == [] and db.published == []


def test_an_hours_only_user_certifies_by_method_1_but_not_by_method_2():
    dossier = a_dossier()
    db, world = certification_db(entered(dossier)), world_of(dossier, **CERTIFIER)
    for call in (lambda: handlers.request_code(db, world, HOURS_ONLY, ref(dossier), ASK),
                 lambda: handlers.certify(db, world, HOURS_ONLY, ref(dossier),
                                          Certify(**METHOD_2, code="1234"))):
        with pytest.raises(Forbidden) as exc:
            call()
        assert exc.value.details == {"right": "certify_certificates"}
    reply = handlers.certify(db, world, HOURS_ONLY, ref(dossier), Certify(attest=True))
    assert (reply["status"], reply["method"]) == ("certified", 1)


def test_method_1_needs_the_hours_right():
    dossier = a_dossier()
    certifier_only = an_actor(Role.organisation_user, rights=["certify_certificates"])
    with pytest.raises(Forbidden) as exc:
        handlers.certify(certification_db(entered(dossier)), world_of(dossier),
                         certifier_only, ref(dossier), Certify(attest=True))
    assert exc.value.details == {"right": "enter_hours"}
