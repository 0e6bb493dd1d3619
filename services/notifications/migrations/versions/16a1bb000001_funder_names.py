"""issue 16: funders' names (from identity's funder_bootstrapped), to name and sign emails;
an email's resend points at the email it sends again

Revision ID: 16a1bb000001
Revises: c5d81f2e6a94
Create Date: 2026-11-26 23:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '16a1bb000001'
down_revision = 'c5d81f2e6a94'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'funders',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resent_from', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('emails', schema=None) as batch_op:
        batch_op.drop_column('resent_from')
    op.drop_table('funders')
