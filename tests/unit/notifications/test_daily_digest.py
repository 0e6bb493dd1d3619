"""The daily digest (issue 16): one email per person and day listing the notifications they
chose to receive so, whoever runs it and however many times."""
from __future__ import annotations

from datetime import date

from contracts.common import ALL_RIGHTS, Actor
from contracts.notifications import AlertSettingsChange, NotificationQuery
from servicekit import migrate
from services.notifications import handlers
from tests.support.digests import WriteGate, digest_emails, replica, run_concurrently, seed
from tests.support.notifications import (ReceivedEvent, certified, document_checked,
                                         notifications)

BENEFICIARY = Actor(user_id="ub", role="beneficiary", funder_id="f1", party_id="b1",
                    session_id="s1", email="michelle@example.org")
ORG_USER = Actor(user_id="u1", role="organisation_user", funder_id="f1", organisation_id="o1",
                 rights=list(ALL_RIGHTS),
                 session_id="s4", email="of@example.org")
DAY = date(2026, 10, 2)


def choose(service, actor, **choices):
    handlers.update_alert_settings(service.db, service.ports, actor, AlertSettingsChange(
        settings=[{"kind": k, "frequency": f} for k, f in choices.items()]))


def handle(service, handler, data, event_id):
    with service.db.unit_of_work() as uow:
        handler(uow, service.ports, ReceivedEvent(event_id, data))


def digests(service):
    return [e for e in service.emails.all() if e.template == "daily_digest"]


def test_the_digest_lists_the_waiting_notifications_in_french_with_their_links():
    service = notifications()
    choose(service, BENEFICIARY, certified="digest")
    service.clock.advance(minutes=5)
    handle(service, handlers.notify_certified, certified(), "ev-1")
    service.clock.advance(hours=3)
    assert handlers.send_daily_digests(service.db, service.ports, DAY) == {
        "day": "2026-10-02", "queued": 1}
    [digest] = digests(service)
    assert digest.recipient == "michelle@example.org"
    assert digest.subject == "Votre récapitulatif Jalon du 02/10/2026 : 1 notification"
    assert "- Certificat de réalisation de septembre 2026 – dossier 20X000703" in digest.body_text
    assert "/dossiers/d1/certificates/2026-09" in digest.body_text
    assert "/me/alert-settings" in digest.body_text


def test_a_second_run_the_same_day_sends_nothing_more():
    service = notifications()
    choose(service, BENEFICIARY, certified="digest")
    service.clock.advance(minutes=5)
    handle(service, handlers.notify_certified, certified(), "ev-1")
    service.clock.advance(hours=3)
    handlers.send_daily_digests(service.db, service.ports, DAY)
    assert handlers.send_daily_digests(service.db, service.ports, DAY)["queued"] == 0
    assert len(digests(service)) == 1


def test_nothing_waiting_or_nobody_chose_the_digest_sends_no_digest():
    service = notifications()
    handle(service, handlers.notify_certified, certified(), "ev-1")
    choose(service, ORG_USER, document_checked="digest")
    service.clock.advance(hours=1)
    assert handlers.send_daily_digests(service.db, service.ports, DAY)["queued"] == 0
    assert digests(service) == []


def test_read_notifications_and_kinds_sent_at_once_are_left_out():
    service = notifications()
    choose(service, ORG_USER, document_checked="digest")
    service.clock.advance(minutes=5)
    handle(service, handlers.notify_document_checked, document_checked(), "ev-1")
    service.clock.advance(minutes=1)
    handle(service, handlers.notify_document_checked,
           document_checked(document_id="doc-2", label="Attestation"), "ev-2")
    first = handlers.list_notifications(service.db, ORG_USER,
                                        NotificationQuery())[-1]
    handlers.mark_notification_read(service.db, service.ports, ORG_USER, first["id"])
    service.clock.advance(hours=1)
    handlers.send_daily_digests(service.db, service.ports, DAY)
    [digest] = digests(service)
    assert "Attestation" in digest.body_text and "Facture n° 42" not in digest.body_text


def test_two_runs_at_once_on_one_process_send_each_digest_once(tmp_path):
    url = f"sqlite:///{tmp_path}/notifications.db"
    migrate.upgrade("notifications", url)
    gate = WriteGate()  # one process: its writers share the SQLite write gate
    first, second = replica(url, gate), replica(url, gate)
    seed(first, persons=3)
    results = run_concurrently(first, second)
    assert sorted(result["queued"] for result in results) in ([0, 3], [1, 2])
    assert sum(result["queued"] for result in results) == 3
    assert [recipient for recipient, _ in digest_emails(first)] == [
        "personne0@example.org", "personne1@example.org", "personne2@example.org"]
