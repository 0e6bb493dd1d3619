"""initial: certificates (one per dossier and month) + the kit's outbox tables

Revision ID: 5e88e151a754
Revises:
Create Date: 2026-11-22 16:36:01.523195
"""
from alembic import op
import sqlalchemy as sa


revision = '5e88e151a754'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dossier_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('funder_id', sa.String(length=64), nullable=False),
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('training_hours', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('internship_hours', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('absence_hours', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('method', sa.Integer(), nullable=True),
    sa.Column('certified_by', sa.String(length=64), nullable=True),
    sa.Column('certified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('certified_from_ip', sa.String(length=45), nullable=True),
    sa.Column('locked_for_payment', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dossier_id', 'month', name='uq_certificates_dossier_month')
    )
    op.create_table('outbox',
    sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_name', sa.String(length=100), nullable=False),
    sa.Column('correlation_id', sa.String(length=64), nullable=True),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('position'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_outbox_published_at', 'outbox', ['published_at'], unique=False)
    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('handler', sa.String(length=200), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'handler')
    )


def downgrade() -> None:
    op.drop_table('processed_events')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('certificates')
