"""issue 11: an email change waits for its link (pending_email; the links carry the new
address and the session that asked)

Revision ID: a7c3e91d5b20
Revises: 59ba472b416d
Create Date: 2026-11-26 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e91d5b20'
down_revision = '59ba472b416d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_email', sa.String(length=320), nullable=True))

    with op.batch_alter_table('one_time_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('session_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('one_time_tokens', schema=None) as batch_op:
        batch_op.drop_column('session_id')
        batch_op.drop_column('new_email')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('pending_email')
