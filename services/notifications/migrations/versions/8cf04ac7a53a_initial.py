"""initial: emails, plus the kit's outbox and processed_events

Revision ID: 8cf04ac7a53a
Revises:
Create Date: 2026-11-22 16:36:43.209470
"""
from alembic import op
import sqlalchemy as sa


revision = '8cf04ac7a53a'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'emails',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=True),
        sa.Column('funder_id', sa.String(length=64), nullable=True),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=500), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=True),
        sa.Column('template', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'recipient', 'template', name='uq_emails_event_recipient'),
    )
    op.create_index('ix_emails_due', 'emails', ['status', 'next_attempt_at'])
    op.create_index('ix_emails_funder_id', 'emails', ['funder_id'])

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
    op.drop_index('ix_emails_funder_id', table_name='emails')
    op.drop_index('ix_emails_due', table_name='emails')
    op.drop_table('emails')
