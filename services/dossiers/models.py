"""dossiers tables, the imperative mapping of the domain classes, and the repositories the
use cases reach as `uow.parties` and `uow.dossiers`: the service's only SQL."""
from __future__ import annotations

from typing import Iterable, Iterator

from sqlalchemy import (Boolean, Column, Date, ForeignKey, MetaData, Numeric, String, Table,
                        UniqueConstraint, false, func, or_, select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, registry, relationship, selectinload
from sqlalchemy.orm.exc import StaleDataError

from contracts.common.errors import Conflict
from services.dossiers.domain import (CLOSED_STATUS, DEFAULT_ACTION_TYPE, Dossier,
                                      MonthCertification, Party, PlannedDay, Scope)
from servicekit.db import like_pattern
from servicekit.idempotency import add_idempotency_table
from servicekit.jobs import JobStore, add_job_tables
from servicekit.tables import UtcDateTime, add_kit_tables

metadata = MetaData()
add_kit_tables(metadata)
add_idempotency_table(metadata)
add_job_tables(metadata)

parties = Table(
    "parties", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), nullable=False, index=True),
    Column("kind", String(20), nullable=False),  # domain.PartyKind
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

dossiers = Table(
    "dossiers", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), nullable=False),
    Column("number", String(30), nullable=False),
    Column("organisation_id", String(36), nullable=False, index=True),  # owned by identity
    Column("organisation_name", String(200), nullable=False),
    Column("beneficiary_id", String(36), ForeignKey("parties.id"), nullable=False, index=True),
    Column("employer_id", String(36), ForeignKey("parties.id"), index=True),
    Column("training_title", String(300), nullable=False),
    Column("session_start", Date, nullable=False),
    Column("session_end", Date, nullable=False),
    Column("commission_date", Date),
    Column("status", String(30), nullable=False),
    Column("action_type", String(20), nullable=False, server_default=DEFAULT_ACTION_TYPE),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime()),
    UniqueConstraint("funder_id", "number", name="uq_dossiers_funder_number"),
)

# The forecast calendar ("calendrier prévisionnel"): planned hours per day of the session.
forecast_days = Table(
    "forecast_days", metadata,
    Column("dossier_id", String(36), ForeignKey("dossiers.id", ondelete="CASCADE"),
           primary_key=True),
    Column("day", Date, primary_key=True),
    Column("training_hours", Numeric(6, 2, asdecimal=True), nullable=False),
    Column("internship_hours", Numeric(6, 2, asdecimal=True), nullable=False),
)

# What certification's events said of each dossier-month (domain.MonthCertification): the
# « Actions en attente » are the session's months not certified here.
month_certifications = Table(
    "month_certifications", metadata,
    Column("dossier_id", String(36), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("certified", Boolean, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes once; later calls (one per container) do nothing."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Party, parties)
    mapper_registry.map_imperatively(PlannedDay, forecast_days)
    mapper_registry.map_imperatively(MonthCertification, month_certifications)
    mapper_registry.map_imperatively(Dossier, dossiers, properties={
        "forecast": relationship(PlannedDay, order_by=forecast_days.c.day,
                                 cascade="all, delete-orphan")})


# --- repositories ---------------------------------------------------------------------------

CHUNK = 500  # values per IN (...): a 5,000-row import stays within every driver's limits


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start:start + CHUNK]


class Parties:
    """The funder's beneficiaries and employers."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, party_id: str) -> Party | None:
        return self.session.get(Party, party_id)

    def by_ids(self, ids: Iterable[str | None]) -> dict[str, Party]:
        found: dict[str, Party] = {}
        for chunk in _chunks({party_id for party_id in ids if party_id}):
            found.update((party.id, party) for party in
                         self.session.scalars(select(Party).where(parties.c.id.in_(chunk))))
        return found

    def by_emails(self, funder_id: str, kind: str, emails: set[str]) -> dict[str, Party]:
        """lower-cased email -> the funder's oldest party of that kind with it."""
        found: dict[str, Party] = {}
        for chunk in _chunks(emails):
            for party in self.session.scalars(
                    select(Party).where(parties.c.funder_id == funder_id, parties.c.kind == kind,
                                        func.lower(parties.c.email).in_(chunk))
                    .order_by(parties.c.created_at, parties.c.id)):
                found.setdefault(party.email.lower(), party)
        return found

    def add(self, *new: Party) -> None:
        """Written at once: dossiers naming them are written after (no relationship orders
        the two tables' rows)."""
        self.session.add_all(new)
        self.session.flush()


class Dossiers:
    """The funders' dossiers, each with its forecast calendar."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, dossier_id: str) -> Dossier | None:
        """The dossier with its calendar, in one statement (every reply carries the calendar)."""
        return self.session.get(Dossier, dossier_id, options=[joinedload(Dossier.forecast)])

    def number_taken(self, funder_id: str, number: str) -> bool:
        return self.session.execute(select(dossiers.c.id).where(
            dossiers.c.funder_id == funder_id, dossiers.c.number == number)).first() is not None

    def visible(self, scope: Scope, search: str | None, limit: int | None,
                **filters: str | None) -> list[Dossier]:
        """The scope's dossiers whose number or beneficiary name holds `search` (any case; %
        and _ taken literally) and whose columns equal `filters` (action_type, status; None:
        any), newest first; `limit` None: all of them."""
        statement = (select(Dossier).join(parties, parties.c.id == dossiers.c.beneficiary_id)
                     .where(*_in_scope(scope),
                            *(dossiers.c[name] == value for name, value in filters.items()
                              if value is not None))
                     .order_by(dossiers.c.created_at.desc(), dossiers.c.number)
                     .limit(limit))
        pattern = like_pattern(search)
        if pattern is not None:
            statement = statement.where(or_(
                func.lower(dossiers.c.number).like(pattern, escape="\\"),
                func.lower(parties.c.name).like(pattern, escape="\\")))
        return list(self.session.scalars(statement))

    def in_progress(self, after: str | None, limit: int) -> list[Dossier]:
        """Every funder's dossiers not closed, by id, those after `after` (a page)."""
        statement = (select(Dossier).where(dossiers.c.status != CLOSED_STATUS)
                     .order_by(dossiers.c.id).limit(limit))
        if after is not None:
            statement = statement.where(dossiers.c.id > after)
        return list(self.session.scalars(statement))

    def counts(self, scope: Scope, column: str) -> dict[str, int]:
        """The scope's dossiers counted by a column's value (status, action_type)."""
        by = dossiers.c[column]
        return dict(self.session.execute(
            select(by, func.count()).where(*_in_scope(scope)).group_by(by)).all())

    def by_numbers(self, funder_id: str, numbers: set[str]) -> dict[str, Dossier]:
        """The funder's dossiers with these numbers, their calendars loaded (imports compare
        them)."""
        found: dict[str, Dossier] = {}
        for chunk in _chunks(numbers):
            found.update((dossier.number, dossier) for dossier in self.session.scalars(
                select(Dossier).options(selectinload(Dossier.forecast))
                .where(dossiers.c.funder_id == funder_id, dossiers.c.number.in_(chunk))))
        return found

    def save(self, *changed: Dossier, clash: Conflict) -> None:
        """Write these dossiers (new or changed) and every change before them, now: `clash`
        when a concurrent call wrote first what they need (a number, a calendar day)."""
        self.session.add_all(changed)
        try:
            self.session.flush()
        except (IntegrityError, StaleDataError):
            raise clash from None


class MonthCertifications:
    """What certification's events said of each dossier-month."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, dossier_id: str, month: str) -> MonthCertification | None:
        return self.session.get(MonthCertification, (dossier_id, month))

    def add(self, known: MonthCertification) -> None:
        self.session.add(known)

    def certified_months(self, dossier_ids: Iterable[str]) -> dict[str, set[str]]:
        """dossier id -> its months certified now."""
        found: dict[str, set[str]] = {}
        for chunk in _chunks(set(dossier_ids)):
            for dossier_id, month in self.session.execute(
                    select(month_certifications.c.dossier_id, month_certifications.c.month)
                    .where(month_certifications.c.dossier_id.in_(chunk),
                           month_certifications.c.certified)):
                found.setdefault(dossier_id, set()).add(month)
        return found


def _in_scope(scope: Scope):
    if scope.nothing:
        return [false()]
    return [dossiers.c.funder_id == scope.funder_id,
            *(dossiers.c[field] == value for field, value in scope.narrowing().items())]


def repositories(session: Session) -> dict[str, object]:
    return {"parties": Parties(session), "dossiers": Dossiers(session),
            "certifications": MonthCertifications(session), "jobs": JobStore(session, metadata)}
