"""uploads: categories (seeded), uploader, status and review of documents, verification reference

Revision ID: 2eaf620961e7
Revises: 14031b9304bf
Create Date: 2026-11-22 17:08:41.794816

The seeded categories are written out here, not imported from the code: a migration replays
the same way whatever the code later becomes. Existing rows are generated certificates:
they get status 'generated' and version 1.
"""
from alembic import op
import sqlalchemy as sa


revision = '2eaf620961e7'
down_revision = '14031b9304bf'
branch_labels = None
depends_on = None

GLOBAL = "*"
MB = 1024 * 1024
PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
ANY_TYPE = [PDF, PNG, JPEG]
ORGANISATION_AND_FUNDER = ["funder_admin", "funder_agent", "organisation_user"]
EVERYONE = ["beneficiary", "employer", *ORGANISATION_AND_FUNDER]

# code, label, who uploads, types, size, dossier, label, period, instructions
_SEEDS = [
    ("kbis", "Extrait KBIS", ORGANISATION_AND_FUNDER, ANY_TYPE, 10 * MB, False, False, False,
     "Déposez un extrait KBIS de moins de 3 mois, complet et lisible."),
    ("consent_letter", "Lettre de consentement", ORGANISATION_AND_FUNDER, ANY_TYPE, 10 * MB,
     False, False, False,
     "Déposez la lettre de consentement à la certification électronique, datée et signée "
     "par le représentant légal de l'organisme."),
    ("logo", "Logo", ORGANISATION_AND_FUNDER, [PNG, JPEG], 2 * MB, False, False, False,
     "Déposez le logo de votre organisme (PNG ou JPEG, 2 Mo au plus) : il figure en "
     "en-tête des certificats de réalisation."),
    ("stamp", "Cachet", ORGANISATION_AND_FUNDER, [PNG, JPEG], 2 * MB, False, False, False,
     "Déposez l'image du cachet de votre organisme (PNG ou JPEG, 2 Mo au plus) : il figure "
     "sur les certificats de réalisation."),
    ("signed_certificate", "Certificat de réalisation signé", ORGANISATION_AND_FUNDER, ANY_TYPE,
     10 * MB, True, False, True,
     "Déposez le certificat de réalisation imprimé, signé et tamponné. Choisissez le dossier "
     "et indiquez la période (le mois) qu'il certifie."),
    ("attendance_sheet", "Feuille d'émargement", ORGANISATION_AND_FUNDER, ANY_TYPE, 10 * MB,
     True, False, True,
     "Déposez les feuilles d'émargement signées par le stagiaire. Choisissez le dossier et "
     "indiquez la période qu'elles couvrent."),
    ("bank_details", "RIB", ORGANISATION_AND_FUNDER, ANY_TYPE, 5 * MB, False, False, False,
     "Déposez un relevé d'identité bancaire au nom de votre organisme, IBAN et BIC lisibles."),
    ("invoice", "Facture", ORGANISATION_AND_FUNDER, [PDF], 10 * MB, True, True, False,
     "Déposez la facture au format PDF. Choisissez le dossier et indiquez son numéro dans "
     "le libellé."),
    ("training_programme", "Programme de formation", ORGANISATION_AND_FUNDER, [PDF], 10 * MB,
     False, True, False,
     "Déposez le programme pédagogique de la formation (objectifs, contenu, durée, "
     "modalités) au format PDF."),
    ("other", "Autre", EVERYONE, ANY_TYPE, 10 * MB, False, True, False,
     "Tout autre document à transmettre à votre Transitions Pro : précisez son objet dans "
     "le libellé."),
]
_SYSTEM = [
    ("completion_certificate", "Certificat de réalisation",
     "Produit par Jalon à la certification des heures d'un mois."),
    ("remittance_advice", "Avis de virement", "Produit par Jalon pour chaque paiement."),
]


def _rows() -> list[dict]:
    rows = [dict(funder_id=GLOBAL, code=code, label=label, upload_roles=roles,
                 content_types=types, max_size=size, requires_dossier=dossier,
                 requires_label=needs_label, requires_period=period, instructions=text,
                 system=False, created_at=None)
            for code, label, roles, types, size, dossier, needs_label, period, text in _SEEDS]
    rows += [dict(funder_id=GLOBAL, code=code, label=label, upload_roles=[],
                  content_types=[PDF], max_size=20 * MB, requires_dossier=False,
                  requires_label=False, requires_period=False, instructions=text,
                  system=True, created_at=None)
             for code, label, text in _SYSTEM]
    return rows


def upgrade() -> None:
    categories = op.create_table(
        'categories',
        sa.Column('funder_id', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=50), nullable=False),
        sa.Column('label', sa.String(length=100), nullable=False),
        sa.Column('instructions', sa.Text(), nullable=False),
        sa.Column('upload_roles', sa.JSON(), nullable=False),
        sa.Column('content_types', sa.JSON(), nullable=False),
        sa.Column('max_size', sa.Integer(), nullable=False),
        sa.Column('requires_dossier', sa.Boolean(), nullable=False),
        sa.Column('requires_label', sa.Boolean(), nullable=False),
        sa.Column('requires_period', sa.Boolean(), nullable=False),
        sa.Column('system', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('funder_id', 'code'),
    )
    op.bulk_insert(categories, _rows())

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False,
                                      server_default='generated'))
        batch_op.add_column(sa.Column('period_start', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('period_end', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('dossier_number', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('beneficiary_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by_role', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('uploaded_by_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('uploader_organisation_id', sa.String(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason_code', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('reason_text', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('verification_reference', sa.String(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.create_index('ix_documents_scope', ['funder_id', 'organisation_id'])
        batch_op.create_index('uq_documents_verification_reference', ['verification_reference'],
                              unique=True)
    generated_elsewhere = sa.text("status = 'generated' AND category <> 'completion_certificate'")
    op.create_index('uq_documents_generated', 'documents', ['category', 'funder_id', 'filename'],
                    unique=True, postgresql_where=generated_elsewhere,
                    sqlite_where=generated_elsewhere)


def downgrade() -> None:
    op.drop_index('uq_documents_generated', table_name='documents')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('uq_documents_verification_reference')
        batch_op.drop_index('ix_documents_scope')
        for column in ('version', 'verification_reference', 'reason_text', 'reason_code',
                       'reviewed_by', 'reviewed_at', 'uploader_organisation_id',
                       'uploaded_by_email', 'uploaded_by_role', 'uploaded_by',
                       'beneficiary_name', 'dossier_number', 'period_end', 'period_start',
                       'status'):
            batch_op.drop_column(column)
    op.drop_table('categories')
