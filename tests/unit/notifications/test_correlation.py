"""An email keeps the correlation id of the request that queued it, and the delivery loop (a
green thread of its own, outside any request) writes its lines with that id."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import structlog

from contracts.common import Actor
from contracts.notifications import DirectEmail
from services.notifications import handlers
from services.notifications.domain import Email
from tests.support.notifications import ReceivedEvent, document_rejected, notifications

LEASE = timedelta(minutes=2)
AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1")


class Recorder:
    """handlers' logger: each line with the context it would be written with."""

    def __init__(self):
        self.lines: list[dict] = []

    def _write(self, event: str, **fields) -> None:
        self.lines.append({**structlog.contextvars.get_contextvars(), **fields, "event": event})

    info = warning = _write


@pytest.fixture
def lines(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(handlers, "log", recorder)
    return recorder.lines


def with_request(service, correlation_id: str | None) -> handlers.Ports:
    """The ports a worker of that request gets (adapters.EmailDelivery.get_dependency)."""
    return dataclasses.replace(service.ports, correlation_id=correlation_id)


def rejection_queued(service, correlation_id: str | None) -> Email:
    with service.db.unit_of_work() as uow:
        handlers.notify_document_rejected(uow, with_request(service, correlation_id),
                                          ReceivedEvent("ev-1", document_rejected()))
    [email] = [email for email in service.emails.all() if email.event_id == "ev-1"]
    return email


def test_a_rejection_email_is_sent_under_the_id_of_the_request_that_rejected(lines):
    service = notifications()
    email = rejection_queued(service, "reject-req-1")
    assert email.correlation_id == "reject-req-1"
    assert handlers.deliver_next(service.db, service.ports, LEASE) == 1  # the loop's own ports
    [sent] = [line for line in lines if line["event"] == "email_sent"]
    assert (sent["correlation_id"], sent["email_id"]) == ("reject-req-1", email.id)
    assert "correlation_id" not in structlog.contextvars.get_contextvars()  # unbound after


def test_a_failed_send_is_logged_under_the_id_of_its_request(lines):
    service = notifications()
    rejection_queued(service, "reject-req-2")
    service.mailer.failures = 1
    assert handlers.deliver_next(service.db, service.ports, LEASE) == 1
    [not_sent] = [line for line in lines if line["event"] == "email_not_sent"]
    assert not_sent["correlation_id"] == "reject-req-2"


def test_a_direct_email_and_a_resend_carry_their_own_requests_ids(lines):
    service = notifications()
    direct = handlers.send_direct_email(service.db, with_request(service, "direct-req"),
                                        DirectEmail(to="jeanne@example.org",
                                                    template="account_credentials",
                                                    context={"name": "Jeanne",
                                                             "identifier": "jeanne",
                                                             "password": "Provisoire-123"}))
    assert service.emails.get(direct["id"]).correlation_id == "direct-req"
    original = rejection_queued(service, "reject-req-3")
    while handlers.deliver_next(service.db, service.ports, LEASE):
        pass
    copy = handlers.resend_email(service.db, with_request(service, "resend-req"), AGENT,
                                 original.id)
    assert service.emails.get(copy["id"]).correlation_id == "resend-req"


def test_an_email_queued_without_an_id_is_sent_without_one(lines):
    service = notifications()
    rejection_queued(service, None)  # queued before the column existed
    handlers.deliver_next(service.db, service.ports, LEASE)
    [sent] = [line for line in lines if line["event"] == "email_sent"]
    assert "correlation_id" not in sent
