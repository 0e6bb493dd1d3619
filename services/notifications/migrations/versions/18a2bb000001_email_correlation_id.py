"""issue 18: an email keeps the correlation id of the request that queued it

Revision ID: 18a2bb000001
Revises: 16a2bb000001
Create Date: 2026-11-27 04:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '18a2bb000001'
down_revision = '16a2bb000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correlation_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('correlation_id')
