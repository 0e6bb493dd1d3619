"""A service's database migrated from nothing on SQLite, read the way handlers read a
`Database` (`with db.reading() as reading: reading.<repository>`): for use cases whose whole
work is one query, tested against the query itself."""
from __future__ import annotations

import contextlib
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from servicekit import migrate
from servicekit.db import Reading


class SqliteStore:
    def __init__(self, service: str, directory, models):
        url = f"sqlite:///{directory}/{service}.db"
        migrate.upgrade(service, url)
        models.start_mappers()
        self.engine = create_engine(url)
        self._repositories = models.repositories

    def add(self, table, *rows: dict) -> None:
        with self.engine.begin() as connection:
            connection.execute(table.insert(), list(rows))

    @contextlib.contextmanager
    def reading(self) -> Iterator[Reading]:
        with Session(self.engine) as session:
            yield Reading(session, self._repositories)


def statements_sent(engine: Engine) -> list[str]:
    """From now on, every statement sent on `engine`, by first word (as JALON_PROFILE_DIR
    counts them): the list fills as they go."""
    sent: list[str] = []

    @event.listens_for(engine, "after_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement.split(None, 1)[0].upper())
    return sent
