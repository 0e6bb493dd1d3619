"""issue 5: a month lock records when the funder transmitted its hours for payment

Revision ID: 7767a4614638
Revises: b7c2e41f9a10
Create Date: 2026-11-22 20:15:18.287123
"""
from alembic import op
import sqlalchemy as sa


revision = '7767a4614638'
down_revision = 'b7c2e41f9a10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('month_locks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transmitted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('transmitted_by', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('month_locks', schema=None) as batch_op:
        batch_op.drop_column('transmitted_by')
        batch_op.drop_column('transmitted_at')

