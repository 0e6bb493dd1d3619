"""initial: parties (beneficiaries, employers), dossiers (+ the kit's outbox tables)

Revision ID: 75c4abc1cfca
Revises:
Create Date: 2026-11-22 16:35:50.923686
"""
from alembic import op
import sqlalchemy as sa


revision = '75c4abc1cfca'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table('parties',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('funder_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_parties_funder_id', 'parties', ['funder_id'], unique=False)
    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('handler', sa.String(length=200), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', 'handler')
    )
    op.create_table('dossiers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('funder_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('beneficiary_id', sa.String(length=36), nullable=False),
    sa.Column('employer_id', sa.String(length=36), nullable=True),
    sa.Column('training_title', sa.String(length=300), nullable=False),
    sa.Column('session_start', sa.Date(), nullable=False),
    sa.Column('session_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['parties.id'], ),
    sa.ForeignKeyConstraint(['employer_id'], ['parties.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('funder_id', 'number', name='uq_dossiers_funder_number')
    )
    op.create_index('ix_dossiers_beneficiary_id', 'dossiers', ['beneficiary_id'], unique=False)
    op.create_index('ix_dossiers_employer_id', 'dossiers', ['employer_id'], unique=False)
    op.create_index('ix_dossiers_organisation_id', 'dossiers', ['organisation_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dossiers_organisation_id', table_name='dossiers')
    op.drop_index('ix_dossiers_employer_id', table_name='dossiers')
    op.drop_index('ix_dossiers_beneficiary_id', table_name='dossiers')
    op.drop_table('dossiers')
    op.drop_table('processed_events')
    op.drop_index('ix_parties_funder_id', table_name='parties')
    op.drop_table('parties')
    op.drop_index('ix_outbox_published_at', table_name='outbox')
    op.drop_table('outbox')
