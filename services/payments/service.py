"""payments: month locks, payments ("règlements") with their remittance advice, their import
as a job, the grouped list and its Excel export (a job), the reconciliation mark, bank details
and the credit-note mode.

Nameko entrypoints only: each one calls its use case in handlers.py."""
from __future__ import annotations

from nameko.rpc import rpc

from servicekit.access import acting
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.jobs import JobEntrypoints, JobRunner, job
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from services.payments import handlers
from services.payments.models import metadata, repositories, start_mappers


class PaymentsService(JobEntrypoints, ServiceBase):
    name = "payments"
    db = Database(metadata, start_mappers, repositories)
    relay = OutboxRelay()
    job_runner = JobRunner()
    dossiers = RpcClient("dossiers")
    documents = RpcClient("documents")
    identity = RpcClient("identity")
    notifications = RpcClient("notifications")

    @property
    def ports(self) -> handlers.Ports:
        return handlers.Ports(self.dossiers, self.documents, self.identity, self.notifications,
                              utcnow)

    # ---- month locks ------------------------------------------------------------------------
    @rpc
    def get_month_lock(self, actor, dossier_id, month):
        return handlers.get_month_lock(self.db, self.ports, acting(actor), dossier_id, month)

    @rpc
    def locked_months(self, actor, dossier_id):
        return handlers.locked_months(self.db, self.ports, acting(actor), dossier_id)

    @rpc
    def month_end_locks(self, query):
        """For the ops command line (jalon month-end): counts, no actor."""
        return handlers.month_end_locks(self.db, query)

    @rpc
    def unlock_month(self, actor, dossier_id, month, payload):
        return handlers.unlock_month(self.db, self.ports, acting(actor), dossier_id, month,
                                     payload)

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        handlers.lock_certified_month(uow, self.ports, event.data)

    @subscribe("certification", "certificate_reopened")
    @idempotent
    def on_certificate_reopened(self, uow, event):
        handlers.release_reopened_month(uow, event.data)

    @subscribe("identity", "funder_bootstrapped")
    @idempotent
    def on_funder_bootstrapped(self, uow, event):
        handlers.name_the_payer(uow, event.data)

    @subscribe("certification", "hours_transmitted")
    @idempotent
    def on_hours_transmitted(self, uow, event):
        handlers.record_transmission(uow, event.data)

    # ---- payments -----------------------------------------------------------------------------
    @rpc
    @replayable
    def record_payment(self, actor, payload):
        return handlers.record_payment(self.db, self.ports, acting(actor), payload)

    @rpc
    @replayable
    def import_payments(self, actor, payload):
        return handlers.import_payments(self.db, acting(actor), payload)

    @job(handlers.IMPORT)
    def run_import(self, step):
        handlers.run_import(self.db, self.ports, step)

    @rpc
    def get_payment(self, actor, payment_id):
        return handlers.get_payment(self.db, acting(actor), payment_id)

    @rpc
    @replayable
    def issue_remittance_advice(self, actor, payment_id):
        return handlers.issue_remittance_advice(self.db, self.ports, acting(actor), payment_id)

    @rpc
    def reconcile_payment(self, actor, payment_id, payload):
        return handlers.reconcile_payment(self.db, self.ports, acting(actor), payment_id,
                                          payload)

    @rpc
    def list_payments(self, actor, query=None):
        return handlers.list_payments(self.db, acting(actor), query)

    @rpc
    def export_payments(self, actor, query=None):
        return handlers.export_payments(self.db, acting(actor), query)

    @job(handlers.EXPORT)
    def run_export(self, step):
        handlers.run_export(self.db, step)

    # ---- the funder's payment settings -------------------------------------------------------
    @rpc
    def get_payment_settings(self, actor):
        return handlers.get_payment_settings(self.db, acting(actor))

    @rpc
    def set_payment_settings(self, actor, payload):
        return handlers.set_payment_settings(self.db, self.ports, acting(actor), payload)

    # ---- bank details and credit notes ----------------------------------------------------------
    @rpc
    def get_bank_details(self, actor, organisation_id):
        return handlers.get_bank_details(self.db, self.ports, acting(actor), organisation_id)

    @rpc
    def submit_bank_details(self, actor, organisation_id, payload):
        return handlers.submit_bank_details(self.db, self.ports, acting(actor),
                                            organisation_id, payload)

    @rpc
    def review_bank_details(self, actor, organisation_id, payload):
        return handlers.review_bank_details(self.db, self.ports, acting(actor),
                                            organisation_id, payload)

    @rpc
    def get_credit_note_mode(self, actor, organisation_id):
        return handlers.get_credit_note_mode(self.db, self.ports, acting(actor),
                                             organisation_id)

    @rpc
    def choose_credit_note_mode(self, actor, organisation_id, payload):
        return handlers.choose_credit_note_mode(self.db, self.ports, acting(actor),
                                                organisation_id, payload)

    @rpc
    @replayable
    def record_credit_note(self, actor, payload):
        return handlers.record_credit_note(self.db, self.ports, acting(actor), payload)

    @rpc
    def list_credit_notes(self, actor, query=None):
        return handlers.list_credit_notes(self.db, self.ports, acting(actor), query)

    @rpc
    def get_credit_note(self, actor, credit_note_id):
        return handlers.get_credit_note(self.db, self.ports, acting(actor), credit_note_id)

    @rpc
    @replayable
    def mark_credit_note_received(self, actor, credit_note_id):
        return handlers.mark_credit_note_received(self.db, self.ports, acting(actor),
                                                  credit_note_id)

    @rpc
    @replayable
    def issue_pro_forma(self, actor, credit_note_id):
        return handlers.issue_pro_forma(self.db, self.ports, acting(actor), credit_note_id)
