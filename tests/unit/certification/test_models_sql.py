"""certification's month-end use cases on SQLite, migrated from nothing: enter the hours, ask
for the code, certify with it (method 2), with the statements each sends (issue 19: round
trips per certified month). A month's certificate, its code and its funder's settings come
in one query, loaded as the session's other queries load them (changed, version-checked)."""
from __future__ import annotations

import contextlib
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from contracts.certification import Certify, CodeRequest, HoursEntry
from contracts.common import DossierMonth, Role
from contracts.common.errors import Conflict, InvalidInput
from servicekit import idempotency, migrate
from servicekit.db import DatabaseAccess
from services.certification import handlers, models
from services.certification.domain import Certificate, FunderSettings, Hours
from services.certification.domain import Session as SessionDates
from tests.support.certification import FUNDER, FakeIdentity, a_dossier, an_actor, ports
from tests.support.fakes import FakeClock
from tests.support.identity import CERTIFIER
from tests.support.sqlite_store import statements_sent

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)
MONTH = "2026-03"
ORG_USER = an_actor(Role.organisation_user, ip="192.0.2.10", email="claire@lac.example")
HOURS = HoursEntry(training_hours="147", internship_hours="0", absence_hours="3.5")
ASK = CodeRequest(attest=True, accept_ip=True)
METHOD_2 = {"attest": True, "method": 2, "accept_ip": True}


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path}/certification.db"
    migrate.upgrade("certification", url)
    models.start_mappers()
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        settings = FunderSettings(FUNDER)
        settings.change({"entry_mode": "month", "code_length": 6, "code_lifetime_minutes": 15,
                         "beneficiary_validation": False, "employer_validation": False,
                         "notify_funder": True,
                         "funder_notification_email": "suivi@tpro.example"}, "admin", NOW)
        session.add(settings)
    return engine


@pytest.fixture
def db(engine) -> DatabaseAccess:
    """The service's units of work on `engine` (no Idempotency-Key: the handlers' own SQL)."""
    provider = SimpleNamespace(
        engine=engine, reading_engine=engine, write_gate=contextlib.nullcontext,
        container=SimpleNamespace(service_name="certification"),
        outbox=models.metadata.tables["outbox"],
        processed=models.metadata.tables["processed_events"],
        replies=models.metadata.tables[idempotency.TABLE], repositories=models.repositories,
        on_commit_with_events=None)
    return DatabaseAccess(provider, None)


@pytest.fixture
def statements(engine):
    """The statements sent on `engine`, by first word."""
    return statements_sent(engine)


@pytest.fixture
def dossier():
    return a_dossier()


@pytest.fixture
def world(dossier):
    return ports(dossier, identity=FakeIdentity(**CERTIFIER, certifier_since=NOW),
                 clock=FakeClock(NOW))


def ref(dossier: dict) -> DossierMonth:
    return DossierMonth(dossier_id=dossier["id"], month=MONTH)


def sent_by(statements: list[str], call) -> tuple[list[str], dict]:
    statements.clear()
    result = call()
    sent = list(statements)
    statements.clear()
    return sent, result


def stored(engine, dossier: dict):
    with Session(engine) as session:
        return session.execute(select(models.certificates.c.status, models.certificates.c.version)
                               .where(models.certificates.c.dossier_id == dossier["id"])).one()


def code_row(engine, dossier: dict):
    with Session(engine) as session:
        return session.execute(select(models.certification_codes)
                               .where(models.certification_codes.c.dossier_id == dossier["id"])
                               ).one()


def events(engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(models.metadata.tables["outbox"].c.event_name)))


def test_a_certified_month_costs_one_read_per_use_case(engine, db, statements, dossier, world):
    entered, reply = sent_by(statements, lambda: handlers.enter_hours(
        db, world, ORG_USER, ref(dossier), HOURS))
    # the certificate and the settings (one query), the certificate, its event
    assert entered == ["SELECT", "INSERT", "INSERT"]
    assert (reply["status"], reply["entry_mode"]) == ("hours_entered", "month")

    asked, sent = sent_by(statements, lambda: handlers.request_code(
        db, world, ORG_USER, ref(dossier), ASK))
    # the certificate, code and settings (one query), the hour's requests, the code, the request
    assert asked == ["SELECT", "SELECT", "INSERT", "INSERT"]
    assert sent["code_length"] == 6  # the saved settings, not the defaults

    code = world.notifications.sent[-1]["context"]["code"]
    certified, done = sent_by(statements, lambda: handlers.certify(
        db, world, ORG_USER, ref(dossier), Certify(**METHOD_2, code=code)))
    # one query, the certificate (version-checked), the code spent, the event
    assert certified == ["SELECT", "UPDATE", "UPDATE", "INSERT"]
    assert (done["status"], done["method"], done["version"]) == ("certified", 2, 2)
    assert stored(engine, dossier) == ("certified", 2)
    assert code_row(engine, dossier).used_at is not None
    assert events(engine) == ["hours_entered", "certified"]


def test_changed_hours_and_a_resent_code_update_their_rows(engine, db, statements, dossier,
                                                           world):
    handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS)
    changed, _ = sent_by(statements, lambda: handlers.enter_hours(
        db, world, ORG_USER, ref(dossier), HOURS.model_copy(update={"training_hours": "140"})))
    assert changed == ["SELECT", "UPDATE", "INSERT"]
    handlers.request_code(db, world, ORG_USER, ref(dossier), ASK)
    first = code_row(engine, dossier)
    resent, _ = sent_by(statements, lambda: handlers.request_code(
        db, world, ORG_USER, ref(dossier), ASK))
    assert sorted(resent) == ["INSERT", "SELECT", "SELECT", "UPDATE"]
    assert code_row(engine, dossier).code_hash != first.code_hash  # the first code is dead


def test_a_wrong_code_is_counted_and_committed_before_it_is_refused(engine, db, statements,
                                                                   dossier, world):
    handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS)
    handlers.request_code(db, world, ORG_USER, ref(dossier), ASK)
    code = world.notifications.sent[-1]["context"]["code"]
    wrong = "000000" if code != "000000" else "111111"
    statements.clear()
    with pytest.raises(InvalidInput) as exc:
        handlers.certify(db, world, ORG_USER, ref(dossier), Certify(**METHOD_2, code=wrong))
    assert exc.value.details == {"attempts_left": 2}
    assert statements == ["SELECT", "UPDATE"]  # one query, the attempt
    assert (code_row(engine, dossier).attempts, stored(engine, dossier)) == (
        1, ("hours_entered", 1))
    handlers.certify(db, world, ORG_USER, ref(dossier), Certify(**METHOD_2, code=code))
    with pytest.raises(Conflict) as again:  # spent: a second certify is refused
        handlers.certify(db, world, ORG_USER, ref(dossier), Certify(**METHOD_2, code=code))
    assert again.value.code in ("code_spent", "certificate_already_certified")
    assert events(engine) == ["hours_entered", "certified"]


def test_a_month_read_in_one_query_says_what_is_not_stored(engine, statements, dossier):
    with Session(engine) as session:
        certificates = models.Certificates(session)
        certificate, settings = certificates.with_settings(dossier["id"], MONTH, "f-other")
        assert (certificate, settings.funder_id, settings.code_length) == (None, "f-other", 4)
        certificate, code, settings = certificates.with_code_and_settings(
            dossier["id"], MONTH, FUNDER)
        assert (certificate, code, settings.code_length) == (None, None, 6)
    assert statements == ["SELECT", "SELECT"]


def test_of_two_certifications_read_at_once_the_second_is_stale(engine, dossier):
    with Session(engine) as session, session.begin():
        entered = Certificate.open(dossier["id"], MONTH, FUNDER, "o-lac", NOW)
        entered.enter_hours(Hours.of("147", "0", "3.5"),
                            SessionDates(date(2026, 1, 12), date(2026, 6, 30)), NOW)
        session.add(entered)
    first, second = Session(engine), Session(engine)
    try:
        mine, _, _ = models.Certificates(first).with_code_and_settings(
            dossier["id"], MONTH, FUNDER)
        theirs, _, _ = models.Certificates(second).with_code_and_settings(
            dossier["id"], MONTH, FUNDER)
        mine.certify("u1", None, NOW)
        theirs.certify("u2", None, NOW)
        first.commit()
        with pytest.raises(Conflict) as exc:
            with handlers.concurrent_change_is_conflict(handlers.CONCURRENT_CHANGE):
                second.commit()
        assert exc.value.code == "concurrent_change"
    finally:
        second.close()
        first.close()
    assert stored(engine, dossier) == ("certified", 2)
