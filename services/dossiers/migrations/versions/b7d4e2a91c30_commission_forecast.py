"""dossiers: commission date, last change time, the forecast calendar (forecast_days)

Revision ID: b7d4e2a91c30
Revises: 75c4abc1cfca
Create Date: 2026-11-22 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d4e2a91c30'
down_revision = '75c4abc1cfca'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('dossiers', sa.Column('commission_date', sa.Date(), nullable=True))
    op.add_column('dossiers', sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('forecast_days',
    sa.Column('dossier_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('training_hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('internship_hours', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dossier_id', 'day')
    )


def downgrade() -> None:
    op.drop_table('forecast_days')
    with op.batch_alter_table('dossiers') as batch:
        batch.drop_column('updated_at')
        batch.drop_column('commission_date')
