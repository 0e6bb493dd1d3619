"""payments, their lines, bank details versions, credit-note choices; month unlocks

Revision ID: b7c2e41f9a10
Revises: 9ea25d772af4
Create Date: 2026-11-22 19:40:00
"""
from alembic import op
import sqlalchemy as sa



revision = 'b7c2e41f9a10'
down_revision = '9ea25d772af4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('month_locks') as batch:
        batch.add_column(sa.Column('locked', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column('unlocked_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('unlocked_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('unlock_reason', sa.String(length=500), nullable=True))
    op.create_table(
        'payments',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('number', sa.String(length=30), nullable=False),
        sa.Column('payment_date', sa.Date(), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('organisation_id', sa.String(length=64), nullable=False),
        sa.Column('organisation_name', sa.String(length=300), nullable=False),
        sa.Column('advance', sa.Boolean(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('bank_details_version', sa.Integer(), nullable=True),
        sa.Column('remittance_document_id', sa.String(length=64), nullable=True),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reconciled', sa.Boolean(), nullable=False),
        sa.Column('reconciled_by', sa.String(length=64), nullable=True),
        sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('funder_id', 'number', name='uq_payments_funder_number'),
    )
    op.create_index('ix_payments_organisation_date', 'payments',
                    ['funder_id', 'organisation_id', 'payment_date'])
    op.create_index('ix_payments_status', 'payments', ['organisation_id', 'status'])
    op.create_table(
        'payment_lines',
        sa.Column('payment_id', sa.String(length=36), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.String(length=64), nullable=False),
        sa.Column('dossier_number', sa.String(length=30), nullable=False),
        sa.Column('beneficiary_name', sa.String(length=200), nullable=False),
        sa.Column('beneficiary_first_name', sa.String(length=200), nullable=False),
        sa.Column('training_title', sa.String(length=300), nullable=False),
        sa.Column('hours_paid', sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id']),
        sa.PrimaryKeyConstraint('payment_id', 'position'),
    )
    op.create_index('ix_payment_lines_dossier', 'payment_lines', ['dossier_number'])
    op.create_table(
        'bank_details',
        sa.Column('organisation_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('iban', sa.String(length=34), nullable=False),
        sa.Column('bic', sa.String(length=11), nullable=False),
        sa.Column('invoicing', sa.String(length=20), nullable=False),
        sa.Column('third_party_name', sa.String(length=200), nullable=True),
        sa.Column('rib_document_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('rejection_reason', sa.String(length=500), nullable=True),
        sa.Column('submitted_by', sa.String(length=64), nullable=False),
        sa.Column('submitted_by_email', sa.String(length=320), nullable=True),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reviewed_by', sa.String(length=64), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('organisation_id', 'version'),
    )
    op.create_table(
        'credit_note_choices',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('organisation_id', sa.String(length=64), nullable=False),
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        sa.Column('chosen_by', sa.String(length=64), nullable=False),
        sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_credit_note_choices_organisation', 'credit_note_choices',
                    ['organisation_id', 'chosen_at'])


def downgrade() -> None:
    op.drop_index('ix_credit_note_choices_organisation', table_name='credit_note_choices')
    op.drop_table('credit_note_choices')
    op.drop_table('bank_details')
    op.drop_index('ix_payment_lines_dossier', table_name='payment_lines')
    op.drop_table('payment_lines')
    op.drop_index('ix_payments_status', table_name='payments')
    op.drop_index('ix_payments_organisation_date', table_name='payments')
    op.drop_table('payments')
    with op.batch_alter_table('month_locks') as batch:
        for name in ('unlock_reason', 'unlocked_by', 'unlocked_at', 'locked'):
            batch.drop_column(name)
