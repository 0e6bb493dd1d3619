"""integration's step to replays as jobs, on SQLite and PostgreSQL: a replay not finished when
it runs becomes a queued job under the replay's id, its progress kept, so that the job runner
resumes it; a finished one gets no job."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from contracts.common import Actor
from servicekit import migrate
from servicekit.db import make_engine
from servicekit.jobs import JobStore
from services.integration.models import metadata, replays

BEFORE = "17a2ee000001"
ASKED = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)


def a_replay(status: str, sent: int) -> dict:
    return {"id": str(uuid.uuid4()), "funder_id": "f1", "since": ASKED,
            "after_event_id": None, "start_position": 0, "end_position": 9,
            "sent_position": sent, "total": 3, "sent": sent, "status": status,
            "created_by": "agent-1", "created_at": ASKED, "finished_at": None,
            "webhook_id": None}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, postgres):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/integration.db"
    return postgres.create("integration")


def test_an_unfinished_replay_becomes_a_queued_job_that_goes_on_where_it_was(database_url):
    command.upgrade(migrate.alembic_config("integration", database_url), BEFORE)
    running, done = a_replay("running", 1), a_replay("done", 3)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(replays), [running, done])
    migrate.upgrade("integration", database_url)
    with Session(engine) as session:
        store = JobStore(session, metadata)
        assert store.statuses([running["id"], done["id"]]) == {running["id"]: "queued"}
        job = store.view(store.row(running["id"]))
        row = session.execute(select(store.jobs).where(store.jobs.c.id == running["id"])).one()
    engine.dispose()
    assert (job["kind"], job["status"]) == ("integration.replay", "queued")
    assert job["phases"] == [{"name": "events", "done": 1, "total": 3}]
    payload = json.loads(row.payload)
    assert datetime.fromisoformat(payload["since"]) == ASKED
    assert (payload["after_event_id"], payload["webhook_id"]) == (None, None)
    actor = Actor.model_validate(row.actor)
    assert (actor.user_id, actor.funder_id, actor.is_funder_staff) == ("agent-1", "f1", True)
