"""documents' tables: file metadata (the bytes live on disk, addressed by their sha256) and
the categories with their upload rules; and the repositories, the service's only SQL."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table,
                        Text, and_, func, or_, select, text)
from sqlalchemy.orm import Session, registry

from servicekit.db import like_pattern
from servicekit.idempotency import add_idempotency_table
from servicekit.ops import counts_per_funder_month
from servicekit.tables import UtcDateTime, add_kit_tables
from services.documents.domain import (COMPLETION_CERTIFICATE, GENERATED, GLOBAL, REJECTED,
                                       Category, Document, Scope)
from services.documents.domain.pdfs import LOGO, STAMP

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
    Column("hours_reference", String(6)),
    Column("superseded_at", UtcDateTime()),
    Column("superseded_reason", String(500)),
    Column("version", Integer, nullable=False),
)

# One current generated certificate per dossier and month: a redelivered or concurrent
# `certified` cannot make two (the superseded ones of reopenings stay beside it). Uploaded
# documents of other categories may be many per month.
_CURRENT_CERTIFICATE = text("category = 'completion_certificate' AND superseded_at IS NULL")
Index("uq_documents_certificate", documents.c.category, documents.c.dossier_id,
      documents.c.month, unique=True,
      postgresql_where=_CURRENT_CERTIFICATE, sqlite_where=_CURRENT_CERTIFICATE)
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


# ---- repositories -----------------------------------------------------------------------------

class Categories:
    """The categories a funder has: the global ones and its own."""

    def __init__(self, session: Session):
        self.session = session

    def of_funder(self, funder_id: str) -> list[Category]:
        """The global categories and the funder's own, by label."""
        return list(self.session.scalars(select(Category)
                                         .where(categories.c.funder_id.in_([GLOBAL, funder_id]))
                                         .order_by(categories.c.label)))

    def get(self, funder_id: str, code: str) -> Category | None:
        """The funder's category `code` (its own, or the global one)."""
        return self.session.scalars(select(Category).where(
            categories.c.funder_id.in_([GLOBAL, funder_id]), categories.c.code == code)).first()

    def add(self, category: Category) -> None:
        self.session.add(category)


def _in_scope(scope: Scope) -> list:
    if scope.nothing:
        return [documents.c.id.is_(None)]  # matches no row
    return [documents.c.funder_id == scope.funder_id,
            *(documents.c[name] == value for name, value in scope.narrowing().items())]


class Documents:
    """Stored files' metadata."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, document_id: str) -> Document | None:
        return self.session.get(Document, document_id)

    def certificates_produced(self, funder_id: str | None, month: str | None) -> list[dict]:
        """Per funder and month, how many current (not superseded) certificate PDFs exist."""
        current = and_(documents.c.category == COMPLETION_CERTIFICATE,
                       documents.c.superseded_at.is_(None))
        return counts_per_funder_month(self.session, documents, funder_id, month,
                                       produced=current)

    def add(self, document: Document) -> None:
        self.session.add(document)

    def remove(self, document: Document) -> None:
        self.session.delete(document)

    def visible(self, scope: Scope, *, dossier_id: str | None = None, query: str | None = None,
                category_codes: set[str] = frozenset(), unattached: bool = False
                ) -> list[Document]:
        """The scope's documents, newest first: of one dossier; or matching `query` on dossier
        number, beneficiary name, category (codes found by label beforehand) or label; or,
        with `unattached`, those tied to no dossier and no beneficiary."""
        statement = select(Document).where(*_in_scope(scope)).order_by(
            documents.c.created_at.desc(), documents.c.id)
        if dossier_id is not None:
            statement = statement.where(documents.c.dossier_id == dossier_id)
        pattern = like_pattern(query)
        if pattern is not None:
            matches = [func.lower(documents.c[name]).like(pattern, escape="\\")
                       for name in ("dossier_number", "beneficiary_name", "category", "label")]
            if category_codes:
                matches.append(documents.c.category.in_(category_codes))
            statement = statement.where(or_(*matches))
        if unattached:
            statement = statement.where(documents.c.dossier_id.is_(None),
                                        documents.c.beneficiary_id.is_(None))
        return list(self.session.scalars(statement))

    def certificate(self, dossier_id: str, month: str) -> Document | None:
        """The current (not superseded) completion certificate of a dossier's month."""
        return self.session.scalars(select(Document).filter_by(
            category=COMPLETION_CERTIFICATE, dossier_id=dossier_id, month=month,
            superseded_at=None)).first()

    def certificate_by_reference(self, reference: str) -> Document | None:
        return self.session.scalars(select(Document).filter_by(
            verification_reference=reference, category=COMPLETION_CERTIFICATE)).first()

    def generated_in_place_of(self, document: Document) -> Document | None:
        """The generated PDF already filed where `document` goes (same category, funder,
        dossier, month and file name), if one is."""
        return self.session.scalars(select(Document).filter_by(
            category=document.category, funder_id=document.funder_id,
            dossier_id=document.dossier_id, month=document.month,
            filename=document.filename, status=GENERATED)).first()

    def letterhead(self, funder_id: str, organisation_id: str) -> dict[str, Document]:
        """The organisation's latest logo and stamp that the funder did not reject, by category
        (a missing one is simply absent: the PDF is printed without it)."""
        found = self.session.scalars(
            select(Document)
            .where(documents.c.category.in_((LOGO, STAMP)), documents.c.funder_id == funder_id,
                   documents.c.organisation_id == organisation_id,
                   documents.c.status != REJECTED)
            .order_by(documents.c.created_at.desc()))
        latest: dict[str, Document] = {}
        for document in found:
            latest.setdefault(document.category, document)
        return latest


def repositories(session: Session) -> dict[str, object]:
    return {"categories": Categories(session), "documents": Documents(session)}
