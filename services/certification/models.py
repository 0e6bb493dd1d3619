"""certification tables and the imperative mapping of domain.Certificate onto them."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, Integer, MetaData, Numeric, String, Table,
                        UniqueConstraint)
from sqlalchemy.orm import registry

from servicekit.tables import UtcDateTime, add_kit_tables
from services.certification.domain import Certificate

metadata = MetaData()
add_kit_tables(metadata)

certificates = Table(
    "certificates", metadata,
    Column("id", String(36), primary_key=True),
    Column("dossier_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=False),
    Column("status", String(30), nullable=False),
    Column("training_hours", Numeric(7, 2, asdecimal=True)),
    Column("internship_hours", Numeric(7, 2, asdecimal=True)),
    Column("absence_hours", Numeric(7, 2, asdecimal=True)),
    Column("method", Integer),
    Column("certified_by", String(64)),
    Column("certified_at", UtcDateTime()),
    Column("certified_from_ip", String(45)),
    Column("locked_for_payment", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("dossier_id", "month", name="uq_certificates_dossier_month"),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map domain.Certificate; calling it again is harmless."""
    if getattr(Certificate, "__mapper__", None) is not None:
        return
    # version_id_col: every UPDATE checks the version it read, so of two concurrent changes
    # to the same certificate the second fails with StaleDataError instead of overwriting.
    mapper_registry.map_imperatively(Certificate, certificates,
                                     version_id_col=certificates.c.version)
