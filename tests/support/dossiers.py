"""dossiers in memory, for tests of its use cases (services/dossiers/handlers.py): the parties
and dossiers repositories on one store, identity's organisations RPCs, the ports, and typical
actors, organisations, parties and dossiers."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Iterable

from contracts.common import Actor, Role
from contracts.common.errors import Conflict, NotFound
from services.dossiers import adapters, handlers
from services.dossiers.domain import (CLOSED_STATUS, Dossier, MonthCertification, Party,
                                      PartyKind, Scope, sheets)
from tests.support.fakes import FakeClock, FakeDatabase
from tests.support.jobs import FakeJobs

FUNDER = "f1"
JANUARY = datetime(2026, 1, 2, 9, 0, tzinfo=timezone.utc)


class Store:
    """What the dossiers database holds. Both repositories read it (a search reads the
    beneficiary's name), so a rolled back unit of work restores them together."""

    def __init__(self):
        self.parties: dict[str, Party] = {}
        self.dossiers: dict[str, Dossier] = {}
        self.months: dict[tuple[str, str], MonthCertification] = {}


class InMemoryParties:
    """models.Parties on the store."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, party_id: str) -> Party | None:
        return self.store.parties.get(party_id)

    def by_ids(self, ids: Iterable[str | None]) -> dict[str, Party]:
        return {party_id: self.store.parties[party_id] for party_id in ids
                if party_id in self.store.parties}

    def by_emails(self, funder_id: str, kind: str, emails: set[str]) -> dict[str, Party]:
        found: dict[str, Party] = {}
        for party in sorted(self.store.parties.values(), key=lambda p: (p.created_at, p.id)):
            if (party.funder_id, party.kind) == (funder_id, kind) \
                    and party.email.lower() in emails:
                found.setdefault(party.email.lower(), party)
        return found

    def add(self, *new: Party) -> None:
        self.store.parties.update((party.id, party) for party in new)


class InMemoryDossiers:
    """models.Dossiers on the store; a funder's numbers are unique, as the table's key."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, dossier_id: str) -> Dossier | None:
        return self.store.dossiers.get(dossier_id)

    def number_taken(self, funder_id: str, number: str) -> bool:
        return any((dossier.funder_id, dossier.number) == (funder_id, number)
                   for dossier in self.store.dossiers.values())

    def visible(self, scope: Scope, search: str | None, limit: int | None,
                **filters: str | None) -> list[Dossier]:
        text = (search or "").strip().lower()
        found = [dossier for dossier in self.store.dossiers.values() if scope.allows(dossier)
                 and (text in dossier.number.lower()
                      or text in self.store.parties[dossier.beneficiary_id].name.lower())
                 and all(getattr(dossier, name) == value for name, value in filters.items()
                         if value is not None)]
        found.sort(key=lambda dossier: dossier.number)
        found.sort(key=lambda dossier: dossier.created_at, reverse=True)
        return found[:limit]

    def in_progress(self, after: str | None, limit: int) -> list[Dossier]:
        found = sorted((dossier for dossier in self.store.dossiers.values()
                        if dossier.status != CLOSED_STATUS and dossier.id > (after or "")),
                       key=lambda dossier: dossier.id)
        return found[:limit]

    def counts(self, scope: Scope, column: str) -> dict[str, int]:
        found: dict[str, int] = {}
        for dossier in self.store.dossiers.values():
            if scope.allows(dossier):
                value = getattr(dossier, column)
                found[value] = found.get(value, 0) + 1
        return found

    def by_numbers(self, funder_id: str, numbers: set[str]) -> dict[str, Dossier]:
        return {dossier.number: dossier for dossier in self.store.dossiers.values()
                if dossier.funder_id == funder_id and dossier.number in numbers}

    def save(self, *changed: Dossier, clash: Conflict) -> None:
        for dossier in changed:
            if any((other.funder_id, other.number) == (dossier.funder_id, dossier.number)
                   and other.id != dossier.id for other in self.store.dossiers.values()):
                raise clash
            self.store.dossiers[dossier.id] = dossier


class InMemoryMonthCertifications:
    """models.MonthCertifications on the store."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, dossier_id: str, month: str) -> MonthCertification | None:
        return self.store.months.get((dossier_id, month))

    def add(self, known: MonthCertification) -> None:
        self.store.months[(known.dossier_id, known.month)] = known

    def certified_months(self, dossier_ids: Iterable[str]) -> dict[str, set[str]]:
        wanted, found = set(dossier_ids), {}
        for (dossier_id, month), known in self.store.months.items():
            if dossier_id in wanted and known.certified:
                found.setdefault(dossier_id, set()).add(month)
        return found


class FakeIdentity:
    """identity's organisations, each visible to its own funder's callers only."""

    def __init__(self, *organisations: dict):
        self.organisations = list(organisations)

    def get_organisation(self, actor: dict, organisation_id: str) -> dict:
        for found in self.organisations:
            if (found["id"], found["funder_id"]) == (organisation_id, actor["funder_id"]):
                return found
        raise NotFound("organisation_not_found", "Organisme de formation introuvable.")

    def find_organisations_by_siret(self, actor: dict, sirets: list[str]) -> list[dict]:
        wanted = {sheets.plain_siret(siret) for siret in sirets}
        return [found for found in self.organisations
                if found["funder_id"] == actor["funder_id"] and found["siret"] in wanted]


# --- builders --------------------------------------------------------------------------------

def database(*parties: Party, dossiers: Iterable[Dossier] = ()) -> FakeDatabase:
    store = Store()
    store.parties.update((party.id, party) for party in parties)
    store.dossiers.update((dossier.id, dossier) for dossier in dossiers)
    return FakeDatabase("dossiers", parties=InMemoryParties(store),
                        dossiers=InMemoryDossiers(store),
                        certifications=InMemoryMonthCertifications(store), jobs=FakeJobs())


def ports(*organisations: dict, clock: FakeClock | None = None) -> handlers.Ports:
    """identity knowing these organisations (or the first two), the spreadsheet read as in
    production (bytes in, rows out), in this thread."""
    return handlers.Ports(identity=FakeIdentity(*(organisations or (organisation(1),
                                                                   organisation(2)))),
                          clock=clock or FakeClock(),
                          read_spreadsheet=adapters.read_spreadsheet)


def organisation(number: int, funder_id: str = FUNDER) -> dict:
    """contracts.identity.Organisation, as identity replies: o1 has SIRET 00000000000001."""
    return {"id": f"o{number}", "funder_id": funder_id, "name": f"Organisme {number}",
            "siret": f"{number:014d}", "email": f"of{number}@example.org"}


def staff(funder_id: str = FUNDER) -> Actor:
    return Actor(user_id="agent", role=Role.funder_agent, funder_id=funder_id)


def organisation_user(organisation_id: str = "o1", rights=("enter_hours",)) -> Actor:
    return Actor(user_id="of-user", role=Role.organisation_user, funder_id=FUNDER,
                 organisation_id=organisation_id, rights=list(rights))


def party(party_id: str, kind: PartyKind = PartyKind.beneficiary, name: str = "DUBOIS Michelle",
          email: str | None = None, funder_id: str = FUNDER) -> Party:
    return Party(id=party_id, funder_id=funder_id, kind=kind.value, name=name,
                 email=email or f"{party_id}@example.org",
                 created_at=JANUARY)


def dossier(dossier_id: str = "d1", number: str = "20X000703", organisation_id: str = "o1",
            beneficiary_id: str = "b1", employer_id: str | None = "e1",
            created_at: datetime = JANUARY, **overrides) -> Dossier:
    fields = dict(funder_id=FUNDER, organisation_name="Organisme 1",
                  training_title="Soudeur", session_start=date(2026, 1, 5),
                  session_end=date(2026, 6, 30))
    return Dossier(id=dossier_id, number=number, organisation_id=organisation_id,
                   beneficiary_id=beneficiary_id, employer_id=employer_id,
                   created_at=created_at, **{**fields, **overrides})


def new_dossier(number: str = "N1", **overrides) -> dict:
    """A NewDossier payload naming o1, b1 and e1."""
    return {"number": number, "organisation_id": "o1", "beneficiary_id": "b1",
            "employer_id": "e1", "training_title": "Soudeur", "session_start": "2026-01-05",
            "session_end": "2026-06-30", **overrides}


def import_row(number: str, **overrides) -> dict:
    """An ImportedDossier row naming a new beneficiary and employer."""
    return {"number": number, "beneficiary": {"name": "NOUVEAU Jean", "email": "jean@example.org"},
            "employer": {"name": "Garage Martin", "email": "rh@garage.example.org"},
            "training_title": "Mécanicien", "session_start": "2026-02-02",
            "session_end": "2026-09-30", **overrides}


# --- the imports, as jobs ----------------------------------------------------------------------

def imported(db: FakeDatabase, ports: handlers.Ports, actor: Actor, batch: dict) -> dict:
    """POST /dossiers/import: submitted, then its job run to its end; the job's view, each
    row's report in `items`. The job is then forgotten (past the re-submission window), so
    the same batch again is a new job."""
    return _ran(db, handlers.import_dossiers(db, ports, actor, batch),
                lambda step: handlers.run_import(db, ports, step))


def spreadsheet_imported(db: FakeDatabase, ports: handlers.Ports, actor: Actor,
                         upload: dict) -> dict:
    """POST /dossiers/import/spreadsheet, as `imported`."""
    return _ran(db, handlers.import_spreadsheet(db, ports, actor, upload),
                lambda step: handlers.run_spreadsheet_import(db, ports, step))


def _ran(db: FakeDatabase, job: dict, work) -> dict:
    jobs = db.repositories["jobs"]
    done = jobs.run(job["id"], work)
    jobs.forget(job["id"])
    return done
