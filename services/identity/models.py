"""identity tables, the imperative mapping of the domain classes, and the few queries the
service needs (kept here so that service.py stays entrypoints only)."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, ForeignKey, MetaData, String, Table,
                        UniqueConstraint, select)
from sqlalchemy.orm import Session, registry

from services.identity.domain import Funder, Organisation, UserAccount, UserSession
from servicekit.tables import UtcDateTime, add_kit_tables

metadata = MetaData()
add_kit_tables(metadata)

funders = Table(
    "funders", metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
)

organisations = Table(
    "organisations", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), ForeignKey("funders.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("siret", String(14), nullable=False),
    Column("email", String(320), nullable=False),
    Column("legal_representative", String(200)),
    Column("address", String(500)),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("funder_id", "siret", name="uq_organisations_funder_siret"),
)

users = Table(
    "users", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), ForeignKey("funders.id"), nullable=False, index=True),
    Column("organisation_id", String(36), ForeignKey("organisations.id"), index=True),
    Column("party_id", String(36)),  # a beneficiary or employer owned by dossiers
    Column("role", String(30), nullable=False),
    # Always lower-cased (domain.normalise_identifier): unique whatever the case.
    Column("identifier", String(150), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("rights", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the bearer token
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes once; later calls (one per container) do nothing."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Funder, funders)
    mapper_registry.map_imperatively(Organisation, organisations)
    mapper_registry.map_imperatively(UserAccount, users)
    mapper_registry.map_imperatively(UserSession, sessions)


# --- queries --------------------------------------------------------------------------------

def funder_by_code(session: Session, code: str) -> Funder | None:
    return session.scalars(select(Funder).where(funders.c.code == code)).first()


def user_by_identifier(session: Session, identifier: str) -> UserAccount | None:
    return session.scalars(select(UserAccount).where(users.c.identifier == identifier)).first()


def siret_taken(session: Session, funder_id: str, siret: str) -> bool:
    return session.execute(select(organisations.c.id).where(
        organisations.c.funder_id == funder_id, organisations.c.siret == siret)).first() is not None


def session_with_user(session: Session, token_hash: str) -> tuple[UserSession, UserAccount] | None:
    row = session.execute(
        select(UserSession, UserAccount)
        .join(UserAccount, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None
