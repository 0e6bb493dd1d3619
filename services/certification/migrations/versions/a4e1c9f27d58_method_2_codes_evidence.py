"""method 2: emailed codes (hashed), organisations' method, certification evidence

Revision ID: a4e1c9f27d58
Revises: 7c2f0d9a41b3
Create Date: 2026-11-22 19:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'a4e1c9f27d58'
down_revision = '7c2f0d9a41b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certification_codes',
    sa.Column('dossier_id', sa.String(length=64), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dossier_id', 'month')
    )
    op.create_table('organisation_methods',
    sa.Column('organisation_id', sa.String(length=64), nullable=False),
    sa.Column('funder_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('organisation_id')
    )
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('certified_document_sha256', sa.String(length=64),
                                   nullable=True))
        batch.add_column(sa.Column('code_checked_at', sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.drop_column('code_checked_at')
        batch.drop_column('certified_document_sha256')
    op.drop_table('organisation_methods')
    op.drop_table('certification_codes')
