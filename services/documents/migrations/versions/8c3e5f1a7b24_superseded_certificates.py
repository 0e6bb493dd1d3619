"""superseded certificates: a reopened month's certificate is kept, marked superseded (when,
why), and the month's next certificate is filed beside it

Revision ID: 8c3e5f1a7b24
Revises: 52a6ca5b9c47
Create Date: 2026-11-26 17:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '8c3e5f1a7b24'
down_revision = '52a6ca5b9c47'
branch_labels = None
depends_on = None

_CERTIFICATE_ONLY = sa.text("category = 'completion_certificate'")
_CURRENT_CERTIFICATE = sa.text(
    "category = 'completion_certificate' AND superseded_at IS NULL")


def _certificate_index(where) -> None:
    op.create_index('uq_documents_certificate', 'documents', ['category', 'dossier_id', 'month'],
                    unique=True, postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    op.add_column('documents',
                  sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('documents', sa.Column('superseded_reason', sa.String(500), nullable=True))
    op.drop_index('uq_documents_certificate', table_name='documents')
    _certificate_index(_CURRENT_CERTIFICATE)


def downgrade() -> None:
    op.drop_index('uq_documents_certificate', table_name='documents')
    _certificate_index(_CERTIFICATE_ONLY)
    op.drop_column('documents', 'superseded_reason')
    op.drop_column('documents', 'superseded_at')
