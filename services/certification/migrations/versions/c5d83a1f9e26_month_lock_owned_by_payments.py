"""the month lock is payments' alone: certificates no longer mirror it

Revision ID: c5d83a1f9e26
Revises: e2cde6329bbe
Create Date: 2026-11-26 16:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'c5d83a1f9e26'
down_revision = 'e2cde6329bbe'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.drop_column('locked_for_payment')


def downgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('locked_for_payment', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
