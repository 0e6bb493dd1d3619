"""credit note categories: the pro forma Jalon generates, and the organisation's own credit
note ("facture d'avoir", seed 004) it deposits beside it

The rows are written out here, not imported from the code (as 2eaf620961e7 seeds the others).

Revision ID: 14c1d0c00001
Revises: 13a3d0c00001
Create Date: 2026-11-26 23:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '14c1d0c00001'
down_revision = '13a3d0c00001'
branch_labels = None
depends_on = None

GLOBAL = "*"
MB = 1024 * 1024
PDF = "application/pdf"
ORGANISATION_AND_FUNDER = ["funder_admin", "funder_agent", "organisation_user"]
_CODES = ("credit_note_pro_forma", "credit_note_invoice")


def _rows() -> list[dict]:
    common = dict(funder_id=GLOBAL, content_types=[PDF], requires_dossier=False,
                  requires_period=False, created_at=None)
    return [
        dict(common, code="credit_note_pro_forma", label="Facture pro forma avoir",
             upload_roles=[], max_size=20 * MB, requires_label=False, system=True,
             instructions="Produite par Jalon pour chaque facture d'avoir."),
        dict(common, code="credit_note_invoice", label="Facture d'avoir",
             upload_roles=ORGANISATION_AND_FUNDER, max_size=10 * MB, requires_label=True,
             system=False,
             instructions="La facture d'avoir émise par votre organisme sur papier à en-tête, "
                          "correspondant à la pro forma. Indiquez le numéro de la pro forma "
                          "dans le libellé."),
    ]


def upgrade() -> None:
    categories = sa.table(
        'categories',
        sa.column('funder_id', sa.String), sa.column('code', sa.String),
        sa.column('label', sa.String), sa.column('instructions', sa.Text),
        sa.column('upload_roles', sa.JSON), sa.column('content_types', sa.JSON),
        sa.column('max_size', sa.Integer), sa.column('requires_dossier', sa.Boolean),
        sa.column('requires_label', sa.Boolean), sa.column('requires_period', sa.Boolean),
        sa.column('system', sa.Boolean), sa.column('created_at', sa.DateTime(timezone=True)),
    )
    op.bulk_insert(categories, _rows())


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM categories WHERE funder_id = :funder AND code IN "
                       "(:pro_forma, :invoice)").bindparams(
        funder=GLOBAL, pro_forma=_CODES[0], invoice=_CODES[1]))
