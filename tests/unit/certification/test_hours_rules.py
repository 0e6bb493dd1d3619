"""Hours that make sense: PUT replaces the whole month and requires its values, PATCH changes
only the values sent, a month outside the session is refused with the session's dates."""
from __future__ import annotations

import pytest

from contracts.certification import HoursChange, HoursEntry
from contracts.common import DossierMonth, Role
from contracts.common.errors import Conflict, Forbidden, InvalidInput
from services.certification import handlers
from services.certification.domain import FunderSettings
from tests.support.certification import FUNDER, a_dossier, an_actor, certification_db, ports

MONTH = "2026-02"  # open on FakeClock's 2 March 2026, within a_dossier's session
ORG_USER = an_actor(Role.organisation_user)
FULL = HoursEntry(training_hours="140", internship_hours="7", absence_hours="3.5")


def ref(dossier: dict, month: str = MONTH) -> DossierMonth:
    return DossierMonth(dossier_id=dossier["id"], month=month)


def per_day_db():
    return certification_db(settings=(FunderSettings(FUNDER, entry_mode="day"),))


def day(number: int, training: str) -> dict:
    return {"day": f"{MONTH}-{number:02d}", "training_hours": training}


def test_an_empty_put_names_every_missing_total_and_stores_nothing():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    with pytest.raises(InvalidInput) as exc:
        handlers.enter_hours(db, world, ORG_USER, ref(dossier), HoursEntry())
    assert exc.value.code == "hours_missing"
    assert exc.value.details == {"fields": ["training_hours", "internship_hours",
                                            "absence_hours"]}
    assert "heures de formation" in exc.value.message
    assert db.repositories["certificates"].rows == {}


def test_a_partial_put_resets_nothing():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    handlers.enter_hours(db, world, ORG_USER, ref(dossier), FULL)
    with pytest.raises(InvalidInput) as exc:
        handlers.enter_hours(db, world, ORG_USER, ref(dossier),
                             HoursEntry(training_hours="100"))
    assert exc.value.details == {"fields": ["internship_hours", "absence_hours"]}
    stored = db.repositories["certificates"].get(dossier["id"], MONTH)
    assert (stored.training_hours, stored.internship_hours) == (FULL.training_hours,
                                                                FULL.internship_hours)


def test_a_per_day_put_needs_the_days():
    dossier = a_dossier()
    db, world = per_day_db(), ports(dossier)
    with pytest.raises(InvalidInput) as exc:
        handlers.enter_hours(db, world, ORG_USER, ref(dossier), HoursEntry())
    assert (exc.value.code, exc.value.details) == ("detail_required", {"fields": ["days"]})
    zero = HoursEntry(days=[], training_hours=0, internship_hours=0, absence_hours=0)
    handlers.enter_hours(db, world, ORG_USER, ref(dossier), zero)
    assert db.repositories["certificates"].get(dossier["id"], MONTH).training_hours == 0


def test_a_patch_changes_only_the_totals_sent():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    handlers.enter_hours(db, world, ORG_USER, ref(dossier), FULL)
    reply = handlers.change_hours(db, world, ORG_USER, ref(dossier),
                                  HoursChange(absence_hours="7"))
    assert (reply["training_hours"], reply["internship_hours"], reply["absence_hours"]) == (
        "140.00", "7.00", "7.00")


def test_a_patch_of_a_month_never_entered_needs_every_total():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    with pytest.raises(InvalidInput) as exc:
        handlers.change_hours(db, world, ORG_USER, ref(dossier),
                              HoursChange(training_hours="7"))
    assert exc.value.details == {"fields": ["internship_hours", "absence_hours"]}


def test_a_per_day_patch_replaces_the_days_sent_and_keeps_the_others():
    dossier = a_dossier()
    db, world = per_day_db(), ports(dossier)
    handlers.enter_hours(db, world, ORG_USER, ref(dossier),
                         HoursEntry(days=[day(2, "7"), day(3, "7")]))
    reply = handlers.change_hours(db, world, ORG_USER, ref(dossier),
                                  HoursChange(days=[day(3, "3.5")]))
    assert [(d["day"], d["training_hours"]) for d in reply["days"]] == [
        (f"{MONTH}-02", "7.00"), (f"{MONTH}-03", "3.50")]
    assert reply["training_hours"] == "10.50"


def test_a_patch_needs_the_hours_right():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    with pytest.raises(Forbidden) as exc:
        handlers.change_hours(db, world, an_actor(Role.organisation_user, rights=[]),
                              ref(dossier), HoursChange(training_hours="7"))
    assert exc.value.code == "missing_right"


@pytest.mark.parametrize("month", ["2025-12", "2026-07"])
def test_a_month_outside_the_session_names_the_session(month):
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    for use_case in (handlers.enter_hours, handlers.change_hours):
        with pytest.raises(InvalidInput) as exc:
            use_case(db, world, ORG_USER, ref(dossier, month), FULL)
        assert exc.value.code == "month_outside_session"
        assert exc.value.details == {"month": month, "session_start": "2026-01-12",
                                     "session_end": "2026-06-30"}
        assert "du 12/01/2026 au 30/06/2026" in exc.value.message


def test_a_certified_month_says_so_before_its_values_are_judged():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    handlers.enter_hours(db, world, ORG_USER, ref(dossier), FULL)
    db.repositories["certificates"].get(dossier["id"], MONTH).certify("u-org", None,
                                                                     world.clock())
    with pytest.raises(Conflict) as exc:
        handlers.enter_hours(db, world, ORG_USER, ref(dossier), HoursEntry(training_hours="1"))
    assert exc.value.code == "certificate_already_certified"
