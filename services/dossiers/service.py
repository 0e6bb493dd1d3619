"""dossiers RPC entrypoints: beneficiaries, employers, dossiers, their imports (as jobs, each
run by its @job method), and the certification events behind the « Actions en attente ». Each
reads the caller (or the event, or the job) and calls one use case of handlers.py."""
from __future__ import annotations

from nameko.rpc import rpc

from services.dossiers import adapters, handlers, models
from services.dossiers.domain import PartyKind
from servicekit.access import acting
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.jobs import JobEntrypoints, JobRunner, job
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient


class DossiersService(JobEntrypoints, ServiceBase):
    name = "dossiers"
    db = Database(models.metadata, models.start_mappers, models.repositories)
    relay = OutboxRelay()
    job_runner = JobRunner()
    identity = RpcClient("identity")

    @property
    def ports(self) -> handlers.Ports:
        return handlers.Ports(identity=self.identity, clock=utcnow,
                              read_spreadsheet=adapters.read_spreadsheet_in_thread)

    @rpc
    def create_beneficiary(self, actor, payload):
        return handlers.create_party(self.db, self.ports, acting(actor), payload,
                                     PartyKind.beneficiary)

    @rpc
    def create_employer(self, actor, payload):
        return handlers.create_party(self.db, self.ports, acting(actor), payload,
                                     PartyKind.employer)

    @rpc
    @replayable
    def create_dossier(self, actor, payload):
        return handlers.create_dossier(self.db, self.ports, acting(actor), payload)

    @rpc
    def update_dossier(self, actor, dossier_id, payload):
        return handlers.update_dossier(self.db, self.ports, acting(actor), dossier_id,
                                       payload)

    @rpc
    def get_dossier(self, actor, dossier_id):
        return handlers.get_dossier(self.db, self.ports, acting(actor), dossier_id)

    @rpc
    def list_dossiers(self, actor, query=None, limit=200, filters=None):
        return handlers.list_dossiers(self.db, self.ports, acting(actor), query, limit,
                                      filters)

    @rpc
    def dossiers_in_progress(self, after=None, limit=handlers.MAX_LIST):
        """For certification's daily job (python -m tools.months_to_certify): no actor."""
        return handlers.dossiers_in_progress(self.db, self.ports, after, limit)

    @rpc
    def count_dossiers(self, actor):
        return handlers.count_dossiers(self.db, acting(actor))

    @rpc
    @replayable
    def import_dossiers(self, actor, payload):
        return handlers.import_dossiers(self.db, self.ports, acting(actor), payload)

    @job(handlers.IMPORT)
    def run_import(self, step):
        handlers.run_import(self.db, self.ports, step)

    @rpc
    @replayable
    def import_spreadsheet(self, actor, payload):
        return handlers.import_spreadsheet(self.db, self.ports, acting(actor), payload)

    @job(handlers.SPREADSHEET_IMPORT)
    def run_spreadsheet_import(self, step):
        handlers.run_spreadsheet_import(self.db, self.ports, step)

    # ---- what certification says of each month (« Actions en attente ») -------------------

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        handlers.on_certified(uow, event.data)

    @subscribe("certification", "certificate_reopened")
    @idempotent
    def on_certificate_reopened(self, uow, event):
        handlers.on_certificate_reopened(uow, event.data)

    @subscribe("payments", "month_unlocked")
    @idempotent
    def on_month_unlocked(self, uow, event):
        handlers.on_month_unlocked(uow, event.data)
