"""issue 15 (seed 004): users' civility, first and last name, phone

Existing accounts keep their `name` (the display name) and get empty parts: a name such as
"Marie Dupont" or "DUPONT Marie" cannot be split into first and last name with certainty.
New and edited accounts fill them, and their `name` is made of them ("DUPONT Marie").

Revision ID: 15a2ad000001
Revises: 15a1ad000001
Create Date: 2026-11-26 23:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '15a2ad000001'
down_revision = '15a1ad000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('civility', sa.String(20), nullable=True))
        batch_op.add_column(sa.Column('first_name', sa.String(100), nullable=True))
        batch_op.add_column(sa.Column('last_name', sa.String(100), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('last_name')
        batch_op.drop_column('first_name')
        batch_op.drop_column('civility')
