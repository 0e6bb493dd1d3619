"""Alert settings per person and kind (issue 16, seed 003): immediately, in the daily digest
or no email; security alerts stay immediate; the emails follow the setting, the
notifications stay."""
from __future__ import annotations

import pytest

from contracts.common import ALL_RIGHTS, Actor
from contracts.common.errors import Forbidden, InvalidInput
from contracts.notifications import AlertSettingsChange, NotificationQuery
from services.notifications import handlers
from tests.support.notifications import (ReceivedEvent, certified, document_rejected,
                                         notifications)

BENEFICIARY = Actor(user_id="ub", role="beneficiary", funder_id="f1", party_id="b1",
                    session_id="s1", email="michelle@example.org")
ORG_USER = Actor(user_id="u1", role="organisation_user", funder_id="f1", organisation_id="o1",
                 rights=list(ALL_RIGHTS),
                 session_id="s4", email="of@example.org")
EMPLOYER = Actor(user_id="ue", role="employer", funder_id="f1", party_id="e1",
                 session_id="s2", email="rh@example.org")
FUNDER_AGENT = Actor(user_id="ua", role="funder_agent", funder_id="f1", session_id="s3",
                     email="agent@example.org")
API_TOKEN = Actor(user_id="tok", role="organisation_user", funder_id="f1", organisation_id="o1")


def choose(service, actor, **choices):
    change = AlertSettingsChange(settings=[{"kind": kind, "frequency": frequency}
                                           for kind, frequency in choices.items()])
    return handlers.update_alert_settings(service.db, service.ports, actor, change)


def certify(service, event_id="ev-1"):
    with service.db.unit_of_work() as uow:
        handlers.notify_certified(uow, service.ports, ReceivedEvent(event_id, certified()))


def test_each_role_sets_its_own_kinds_with_their_defaults_and_security_is_locked():
    service = notifications()
    view = handlers.get_alert_settings(service.db, BENEFICIARY)
    assert [(s["kind"], s["frequency"], s["locked"]) for s in view] == [
        ("certified", "immediate", False), ("document_checked", "immediate", False),
        ("document_rejected", "immediate", False), ("security", "immediate", True)]
    assert view[0]["label"] == "Certificat de réalisation certifié"
    # What an organisation's dossiers bring by the dozen comes in the digest until chosen.
    assert [(s["kind"], s["frequency"]) for s in handlers.get_alert_settings(
        service.db, ORG_USER)] == [
        ("document_checked", "immediate"), ("document_rejected", "immediate"),
        ("month_to_certify", "digest"), ("hours_followup", "digest"), ("payments", "digest"),
        ("organisation", "digest"), ("security", "immediate")]
    # A funder's certifications, by the thousand at month-end, stay in the centre.
    assert {s["kind"]: s["frequency"] for s in handlers.get_alert_settings(
        service.db, FUNDER_AGENT)}["funder_followup"] == "none"


def test_a_choice_is_kept_per_person():
    service = notifications()
    view = choose(service, BENEFICIARY, certified="digest")
    assert {s["kind"]: s["frequency"] for s in view}["certified"] == "digest"
    assert {s["kind"]: s["frequency"] for s in handlers.get_alert_settings(
        service.db, BENEFICIARY)}["certified"] == "digest"
    assert {s["kind"]: s["frequency"] for s in handlers.get_alert_settings(
        service.db, EMPLOYER)}["certified"] == "immediate"


def test_security_alerts_cannot_be_turned_off():
    service = notifications()
    with pytest.raises(InvalidInput) as refused:
        choose(service, BENEFICIARY, security="none")
    assert refused.value.code == "alert_locked"
    assert choose(service, BENEFICIARY, security="immediate")[-1]["frequency"] == "immediate"


def test_an_unknown_kind_is_refused_and_a_token_has_no_settings():
    service = notifications()
    with pytest.raises(InvalidInput):
        choose(service, BENEFICIARY, payments="none")
    with pytest.raises(Forbidden):
        handlers.get_alert_settings(service.db, API_TOKEN)


def test_no_email_sends_nothing_but_the_notification_stays():
    service = notifications()
    choose(service, BENEFICIARY, certified="none")
    certify(service)
    assert [e.template for e in service.emails.all()] == ["certified_employer"]
    listed = handlers.list_notifications(service.db, BENEFICIARY, NotificationQuery())
    assert [n["kind"] for n in listed] == ["certified_beneficiary"]


def test_the_digest_choice_holds_the_email_back():
    service = notifications()
    choose(service, BENEFICIARY, certified="digest")
    certify(service)
    assert "certified_beneficiary" not in [e.template for e in service.emails.all()]


def test_the_document_owner_s_choice_governs_the_review_email():
    service = notifications()
    choose(service, ORG_USER, document_rejected="none")
    with service.db.unit_of_work() as uow:
        handlers.notify_document_rejected(uow, service.ports,
                                          ReceivedEvent("ev-2", document_rejected()))
    assert service.emails.all() == []
    assert len(handlers.list_notifications(service.db, ORG_USER, NotificationQuery())) == 1


def test_another_person_s_choice_does_not_change_mine():
    service = notifications()
    choose(service, EMPLOYER.model_copy(update={"party_id": "someone-else"}), certified="none")
    certify(service)
    assert sorted(e.template for e in service.emails.all()) == [
        "certified_beneficiary", "certified_employer"]
