"""funder settings, detailed entries, reopening and payment closure of certificates

Revision ID: 7c2f0d9a41b3
Revises: 5e88e151a754
Create Date: 2026-11-22 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7c2f0d9a41b3'
down_revision = '5e88e151a754'
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    ("entry_mode", sa.String(length=10)),
    ("reopen_reason", sa.Text()),
    ("reopened_by", sa.String(length=64)),
    ("reopened_at", sa.DateTime(timezone=True)),
    ("closed_by_payment_id", sa.String(length=64)),
    ("closed_by_payment_number", sa.String(length=64)),
    ("closed_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table('funder_settings',
    sa.Column('funder_id', sa.String(length=64), nullable=False),
    sa.Column('entry_mode', sa.String(length=10), nullable=False),
    sa.Column('code_length', sa.Integer(), nullable=False),
    sa.Column('code_lifetime_minutes', sa.Integer(), nullable=False),
    sa.Column('beneficiary_validation', sa.Boolean(), nullable=False),
    sa.Column('employer_validation', sa.Boolean(), nullable=False),
    sa.Column('notify_funder', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('funder_id')
    )
    with op.batch_alter_table('certificates') as batch:
        batch.alter_column('status', type_=sa.String(length=40),
                           existing_type=sa.String(length=30), existing_nullable=False)
        batch.add_column(sa.Column('detail', sa.JSON(), nullable=False, server_default='[]'))
        for name, kind in NEW_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        for name, _ in reversed(NEW_COLUMNS):
            batch.drop_column(name)
        batch.drop_column('detail')
        batch.alter_column('status', type_=sa.String(length=30),
                           existing_type=sa.String(length=40), existing_nullable=False)
    op.drop_table('funder_settings')
