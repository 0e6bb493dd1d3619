"""documents' tables: file metadata (the bytes live on disk, addressed by their sha256) and
the categories with their upload rules; plus the small read queries of the service."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table,
                        Text, func, or_, select, text)
from sqlalchemy.orm import Session, registry

from servicekit.idempotency import add_idempotency_table
from servicekit.tables import UtcDateTime, add_kit_tables
from services.documents.domain import (COMPLETION_CERTIFICATE, GLOBAL, Category, Document,
                                       Scope)

metadata = MetaData()
add_kit_tables(metadata)
add_idempotency_table(metadata)

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
    Column("status", String(20), nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
    # Copied from the dossier at upload: the search by dossier number or beneficiary name
    # needs no call to dossiers.
    Column("dossier_number", String(30)),
    Column("beneficiary_name", String(200)),
    Column("uploaded_by", String(64)),
    Column("uploaded_by_role", String(30)),
    Column("uploaded_by_email", String(320)),
    Column("uploader_organisation_id", String(64)),
    Column("reviewed_at", UtcDateTime()),
    Column("reviewed_by", String(64)),
    Column("reason_code", String(30)),
    Column("reason_text", String(500)),
    Column("verification_reference", String(40)),
    Column("version", Integer, nullable=False),
)

# One generated certificate per dossier and month: a redelivered or concurrent `certified`
# cannot make two. Uploaded documents of other categories may be many per month.
Index("uq_documents_certificate", documents.c.category, documents.c.dossier_id,
      documents.c.month, unique=True,
      postgresql_where=documents.c.category == COMPLETION_CERTIFICATE,
      sqlite_where=documents.c.category == COMPLETION_CERTIFICATE)
Index("ix_documents_scope", documents.c.funder_id, documents.c.organisation_id)
# One generated PDF per place (a dossier's month sheet, a payment's advice: its file name),
# so two concurrent renders of the same one cannot both add a document.
_GENERATED_ELSEWHERE = text("status = 'generated' AND category <> 'completion_certificate'")
Index("uq_documents_generated", documents.c.category, documents.c.funder_id,
      documents.c.filename, unique=True,
      postgresql_where=_GENERATED_ELSEWHERE, sqlite_where=_GENERATED_ELSEWHERE)
# The reference printed on a final certificate finds exactly one document (NULLs are many).
Index("uq_documents_verification_reference", documents.c.verification_reference, unique=True)

categories = Table(
    "categories", metadata,
    # GLOBAL ("*") for the categories every funder has, else the funder that added it.
    Column("funder_id", String(64), primary_key=True),
    Column("code", String(50), primary_key=True),
    Column("label", String(100), nullable=False),
    Column("instructions", Text, nullable=False),
    Column("upload_roles", JSON, nullable=False),
    Column("content_types", JSON, nullable=False),
    Column("max_size", Integer, nullable=False),
    Column("requires_dossier", Boolean, nullable=False),
    Column("requires_label", Boolean, nullable=False),
    Column("requires_period", Boolean, nullable=False),
    Column("system", Boolean, nullable=False),
    Column("created_at", UtcDateTime()),
)

_registry = registry()


def start_mappers() -> None:
    """Map the domain classes; calling it again (several containers in one process) is harmless."""
    if not _registry.mappers:
        _registry.map_imperatively(Document, documents, version_id_col=documents.c.version)
        _registry.map_imperatively(Category, categories)


# ---- read queries ---------------------------------------------------------------------------

def categories_of(session: Session, funder_id: str) -> list[Category]:
    """The global categories and the funder's own, by label."""
    return list(session.scalars(select(Category)
                                .where(categories.c.funder_id.in_([GLOBAL, funder_id]))
                                .order_by(categories.c.label)))


def category(session: Session, funder_id: str, code: str) -> Category | None:
    """The funder's category `code` (its own, or the global one)."""
    return session.scalars(select(Category).where(
        categories.c.funder_id.in_([GLOBAL, funder_id]), categories.c.code == code)).first()


def _in_scope(scope: Scope) -> list:
    if scope.nothing:
        return [documents.c.id.is_(None)]  # matches no row
    return [documents.c.funder_id == scope.funder_id,
            *(documents.c[name] == value for name, value in scope.narrowing().items())]


def visible_documents(session: Session, scope: Scope, *, dossier_id: str | None = None,
                      pattern: str | None = None, category_codes: set[str] = frozenset(),
                      unattached: bool = False) -> list[Document]:
    """The scope's documents, newest first: of one dossier; or matching `pattern` on dossier
    number, beneficiary name, category (codes found by label beforehand) or label; or, with
    `unattached`, those tied to no dossier and no beneficiary."""
    statement = select(Document).where(*_in_scope(scope)).order_by(
        documents.c.created_at.desc(), documents.c.id)
    if dossier_id is not None:
        statement = statement.where(documents.c.dossier_id == dossier_id)
    if pattern is not None:
        matches = [func.lower(documents.c[name]).like(pattern, escape="\\")
                   for name in ("dossier_number", "beneficiary_name", "category", "label")]
        if category_codes:
            matches.append(documents.c.category.in_(category_codes))
        statement = statement.where(or_(*matches))
    if unattached:
        statement = statement.where(documents.c.dossier_id.is_(None),
                                    documents.c.beneficiary_id.is_(None))
    return list(session.scalars(statement))
