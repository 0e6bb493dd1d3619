"""Method 1's evidence matches the hours: the signed certificate deposited after the hours last
changed, and the hours' reference the draft prints and the reply shows."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from contracts.certification import Certify
from contracts.common import DossierMonth, Role
from contracts.common.errors import Conflict
from services.certification import domain, handlers
from services.certification.domain import Certificate, DayHours, Hours, Session
from tests.support.certification import (FUNDER, FakeDocuments, a_dossier, an_actor,
                                         certification_db, ports)

MONTH = "2026-03"
CHANGED = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)
ORG_USER = an_actor(Role.organisation_user, ip="192.0.2.10")


class DepositedAt(FakeDocuments):
    """The month's signed certificate, deposited at a given time."""

    def __init__(self, created_at: datetime):
        super().__init__()
        self.created_at = created_at

    def list_documents(self, actor: dict, dossier_id: str) -> list[dict]:
        return [{**document, "created_at": self.created_at.isoformat()}
                for document in super().list_documents(actor, dossier_id)]


def entered(dossier: dict, training: str = "147") -> Certificate:
    certificate = Certificate.open(dossier["id"], MONTH, FUNDER, dossier["organisation_id"],
                                   CHANGED)
    certificate.enter_hours(Hours.of(training, "0", "3.5"),
                            Session(date.fromisoformat(dossier["session_start"]),
                                    date.fromisoformat(dossier["session_end"])), CHANGED)
    return certificate


def deposited_at(at: datetime):
    """A month of entered hours, its signed certificate deposited at `at`: (db, ports, ref)."""
    dossier = a_dossier()
    world = ports(dossier, documents=DepositedAt(at))
    world.clock.now = CHANGED + timedelta(hours=1)
    return (certification_db(entered(dossier)), world,
            DossierMonth(dossier_id=dossier["id"], month=MONTH))


def certify_with_deposit_at(at: datetime) -> tuple[dict, object]:
    db, world, ref = deposited_at(at)
    return handlers.certify(db, world, ORG_USER, ref, Certify(attest=True)), db


def test_a_signed_certificate_deposited_before_the_hours_changed_is_refused():
    with pytest.raises(Conflict) as refused:
        certify_with_deposit_at(CHANGED - timedelta(minutes=1))
    assert refused.value.code == "signed_certificate_outdated"
    assert refused.value.message.startswith(
        "Le certificat signé déposé le 20/03/2026 à 09:59 est antérieur à la dernière "
        "modification des heures du mois (20/03/2026 à 10:00)")


def test_a_signed_certificate_deposited_after_the_hours_changed_certifies():
    reply, db = certify_with_deposit_at(CHANGED + timedelta(minutes=1))
    assert (reply["method"], reply["certified_document_sha256"]) == (1, "5" * 64)
    assert reply["hours_reference"] == domain.hours_reference(Hours.of("147", "0", "3.5"), [])
    assert len(db.events("certified")) == 1


def test_the_draft_prints_the_reference_of_the_hours_it_shows():
    dossier = a_dossier()
    world = ports(dossier)
    ref = DossierMonth(dossier_id=dossier["id"], month=MONTH)
    handlers.draft_certificate(certification_db(entered(dossier)), world, ORG_USER, ref)
    handlers.draft_certificate(certification_db(entered(dossier, "140")), world, ORG_USER, ref)
    first, changed = (facts["hours_reference"] for facts in world.documents.rendered)
    assert len(first) == 6 and first.isalnum() and first != changed


def test_the_hours_reference_names_the_totals_and_the_days_whatever_their_writing():
    hours = Hours.of("7", "0", "0")
    day = DayHours(date(2026, 3, 2), "day", hours.training, hours.internship, hours.absence)
    same = DayHours(date(2026, 3, 2), "day", Decimal("7.00"), Decimal("0.0"), Decimal("0"))
    other_day = DayHours(date(2026, 3, 3), "day", hours.training, hours.internship,
                         hours.absence)
    assert domain.hours_reference(hours, [day]) == domain.hours_reference(
        Hours.of("7.0", "0.00", "0"), [same])
    assert domain.hours_reference(hours, [day]) != domain.hours_reference(hours, [other_day])


def test_a_second_certification_is_refused_as_already_certified_not_as_outdated():
    db, world, ref = deposited_at(CHANGED + timedelta(minutes=1))
    handlers.certify(db, world, ORG_USER, ref, Certify(attest=True))
    with pytest.raises(Conflict) as refused:
        handlers.certify(db, world, ORG_USER, ref, Certify(attest=True))
    assert refused.value.code == "certificate_already_certified"
