"""models.Notifications on SQLite, migrated from nothing: the queries the in-memory fake
stands for (audiences, per-person read marks, newest first)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from servicekit import migrate
from services.notifications import domain
from services.notifications.models import AlertSettings, Notifications, start_mappers

T0 = datetime(2026, 10, 2, 14, 0, tzinfo=timezone.utc)
ORG, OTHER_ORG = [(domain.ORGANISATION, "o1")], [(domain.ORGANISATION, "o2")]


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path}/notifications.db"
    migrate.upgrade("notifications", url)
    start_mappers()
    with Session(create_engine(url)) as session:
        yield session


def notification(number: int, audience=ORG[0]) -> domain.Notification:
    notice = domain.Notice("document_checked", *audience, f"Document {number}", "Contrôlé.",
                           "document", f"doc-{number}", f"/documents/doc-{number}")
    return domain.new_notification(f"n{number}", notice, "f1", T0 + timedelta(minutes=number),
                                   event_id=f"ev-{number}")


def test_newest_first_with_read_marks_per_person(session):
    repository = Notifications(session)
    for number in (1, 2, 3):
        repository.add(notification(number))
    repository.add(notification(4, OTHER_ORG[0]))
    session.commit()
    repository.mark_read(domain.NotificationRead("n2", "u1", T0 + timedelta(hours=1)))
    session.commit()
    rows = repository.of_person(ORG, "u1", False, 10, 0)
    assert [(n.id, read_at) for n, read_at in rows] == [
        ("n3", None), ("n2", T0 + timedelta(hours=1)), ("n1", None)]
    assert [n.id for n, _ in repository.of_person(ORG, "u1", True, 10, 0)] == ["n3", "n1"]
    assert [n.id for n, _ in repository.of_person(ORG, "u1", False, 1, 1)] == ["n2"]
    assert repository.unread_count(ORG, "u1") == 2
    assert repository.unread_count(ORG, "u2") == 3
    assert sorted(repository.unread_ids(ORG, "u1")) == ["n1", "n3"]
    assert repository.seen_one(ORG, "n4") is None
    assert repository.seen_one(OTHER_ORG, "n4").title == "Document 4"
    assert repository.read_mark("n2", "u1").read_at == T0 + timedelta(hours=1)
    assert repository.read_mark("n2", "u2") is None


def test_the_persons_an_audience_may_include_and_those_a_digest_may_reach(session):
    repository = AlertSettings(session)

    def person(user_id, email="p@example.org", **fields):
        repository.save_person(domain.AlertPerson(user_id=user_id, funder_id="f1",
                                                  role="organisation_user", email=email,
                                                  updated_at=T0, **fields))
    person("u1", organisation_id="o1", rights=["payments"])
    person("u2", organisation_id="o1", email=None)  # deactivated
    person("u3", organisation_id="o2")
    repository.save_person(domain.AlertPerson(user_id="agent", funder_id="f1",
                                              role="funder_agent", email="a@f.example",
                                              updated_at=T0))
    person("ub", party_id="b1")
    session.commit()
    assert [p.user_id for p in repository.persons_of("organisation", "o1:payments")] == ["u1"]
    assert [p.user_id for p in repository.persons_of("funder", "f1")] == ["agent"]
    assert [p.user_id for p in repository.persons_of("party", "b1")] == ["ub"]
    assert [p.user_id for p in repository.persons_of("user", "u3")] == ["u3"]
    assert [p.user_id for p in repository.digest_persons()] == ["agent", "u1", "u3", "ub"]
    assert repository.person("u1").rights == ["payments"]


def test_the_settings_of_several_persons_in_one_query(session):
    repository = AlertSettings(session)
    for user_id, party_id in (("ub", "b1"), ("ue", "e1"), ("u1", None)):
        repository.save_person(domain.AlertPerson(user_id=user_id, funder_id="f1",
                                                  role="beneficiary", email="p@example.org",
                                                  updated_at=T0, party_id=party_id))
    repository.save(domain.AlertSetting("ub", "certified", domain.DIGEST))
    repository.save(domain.AlertSetting("ue", "month_to_certify", domain.IMMEDIATE))
    repository.save(domain.AlertSetting("u1", "certified", domain.NO_EMAIL))
    session.commit()
    statements = []
    event.listen(session.bind, "after_cursor_execute",
                 lambda *args: statements.append(args[2].split(None, 1)[0]))
    asked = [("party", "b1", "certified"), ("party", "e1", "certified"),
             ("user", "u1", "certified"), ("user", "ub", "month_to_certify")]
    assert repository.frequencies(asked) == {("party", "b1", "certified"): domain.DIGEST,
                                             ("user", "u1", "certified"): domain.NO_EMAIL}
    assert statements == ["SELECT"]
    assert repository.frequencies([]) == {} and statements == ["SELECT"]
