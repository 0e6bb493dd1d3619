"""dossiers: the type of action (ptp for the dossiers already there), and what
certification's events said of each dossier-month (month_certifications)

Revision ID: 13a4aa000001
Revises: 84ba13ded5fe
Create Date: 2026-11-26 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '13a4aa000001'
down_revision = '84ba13ded5fe'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dossiers', sa.Column('action_type', sa.String(length=20), nullable=False,
                                        server_default='ptp'))
    op.create_table('month_certifications',
    sa.Column('dossier_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('certified', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dossier_id', 'month')
    )


def downgrade() -> None:
    op.drop_table('month_certifications')
    with op.batch_alter_table('dossiers') as batch:
        batch.drop_column('action_type')
