"""The signer named: certification keeps who certified by name and role, replies with them
and publishes them (method 2: with the certifier date and the IP consent)."""
from __future__ import annotations

from contracts.certification import Certify, CodeRequest
from contracts.common import Role
from services.certification import handlers
from tests.support.certification import (FakeIdentity, a_dossier, an_actor, certification_db,
                                         ports)
from tests.support.identity import CERTIFIER
from tests.unit.certification.test_handlers import NOW, at_now, entered, ref

CLAIRE = an_actor(Role.organisation_user, name="Claire Martin")
CERTIFIER_SINCE = NOW.replace(month=2)


def test_method_1_names_the_signer_in_the_reply_and_the_event():
    dossier = a_dossier()
    db = certification_db(entered(dossier))
    reply = handlers.certify(db, at_now(ports(dossier)), CLAIRE, ref(dossier),
                             Certify(attest=True))
    assert (reply["certified_by"], reply["certified_by_name"], reply["certified_by_role"],
            reply["certified_by_label"]) == (
        CLAIRE.user_id, "Claire Martin", "organisation_user",
        "Claire Martin (organisme de formation)")
    [event] = db.events("certified")
    assert (event.certified_by_name, event.certified_by_role, event.certifier_since,
            event.ip_use_accepted) == ("Claire Martin", "organisation_user", None, None)


def test_method_2_keeps_the_certifier_date_and_the_ip_consent():
    dossier = a_dossier()
    db = certification_db(entered(dossier))
    # Identity's date of method 2 is the one printed.
    world = at_now(ports(dossier, identity=FakeIdentity(**CERTIFIER,
                                                        certifier_since=CERTIFIER_SINCE)))
    handlers.request_code(db, world, CLAIRE, ref(dossier),
                          CodeRequest(attest=True, accept_ip=True))
    code = world.notifications.sent[-1]["context"]["code"]
    reply = handlers.certify(db, world, CLAIRE, ref(dossier),
                             Certify(attest=True, method=2, accept_ip=True, code=code))
    assert reply["certified_by_label"] == "Claire Martin (organisme de formation)"
    [event] = db.events("certified")
    assert (event.certified_by_name, event.certifier_since, event.ip_use_accepted) == (
        "Claire Martin", CERTIFIER_SINCE, True)


def test_a_month_not_yet_certified_names_nobody():
    dossier = a_dossier()
    reply = handlers.get_certificate(certification_db(entered(dossier)),
                                     at_now(ports(dossier)), CLAIRE, ref(dossier))
    assert (reply["certified_by_name"], reply["certified_by_label"]) == (None, None)
