"""certificate hours reference: a final certificate keeps the reference of the hours it
prints (the draft's), shown in the document list beside its verification reference

Certificates filed before have none: their hours' version was not sent with `certified`.

Revision ID: 13a3d0c00001
Revises: 14a2d0c00001
Create Date: 2026-11-26 19:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '13a3d0c00001'
down_revision = '14a2d0c00001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('documents', sa.Column('hours_reference', sa.String(6), nullable=True))


def downgrade() -> None:
    op.drop_column('documents', 'hours_reference')
