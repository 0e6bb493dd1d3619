"""issue 13: the organisation's certification readiness is identity's alone (asked at each
entry and certification): the organisation_methods projection goes; the funder is emailed at
certification unless its settings say otherwise (notify_funder on by default)

Revision ID: 13a1ce000001
Revises: d47a2b9c5e13
Create Date: 2026-11-26 19:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '13a1ce000001'
down_revision = 'd47a2b9c5e13'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('organisation_methods')
    # Saved settings keep the choice their administrator made; new rows default to on.
    with op.batch_alter_table('funder_settings') as batch:
        batch.alter_column('notify_funder', existing_type=sa.Boolean(), existing_nullable=False,
                           server_default=sa.true())


def downgrade() -> None:
    with op.batch_alter_table('funder_settings') as batch:
        batch.alter_column('notify_funder', existing_type=sa.Boolean(), existing_nullable=False,
                           server_default=None)
    # Refilled by identity's next certifier_status_changed of each organisation.
    op.create_table('organisation_methods',
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('funder_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('organisation_id')
    )
