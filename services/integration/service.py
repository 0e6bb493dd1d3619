"""integration: the public events other funders' systems subscribe to, their replays and
webhooks (Nameko entrypoints)."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.integration import DeliveryQuery, NewWebhook, ReplayRequest
from servicekit.access import acting
from servicekit.base import ServiceBase
from servicekit.db import Database
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.jobs import JobEntrypoints, JobRunner, job
from servicekit.validation import parse
from services.integration import handlers
from services.integration.adapters import IntegrationPorts, PublicEventRelay, WebhookDelivery
from services.integration.models import metadata, repositories


class IntegrationService(JobEntrypoints, ServiceBase):
    name = "integration"
    db = Database(metadata, repositories=repositories)
    relay = PublicEventRelay()
    ports = IntegrationPorts()  # the worker's handlers.Ports; its loop prunes the log
    webhook_delivery = WebhookDelivery()
    job_runner = JobRunner()  # the replays

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @subscribe("certification", "hours_validated")
    @idempotent
    def on_hours_validated(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @subscribe("certification", "hours_contested")
    @idempotent
    def on_hours_contested(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @subscribe("certification", "certificate_reopened")
    @idempotent
    def on_certificate_reopened(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @subscribe("payments", "payment_issued")
    @idempotent
    def on_payment_issued(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @subscribe("documents", "document_checked")
    @idempotent
    def on_document_checked(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @subscribe("documents", "document_rejected")
    @idempotent
    def on_document_rejected(self, uow, event):
        handlers.translate(uow, self.ports, event)

    @rpc
    @replayable
    def start_replay(self, actor, payload):
        return handlers.start_replay(self.db, self.ports, acting(actor),
                                     parse(ReplayRequest, payload))

    @job(handlers.REPLAY)
    def run_replay(self, step):
        handlers.run_replay(self.db, self.ports, step)

    @rpc
    def get_replay(self, actor, replay_id):
        return handlers.get_replay(self.db, acting(actor), str(replay_id))

    @rpc
    def list_replays(self, actor):
        return handlers.list_replays(self.db, acting(actor))

    # ---- webhooks ----------------------------------------------------------------------------
    @rpc
    def register_webhook(self, actor, payload):
        return handlers.register_webhook(self.db, self.ports, acting(actor),
                                         parse(NewWebhook, payload))

    @rpc
    def list_webhooks(self, actor):
        return handlers.list_webhooks(self.db, acting(actor))

    @rpc
    def get_webhook(self, actor, webhook_id):
        return handlers.get_webhook(self.db, acting(actor), str(webhook_id))

    @rpc
    def rotate_webhook_secret(self, actor, webhook_id):
        return handlers.rotate_webhook_secret(self.db, self.ports, acting(actor), str(webhook_id))

    @rpc
    def delete_webhook(self, actor, webhook_id):
        return handlers.delete_webhook(self.db, self.ports, acting(actor), str(webhook_id))

    @rpc
    def list_deliveries(self, actor, webhook_id, query=None):
        return handlers.list_deliveries(self.db, acting(actor), str(webhook_id),
                                        parse(DeliveryQuery, query or {}))

    @rpc
    def get_delivery(self, actor, webhook_id, delivery_id):
        return handlers.get_delivery(self.db, acting(actor), str(webhook_id), str(delivery_id))

    @rpc
    def retry_delivery(self, actor, webhook_id, delivery_id):
        return handlers.retry_delivery(self.db, self.ports, acting(actor), str(webhook_id),
                                       str(delivery_id))

    @rpc
    @replayable
    def replay_to_webhook(self, actor, webhook_id, payload):
        return handlers.replay_to_webhook(self.db, self.ports, acting(actor), str(webhook_id),
                                          parse(ReplayRequest, payload))
