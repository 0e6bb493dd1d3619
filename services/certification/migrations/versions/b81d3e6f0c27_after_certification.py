"""after certification: validations and contests, transmission, funder email, code requests

Revision ID: b81d3e6f0c27
Revises: a4e1c9f27d58
Create Date: 2026-11-22 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b81d3e6f0c27'
down_revision = 'a4e1c9f27d58'
branch_labels = None
depends_on = None

CYCLE = (('beneficiary_validated_by', sa.String(length=64)),
         ('beneficiary_validated_at', sa.DateTime(timezone=True)),
         ('employer_validated_by', sa.String(length=64)),
         ('employer_validated_at', sa.DateTime(timezone=True)),
         ('contested_party', sa.String(length=20)),
         ('contest_reason', sa.Text()),
         ('contested_by', sa.String(length=64)),
         ('contested_at', sa.DateTime(timezone=True)),
         ('organisation_email', sa.String(length=320)),
         ('transmitted_by', sa.String(length=64)),
         ('transmitted_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('validations', sa.JSON(), nullable=False,
                                   server_default='[]'))
        for name, kind in CYCLE:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table('funder_settings') as batch:
        batch.add_column(sa.Column('funder_notification_email', sa.String(length=320),
                                   nullable=True))
    op.create_table('code_requests',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('dossier_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_code_requests_user_month', 'code_requests',
                    ['user_id', 'dossier_id', 'month', 'requested_at'])


def downgrade() -> None:
    op.drop_index('ix_code_requests_user_month', table_name='code_requests')
    op.drop_table('code_requests')
    with op.batch_alter_table('funder_settings') as batch:
        batch.drop_column('funder_notification_email')
    with op.batch_alter_table('certificates') as batch:
        for name, _ in reversed(CYCLE):
            batch.drop_column(name)
        batch.drop_column('validations')
