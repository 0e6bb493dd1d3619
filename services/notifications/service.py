"""notifications: outgoing emails from events and from direct RPC (Nameko entrypoints)."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.common import Actor
from contracts.notifications import DirectEmail
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.events import idempotent, subscribe
from servicekit.validation import parse
from services.notifications import handlers
from services.notifications.adapters import EmailDelivery
from services.notifications.models import metadata, repositories, start_mappers


class NotificationsService(ServiceBase):
    name = "notifications"
    db = Database(metadata, start_mappers, repositories)
    ports = EmailDelivery()  # the worker's handlers.Ports; its loop sends the queued emails

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        handlers.notify_certified(uow, self.ports, event)

    @subscribe("certification", "hours_contested")
    @idempotent
    def on_hours_contested(self, uow, event):
        handlers.notify_hours_contested(uow, self.ports, event)

    @subscribe("documents", "document_checked")
    @idempotent
    def on_document_checked(self, uow, event):
        handlers.notify_document_checked(uow, self.ports, event)

    @subscribe("documents", "document_rejected")
    @idempotent
    def on_document_rejected(self, uow, event):
        handlers.notify_document_rejected(uow, self.ports, event)

    @rpc
    def send_direct_email(self, payload):
        return handlers.send_direct_email(self.db, self.ports, parse(DirectEmail, payload))

    @rpc
    def list_emails(self, actor, event_id=None):
        return handlers.list_emails(self.db, parse(Actor, actor), event_id)
