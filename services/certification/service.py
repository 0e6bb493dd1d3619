"""certification: monthly completion certificates of each dossier (Nameko entrypoints).

Each entrypoint parses its contract and calls one use case of handlers.py."""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.certification import (CertificationSettings, Certify, CodeRequest, Contest,
                                     DayParam, HoursChange, HoursEntry, ProposalQuery, Reopen,
                                     TemplateQuery, TemplateUpload)
from contracts.common import DossierMonth
from contracts.ops import MonthEndQuery
from contracts.pdfs import AttendanceEntry
from servicekit.access import acting
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.jobs import JobEntrypoints, JobRunner, job
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse
from services.certification import handlers
from services.certification.models import metadata, repositories, start_mappers

# A render waits its turn behind the documents replica's other renders: more than the default
# timeout of a plain call.
DOCUMENTS_TIMEOUT = 30.0


class CertificationService(JobEntrypoints, ServiceBase):
    name = "certification"
    db = Database(metadata, start_mappers, repositories)
    relay = OutboxRelay()
    job_runner = JobRunner()
    dossiers = RpcClient("dossiers")
    identity = RpcClient("identity")
    notifications = RpcClient("notifications")
    documents = RpcClient("documents", timeout=DOCUMENTS_TIMEOUT)
    payments = RpcClient("payments")

    @property
    def ports(self) -> handlers.Ports:
        return handlers.Ports(dossiers=self.dossiers, identity=self.identity,
                              notifications=self.notifications, documents=self.documents,
                              payments=self.payments, clock=utcnow)

    @rpc
    def list_certificates(self, actor, dossier_id):
        return handlers.list_certificates(self.db, self.ports, acting(actor), dossier_id)

    @rpc
    def get_certificate(self, actor, dossier_id, month):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.get_certificate(self.db, self.ports, actor, ref)

    @rpc
    def enter_hours(self, actor, dossier_id, month, hours):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.enter_hours(self.db, self.ports, actor, ref, parse(HoursEntry, hours))

    @rpc
    def change_hours(self, actor, dossier_id, month, change):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.change_hours(self.db, self.ports, actor, ref, parse(HoursChange, change))

    @rpc
    def propose_hours(self, actor, dossier_id, month, query):
        actor, ref = acting(actor), _ref(dossier_id, month)
        source = parse(ProposalQuery, query).source
        return handlers.propose_hours(self.db, self.ports, actor, ref, source)

    @rpc
    @replayable
    def request_code(self, actor, dossier_id, month, payload):
        actor, ref = acting(actor), _ref(dossier_id, month)
        command = parse(CodeRequest, payload)
        return handlers.request_code(self.db, self.ports, actor, ref, command)

    @rpc
    @replayable
    def certify(self, actor, dossier_id, month, payload):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.certify(self.db, self.ports, actor, ref, parse(Certify, payload))

    @rpc
    @replayable
    def reopen(self, actor, dossier_id, month, payload):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.reopen(self.db, self.ports, actor, ref, parse(Reopen, payload))

    @rpc
    @replayable
    def validate_hours(self, actor, dossier_id, month):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.validate_hours(self.db, self.ports, actor, ref)

    @rpc
    @replayable
    def contest_hours(self, actor, dossier_id, month, payload):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.contest_hours(self.db, self.ports, actor, ref, parse(Contest, payload))

    @rpc
    @replayable
    def transmit_hours(self, actor, dossier_id, month):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.transmit_hours(self.db, self.ports, actor, ref)

    @rpc
    def pending_actions(self, actor):
        return handlers.pending_actions(self.db, self.ports, acting(actor))

    @rpc
    def get_settings(self, actor):
        return handlers.get_settings(self.db, acting(actor))

    @rpc
    def update_settings(self, actor, payload):
        actor, values = acting(actor), parse(CertificationSettings, payload)
        return handlers.update_settings(self.db, self.ports, actor, values)

    @rpc
    def hours_template(self, actor, query):
        actor, query = acting(actor), parse(TemplateQuery, query)
        return handlers.hours_template(self.db, self.ports, actor, query)

    @rpc
    def import_hours(self, actor, upload):
        actor, upload = acting(actor), parse(TemplateUpload, upload)
        return handlers.import_hours(self.db, self.ports, actor, upload)

    @job(handlers.IMPORT_HOURS)
    def run_import_hours(self, step):
        handlers.run_import_hours(self.db, self.ports, step)

    @rpc
    def draft_certificate(self, actor, dossier_id, month):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.draft_certificate(self.db, self.ports, actor, ref)

    @rpc
    def attendance_sheet(self, actor, dossier_id, month, entry):
        actor, ref = acting(actor), _ref(dossier_id, month)
        return handlers.attendance_sheet(self.db, self.ports, actor, ref,
                                         parse(AttendanceEntry, entry))

    @rpc
    def announce_months_to_certify(self, day=None):
        """For the ops' timer (python -m tools.months_to_certify): safe on several replicas."""
        day = None if day is None else parse(DayParam, {"day": day}).day
        return handlers.announce_months_to_certify(self.db, self.ports, day)

    @rpc
    def month_end_counts(self, query):
        """For the ops command line (jalon month-end): counts, no actor."""
        return handlers.month_end_counts(self.db, parse(MonthEndQuery, query))

    @subscribe("identity", "funder_bootstrapped")
    @idempotent
    def on_funder_bootstrapped(self, uow, event):
        handlers.on_funder_bootstrapped(uow, event.data)

    @subscribe("payments", "month_unlocked")
    @idempotent
    def on_month_unlocked(self, uow, event):
        handlers.on_month_unlocked(uow, self.ports, event.data)

    @subscribe("payments", "payment_issued")
    @idempotent
    def on_payment_issued(self, uow, event):
        handlers.on_payment_issued(uow, self.ports, event.data)


def _ref(dossier_id, month) -> DossierMonth:
    return parse(DossierMonth, {"dossier_id": dossier_id, "month": month})
