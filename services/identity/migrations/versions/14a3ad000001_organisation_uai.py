"""issue 14: the organisation's UAI number beside its SIRET in the billing details (seed 004)

Revision ID: 14a3ad000001
Revises: 13a1aa000001
Create Date: 2026-11-26 20:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '14a3ad000001'
down_revision = '13a1aa000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uai', sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('uai')
