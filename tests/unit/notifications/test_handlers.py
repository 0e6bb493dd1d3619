"""notifications' use cases on the in-memory store: which emails each event or call queues,
in French; who reads the log; and delivery, with no email lost and none repeated."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.common import Actor
from contracts.common.errors import Forbidden, InvalidInput, ServiceUnavailable
from contracts.notifications import DirectEmail
from services.notifications import domain, handlers
from tests.support.notifications import (ReceivedEvent, certified, contested, document_checked,
                                         document_rejected, notifications, on_event)

LEASE = timedelta(minutes=2)
AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1")


def credentials() -> DirectEmail:
    return DirectEmail(to="jeanne@example.org", template="account_credentials",
                       context={"name": "Jeanne", "identifier": "jeanne",
                                "password": "Provisoire-123"})


def after_certified(data, event_id: str = "ev-1"):
    """The service's state once `certified` (with `data`) was handled."""
    service = notifications()
    with service.db.unit_of_work() as uow:
        handlers.notify_certified(uow, service.ports, ReceivedEvent(event_id, data))
    return service


def by_template(service) -> dict[str, domain.Email]:
    return {email.template: email for email in service.emails.all()}


# ---- emails an event causes ---------------------------------------------------------------

def test_a_certified_month_emails_the_beneficiary_and_the_employer():
    service = after_certified(certified())
    assert [(e.recipient, e.template) for e in service.emails.all()] == [
        ("michelle@example.org", "certified_beneficiary"),
        ("rh@acme.example", "certified_employer")]
    for email in service.emails.all():
        assert (email.status, email.event_id, email.funder_id) == (domain.PENDING, "ev-1", "f1")
        assert email.month == "2026-09"  # counted by month in the ops' month-end view
        assert email.subject == "Certificat de réalisation de septembre 2026 – dossier 20X000703"
        assert "Formations Exemple a certifié le 02/10/2026 à 16:05" in email.body_text
        assert "heures de présence en formation : 147,00\u00a0h" in email.body_text
        assert "Michelle DUBOIS" in email.body_text  # first name first
    assert len(service.wakes) == 1  # the delivery loop is told once the transaction is done


def test_without_employer_only_the_beneficiary_is_emailed():
    service = after_certified(certified(with_employer=False))
    assert [e.recipient for e in service.emails.all()] == ["michelle@example.org"]


def test_the_funder_is_emailed_only_when_its_settings_give_an_address():
    assert "certified_funder" not in by_template(after_certified(certified()))
    service = after_certified(certified(funder_notification_email="suivi@tp.example",
                                        validations=["beneficiary", "employer"]))
    funder = by_template(service)["certified_funder"]
    assert funder.recipient == "suivi@tp.example" and len(service.emails.all()) == 3
    assert funder.subject == ("Certificat de réalisation certifié – dossier 20X000703 – "
                              "septembre 2026")
    assert "attendent la validation du bénéficiaire puis de l'employeur" in funder.body_text
    plain = by_template(after_certified(certified(funder_notification_email="suivi@tp.example")))
    assert "validation" not in plain["certified_funder"].body_text


@pytest.mark.parametrize("validations, beneficiary_asked, employer_asked", [
    ([], False, False), (["beneficiary"], True, False),
    (["beneficiary", "employer"], True, True), (["employer"], False, True)])
def test_parties_are_invited_to_validate_when_the_funder_asks(validations, beneficiary_asked,
                                                             employer_asked):
    emails = by_template(after_certified(certified(validations=validations)))
    beneficiary = emails["certified_beneficiary"].body_text
    employer = emails["certified_employer"].body_text
    assert ("valider ces heures depuis votre espace" in beneficiary) is beneficiary_asked
    assert ("valider ces heures depuis votre espace" in employer) is employer_asked
    assert ("après la validation de votre salarié(e)" in employer) is (
        beneficiary_asked and employer_asked)


def test_a_redelivered_event_sends_nothing_new():
    service, event = notifications(), ReceivedEvent("ev-1", certified())
    for _ in range(2):
        on_event(service.db, event,
                 lambda uow: handlers.notify_certified(uow, service.ports, event))
        service.deliver_all(LEASE)
    assert sorted(service.mailer.recipients()) == ["michelle@example.org", "rh@acme.example"]
    assert len(service.emails.all()) == 2


def contest(service, data) -> None:
    with service.db.unit_of_work() as uow:
        handlers.notify_hours_contested(uow, service.ports, ReceivedEvent("ev-2", data))


def test_a_contest_emails_the_organisation_and_the_funder_per_its_settings():
    cases = [((), contested()),
             (("suivi@tp.example",), contested(funder_notification_email="suivi@tp.example")),
             ((), contested(funder_notification_email="contact@of.example"))]  # emailed once
    for funder, data in cases:
        service = notifications()
        contest(service, data)
        assert [(e.recipient, e.template) for e in service.emails.all()] == [
            (address, "hours_contested") for address in ("contact@of.example", *funder)]


def test_a_contest_with_no_address_emails_nobody():
    service = notifications()
    contest(service, contested(organisation_email=None))
    assert (service.emails.all(), service.wakes) == ([], [])


def test_the_contest_email_says_who_and_why():
    service = notifications()
    contest(service, contested(party="employer", party_name="ACME"))
    [email] = service.emails.all()
    assert email.subject == "Heures contestées – dossier 20X000703 – septembre 2026"
    assert "contestées le 02/10/2026 à 16:05 par l'employeur (ACME)" in email.body_text
    assert "Motif : J'étais absente le 12." in email.body_text


def test_the_owner_of_a_checked_document_is_emailed_with_the_french_date():
    service = notifications()
    with service.db.unit_of_work() as uow:
        handlers.notify_document_checked(uow, service.ports, ReceivedEvent("ev-3",
                                                                            document_checked()))
    [email] = service.emails.all()
    assert (email.recipient, email.template) == ("of@example.org", "document_checked")
    assert email.subject == "Document contrôlé : Facture n° 42"
    assert "Votre document « Facture n° 42 » a été contrôlé le 01/04/2026" in email.body_text
    assert "Dossier : 20X000703" in email.body_text


def test_the_owner_of_a_rejected_document_is_told_why():
    service = notifications()
    with service.db.unit_of_work() as uow:
        handlers.notify_document_rejected(uow, service.ports, ReceivedEvent("ev-4",
                                                                             document_rejected()))
    [email] = service.emails.all()
    assert (email.recipient, email.template) == ("of@example.org", "document_rejected")
    assert "Votre document « Facture n° 42 » n'est pas conforme : il manque le verso" in \
        email.body_text


def test_an_owner_without_email_gets_none():
    service = notifications()
    checked, rejected = document_checked(owner_email=None), document_rejected(owner_email=None)
    with service.db.unit_of_work() as uow:
        handlers.notify_document_checked(uow, service.ports, ReceivedEvent("ev-5", checked))
        handlers.notify_document_rejected(uow, service.ports, ReceivedEvent("ev-6", rejected))
    assert (service.emails.all(), service.wakes) == ([], [])


# ---- calls -------------------------------------------------------------------------------

def test_a_direct_email_is_queued_without_a_funder():
    service = notifications()
    reply = handlers.send_direct_email(service.db, service.ports, credentials())
    [email] = service.emails.all()
    assert reply == {"id": email.id}
    assert (email.recipient, email.funder_id, email.status) == (
        "jeanne@example.org", None, domain.PENDING)
    assert "Mot de passe provisoire : Provisoire-123" in email.body_text
    assert len(service.wakes) == 1


def test_a_direct_email_refuses_templates_that_follow_events():
    service = notifications()
    with pytest.raises(InvalidInput) as refused:
        handlers.send_direct_email(service.db, service.ports,
                                   DirectEmail(to="a@example.org", template="certified_employer"))
    assert refused.value.code == "unknown_template"
    assert (service.emails.all(), service.wakes) == ([], [])


def test_funder_staff_read_the_emails_of_their_funder_and_of_one_event():
    service = after_certified(certified(), event_id="ev-1")
    with service.db.unit_of_work() as uow:
        handlers.notify_certified(uow, service.ports, ReceivedEvent("ev-2", certified()))
        handlers.notify_certified(uow, service.ports,
                                  ReceivedEvent("ev-3", certified(funder_id="f2")))
    handlers.send_direct_email(service.db, service.ports, credentials())
    listed = handlers.list_emails(service.db, AGENT, event_id="ev-1")
    assert [(e["to"], e["template"], e["status"]) for e in listed] == [
        ("michelle@example.org", "certified_beneficiary", "pending"),
        ("rh@acme.example", "certified_employer", "pending")]
    assert len(handlers.list_emails(service.db, AGENT)) == 4  # not f2's, not the direct one


def test_the_email_log_is_for_funder_staff():
    service = after_certified(certified())
    organisation_user = Actor(user_id="u", role="organisation_user", funder_id="f1",
                              organisation_id="o1")
    with pytest.raises(Forbidden):
        handlers.list_emails(service.db, organisation_user)


# ---- delivery ----------------------------------------------------------------------------

def test_an_email_claimed_is_sent_once():
    service = notifications()
    handlers.send_direct_email(service.db, service.ports, credentials())
    assert handlers.deliver_next(service.db, service.ports, LEASE) == 1
    assert handlers.deliver_next(service.db, service.ports, LEASE) == 0
    [sent] = service.mailer.sent
    [email] = service.emails.all()
    assert (sent.id, sent.recipient) == (email.id, "jeanne@example.org")
    assert "Provisoire-123" in sent.body_text
    assert (email.status, email.attempts, email.sent_at) == (domain.SENT, 1, service.clock())
    assert email.body_text == domain.ERASED  # the secret does not outlive its delivery


def test_a_failed_send_is_retried_later():
    service = after_certified(certified(with_employer=False))
    service.mailer.failures = 1
    assert service.deliver_all(LEASE) == 1
    [email] = service.emails.all()
    assert (service.mailer.sent, email.status, email.attempts) == ([], domain.PENDING, 1)
    assert email.last_error.startswith("ConnectionRefusedError")
    service.clock.advance(seconds=59)
    assert service.deliver_all(LEASE) == 0
    service.clock.advance(seconds=1)
    assert service.deliver_all(LEASE) == 1
    assert service.mailer.recipients() == ["michelle@example.org"]
    assert (email.status, email.attempts) == (domain.SENT, 2)


def test_sends_that_keep_failing_end_failed():
    service = after_certified(certified(with_employer=False))
    service.mailer.failures = 99
    for delay in (timedelta(0), *domain.RETRY_DELAYS):
        service.clock.now += delay
        assert service.deliver_all(LEASE) == 1
    assert service.statuses() == [domain.FAILED]
    service.clock.advance(days=1)
    assert (service.deliver_all(LEASE), service.mailer.sent) == (0, [])


class Crash(BaseException):
    """The process dies: no line of the delivery runs after it."""


def crash():
    raise Crash


def test_a_sender_dead_mid_send_leaves_the_email_to_the_next_once_its_lease_passed():
    service = after_certified(certified(with_employer=False))
    service.mailer.during_send = crash
    with pytest.raises(Crash):
        handlers.deliver_next(service.db, service.ports, LEASE)
    service.mailer.during_send = None
    service.clock.advance(seconds=119)
    assert service.deliver_all(LEASE) == 0  # its claim still holds
    service.clock.advance(seconds=1)
    assert service.deliver_all(LEASE) == 1
    [email] = service.emails.all()
    assert (email.status, email.attempts) == (domain.SENT, 2)  # the lost attempt counts
    assert service.mailer.recipients() == ["michelle@example.org"]


def test_the_record_waits_for_a_database_away_instead_of_sending_twice():
    service = after_certified(certified(with_employer=False))
    service.mailer.during_send = lambda: service.db.away_for(3)
    claimed_at = service.clock()
    assert service.deliver_all(LEASE) == 1
    # Three records failed, each retried later (0.5 s, 1 s, 2 s), well within the claim.
    assert service.clock() == claimed_at + timedelta(seconds=3.5)
    assert service.statuses() == [domain.SENT]
    assert len(service.mailer.sent) == 1


def test_a_database_away_longer_than_the_claim_leaves_the_email_to_its_next_sender():
    service = after_certified(certified(with_employer=False))
    service.mailer.during_send = lambda: service.db.away_for(1000)
    with pytest.raises(ServiceUnavailable):
        handlers.deliver_next(service.db, service.ports, LEASE)
    [email] = service.emails.all()
    assert email.status == domain.SENDING and service.clock() < email.claimed_until
    service.db.away_for(0)
    service.mailer.during_send = None
    service.clock.now = email.claimed_until
    assert service.deliver_all(LEASE) == 1
    assert (email.status, len(service.mailer.sent)) == (domain.SENT, 2)  # the one repeat


def test_a_sender_whose_claim_was_taken_over_leaves_the_outcome_to_the_new_sender():
    service = after_certified(certified(with_employer=False))

    def lease_passes_and_another_sender_takes_over():
        service.mailer.during_send = None
        service.clock.advance(minutes=2)
        assert handlers.deliver_next(service.db, service.ports, LEASE) == 1

    service.mailer.during_send = lease_passes_and_another_sender_takes_over
    assert handlers.deliver_next(service.db, service.ports, LEASE) == 1
    [email] = service.emails.all()
    assert (email.status, email.attempts, email.last_error) == (domain.SENT, 2, None)
    assert [sent.id for sent in service.mailer.sent] == [email.id, email.id]
