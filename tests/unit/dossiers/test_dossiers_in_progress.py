"""Issue 16: dossiers_in_progress, the internal RPC behind certification's daily job (the
months to certify): every funder's dossiers not closed, as list_dossiers summarises them, a
page at a time by id."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from servicekit import migrate
from services.dossiers import handlers
from services.dossiers.models import Dossiers, Parties, start_mappers
from tests.support.dossiers import FUNDER, database, dossier, organisation_user, party, ports


def parties() -> tuple:
    """Built when used: SQLAlchemy instruments only the instances made once it maps them."""
    return party("b1", name="DUBOIS Michelle"), party("b2", name="LEROY Paul", funder_id="f2")


def dossiers() -> tuple:
    return (dossier("d3", number="N3"), dossier("d1", number="N1"),
            dossier("d2", number="N2", status="closed"),
            dossier("d4", number="N4", funder_id="f2", beneficiary_id="b2", employer_id=None))


def test_every_funders_dossiers_not_closed_by_id():
    db = database(*parties(), dossiers=dossiers())
    found = handlers.dossiers_in_progress(db, ports())
    assert [(d["id"], d["funder_id"]) for d in found] == [
        ("d1", FUNDER), ("d3", FUNDER), ("d4", "f2")]
    [listed] = handlers.list_dossiers(db, ports(), organisation_user(), "N1")
    assert found[0] == listed


def test_a_page_starts_after_the_last_id_read():
    db = database(*parties(), dossiers=dossiers())
    assert [d["id"] for d in handlers.dossiers_in_progress(db, ports(), None, 2)] == [
        "d1", "d3"]
    assert [d["id"] for d in handlers.dossiers_in_progress(db, ports(), "d3", 2)] == ["d4"]
    assert handlers.dossiers_in_progress(db, ports(), "d4") == []


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path}/dossiers.db"
    migrate.upgrade("dossiers", url)
    start_mappers()
    with Session(create_engine(url)) as session:
        yield session


def test_the_query_on_sqlite(session):
    Parties(session).add(*parties())
    session.add_all(dossiers())
    session.commit()
    assert [d.id for d in Dossiers(session).in_progress(None, 500)] == ["d1", "d3", "d4"]
    assert [d.id for d in Dossiers(session).in_progress("d1", 1)] == ["d3"]
