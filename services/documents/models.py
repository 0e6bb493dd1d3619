"""documents' tables: file metadata (the bytes live on disk, addressed by their sha256)."""
from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table
from sqlalchemy.orm import registry

from servicekit.tables import UtcDateTime, add_kit_tables
from services.documents.domain import COMPLETION_CERTIFICATE, Document

metadata = MetaData()
add_kit_tables(metadata)

documents = Table(
    "documents", metadata,
    Column("id", String(36), primary_key=True),
    Column("category", String(50), nullable=False),
    Column("label", String(300), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("dossier_id", String(64), index=True),
    Column("month", String(7)),
    Column("organisation_id", String(64)),
    Column("beneficiary_id", String(64)),
    Column("employer_id", String(64)),
    Column("created_at", UtcDateTime(), nullable=False),
)

# One generated certificate per dossier and month: a redelivered or concurrent `certified`
# cannot make two. Uploaded documents of other categories may be many per month.
Index("uq_documents_certificate", documents.c.category, documents.c.dossier_id,
      documents.c.month, unique=True,
      postgresql_where=documents.c.category == COMPLETION_CERTIFICATE,
      sqlite_where=documents.c.category == COMPLETION_CERTIFICATE)

_registry = registry()


def start_mappers() -> None:
    """Map the domain classes; calling it again (several containers in one process) is harmless."""
    if not _registry.mappers:
        _registry.map_imperatively(Document, documents)
