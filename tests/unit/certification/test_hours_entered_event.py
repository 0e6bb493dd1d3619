"""Issue 15: entering or changing a month's hours publishes hours_entered (who, from what to
what) for identity's audit trail, in the entry's own transaction."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from contracts.certification import HoursChange, HoursEntry
from contracts.common import DossierMonth, Role
from services.certification import handlers
from tests.support.certification import a_dossier, an_actor, certification_db, ports

ORG_USER = an_actor(Role.organisation_user, ip="192.0.2.10", email="claire@lac.example")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)


def test_the_first_entry_then_a_change_are_published_with_before_and_after():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    world.clock.now = NOW
    month = DossierMonth(dossier_id=dossier["id"], month="2026-03")
    handlers.enter_hours(db, world, ORG_USER, month, HoursEntry(
        training_hours="147", internship_hours="0", absence_hours="3.5"))
    handlers.change_hours(db, world, ORG_USER, month, HoursChange(absence_hours="7"))
    first, change = db.events("hours_entered")
    assert (first.before, first.after.training) == (None, Decimal("147"))
    assert (first.dossier_number, first.month, first.entered_by) == (
        dossier["number"], "2026-03", ORG_USER.user_id)
    assert (change.before.absence, change.after.absence) == (Decimal("3.5"), Decimal("7"))
    assert change.after.training == Decimal("147")
    assert first.organisation_id == dossier["organisation_id"]
