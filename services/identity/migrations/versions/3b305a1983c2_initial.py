"""initial: funders, organisations, users, sessions (+ the kit's outbox tables)

Revision ID: 3b305a1983c2
Revises:
Create Date: 2026-11-22 16:35:06.797148
"""
from alembic import op
import sqlalchemy as sa


revision = '3b305a1983c2'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('funders',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('outbox',
    sa.Column('position', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_name', sa.String(length=100), nullable=False),
    sa.Column('correlation_id', sa.String(length=64), nullable=True),
    sa.Column('envelope', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('position'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_outbox_published_at', 'outbox', ['published_at'], unique=False)
    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('handler', sa.String(length=200), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'handler')
    )
    op.create_table('organisations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('funder_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('legal_representative', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('funder_id', 'siret', name='uq_organisations_funder_siret')
    )
    op.create_index('ix_organisations_funder_id', 'organisations', ['funder_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('funder_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=True),
    sa.Column('party_id', sa.String(length=36), nullable=True),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('identifier', sa.String(length=150), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('rights', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identifier')
    )
    op.create_index('ix_users_funder_id', 'users', ['funder_id'], unique=False)
    op.create_index('ix_users_organisation_id', 'users', ['organisation_id'], unique=False)
    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_sessions_user_id', 'sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sessions_user_id', table_name='sessions')
    op.drop_table('sessions')
    op.drop_index('ix_users_organisation_id', table_name='users')
    op.drop_index('ix_users_funder_id', table_name='users')
    op.drop_table('users')
    op.drop_index('ix_organisations_funder_id', table_name='organisations')
    op.drop_table('organisations')
    op.drop_table('processed_events')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('funders')
