"""payment settings: the payer each funder's remittance advices name

Revision ID: 14a2aa000001
Revises: 14a1aa000001
Create Date: 2026-11-26 19:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '14a2aa000001'
down_revision = '14a1aa000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'payment_settings',
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('payer_name', sa.String(length=300), nullable=False),
        sa.Column('address', sa.String(length=500), nullable=True),
        sa.Column('logo_document_id', sa.String(length=64), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('funder_id'),
    )


def downgrade() -> None:
    op.drop_table('payment_settings')
