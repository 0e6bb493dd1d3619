"""models.MonthAnnouncements on SQLite, migrated from nothing: a month is claimed once, and a
claim says which of its months this transaction inserted."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from servicekit import migrate
from services.certification.models import MonthAnnouncements, start_mappers

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path}/certification.db"
    migrate.upgrade("certification", url)
    start_mappers()
    return create_engine(url)


def test_a_month_is_claimed_once(engine):
    with Session(engine) as session:
        claimed = MonthAnnouncements(session).claim("d1", ["2026-02", "2026-01"], NOW)
        session.commit()
    assert claimed == ["2026-01", "2026-02"]
    with Session(engine) as session:
        announcements = MonthAnnouncements(session)
        assert announcements.claim("d1", ["2026-01", "2026-02", "2026-03"], NOW) == ["2026-03"]
        assert announcements.claim("d2", ["2026-01"], NOW) == ["2026-01"]
        assert announcements.claim("d2", [], NOW) == []
        session.commit()


def test_a_claim_rolled_back_leaves_the_month_to_the_next_run(engine):
    with Session(engine) as session:
        MonthAnnouncements(session).claim("d1", ["2026-01"], NOW)
        session.rollback()
    with Session(engine) as session:
        assert MonthAnnouncements(session).claim("d1", ["2026-01"], NOW) == ["2026-01"]
