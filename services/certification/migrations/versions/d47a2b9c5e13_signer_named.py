"""the signer named: name and role at certification; method 2's certifier date and IP consent

Revision ID: d47a2b9c5e13
Revises: c5d83a1f9e26
Create Date: 2026-11-26 17:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'd47a2b9c5e13'
down_revision = 'c5d83a1f9e26'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('certified_by_name', sa.String(200), nullable=True))
        batch.add_column(sa.Column('certified_by_role', sa.String(40), nullable=True))
        batch.add_column(sa.Column('certifier_since', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('ip_use_accepted', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        for column in ('ip_use_accepted', 'certifier_since', 'certified_by_role',
                       'certified_by_name'):
            batch.drop_column(column)
