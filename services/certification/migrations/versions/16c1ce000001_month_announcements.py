"""issue 16: the months to certify the daily job announced, one row per dossier and month
(its insert claims the announcement)

Revision ID: 16c1ce000001
Revises: 13a1ce000001
Create Date: 2026-11-27 01:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '16c1ce000001'
down_revision = '13a1ce000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'month_announcements',
        sa.Column('dossier_id', sa.String(length=64), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('dossier_id', 'month'),
    )


def downgrade() -> None:
    op.drop_table('month_announcements')
