"""The in-memory database the use-case tests run on behaves like the real one: all or nothing."""
from __future__ import annotations

import pytest

from contracts.events import MonthUnlockedV1
from tests.support.fakes import FakeClock, FakeDatabase


class Notes:
    def __init__(self):
        self.items: list[str] = []


def unlocked() -> MonthUnlockedV1:
    return MonthUnlockedV1(dossier_id="d1", month="2026-02", reason="erreur", unlocked_by="u1",
                           unlocked_at=FakeClock()())


def test_a_committed_unit_of_work_keeps_changes_and_events():
    db = FakeDatabase("payments", notes=Notes())
    with db.unit_of_work() as uow:
        uow.notes.items.append("kept")
        uow.publish("month_unlocked", unlocked())
    assert (db.repositories["notes"].items, [e.name for e in db.published]) == (
        ["kept"], ["month_unlocked"])


def test_a_failed_unit_of_work_leaves_nothing():
    db = FakeDatabase("payments", notes=Notes())
    notes = db.repositories["notes"]
    with pytest.raises(ValueError), db.unit_of_work() as uow:
        uow.notes.items.append("lost")
        uow.publish("month_unlocked", unlocked())
        raise ValueError
    assert (notes.items, db.published) == ([], [])


def test_an_event_is_claimed_once_and_a_reading_cannot_publish():
    db = FakeDatabase("payments", notes=Notes())
    with db.unit_of_work() as uow:
        assert uow.claim_event("e1", "h") is True
    with db.unit_of_work() as uow:
        assert uow.claim_event("e1", "h") is False
    with pytest.raises(RuntimeError), db.reading() as reading:
        reading.publish("month_unlocked", unlocked())


def test_publish_checks_the_payload_shape():
    db = FakeDatabase("payments")
    with pytest.raises(TypeError), db.unit_of_work() as uow:
        uow.publish("month_locked", unlocked())
