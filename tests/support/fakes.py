"""In-memory stand-ins for servicekit's database access, so a use case (services/*/handlers.py)
runs in a unit test without a broker or a database.

`FakeDatabase` offers what handlers use of `servicekit.db.DatabaseAccess`: `unit_of_work()` (a
transaction: all its changes to the in-memory repositories, and its events, or none) and
`reading()`. Each service's in-memory repositories live in tests/support/<service>.py.
"""
from __future__ import annotations

import contextlib
import copy
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

from contracts.common import FUNDER_ROLES, Role
from contracts.common.errors import NotFound
from contracts.events import Payload, spec_of


@dataclass(frozen=True)
class PublishedEvent:
    name: str
    data: Payload
    subject: str | None
    id: str


class FakeUnitOfWork:
    """What a handler sees inside `with db.unit_of_work() as uow:` (or `db.reading()`)."""

    def __init__(self, database: "FakeDatabase", read_only: bool = False):
        self.__dict__.update(database.repositories)
        self._database = database
        self._read_only = read_only
        self.pending: list[PublishedEvent] = []
        self.kept_reply = None

    def publish(self, event_name: str, data: Payload, subject: str | None = None) -> str:
        if self._read_only:
            raise RuntimeError("a reading cannot publish: open a unit of work")
        spec_of(self._database.service, event_name, data)  # TypeError, as the real one
        event = PublishedEvent(event_name, data, subject, str(uuid.uuid4()))
        self.pending.append(event)
        return event.id

    def claim_event(self, event_id: str, handler: str) -> bool:
        claimed = self._database.processed
        if (event_id, handler) in claimed:
            return False
        claimed.add((event_id, handler))
        return True

    def keep_reply(self, reply) -> None:
        self.kept_reply = reply


class FakeDatabase:
    """One service's store in memory; `published` holds the events of committed transactions."""

    def __init__(self, service: str, **repositories):
        self.service = service
        self.repositories = repositories
        self.published: list[PublishedEvent] = []
        self.processed: set[tuple[str, str]] = set()
        self.commits = 0

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[FakeUnitOfWork]:
        before = copy.deepcopy((self.repositories, self.processed))
        uow = FakeUnitOfWork(self)
        try:
            yield uow
        except BaseException:
            self._restore(*before)
            raise
        self.published.extend(uow.pending)
        self.commits += 1

    @contextlib.contextmanager
    def reading(self) -> Iterator[FakeUnitOfWork]:
        yield FakeUnitOfWork(self, read_only=True)

    def _restore(self, repositories: dict, processed: set) -> None:
        """Roll back: the same repository objects (handlers may hold them) get their state back."""
        for name, repository in self.repositories.items():
            repository.__dict__.clear()
            repository.__dict__.update(repositories[name].__dict__)
        self.processed.clear()
        self.processed.update(processed)

    def events(self, name: str) -> list[Payload]:
        """The data of the committed events called `name`, in order."""
        return [event.data for event in self.published if event.name == name]


class FakeClock:
    """A clock a test sets and moves: `clock()` is now."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def may_see_dossier(actor: dict, dossier: dict) -> bool:
    """The dossiers service's scoping, as its fakes apply it: the funder's staff see its
    dossiers, an organisation its own, a beneficiary or employer the ones they are party to."""
    if actor["funder_id"] != dossier["funder_id"]:
        return False
    if actor["role"] == Role.organisation_user:
        return actor.get("organisation_id") == dossier["organisation_id"]
    if actor["role"] in (Role.beneficiary, Role.employer):
        party = dossier.get(actor["role"])
        return party is not None and party["id"] == actor.get("party_id")
    return actor["role"] in FUNDER_ROLES


class FakeDossiers:
    """The dossiers service's get_dossier and list_dossiers over dossiers given as replies."""

    def __init__(self, *dossiers: dict):
        self.dossiers = {d["id"]: d for d in dossiers}

    def get_dossier(self, actor: dict, dossier_id: str) -> dict:
        dossier = self.dossiers.get(dossier_id)
        if dossier is None or not may_see_dossier(actor, dossier):
            raise NotFound("dossier_not_found", "Dossier introuvable.")
        return dossier

    def list_dossiers(self, actor: dict, query: str | None = None, limit: int = 200) -> list[dict]:
        """Summaries (no forecast) of the dossiers the actor sees whose number holds `query`."""
        return [{k: v for k, v in d.items() if k != "forecast"} for d in self.dossiers.values()
                if may_see_dossier(actor, d) and (query or "") in d["number"]][:limit]

    def dossiers_in_progress(self, after: str | None = None, limit: int = 500) -> list[dict]:
        """Every funder's summaries of dossiers not closed, by id after `after` (no actor)."""
        return [{k: v for k, v in d.items() if k != "forecast"}
                for _, d in sorted(self.dossiers.items())
                if d["status"] != "closed" and d["id"] > (after or "")][:limit]
