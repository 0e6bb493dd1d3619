"""A database out of reach is a ServiceUnavailable (503 + Retry-After at the gateway), not a
server error."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from servicekit.db import DatabaseAccess, make_engine, reading_engine
from contracts.common.errors import ServiceUnavailable


@pytest.fixture
def unreachable():
    engine = make_engine("postgresql://postgres@127.0.0.1:1/jalon")  # nothing listens there
    provider = SimpleNamespace(engine=engine, reading_engine=reading_engine(engine),
                               write_gate=contextlib.nullcontext,
                               container=SimpleNamespace(service_name="any"),
                               outbox=None, processed=None, replies=None, repositories=None,
                               on_commit_with_events=None)
    yield DatabaseAccess(provider, "cid")
    engine.dispose()


def test_reads_and_units_of_work_answer_database_unavailable(unreachable):
    with pytest.raises(ServiceUnavailable) as exc:
        with unreachable.read() as session:
            session.execute(text("SELECT 1"))
    assert exc.value.code == "database_unavailable"
    with pytest.raises(ServiceUnavailable) as exc:
        with unreachable.unit_of_work() as uow:
            uow.session.execute(text("SELECT 1"))
    assert exc.value.code == "database_unavailable"
