"""issue 18: an email about a certificate's month says which (the ops' month-end view counts
the emails pending per funder and month)

Revision ID: 18a3bb000001
Revises: 18a2bb000001
Create Date: 2026-11-27 20:15:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '18a3bb000001'
down_revision = '18a2bb000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('month', sa.String(length=7), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('month')
