"""idempotent replies: the first reply of each call made with an Idempotency-Key

Revision ID: 50fa7b22063b
Revises: 7767a4614638
Create Date: 2026-11-26 13:00:00
"""
from alembic import op

from servicekit.idempotency import create_table_v1, drop_table_v1

revision = '50fa7b22063b'
down_revision = '7767a4614638'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table_v1(op)


def downgrade() -> None:
    drop_table_v1(op)
