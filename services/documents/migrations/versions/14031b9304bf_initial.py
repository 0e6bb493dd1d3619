"""initial: documents, plus the kit's outbox and processed_events

Revision ID: 14031b9304bf
Revises:
Create Date: 2026-11-22 16:35:39.330791
"""
from alembic import op
import sqlalchemy as sa


revision = '14031b9304bf'
down_revision = None
branch_labels = None
depends_on = None

_CERTIFICATE_ONLY = sa.text("category = 'completion_certificate'")


def upgrade() -> None:
    op.create_table(
        'documents',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('category', sa.String(length=50), nullable=False),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('dossier_id', sa.String(length=64), nullable=True),
        sa.Column('month', sa.String(length=7), nullable=True),
        sa.Column('organisation_id', sa.String(length=64), nullable=True),
        sa.Column('beneficiary_id', sa.String(length=64), nullable=True),
        sa.Column('employer_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_documents_dossier_id', 'documents', ['dossier_id'])
    op.create_index('uq_documents_certificate', 'documents', ['category', 'dossier_id', 'month'],
                    unique=True, postgresql_where=_CERTIFICATE_ONLY,
                    sqlite_where=_CERTIFICATE_ONLY)

    op.create_table(
        'outbox',
        sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event_name', sa.String(length=100), nullable=False),
        sa.Column('correlation_id', sa.String(length=64), nullable=True),
        sa.Column('envelope', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('position'),
        sa.UniqueConstraint('event_id'),
    )
    op.create_index('ix_outbox_published_at', 'outbox', ['published_at'])

    op.create_table(
        'processed_events',
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('handler', sa.String(length=200), nullable=False),
        sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('event_id', 'handler'),
    )


def downgrade() -> None:
    op.drop_table('processed_events')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('uq_documents_certificate', table_name='documents')
    op.drop_index('ix_documents_dossier_id', table_name='documents')
    op.drop_table('documents')
