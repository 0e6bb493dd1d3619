"""dossiers tables, the imperative mapping of the domain classes, and the service's queries
(kept here so that service.py stays entrypoints only)."""
from __future__ import annotations

from sqlalchemy import (Column, Date, ForeignKey, MetaData, String, Table,
                        UniqueConstraint, false, func, or_, select)
from sqlalchemy.orm import Session, registry

from services.dossiers.domain import Dossier, Party, Scope
from servicekit.tables import UtcDateTime, add_kit_tables

metadata = MetaData()
add_kit_tables(metadata)

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
    Column("status", String(30), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("funder_id", "number", name="uq_dossiers_funder_number"),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes once; later calls (one per container) do nothing."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Party, parties)
    mapper_registry.map_imperatively(Dossier, dossiers)


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
