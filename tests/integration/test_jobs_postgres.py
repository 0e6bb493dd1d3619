"""servicekit.jobs on PostgreSQL: two identical submissions at the same moment (a double click,
two replicas) make one job, the second waiting for the first's transaction."""
from __future__ import annotations

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from contracts.common import Actor, Role
from servicekit.db import make_engine
from servicekit.jobs import JobStore, add_job_tables

metadata = MetaData()
add_job_tables(metadata)
STAFF = Actor(user_id="u-agent", role=Role.funder_agent, funder_id="f1")
COLLEAGUE = Actor(user_id="u-admin", role=Role.funder_admin, funder_id="f1")
PAYLOAD = {"rows": [1, 2, 3]}


@pytest.fixture
def engine(postgres):
    engine = make_engine(postgres.create("jobs_race"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def submit(session: Session, actor: Actor, payload: dict = PAYLOAD) -> dict:
    return JobStore(session, metadata).submit("things.import", actor, payload, {"rows": 3})


def test_the_same_submission_waits_for_the_first_and_gets_its_job(engine):
    with Session(engine) as first, Session(engine) as second:
        first.begin()
        job = submit(first, STAFF)
        second.begin()
        second.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            submit(second, COLLEAGUE)  # would have found nothing and added a second job
        second.rollback()
        other = submit(second, COLLEAGUE, {"rows": [4]})  # another submission: not held up
        assert other["id"] != job["id"]
        second.commit()
        first.commit()
    with Session(engine) as third, third.begin():
        again = submit(third, COLLEAGUE)
    assert (again["id"], again["resubmitted"]) == (job["id"], True)
