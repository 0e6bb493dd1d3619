"""issue 4: one account per beneficiary or employer (party), reset requests counted per address

Revision ID: 59ba472b416d
Revises: f8eba6af97f4
Create Date: 2026-11-22 19:02:47.960427
"""
from alembic import op
import sqlalchemy as sa


revision = '59ba472b416d'
down_revision = 'f8eba6af97f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='login', nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_users_party_id', ['party_id'])



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_party_id', type_='unique')

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_column('kind')

