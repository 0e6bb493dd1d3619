"""credit notes ("factures d'avoir"), their deductions from payments, the funder's refund account

Revision ID: 14c1aa000001
Revises: 14a2aa000001
Create Date: 2026-11-26 22:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '14c1aa000001'
down_revision = '14a2aa000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_settings') as batch:
        batch.add_column(sa.Column('refund_holder', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('refund_iban', sa.String(length=34), nullable=True))
        batch.add_column(sa.Column('refund_bic', sa.String(length=11), nullable=True))
    op.create_table(
        'credit_notes',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('organisation_id', sa.String(length=64), nullable=False),
        sa.Column('organisation_name', sa.String(length=300), nullable=False),
        sa.Column('dossier_id', sa.String(length=64), nullable=False),
        sa.Column('dossier_number', sa.String(length=30), nullable=False),
        sa.Column('beneficiary_name', sa.String(length=300), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('amount', sa.Numeric(12, 2), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        sa.Column('deducted', sa.Numeric(12, 2), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('pro_forma_document_id', sa.String(length=64), nullable=True),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_by', sa.String(length=64), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('funder_id', 'sequence', name='uq_credit_notes_funder_sequence'),
    )
    op.create_index('ix_credit_notes_organisation', 'credit_notes',
                    ['organisation_id', 'status', 'recorded_at'])
    op.create_index('ix_credit_notes_dossier', 'credit_notes', ['dossier_id'])
    op.create_table(
        'credit_note_deductions',
        sa.Column('payment_id', sa.String(length=36), sa.ForeignKey('payments.id'),
                  nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('credit_note_id', sa.String(length=36), sa.ForeignKey('credit_notes.id'),
                  nullable=False),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.Column('amount', sa.Numeric(12, 2), nullable=False),
        sa.PrimaryKeyConstraint('payment_id', 'position'),
    )
    op.create_index('ix_credit_note_deductions_note', 'credit_note_deductions',
                    ['credit_note_id'])


def downgrade() -> None:
    op.drop_index('ix_credit_note_deductions_note', 'credit_note_deductions')
    op.drop_table('credit_note_deductions')
    op.drop_index('ix_credit_notes_dossier', 'credit_notes')
    op.drop_index('ix_credit_notes_organisation', 'credit_notes')
    op.drop_table('credit_notes')
    with op.batch_alter_table('payment_settings') as batch:
        batch.drop_column('refund_bic')
        batch.drop_column('refund_iban')
        batch.drop_column('refund_holder')
