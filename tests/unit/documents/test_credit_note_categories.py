"""The credit note categories (seed 004) as migration 14c1d0c00001 seeds them, run from
nothing on SQLite: the pro forma Jalon generates, and the « Facture d'avoir » the organisation
deposits beside it (a PDF, its label the pro forma's number)."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, select

from contracts.common import Role
from contracts.common.errors import Forbidden, InvalidInput
from services.documents.domain import GLOBAL, Category
from services.documents.models import categories
from servicekit import migrate
from tests.support.documents import actor

ORGANISATION_USER, AGENT = actor(), actor(Role.funder_agent)
CODES = ("credit_note_pro_forma", "credit_note_invoice")


def seeded(url: str) -> dict[str, Category]:
    with create_engine(url).connect() as connection:
        rows = connection.execute(select(categories).where(
            categories.c.funder_id == GLOBAL, categories.c.code.in_(CODES))).mappings().all()
    return {row["code"]: Category(**row) for row in rows}


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/documents.db"
    migrate.upgrade("documents", url)
    return url


def test_the_pro_forma_category_is_jalon_s_own(url):
    pro_forma = seeded(url)["credit_note_pro_forma"]
    assert (pro_forma.label, pro_forma.system, pro_forma.upload_roles,
            pro_forma.content_types) == ("Facture pro forma avoir", True, [],
                                         ["application/pdf"])
    assert not pro_forma.may_upload(ORGANISATION_USER) and not pro_forma.may_upload(AGENT)


def test_the_organisation_deposits_its_credit_note_as_a_pdf_named_by_the_pro_forma(url):
    invoice = seeded(url)["credit_note_invoice"]
    assert (invoice.label, invoice.system, invoice.requires_label, invoice.requires_dossier,
            invoice.content_types) == ("Facture d'avoir", False, True, False,
                                       ["application/pdf"])
    assert invoice.instructions.startswith(
        "La facture d'avoir émise par votre organisme sur papier à en-tête, correspondant à "
        "la pro forma.")
    assert invoice.may_upload(ORGANISATION_USER)
    invoice.check_content_type("application/pdf")
    with pytest.raises(InvalidInput) as refused:
        invoice.check_content_type("image/png")
    assert refused.value.code == "type_not_allowed"
    with pytest.raises(InvalidInput) as refused:
        invoice.check_fields(False, None, None, None)
    assert refused.value.details == {"missing": ["label"]}
    invoice.check_fields(False, "PRO-100", None, None)
    with pytest.raises(Forbidden):
        invoice.check_may_upload(actor(Role.beneficiary))


def test_the_categories_go_with_a_downgrade(url):
    command.downgrade(migrate.alembic_config("documents", url), "13a3d0c00001")
    assert seeded(url) == {}
    migrate.upgrade("documents", url)
    assert sorted(seeded(url)) == sorted(CODES)
