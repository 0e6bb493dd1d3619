"""issue 15: one audit trail people read (names, object, changes) chained by hash per funder

Rows written before this revision keep no position: they stay readable, outside the chain.

Revision ID: 15a3ad000001
Revises: 15a2ad000001
Create Date: 2026-11-26 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '15a3ad000001'
down_revision = '15a2ad000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_name', sa.String(200), nullable=True))
        batch_op.add_column(sa.Column('person_role', sa.String(30), nullable=True))
        batch_op.add_column(sa.Column('organisation_name', sa.String(200), nullable=True))
        batch_op.add_column(sa.Column('object', sa.String(300), nullable=True))
        batch_op.add_column(sa.Column('dossier_id', sa.String(36), nullable=True))
        batch_op.add_column(sa.Column('changes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('previous_hash', sa.String(64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(64), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_dossier_id'), ['dossier_id'],
                              unique=False)
        batch_op.create_unique_constraint('uq_audit_events_funder_position',
                                          ['funder_id', 'position'])
    op.create_table(
        'audit_chain_heads',
        sa.Column('funder_id', sa.String(36), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint('funder_id'),
    )


def downgrade() -> None:
    op.drop_table('audit_chain_heads')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_events_funder_position', type_='unique')
        batch_op.drop_index(batch_op.f('ix_audit_events_dossier_id'))
        for column in ('hash', 'previous_hash', 'position', 'changes', 'dossier_id', 'object',
                       'organisation_name', 'person_role', 'person_name'):
            batch_op.drop_column(column)
