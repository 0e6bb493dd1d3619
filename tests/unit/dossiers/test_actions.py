"""Seed 001's dossier list: the type of action (PTP, VAE...) and « Actions en attente » (the
session's months not certified yet), with filters; counts for a dashboard (seed 004)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.common.errors import InvalidInput
from contracts.events import CertificateReopenedV1, MonthUnlockedV1
from services.dossiers import adapters, handlers
from services.dossiers.domain import (MonthCertification, PartyKind, action_type_counts,
                                      local_today, pending_months, status_counts)
from services.dossiers.domain.pending import months_between
from tests.support.dossiers import (database, dossier, import_row, imported, new_dossier,
                                    organisation_user, party, ports, staff)
from tests.support.documents import certified as certified_event
from tests.support.fakes import FakeClock

MICHELLE = party("b1", name="DUBOIS Michelle")
PAUL = party("b2", name="LEROY Paul")


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, 9, 0, tzinfo=timezone.utc)


# --- the rules -------------------------------------------------------------------------------

def test_months_between_spans_years_and_is_empty_when_reversed():
    assert months_between(date(2025, 11, 20), date(2026, 2, 1)) == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between(date(2026, 3, 1), date(2026, 2, 28)) == []


def test_pending_months_are_the_sessions_begun_months_not_certified():
    found = pending_months(date(2020, 1, 15), date(2021, 6, 30), date(2020, 3, 2), {"2020-01"})
    assert [(m.month, m.month_label, m.status, m.status_label) for m in found] == [
        ("2020-02", "février 2020", "awaiting_entry", "En attente de saisie par l'organisme"),
        ("2020-03", "mars 2020", "awaiting_entry", "En attente de saisie par l'organisme")]
    # A session not begun yet, and one over: its last month is the last pending.
    assert pending_months(date(2020, 4, 1), date(2020, 9, 30), date(2020, 3, 2), ()) == []
    assert [m.month for m in pending_months(date(2019, 11, 1), date(2019, 12, 31),
                                            date(2020, 3, 2), {"2019-11"})] == ["2019-12"]


def test_today_is_the_day_in_paris():
    assert local_today(datetime(2026, 2, 28, 23, 30, tzinfo=timezone.utc)) == date(2026, 3, 1)


def test_a_month_takes_the_newest_word_whatever_the_order_it_arrives_in():
    known = MonthCertification("d1", "2026-02", True, at(10))
    known.record(False, at(5))  # an older reopening, delivered late
    assert known.certified
    known.record(False, at(12))
    assert not known.certified and known.changed_at == at(12)


def test_counts_keep_every_known_code_and_add_the_unknown():
    assert [(c.code, c.label, c.count) for c in status_counts({"closed": 2})] == [
        ("in_progress", "Dossier en cours de suivi", 0), ("closed", "Dossier clôturé", 2)]
    assert [(c.code, c.label, c.count) for c in action_type_counts({"vae": 1, "old": 3})] == [
        ("ptp", "PTP", 0), ("vae", "VAE", 1), ("bilan", "Bilan de compétences", 0),
        ("apprentissage", "Apprentissage", 0), ("old", "old", 3)]


def test_the_spreadsheet_reads_the_type_of_action_as_users_write_it():
    content = ("dossier;siret;beneficiaire;email beneficiaire;formation;session;type d'action\n"
               "A;73282932000074;B;b@example.org;F;01/01/2026 au 30/06/2026;VAE\n"
               "C;73282932000074;B;b@example.org;F;01/01/2026 au 30/06/2026;Bilan de compétences\n"
               "D;73282932000074;B;b@example.org;F;01/01/2026 au 30/06/2026;\n"
               "E;73282932000074;B;b@example.org;F;01/01/2026 au 30/06/2026;CIF\n").encode()
    _, rows = adapters.read_spreadsheet(content)
    assert [row.data.get("action_type", "absent") for row in rows] == [
        "vae", "bilan", "absent", "CIF"]
    assert handlers.check_row(rows[3].data)[1][0].field == "action_type"


# --- the use cases ---------------------------------------------------------------------------

def test_a_dossier_is_created_ptp_unless_told_and_changed_to_another_type():
    db = database(MICHELLE, party("e1", PartyKind.employer, name="Garage"))
    ptp = handlers.create_dossier(db, ports(), staff(), new_dossier("N1"))
    assert (ptp["action_type"], ptp["action_type_label"]) == ("ptp", "PTP")
    vae = handlers.create_dossier(db, ports(), staff(), new_dossier("N2", action_type="vae"))
    assert (vae["action_type"], vae["action_type_label"]) == ("vae", "VAE")
    changed = handlers.update_dossier(db, ports(), staff(), ptp["id"], {"action_type": "bilan"})
    assert changed["action_type_label"] == "Bilan de compétences"
    assert db.events("dossier_updated")[-1].changed == ["action_type"]
    with pytest.raises(InvalidInput):
        handlers.update_dossier(db, ports(), staff(), ptp["id"], {"action_type": "cif"})
    with pytest.raises(InvalidInput):
        handlers.update_dossier(db, ports(), staff(), ptp["id"], {"action_type": None})


def test_an_import_sets_the_type_of_a_new_dossier_and_keeps_it_when_the_row_says_none():
    db = database()
    batch = {"rows": [import_row("I1", action_type="vae"), import_row("I2")]}
    imported(db, ports(), organisation_user(), batch)
    by_number = {d.number: d for d in db.repositories["dossiers"].store.dossiers.values()}
    assert (by_number["I1"].action_type, by_number["I2"].action_type) == ("vae", "ptp")
    again = imported(db, ports(), organisation_user(),
                     {"rows": [import_row("I1"), import_row("I2", action_type="apprentissage")]})
    assert [row["outcome"] for row in again["items"]] == ["unchanged", "updated"]
    assert (by_number["I1"].action_type, by_number["I2"].action_type) == ("vae",
                                                                           "apprentissage")


def certified(month: str, when: datetime, dossier_id: str = "d1"):
    return certified_event(dossier_id=dossier_id, month=month, certified_at=when)


def pending(db, actor=None, dossier_id: str = "d1", clock: FakeClock | None = None):
    reply = handlers.get_dossier(db, ports(clock=clock), actor or staff(), dossier_id)
    return [month["month"] for month in reply["pending_actions"]]


def test_certified_months_leave_the_pending_list_and_reopened_ones_return():
    db = database(MICHELLE, dossiers=[dossier(employer_id=None)])
    assert pending(db) == ["2026-01", "2026-02", "2026-03"]
    with db.unit_of_work() as uow:
        handlers.on_certified(uow, certified("2026-01", at(3, 2)))
        handlers.on_certified(uow, certified("2026-02", at(1)))
    assert pending(db) == ["2026-03"]
    with db.unit_of_work() as uow:
        handlers.on_certificate_reopened(uow, CertificateReopenedV1(
            certificate_id="c1", dossier_id="d1", funder_id="f1", organisation_id="o1",
            month="2026-02", reason="Erreur", reopened_by="agent", reopened_at=at(2)))
        handlers.on_month_unlocked(uow, MonthUnlockedV1(
            dossier_id="d1", month="2026-01", reason="Trop payé", unlocked_by="agent",
            unlocked_at=at(2)))
    assert pending(db) == ["2026-01", "2026-02", "2026-03"]
    # Next month, one more month awaits.
    assert pending(db, clock=FakeClock(at(1, 4)))[-1] == "2026-04"


def test_the_list_filters_by_type_status_and_pending_actions():
    done = dossier("d2", "D2", "o1", "b2", None, session_start=date(2026, 1, 5),
                   session_end=date(2026, 1, 31), action_type="vae", status="closed")
    db = database(MICHELLE, PAUL, dossiers=[dossier(employer_id=None), done])
    with db.unit_of_work() as uow:
        handlers.on_certified(uow, certified("2026-01", at(1, 2), dossier_id="d2"))

    def numbers(**filters):
        return [d["number"] for d in handlers.list_dossiers(db, ports(), staff(), None, 200,
                                                             filters)]

    assert numbers() == ["20X000703", "D2"]
    assert numbers(action_type="vae") == ["D2"]
    assert numbers(status="in_progress") == ["20X000703"]
    assert numbers(pending=True) == ["20X000703"]
    assert numbers(pending=False) == ["D2"]
    assert numbers(action_type="ptp", pending=False) == []
    with pytest.raises(InvalidInput):
        numbers(action_type="cif")


def test_counts_are_of_the_dossiers_the_actor_sees():
    others = dossier("d2", "D2", "o2", "b2", None, action_type="vae", status="closed")
    db = database(MICHELLE, PAUL, dossiers=[dossier(employer_id=None), others])
    everything = handlers.count_dossiers(db, staff())
    assert everything["total"] == 2
    assert {c["code"]: c["count"] for c in everything["by_status"]} == {
        "in_progress": 1, "closed": 1}
    assert {c["code"]: c["count"] for c in everything["by_action_type"]} == {
        "ptp": 1, "vae": 1, "bilan": 0, "apprentissage": 0}
    mine = handlers.count_dossiers(db, organisation_user("o2"))
    assert (mine["total"], mine["by_status"][1]) == (1, {"code": "closed",
                                                         "label": "Dossier clôturé", "count": 1})
    assert handlers.count_dossiers(db, staff("f2"))["total"] == 0


def test_the_same_certification_told_twice_is_one_certified_month():
    db = database(MICHELLE, dossiers=[dossier(employer_id=None)])
    for _ in range(2):
        with db.unit_of_work() as uow:
            handlers.on_certified(uow, certified("2026-01", at(1, 2)))
    assert pending(db, organisation_user()) == ["2026-02", "2026-03"]
