"""Issue 16: each validation of certified hours publishes hours_validated in its own
transaction (notifications tells the organisation), `complete` once the last one the funder
asks for is given."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.common import DossierMonth, Role
from contracts.common.errors import Conflict
from services.certification import handlers
from services.certification.domain import Certificate, Hours, Session
from tests.support.certification import (FUNDER, a_dossier, certification_db, party_of,
                                         ports)

MONTH = "2026-02"
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)


def certified(dossier: dict, validations: tuple) -> Certificate:
    certificate = Certificate.open(dossier["id"], MONTH, FUNDER, dossier["organisation_id"],
                                   NOW)
    certificate.enter_hours(Hours.of("147", "0", "3.5"),
                            Session(date.fromisoformat(dossier["session_start"]),
                                    date.fromisoformat(dossier["session_end"])), NOW)
    certificate.certify("u-org", "192.0.2.10", NOW, validations=validations)
    return certificate


def validate(db, world, dossier: dict, role: Role) -> dict:
    ref = DossierMonth(dossier_id=dossier["id"], month=MONTH)
    return handlers.validate_hours(db, world, party_of(dossier, role), ref)


def test_each_validation_is_published_and_the_last_completes_them():
    dossier = a_dossier()
    db, world = certification_db(certified(dossier, ("beneficiary", "employer"))), ports(dossier)
    world.clock.now = NOW
    validate(db, world, dossier, Role.beneficiary)
    validate(db, world, dossier, Role.employer)
    beneficiary, employer = db.events("hours_validated")
    assert (beneficiary.party, beneficiary.party_name, beneficiary.complete) == (
        "beneficiary", "DUBOIS Marie", False)
    assert (employer.party, employer.party_name, employer.complete) == (
        "employer", "Pharmacie du Lac", True)
    assert (employer.validated_by, employer.validated_at) == ("u-employer", NOW)
    assert (employer.dossier_number, employer.month, employer.organisation_id) == (
        dossier["number"], MONTH, dossier["organisation_id"])
    assert [e.subject for e in db.published] == [f"{dossier['id']}/{MONTH}"] * 2


def test_a_refused_validation_publishes_nothing():
    dossier = a_dossier()
    db, world = certification_db(certified(dossier, ("beneficiary",))), ports(dossier)
    with pytest.raises(Conflict):
        validate(db, world, dossier, Role.employer)
    assert db.published == []
