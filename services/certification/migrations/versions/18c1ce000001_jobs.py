"""jobs: long work (the hours import) run in the background, with each row's report

Revision ID: 18c1ce000001
Revises: 16c1ce000001
Create Date: 2026-11-27 05:00:00
"""
from alembic import op

from servicekit.jobs import create_tables_v1, drop_tables_v1

revision = '18c1ce000001'
down_revision = '16c1ce000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_tables_v1(op)


def downgrade() -> None:
    drop_tables_v1(op)
