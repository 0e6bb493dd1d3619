"""notifications: outgoing emails from events and from direct RPC (Nameko entrypoints)."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.common import Actor
from contracts.notifications import DirectEmail
from contracts.notifications import AlertSettingsChange, DigestDay, NotificationQuery
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

    @subscribe("identity", "funder_bootstrapped")
    @idempotent
    def on_funder_bootstrapped(self, uow, event):
        handlers.record_funder(uow, event.data)

    @rpc
    def send_direct_email(self, payload):
        return handlers.send_direct_email(self.db, self.ports, parse(DirectEmail, payload))

    @rpc
    def list_emails(self, actor, event_id=None):
        return handlers.list_emails(self.db, parse(Actor, actor), event_id)

    @rpc
    def resend_email(self, actor, email_id):
        return handlers.resend_email(self.db, self.ports, parse(Actor, actor), email_id)

    @rpc
    def resend_email_as_ops(self, email_id):
        """For the ops command line (jalon emails resend): no actor, logged by="ops"."""
        return handlers.resend_email_as_ops(self.db, self.ports, email_id)

    @rpc
    def email_backlog(self, funder_id=None):
        """For the ops command line (jalon month-end): counts, no actor."""
        return handlers.email_backlog(self.db, funder_id)

    # ---- the notification centre (issue 16) ----
    @subscribe("payments", "payment_issued")
    @idempotent
    def on_payment_issued(self, uow, event):
        handlers.notify_payment_issued(uow, self.ports, event)

    @subscribe("payments", "bank_details_changed")
    @idempotent
    def on_bank_details_changed(self, uow, event):
        handlers.notify_bank_details_changed(uow, self.ports, event)

    @subscribe("identity", "certifier_status_changed")
    @idempotent
    def on_certifier_status_changed(self, uow, event):
        handlers.notify_certifier_status_changed(uow, self.ports, event)

    @subscribe("certification", "month_to_certify")
    @idempotent
    def on_month_to_certify(self, uow, event):
        handlers.notify_month_to_certify(uow, self.ports, event)

    @subscribe("certification", "certificate_reopened")
    @idempotent
    def on_certificate_reopened(self, uow, event):
        handlers.notify_certificate_reopened(uow, self.ports, event)

    @subscribe("certification", "hours_validated")
    @idempotent
    def on_hours_validated(self, uow, event):
        handlers.notify_hours_validated(uow, self.ports, event)

    @subscribe("identity", "account_changed")
    @idempotent
    def on_account_changed(self, uow, event):
        handlers.follow_account(uow, self.ports, event)

    @rpc
    def list_notifications(self, actor, query=None):
        return handlers.list_notifications(self.db, parse(Actor, actor),
                                           parse(NotificationQuery, query or {}))

    @rpc
    def count_unread_notifications(self, actor):
        return handlers.count_unread_notifications(self.db, parse(Actor, actor))

    @rpc
    def mark_notification_read(self, actor, notification_id):
        return handlers.mark_notification_read(self.db, self.ports, parse(Actor, actor),
                                               str(notification_id))

    @rpc
    def mark_all_notifications_read(self, actor):
        return handlers.mark_all_notifications_read(self.db, self.ports, parse(Actor, actor))

    @rpc
    def get_alert_settings(self, actor):
        return handlers.get_alert_settings(self.db, parse(Actor, actor))

    @rpc
    def update_alert_settings(self, actor, payload):
        return handlers.update_alert_settings(self.db, self.ports, parse(Actor, actor),
                                              parse(AlertSettingsChange, payload))

    @rpc
    def send_daily_digests(self, day=None):
        """For the ops' timer (python -m tools.digest): safe to run on several replicas."""
        day = None if day is None else parse(DigestDay, {"day": day}).day
        return handlers.send_daily_digests(self.db, self.ports, day)
