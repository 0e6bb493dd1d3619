"""payments tables and the imperative mapping of domain.MonthLock onto them."""
from __future__ import annotations

from sqlalchemy import Column, MetaData, Numeric, String, Table
from sqlalchemy.orm import registry

from servicekit.tables import UtcDateTime, add_kit_tables
from services.payments.domain import MonthLock

metadata = MetaData()
add_kit_tables(metadata)

month_locks = Table(
    "month_locks", metadata,
    Column("dossier_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("funder_id", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=False),
    Column("certificate_id", String(36), nullable=False),
    Column("training_hours", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("internship_hours", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("absence_hours", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("locked_at", UtcDateTime(), nullable=False),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map domain.MonthLock; calling it again is harmless."""
    if getattr(MonthLock, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(MonthLock, month_locks)
