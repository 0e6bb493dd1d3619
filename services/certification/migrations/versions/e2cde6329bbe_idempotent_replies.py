"""idempotent replies: the first reply of each call made with an Idempotency-Key

Revision ID: e2cde6329bbe
Revises: b81d3e6f0c27
Create Date: 2026-11-26 13:00:00
"""
from alembic import op

from servicekit.idempotency import create_table_v1, drop_table_v1

revision = 'e2cde6329bbe'
down_revision = 'b81d3e6f0c27'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table_v1(op)


def downgrade() -> None:
    drop_table_v1(op)
