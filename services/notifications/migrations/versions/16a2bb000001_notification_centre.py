"""issue 16: the notification centre (notifications per audience, read marks per person)

Revision ID: 16a2bb000001
Revises: 16a1bb000001
Create Date: 2026-11-26 23:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '16a2bb000001'
down_revision = '16a1bb000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('audience_type', sa.String(length=20), nullable=False),
        sa.Column('audience_id', sa.String(length=64), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('object_type', sa.String(length=50), nullable=False),
        sa.Column('object_id', sa.String(length=200), nullable=False),
        sa.Column('link', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'audience_type', 'audience_id', 'kind',
                            name='uq_notifications_event_audience'),
    )
    op.create_index('ix_notifications_audience', 'notifications',
                    ['audience_type', 'audience_id', 'created_at'], unique=False)
    op.create_table(
        'notification_reads',
        sa.Column('notification_id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id']),
        sa.PrimaryKeyConstraint('notification_id', 'user_id'),
    )
    op.create_table(
        'alert_persons',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=30), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('organisation_id', sa.String(length=64), nullable=True),
        sa.Column('party_id', sa.String(length=64), nullable=True),
        sa.Column('rights', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_index(op.f('ix_alert_persons_party_id'), 'alert_persons', ['party_id'],
                    unique=False)
    op.create_table(
        'alert_settings',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('frequency', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['alert_persons.user_id']),
        sa.PrimaryKeyConstraint('user_id', 'kind'),
    )
    op.create_table(
        'digests',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('notifications', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'day'),
    )


def downgrade() -> None:
    op.drop_table('digests')
    op.drop_table('alert_settings')
    op.drop_index(op.f('ix_alert_persons_party_id'), table_name='alert_persons')
    op.drop_table('alert_persons')
    op.drop_table('notification_reads')
    op.drop_index('ix_notifications_audience', table_name='notifications')
    op.drop_table('notifications')
