"""issue 10: an email is claimed (status sending, with a lease) before its own send

Revision ID: c5d81f2e6a94
Revises: 8cf04ac7a53a
Create Date: 2026-11-26 13:05:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'c5d81f2e6a94'
down_revision = '8cf04ac7a53a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # A claim in flight goes back to pending: the older code sends it again.
    op.execute("UPDATE emails SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
