"""Issue 16: the daily job announces each month of a dossier in progress that is open for
entry and waits for its organisation (month_to_certify), once per dossier and month."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from services.certification import domain, handlers
from services.certification.domain import Certificate, Hours, Session
from tests.support.certification import FUNDER, a_dossier, certification_db, ports
from tools import months_to_certify

SESSION = Session(date(2026, 1, 12), date(2026, 6, 30))  # a_dossier's
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def stored(dossier_id: str, month: str, state: str) -> Certificate:
    """A month's certificate with its hours entered, then certified, reopened or paid."""
    certificate = Certificate.open(dossier_id, month, FUNDER, "o-lac", NOW)
    certificate.enter_hours(Hours.of("70", "0", "0"), SESSION, NOW)
    if state != "entered":
        certificate.certify("u-org", "192.0.2.10", NOW)
    if state == "reopened":
        certificate.reopen("Erreur de saisie", "u-agent", NOW)
    if state == "paid":
        certificate.close_by_payment("p1", "P-1", NOW)
    return certificate


def announced(db) -> list[tuple[str, str]]:
    return [(event.dossier_id, event.month) for event in db.events("month_to_certify")]


# ---- the rule -------------------------------------------------------------------------------

def test_the_open_months_waiting_for_the_organisation():
    months = {"2026-01": stored("d1", "2026-01", "certified"),
              "2026-02": stored("d1", "2026-02", "reopened"),
              "2026-03": stored("d1", "2026-03", "entered")}
    assert domain.months_to_certify(SESSION, months, date(2026, 4, 1)) == [
        "2026-02", "2026-03", "2026-04"]
    assert domain.months_to_certify(SESSION, {}, date(2026, 2, 28)) == ["2026-01", "2026-02"]
    assert domain.months_to_certify(SESSION, {}, date(2025, 12, 31)) == []


def test_a_paid_month_waits_for_nothing():
    paid = {"2026-01": stored("d1", "2026-01", "paid")}
    assert domain.months_to_certify(SESSION, paid, date(2026, 1, 20)) == []


# ---- the daily job --------------------------------------------------------------------------

def test_each_month_is_announced_once():
    dossier = a_dossier()
    db, world = certification_db(), ports(dossier)
    first = handlers.announce_months_to_certify(db, world)
    assert first == {"day": "2026-03-02", "dossiers": 1, "announced": 3}
    [january, *_] = db.events("month_to_certify")
    assert (january.dossier_number, january.beneficiary_name, january.month,
            january.organisation_id, january.announced_at) == (
        dossier["number"], "DUBOIS Marie", "2026-01", "o-lac", world.clock.now)
    assert db.published[0].subject == f"{dossier['id']}/2026-01"
    again = handlers.announce_months_to_certify(db, world)
    assert (again["announced"], len(announced(db))) == (0, 3)


def test_certified_and_future_months_and_closed_dossiers_are_not_announced():
    dossier, closed = a_dossier(), a_dossier(status="closed")
    db = certification_db(stored(dossier["id"], "2026-02", "certified"))
    world = ports(dossier, closed)
    reply = handlers.announce_months_to_certify(db, world, date(2026, 3, 31))
    assert (reply["dossiers"], announced(db)) == (
        1, [(dossier["id"], "2026-01"), (dossier["id"], "2026-03")])
    handlers.announce_months_to_certify(db, world, date(2026, 4, 1))
    assert announced(db)[2:] == [(dossier["id"], "2026-04")]


def test_the_day_is_today_in_paris():
    db, world = certification_db(), ports(a_dossier(session_start="2026-03-01"))
    world.clock.now = datetime(2026, 2, 28, 23, 30, tzinfo=timezone.utc)
    reply = handlers.announce_months_to_certify(db, world)
    assert (reply["day"], [month for _, month in announced(db)]) == ("2026-03-01", ["2026-03"])


def test_every_page_of_dossiers_is_read(monkeypatch):
    monkeypatch.setattr(handlers, "DOSSIER_LIST_LIMIT", 2)
    dossiers = [a_dossier(session_start="2026-03-01") for _ in range(5)]
    db = certification_db()
    reply = handlers.announce_months_to_certify(db, ports(*dossiers))
    assert (reply["dossiers"], reply["announced"]) == (5, 5)
    assert sorted(dossier_id for dossier_id, _ in announced(db)) == sorted(
        d["id"] for d in dossiers)


# ---- python -m tools.months_to_certify ------------------------------------------------------

class FakeCluster:
    def __init__(self, failure: Exception | None = None):
        self.failure, self.asked = failure, []
        self.certification = self

    def __call__(self, config, timeout):
        return self

    def __enter__(self):
        if self.failure:
            raise self.failure
        return self

    def __exit__(self, *exc):
        return False

    def announce_months_to_certify(self, day):
        self.asked.append(day)
        return {"day": day or "2026-03-02", "dossiers": 4, "announced": 2}


@pytest.mark.parametrize("argv, day", [([], None), (["--day", "2026-10-02"], "2026-10-02")])
def test_the_tool_asks_certification_and_says_how_many(monkeypatch, capsys, argv, day):
    cluster = FakeCluster()
    monkeypatch.setattr("nameko.standalone.rpc.ClusterRpcProxy", cluster)
    assert months_to_certify.main(argv) == 0
    assert cluster.asked == [day]
    assert capsys.readouterr().out == (
        f"Mois à certifier du {day or '2026-03-02'} : 2 annoncé(s).\n")


def test_the_tool_fails_when_certification_cannot_be_reached(monkeypatch, capsys):
    monkeypatch.setattr("nameko.standalone.rpc.ClusterRpcProxy",
                        FakeCluster(ConnectionError("broker away")))
    assert months_to_certify.main([]) == 2
    assert "Mois à certifier non annoncés" in capsys.readouterr().err
