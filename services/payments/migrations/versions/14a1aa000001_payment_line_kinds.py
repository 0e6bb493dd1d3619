"""payment line kinds: a line pays certified hours ('payment') or is an advance ('advance')

Revision ID: 14a1aa000001
Revises: 50fa7b22063b
Create Date: 2026-11-26 19:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '14a1aa000001'
down_revision = '50fa7b22063b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Lines recorded before kinds existed take their payment's advance flag.
    op.add_column('payment_lines', sa.Column('kind', sa.String(length=10), nullable=False,
                                             server_default='payment'))
    op.execute("UPDATE payment_lines SET kind = 'advance' FROM payments "
               "WHERE payments.id = payment_lines.payment_id AND payments.advance")


def downgrade() -> None:
    op.drop_column('payment_lines', 'kind')
