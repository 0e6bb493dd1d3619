"""payments: payable months, locked when certified (Nameko entrypoints).

Payments themselves (record, search, export, reconciliation) come with a later issue.
"""
from __future__ import annotations

from nameko.rpc import rpc

from contracts.common import DossierMonth
from contracts.events import MonthHours, MonthLockedV1
from contracts.payments import MonthLock as MonthLockReply
from servicekit.access import acting
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse
from services.payments import domain
from services.payments.domain import MonthLock
from services.payments.models import metadata, start_mappers

log = get_logger(__name__)


class PaymentsService(ServiceBase):
    name = "payments"
    db = Database(metadata, start_mappers)
    relay = OutboxRelay()
    dossiers = RpcClient("dossiers")

    @rpc
    def get_month_lock(self, actor, dossier_id, month):
        actor = acting(actor)
        ref = parse(DossierMonth, {"dossier_id": dossier_id, "month": month})
        with self.db.read() as session:
            lock = session.get(MonthLock, (ref.dossier_id, ref.month))
        if lock is None:
            # Nothing here says whose month it is: the dossiers service decides who may know
            # that it is not locked (NotFound for anyone else, as for a lock they may not see).
            self.dossiers.get_dossier(actor.model_dump(mode="json"), ref.dossier_id)
            return MonthLockReply(dossier_id=ref.dossier_id, month=ref.month,
                                  locked=False).model_dump(mode="json")
        domain.ensure_may_see(actor.role, actor.funder_id, actor.organisation_id, lock)
        return MonthLockReply(
            dossier_id=lock.dossier_id, month=lock.month, locked=True,
            certificate_id=lock.certificate_id, training_hours=lock.training_hours,
            internship_hours=lock.internship_hours, absence_hours=lock.absence_hours,
            locked_at=lock.locked_at).model_dump(mode="json")

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        data = event.data
        certified = domain.CertifiedMonth(
            dossier_id=data.dossier_id, month=data.month, funder_id=data.funder_id,
            organisation_id=data.organisation_id, certificate_id=data.certificate_id,
            training_hours=data.hours.training, internship_hours=data.hours.internship,
            absence_hours=data.hours.absence)
        existing = uow.session.get(MonthLock, (data.dossier_id, data.month))
        lock = domain.lock_month(existing, certified, utcnow())
        if lock is None:
            log.info("month_already_locked", dossier_id=data.dossier_id, month=data.month)
            return
        # A concurrent lock of the same month fails on the primary key at commit; the event is
        # then retried and finds the month locked.
        uow.session.add(lock)
        uow.publish("month_locked", MonthLockedV1(
            dossier_id=lock.dossier_id, month=lock.month, certificate_id=lock.certificate_id,
            hours=MonthHours(training=lock.training_hours, internship=lock.internship_hours,
                             absence=lock.absence_hours),
            locked_at=lock.locked_at), subject=f"{lock.dossier_id}/{lock.month}")
