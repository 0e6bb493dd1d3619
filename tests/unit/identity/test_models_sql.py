"""identity's repositories on SQLite, migrated from nothing: what the in-memory fakes stand for
in the audit trail (names resolved at write time, the chain head) and the organisation profile
read in one query, with the statements each sends (issue 19: round trips per month)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from servicekit import migrate
from services.identity import domain, models
from services.identity.domain import audit_trail
from tests.support.sqlite_store import statements_sent

T0 = datetime(2026, 10, 2, 14, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path}/identity.db"
    migrate.upgrade("identity", url)
    models.start_mappers()
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.add(domain.Funder(id="f1", code="f1", name="Financeur"))
        session.flush()
        session.add(domain.Organisation("o1", "f1", "Organisme 1", "73282932000074",
                                        "o1@example.org", "Jeanne MARTIN", None, T0))
        session.flush()
        session.add(domain.UserAccount("u1", "f1", "organisation_user", "marie", "Marie Durand",
                                       "marie@example.org", "x", T0, organisation_id="o1"))
        session.add(domain.UserAccount("u2", "f1", "organisation_user", "paul", "Paul Martin",
                                       "paul@example.org", "x", T0, organisation_id="o1"))
    return engine


@pytest.fixture
def statements(engine):
    """The statements sent on `engine`, by first word."""
    return statements_sent(engine)


def entry(**fields) -> domain.AuditEvent:
    values = dict(id=domain.new_id(), at=T0, funder_id="f1", organisation_id="o1",
                  user_id="u1", action="hours_entered")
    return domain.AuditEvent(**{**values, **fields})


def add(engine, *entries) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        for one in entries:
            models.Audit(session).add(one)


def test_an_event_naming_its_signer_reads_only_the_account_it_lacks(engine, statements):
    certified = entry(action="certified", person_name="Marie D.", organisation_name="Org 1",
                      object="Dossier 2026-0001, mois 2026-02", target="c1")
    add(engine, certified)
    # the account (its role), the chain head (upsert), its new value, the entry
    assert statements == ["SELECT", "INSERT", "UPDATE", "INSERT"]
    assert (certified.person_name, certified.person_role, certified.organisation_name) == (
        "Marie D.", "organisation_user", "Org 1")


def test_the_user_and_the_organisation_come_in_one_query_and_missing_ones_stay_unnamed(
        engine, statements):
    acted = entry(action="rights_changed", target="u2")
    unknown = entry(user_id="nobody", organisation_id="o1", target="gone")
    add(engine, acted, unknown)
    assert statements.count("SELECT") == 2  # one per entry: users and organisation together
    assert (acted.person_name, acted.organisation_name, acted.object) == (
        "Marie Durand", "Organisme 1", "Utilisateur Paul Martin (paul)")
    assert (unknown.person_name, unknown.organisation_name, unknown.object) == (
        None, "Organisme 1", None)


def test_a_record_of_the_same_transaction_names_the_entry_without_a_query(engine, statements):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        loaded = session.get(domain.Organisation, "o1"), session.get(domain.UserAccount, "u1")
        session.add(domain.UserAccount("u3", "f1", "funder_agent", "lea", "Léa Petit",
                                       "lea@example.org", "x", T0))  # pending, not flushed
        statements.clear()
        created = entry(user_id="u1", action="user_created", target="u3")
        models.Audit(session).add(created)
        assert "SELECT" not in statements
    assert created.organisation_name == loaded[0].name
    assert created.object == "Utilisateur Léa Petit (lea)"


def test_only_what_the_transaction_lacks_is_read(engine, statements):
    with Session(engine, expire_on_commit=False) as session, session.begin():
        marie = session.get(domain.UserAccount, "u1")
        statements.clear()
        acted = entry()
        models.Audit(session).add(acted)
        assert statements.count("SELECT") == 1  # the organisation alone
    assert (acted.person_name, acted.person_role, acted.organisation_name) == (
        marie.name, marie.role, "Organisme 1")


def test_the_chain_is_sealed_in_order_from_genesis_and_verifies(engine):
    first, second = entry(), entry(action="certified")
    add(engine, first)
    add(engine, second)
    other_chain = entry(funder_id=None, organisation_id=None, user_id=None, action="login_failed")
    add(engine, other_chain)
    with Session(engine) as session:
        audit = models.Audit(session)
        chain, head = audit.chain("f1"), audit.head("f1")
        assert [e.position for e in chain] == [1, 2]
        assert chain[0].previous_hash == audit_trail.GENESIS
        assert chain[1].previous_hash == chain[0].hash
        assert audit_trail.verify(chain, head) is None
        assert head == audit_trail.ChainHead(2, chain[1].hash)
        assert audit.head(None).position == 1


def test_the_profile_reads_the_organisation_and_its_documents_in_one_query(engine, statements):
    with Session(engine) as session, session.begin():
        for category, status in (("logo", "checked"), ("stamp", "pending")):
            session.add(domain.OrganisationDocument("o1", category, f"d-{category}", status, T0))
    statements.clear()
    with Session(engine) as session:
        organisation, documents = models.Organisations(session).with_documents("o1")
        assert statements == ["SELECT"]
        assert organisation.name == "Organisme 1"
        assert {category: d.status for category, d in documents.items()} == {
            "logo": "checked", "stamp": "pending"}
        assert documents == models.OrganisationDocuments(session).of_organisation("o1")
        alone = domain.Organisation("o2", "f1", "Organisme 2", "73282932000082",
                                    "o2@example.org", None, None, T0)
        session.add(alone)
        session.flush()
        assert models.Organisations(session).with_documents("o2") == (alone, {})
        assert models.Organisations(session).with_documents("nope") == (None, {})
