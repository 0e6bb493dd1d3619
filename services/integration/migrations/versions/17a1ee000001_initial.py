"""initial: the log of public events, replays, plus the kit's outbox, processed_events and
idempotent_replies

Revision ID: 17a1ee000001
Revises:
Create Date: 2026-12-01 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

from servicekit import idempotency

revision = '17a1ee000001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'public_events',
        sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('routing_key', sa.String(length=200), nullable=False),
        sa.Column('type', sa.String(length=200), nullable=False),
        sa.Column('correlation_id', sa.String(length=64), nullable=True),
        sa.Column('envelope', sa.Text(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('position'),
        sa.UniqueConstraint('id'),
    )
    op.create_index('ix_public_events_published_at', 'public_events', ['published_at'])
    op.create_index('ix_public_events_funder', 'public_events', ['funder_id', 'position'])

    op.create_table(
        'replays',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('after_event_id', sa.String(length=64), nullable=True),
        sa.Column('start_position', sa.Integer(), nullable=False),
        sa.Column('end_position', sa.Integer(), nullable=False),
        sa.Column('sent_position', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_replays_funder_id', 'replays', ['funder_id'])
    op.create_index('ix_replays_status', 'replays', ['status'])

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
    idempotency.create_table_v1(op)


def downgrade() -> None:
    idempotency.drop_table_v1(op)
    op.drop_table('processed_events')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_replays_status', table_name='replays')
    op.drop_index('ix_replays_funder_id', table_name='replays')
    op.drop_table('replays')
    op.drop_index('ix_public_events_funder', table_name='public_events')
    op.drop_index('ix_public_events_published_at', table_name='public_events')
    op.drop_table('public_events')
