"""Issue 16: funder staff read each email's delivery (sent, retrying, failed with the mail
server's answer) and send one again; their funder's emails only."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.common import Actor
from contracts.common.errors import Conflict, Forbidden, NotFound
from services.notifications import domain, handlers
from tests.support.notifications import ReceivedEvent, certified, notifications

LEASE = timedelta(minutes=2)
AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1")
OTHER_FUNDER = Actor(user_id="agent2", role="funder_admin", funder_id="f2")
ORGANISATION = Actor(user_id="u1", role="organisation_user", funder_id="f1",
                     organisation_id="o1")


def certified_emails():
    """A certified month: the beneficiary's and the employer's emails, queued."""
    service = notifications()
    with service.db.unit_of_work() as uow:
        handlers.notify_certified(uow, service.ports, ReceivedEvent("ev-1", certified()))
    return service


def by_recipient(listed: list[dict]) -> dict[str, dict]:
    return {email["to"]: email for email in listed}


def test_staff_read_sent_retrying_and_failed_with_the_server_s_answer():
    service = certified_emails()
    service.mailer.failures = 1
    service.deliver_all(LEASE)  # the first send fails, the second one goes
    listed = by_recipient(handlers.list_emails(service.db, AGENT))
    failed_first = [e for e in listed.values() if e["delivery"] == "retrying"]
    [retrying] = failed_first
    assert retrying["delivery_label"] == "nouvel essai prévu"
    assert retrying["last_error"] == (
        "ConnectionRefusedError: connection refused by smtp.example.org")
    assert retrying["next_attempt_at"] is not None and retrying["attempts"] == 1
    [sent] = [e for e in listed.values() if e["delivery"] == "sent"]
    assert (sent["delivery_label"], sent["last_error"], sent["next_attempt_at"]) == (
        "envoyé", None, None)
    service.mailer.failures = 100
    for _ in range(len(domain.RETRY_DELAYS)):
        service.clock.advance(hours=3)
        service.deliver_all(LEASE)
    failed = by_recipient(handlers.list_emails(service.db, AGENT))[retrying["to"]]
    assert (failed["delivery"], failed["delivery_label"], failed["status"]) == (
        "failed", "échec de l'envoi", "failed")
    assert failed["last_error"].startswith("ConnectionRefusedError")


def test_a_failed_email_is_sent_again_as_a_new_email():
    service = certified_emails()
    service.mailer.failures = 100
    for _ in range(len(domain.RETRY_DELAYS) + 1):
        service.deliver_all(LEASE)
        service.clock.advance(hours=3)
    assert set(service.statuses()) == {"failed"}
    original = by_recipient(handlers.list_emails(service.db, AGENT))["michelle@example.org"]
    wakes = len(service.wakes)
    copy = handlers.resend_email(service.db, service.ports, AGENT, original["id"])
    assert copy["id"] != original["id"]
    assert (copy["resent_from"], copy["delivery"], copy["attempts"], copy["to"]) == (
        original["id"], "pending", 0, "michelle@example.org")
    assert copy["subject"] == original["subject"]
    assert len(service.wakes) == wakes + 1  # the delivery loop is woken
    service.mailer.failures = 0
    service.deliver_all(LEASE)
    assert service.mailer.recipients() == ["michelle@example.org"]
    assert service.mailer.sent[0].id == copy["id"]  # its own Message-ID
    listed = {email["id"]: email for email in handlers.list_emails(service.db, AGENT)}
    assert (listed[copy["id"]]["delivery"], listed[original["id"]]["delivery"]) == (
        "sent", "failed")  # the original stays as it went


def test_a_sent_email_can_be_sent_again():
    service = certified_emails()
    service.deliver_all(LEASE)
    original = handlers.list_emails(service.db, AGENT)[0]
    copy = handlers.resend_email(service.db, service.ports, AGENT, original["id"])
    assert copy["resent_from"] == original["id"]


def test_an_email_on_its_way_is_not_sent_twice():
    service = certified_emails()
    pending = handlers.list_emails(service.db, AGENT)[0]
    with pytest.raises(Conflict) as refused:
        handlers.resend_email(service.db, service.ports, AGENT, pending["id"])
    assert refused.value.code == "email_on_its_way"


def test_an_erased_secret_is_not_sent_again():
    service = certified_emails()
    email = service.emails.all()[0]
    email.status, email.body_text = domain.SENT, domain.ERASED
    with pytest.raises(Conflict) as refused:
        handlers.resend_email(service.db, service.ports, AGENT, email.id)
    assert refused.value.code == "email_erased"


def test_only_the_funder_s_staff_resend_its_emails():
    service = certified_emails()
    service.deliver_all(LEASE)
    email_id = service.emails.all()[0].id
    with pytest.raises(NotFound):
        handlers.resend_email(service.db, service.ports, OTHER_FUNDER, email_id)
    with pytest.raises(NotFound):
        handlers.resend_email(service.db, service.ports, AGENT, "unknown")
    with pytest.raises(Forbidden):
        handlers.resend_email(service.db, service.ports, ORGANISATION, email_id)
    assert handlers.list_emails(service.db, OTHER_FUNDER) == []
    assert len(service.emails.all()) == 2  # nothing was queued


def test_the_ops_team_resends_any_funder_s_email_without_an_actor():
    service = certified_emails()
    service.deliver_all(LEASE)
    original = handlers.list_emails(service.db, AGENT)[0]
    copy = handlers.resend_email_as_ops(service.db, service.ports, original["id"])
    assert (copy["resent_from"], copy["delivery"], copy["to"]) == (
        original["id"], "pending", original["to"])
    with pytest.raises(NotFound) as unknown:
        handlers.resend_email_as_ops(service.db, service.ports, "no-such-email")
    assert unknown.value.code == "email_not_found"
