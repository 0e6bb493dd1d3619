"""dossiers tables, the imperative mapping of the domain classes, and the service's queries
(kept here so that service.py stays entrypoints only)."""
from __future__ import annotations

from sqlalchemy import (Column, Date, ForeignKey, MetaData, Numeric, String, Table,
                        UniqueConstraint, false, func, or_, select)
from sqlalchemy.orm import Session, registry, relationship, selectinload

from services.dossiers.domain import Dossier, Party, PlannedDay, Scope
from servicekit.idempotency import add_idempotency_table
from servicekit.tables import UtcDateTime, add_kit_tables

metadata = MetaData()
add_kit_tables(metadata)
add_idempotency_table(metadata)

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

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes once; later calls (one per container) do nothing."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Party, parties)
    mapper_registry.map_imperatively(PlannedDay, forecast_days)
    mapper_registry.map_imperatively(Dossier, dossiers, properties={
        "forecast": relationship(PlannedDay, order_by=forecast_days.c.day,
                                 cascade="all, delete-orphan")})


# --- queries --------------------------------------------------------------------------------

def number_taken(session: Session, funder_id: str, number: str) -> bool:
    return session.execute(select(dossiers.c.id).where(
        dossiers.c.funder_id == funder_id, dossiers.c.number == number)).first() is not None


def _in_scope(scope: Scope):
    if scope.nothing:
        return [false()]
    return [dossiers.c.funder_id == scope.funder_id,
            *(dossiers.c[field] == value for field, value in scope.narrowing().items())]


def visible_dossiers(session: Session, scope: Scope, pattern: str | None,
                     limit: int) -> list[Dossier]:
    """The scope's dossiers whose number or beneficiary name matches `pattern`, newest first."""
    statement = (select(Dossier).join(parties, parties.c.id == dossiers.c.beneficiary_id)
                 .where(*_in_scope(scope))
                 .order_by(dossiers.c.created_at.desc(), dossiers.c.number)
                 .limit(limit))
    if pattern is not None:
        statement = statement.where(or_(func.lower(dossiers.c.number).like(pattern, escape="\\"),
                                        func.lower(parties.c.name).like(pattern, escape="\\")))
    return list(session.scalars(statement))


def parties_by_id(session: Session, ids: set[str | None]) -> dict[str, Party]:
    ids = {party_id for party_id in ids if party_id}
    if not ids:
        return {}
    found = session.scalars(select(Party).where(parties.c.id.in_(ids)))
    return {party.id: party for party in found}


def dossiers_by_number(session: Session, funder_id: str, numbers: set[str]
                       ) -> dict[str, Dossier]:
    """The funder's dossiers with these numbers, their calendars loaded (imports compare them)."""
    found: dict[str, Dossier] = {}
    ordered = sorted(numbers)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        found.update((dossier.number, dossier) for dossier in session.scalars(
            select(Dossier).options(selectinload(Dossier.forecast))
            .where(dossiers.c.funder_id == funder_id, dossiers.c.number.in_(chunk))))
    return found


def parties_by_email(session: Session, funder_id: str, kind: str, emails: set[str]
                     ) -> dict[str, Party]:
    """lower-cased email -> the funder's oldest party of that kind with it."""
    found: dict[str, Party] = {}
    ordered = sorted(emails)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for party in session.scalars(
                select(Party).where(parties.c.funder_id == funder_id, parties.c.kind == kind,
                                    func.lower(parties.c.email).in_(chunk))
                .order_by(parties.c.created_at, parties.c.id)):
            found.setdefault(party.email.lower(), party)
    return found
