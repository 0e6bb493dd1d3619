"""UtcDateTime: aware in, aware out, on SQLite too (which keeps no offset)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from servicekit.db import make_engine
from servicekit.tables import UtcDateTime

metadata = MetaData()
moments = Table("moments", metadata, Column("id", Integer, primary_key=True),
                Column("at", UtcDateTime()))


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'moments.db'}")
    metadata.create_all(engine)
    return engine


def test_a_paris_moment_reads_back_as_the_same_moment_in_utc(engine):
    paris = datetime(2026, 7, 14, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))
    with engine.begin() as conn:
        conn.execute(insert(moments).values(id=1, at=paris))
        back = conn.execute(select(moments.c.at)).scalar_one()
    assert back.tzinfo is not None and back.utcoffset() == timedelta(0)
    assert back == paris


def test_a_naive_moment_is_refused(engine):
    with pytest.raises(StatementError), engine.begin() as conn:
        conn.execute(insert(moments).values(id=2, at=datetime(2026, 1, 1, 12, 0)))


def test_none_stays_none(engine):
    with engine.begin() as conn:
        conn.execute(insert(moments).values(id=3, at=None))
        assert conn.execute(select(moments.c.at)).scalar_one() is None
