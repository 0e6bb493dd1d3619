"""Fixtures the integration tests of several services share: an in-process SMTP server and the
services started with their fakes (identity with a fake notifications service, notifications
on the SMTP server). Their helpers are in tests/support/integration.py."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from tests.support.integration import (FakeDossiers, FakeIdentity, FakeNotifications,
                                       HandledEvents, Mail, Neighbours, Recorded,
                                       RemittanceDocuments, dependency, recorded)
from tools.smtp import free_port


class Inbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server in this process; the services send to it (JALON_SMTP_*)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("JALON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JALON_SMTP_PORT", str(port))
    yield inbox
    controller.stop()


@pytest.fixture
def notifications(smtp, service_env, container_factory):
    from services.notifications.service import NotificationsService

    service_env("notifications")
    return container_factory(NotificationsService)


@pytest.fixture
def mail(container_factory) -> Mail:
    """A fake notifications service: the emails identity asks it to send."""
    container = container_factory(FakeNotifications)
    return Mail(dependency(container, Recorded).calls)


@pytest.fixture
def identity(service_env, container_factory, mail, rpc):
    """identity on its own database, emailing through `mail`; its database URL."""
    from services.identity.service import IdentityService

    url = service_env("identity")
    container_factory(IdentityService)
    return url


@pytest.fixture
def neighbours() -> Neighbours:
    """What certification's fake neighbours know in this test; start them with
    `container_factory(FakeDossiers, NEIGHBOURS=neighbours)`."""
    return Neighbours()


@pytest.fixture
def payments_world(service_env, container_factory, neighbours, mail) -> SimpleNamespace:
    """payments on its own database among its fake neighbours: its database `url`, the
    remittance advices asked of documents (`advices`; `outage["down"]`: documents fails),
    the emails it sent (`emails`) and the end of each event handling (`handled`)."""
    from services.payments.service import PaymentsService

    class WatchedPayments(PaymentsService):
        handled = HandledEvents()

    url = service_env("payments")
    for fake in (FakeDossiers, FakeIdentity):
        container_factory(fake, NEIGHBOURS=neighbours)
    documents = container_factory(RemittanceDocuments)
    service = container_factory(WatchedPayments)
    return SimpleNamespace(url=url, advices=recorded(documents, "advices"),
                           outage=recorded(documents, "outage"), emails=mail.sent,
                           handled=dependency(service, HandledEvents).handled)


@pytest.fixture
def payments(payments_world) -> str:
    """payments among its fake neighbours (payments_world); its database URL."""
    return payments_world.url
