"""jobs: long work (payments imports) run in the background, with each row's report

Revision ID: 18a1aa000001
Revises: 14c1aa000001
Create Date: 2026-11-27 05:00:00
"""
from alembic import op

from servicekit.jobs import create_tables_v1, drop_tables_v1

revision = '18a1aa000001'
down_revision = '14c1aa000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_v1(op)


def downgrade() -> None:
    drop_tables_v1(op)
