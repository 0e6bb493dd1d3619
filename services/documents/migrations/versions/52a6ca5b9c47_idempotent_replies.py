"""idempotent replies: the first reply of each call made with an Idempotency-Key

Revision ID: 52a6ca5b9c47
Revises: 2eaf620961e7
Create Date: 2026-11-26 13:00:00
"""
from alembic import op

from servicekit.idempotency import create_table_v1, drop_table_v1

revision = '52a6ca5b9c47'
down_revision = '2eaf620961e7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_table_v1(op)


def downgrade() -> None:
    drop_table_v1(op)
