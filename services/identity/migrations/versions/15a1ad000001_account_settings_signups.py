"""issue 15: a funder's account settings (who creates accounts, password rule set, known
SIRETs for sign-ups) and the self-service sign-ups of seed 003

Revision ID: 15a1ad000001
Revises: 14a3ad000001
Create Date: 2026-11-26 22:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '15a1ad000001'
down_revision = '14a3ad000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_settings',
        sa.Column('funder_id', sa.String(36), sa.ForeignKey('funders.id'), primary_key=True),
        sa.Column('account_creation', sa.String(20), nullable=False),
        sa.Column('password_rules', sa.String(30), nullable=False),
        sa.Column('require_known_siret', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_by', sa.String(64), nullable=True),
    )
    op.create_table(
        'signups',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('funder_id', sa.String(36), sa.ForeignKey('funders.id'), nullable=False),
        sa.Column('siret', sa.String(14), nullable=False),
        sa.Column('organisation_name', sa.String(200), nullable=False),
        sa.Column('civility', sa.String(20), nullable=False),
        sa.Column('last_name', sa.String(100), nullable=False),
        sa.Column('first_name', sa.String(100), nullable=False),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('phone', sa.String(30), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('code_attempts', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('ip', sa.String(64), nullable=True),
        sa.Column('organisation_id', sa.String(36), nullable=True),
        sa.Column('user_id', sa.String(36), nullable=True),
        sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_signups_funder_id', 'signups', ['funder_id'])
    op.create_index('ix_signups_email', 'signups', ['email'])
    op.create_index('ix_signups_user_id', 'signups', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_signups_user_id', table_name='signups')
    op.drop_index('ix_signups_email', table_name='signups')
    op.drop_index('ix_signups_funder_id', table_name='signups')
    op.drop_table('signups')
    op.drop_table('account_settings')
