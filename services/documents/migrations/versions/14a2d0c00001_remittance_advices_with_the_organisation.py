"""remittance advices filed with the organisation: under no dossier, inscribed by the funder

Advices filed before were tied to their payment's dossier (or to none, and then to no
beneficiary either), and read « Produit automatiquement »: they now all sit among the
organisation's documents, « Inscrit par votre AT Pro », as the new ones do, and a reissue
replaces them in place. Only funder staff ever issued them; who exactly is not known.

Revision ID: 14a2d0c00001
Revises: 8c3e5f1a7b24
Create Date: 2026-11-26 19:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '14a2d0c00001'
down_revision = '8c3e5f1a7b24'
branch_labels = None
depends_on = None

_ADVICES = "category = 'remittance_advice' AND status = 'generated'"


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE documents SET dossier_id = NULL, beneficiary_id = NULL, employer_id = NULL, "
        f"uploaded_by_role = 'funder_agent' WHERE {_ADVICES} AND uploaded_by_role IS NULL"))


def downgrade() -> None:
    # The dossier an advice was tied to is not kept: it stays with the organisation.
    op.execute(sa.text(
        f"UPDATE documents SET uploaded_by_role = NULL WHERE {_ADVICES} "
        "AND uploaded_by IS NULL"))
