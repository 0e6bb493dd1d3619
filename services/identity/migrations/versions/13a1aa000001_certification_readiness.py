"""issue 13: since when method 2 is in force (organisations.certifier_since, identity owning
the organisation's certification readiness); the right « certification des certificats de
réalisation » renamed certify_electronically -> certify_certificates (users, API tokens)

Revision ID: 13a1aa000001
Revises: a7c3e91d5b20
Create Date: 2026-11-26 19:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '13a1aa000001'
down_revision = 'a7c3e91d5b20'
branch_labels = None
depends_on = None

OLD_RIGHT, NEW_RIGHT = 'certify_electronically', 'certify_certificates'
# Method 2 in force at upgrade: every piece there (legal representative, logo and stamp
# deposited, certifier requested, KBIS and consent letter checked); since the latest of them.
METHOD_TWO_SINCE = """
UPDATE organisations SET certifier_since = (
    SELECT MAX(d.updated_at) FROM organisation_documents d
    WHERE d.organisation_id = organisations.id)
WHERE certifier_requested AND TRIM(COALESCE(legal_representative, '')) <> ''
  AND (SELECT COUNT(*) FROM organisation_documents d WHERE d.organisation_id = organisations.id
       AND ((d.category IN ('kbis', 'consent_letter') AND d.status = 'checked')
            OR (d.category IN ('logo', 'stamp') AND d.status <> 'rejected'))) = 4
"""


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certifier_since', sa.DateTime(timezone=True),
                                      nullable=True))
    op.execute(METHOD_TWO_SINCE)
    _rename_right(OLD_RIGHT, NEW_RIGHT)


def downgrade() -> None:
    _rename_right(NEW_RIGHT, OLD_RIGHT)
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('certifier_since')


def _rename_right(old: str, new: str) -> None:
    """Rights are a JSON list of names in each user and API token: rewritten row by row (the
    same on PostgreSQL and SQLite)."""
    bind = op.get_bind()
    for name in ('users', 'api_tokens'):
        table = sa.table(name, sa.column('id', sa.String), sa.column('rights', sa.JSON))
        for row in bind.execute(sa.select(table.c.id, table.c.rights)).all():
            if old in (row.rights or []):
                rights = [new if right == old else right for right in row.rights]
                bind.execute(table.update().where(table.c.id == row.id).values(rights=rights))
