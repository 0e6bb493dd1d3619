"""payments' use cases: month locks, payments with their remittance advice, the grouped list
and its Excel export (a job), the reconciliation mark, bank details and the credit-note mode.

Each takes the database (`db`: units of work and readings over models.py's repositories), the
ports it needs and the caller's arguments as the RPC received them: a payload is parsed where
it always was, after the access checks that come first (a refused caller learns nothing of
the payload's shape). Replies and events are built here, from the domain objects.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Callable, Protocol

from contracts.common import Actor, DossierMonth, escaped
from contracts.common.access import require_funder_staff
from contracts.common.errors import Conflict, InvalidInput, JalonError, NotFound, \
    ServiceUnavailable
from contracts.common.formatting import paris_date
from contracts.dossiers import Dossier
from contracts.events import (BankDetailsChangedV1, CertifiedV1, CoveredDossier, MonthHours,
                              MonthLockedV1, MonthUnlockedV1, PaymentIssuedV1,
                              PaymentReconciledV1)
from contracts.ops import LockedCounts, MonthEndQuery
from contracts.payments import (MAX_PAGE, BankDetails, BankDetailsReview, BankDetailsVersion,
                                CreditNote, CreditNoteDeduction, CreditNoteList,
                                CreditNoteMode, CreditNoteModeChoice, CreditNoteOption,
                                CreditNoteSearch, ImportedRow, ImportProblem,
                                MonthLock, NewBankDetails, NewCreditNote, NewPayment,
                                NewPaymentSettings, Payment, PaymentBatch, PaymentDeduction,
                                PaymentList, PaymentRow, PaymentSearch,
                                PaymentSettings, Reconciliation, Unlock)
from contracts.pdfs import (AdviceLine, CreditNoteProFormaRequest, Deduction, PaidAccount,
                            Payer, Period, RefundAccount, RemittanceAdviceRequest)
from servicekit.db import concurrent_change_is_conflict
from servicekit.logging import get_logger
from servicekit.validation import parse
from services.payments import adapters
from services.payments.domain import (advice, bank, credit_notes, listing, locks, paid_hours,
                                      payments)
from services.payments.domain import settings as payment_settings
from services.payments.domain.access import (Scope, ensure_may_ask_about_organisation,
                                             require_organisation, require_payments_right,
                                             scope_for)

log = get_logger(__name__)
UNKNOWN_NUMBER = "number:"  # never an Id (":" is not allowed in one)
# The payments import job: its kind, its phases, and how many rows make one step of progress.
IMPORT, ROWS, ADVICES = "payments.import", "payments", "remittance_advices"
IMPORT_CHUNK = 20
# The Excel export job: its kind and its one phase, the search's lines written.
EXPORT, EXPORT_ROWS = "payments.export", "rows"


class Dossiers(Protocol):
    def get_dossier(self, actor: dict, dossier_id: str) -> dict: ...
    def list_dossiers(self, actor: dict, query: str, limit: int) -> list[dict]: ...


class Documents(Protocol):
    def render_remittance_advice(self, actor: dict, request: dict) -> dict: ...
    def render_credit_note_pro_forma(self, actor: dict, request: dict) -> dict: ...
    def get_document(self, actor: dict, document_id: str) -> dict: ...


class Identity(Protocol):
    def get_organisation(self, actor: dict, organisation_id: str) -> dict: ...


class Notifications(Protocol):
    def send_direct_email(self, payload: dict) -> dict: ...


@dataclass(frozen=True)
class Ports:
    dossiers: Dossiers
    documents: Documents
    identity: Identity
    notifications: Notifications
    clock: Callable[[], datetime]


def _as_caller(actor: Actor) -> dict:
    return actor.model_dump(mode="json")


# ---- month locks ----------------------------------------------------------------------------

def get_month_lock(db, ports: Ports, actor: Actor, dossier_id, month) -> dict:
    ref = parse(DossierMonth, {"dossier_id": dossier_id, "month": month})
    with db.reading() as uow:
        lock = uow.locks.get(ref.dossier_id, ref.month)
    if lock is None:
        # Nothing here says whose month it is: the dossiers service decides who may know
        # that it is not locked (NotFound for anyone else, as for a lock they may not see).
        ports.dossiers.get_dossier(_as_caller(actor), ref.dossier_id)
        return MonthLock(dossier_id=ref.dossier_id, month=ref.month,
                         locked=False).model_dump(mode="json")
    locks.ensure_may_see(actor, lock)
    return _lock_reply(lock)


def locked_months(db, ports: Ports, actor: Actor, dossier_id) -> list[str]:
    """The dossier's months locked for payment now ("YYYY-MM", in order); who may know them
    is decided as for get_month_lock."""
    with db.reading() as uow:
        found = uow.locks.of_dossier(str(dossier_id))
    if not found:
        ports.dossiers.get_dossier(_as_caller(actor), str(dossier_id))
    for lock in found:
        locks.ensure_may_see(actor, lock)
    return locks.locked_months(found)


def month_end_locks(db, query) -> list[dict]:
    """For the ops command line (jalon month-end): per funder and month, the months locked."""
    query = parse(MonthEndQuery, query)
    with db.reading() as reading:
        rows = reading.locks.locked_counts(query.funder_id, query.month)
    return [LockedCounts(**row).model_dump(mode="json") for row in rows]


def unlock_month(db, ports: Ports, actor: Actor, dossier_id, month, payload) -> dict:
    """Funder staff unlock a locked month with a reason; certification follows
    month_unlocked. Unlocking a month that is not locked is a Conflict, and changes nothing."""
    ref = parse(DossierMonth, {"dossier_id": dossier_id, "month": month})
    unlock = parse(Unlock, payload)
    with db.unit_of_work() as uow:
        lock = uow.locks.get(ref.dossier_id, ref.month)
        if lock is None:
            raise NotFound("month_lock_not_found",
                           "Aucun mois verrouillé trouvé pour ce dossier.")
        locks.ensure_may_see(actor, lock)
        require_funder_staff(actor)
        lock.unlock(actor.user_id, unlock.reason, ports.clock())
        uow.publish("month_unlocked", MonthUnlockedV1(
            dossier_id=lock.dossier_id, month=lock.month, reason=unlock.reason,
            unlocked_by=actor.user_id, unlocked_at=lock.unlocked_at, funder_id=lock.funder_id,
            organisation_id=lock.organisation_id),
            subject=f"{lock.dossier_id}/{lock.month}")
        reply = _lock_reply(lock)
    log.info("month_unlocked", dossier_id=ref.dossier_id, month=ref.month)
    return reply


def lock_certified_month(uow, ports: Ports, data: CertifiedV1) -> None:
    """certification.certified: the month's certified hours become the payable ones."""
    certified = locks.CertifiedMonth(
        dossier_id=data.dossier_id, month=data.month, funder_id=data.funder_id,
        organisation_id=data.organisation_id, certificate_id=data.certificate_id,
        training_hours=data.hours.training, internship_hours=data.hours.internship,
        absence_hours=data.hours.absence)
    lock = locks.lock_month(uow.locks.get(data.dossier_id, data.month), certified,
                            ports.clock())
    if lock is None:
        log.info("month_already_locked", dossier_id=data.dossier_id, month=data.month)
        return
    # A concurrent lock of the same month fails at commit; the event is then retried and
    # finds the month locked.
    uow.locks.add(lock)
    uow.publish("month_locked", MonthLockedV1(
        dossier_id=lock.dossier_id, month=lock.month, certificate_id=lock.certificate_id,
        hours=MonthHours(training=lock.training_hours, internship=lock.internship_hours,
                         absence=lock.absence_hours),
        locked_at=lock.locked_at), subject=f"{lock.dossier_id}/{lock.month}")
    log.info("month_locked", dossier_id=lock.dossier_id, month=lock.month)


def release_reopened_month(uow, data) -> None:
    """The funder reopened the month in certification: its lock is released (no
    month_unlocked: certification reopened it already)."""
    released = _lock_of(uow, data).release(data.reopened_by, data.reason, data.reopened_at)
    log.info("month_released", dossier_id=data.dossier_id, month=data.month,
             released=released)


def record_transmission(uow, data) -> None:
    """certification.hours_transmitted: the lock's hours were transmitted for payment."""
    recorded = _lock_of(uow, data).transmitted(data.certificate_id, data.transmitted_by,
                                               data.transmitted_at)
    log.info("hours_transmitted", dossier_id=data.dossier_id, month=data.month,
             recorded=recorded)


def _lock_of(uow, data) -> locks.MonthLock:
    """The lock a certification event about a certified month refers to. Events of different
    queues may overtake each other: before `certified` is handled there is none yet, and the
    event is retried later (then dead-lettered, visible, if it never comes)."""
    lock = uow.locks.get(data.dossier_id, data.month)
    if lock is None:
        raise ServiceUnavailable("month_not_locked_yet",
                                 "Le mois n'est pas encore verrouillé pour paiement.")
    return lock


def _lock_reply(lock: locks.MonthLock) -> dict:
    return MonthLock(
        dossier_id=lock.dossier_id, month=lock.month, locked=lock.locked,
        certificate_id=lock.certificate_id, training_hours=lock.training_hours,
        internship_hours=lock.internship_hours, absence_hours=lock.absence_hours,
        locked_at=lock.locked_at, unlocked_at=lock.unlocked_at, unlocked_by=lock.unlocked_by,
        unlock_reason=lock.unlock_reason, transmitted_at=lock.transmitted_at,
        transmitted_by=lock.transmitted_by).model_dump(mode="json")


# ---- payments -------------------------------------------------------------------------------

def record_payment(db, ports: Ports, actor: Actor, payload) -> dict:
    """Funder staff record one payment; its remittance advice is rendered after commit."""
    require_funder_staff(actor)
    entry = parse(NewPayment, payload)
    numbers = _dossier_ids_by_number(ports, actor, entry.lines)
    dossiers = _dossier_facts(ports, actor, {_dossier_key(line, numbers)
                                             for line in entry.lines})
    payment_input = _payment_input(entry, numbers)
    problems = payments.check_payment(payment_input, actor.funder_id, dossiers)
    if problems:
        raise payments.invalid_payment(problems)
    try:
        payment = _record(db, ports, actor, payment_input, dossiers, as_reply=True)
    except paid_hours.HoursRefused as refused:
        raise refused.as_conflict() from None
    if payment is None:
        raise Conflict("payment_number_taken",
                       f"Le règlement n° {entry.number} est déjà enregistré.")
    return _issue(db, ports, actor, payment.id)


def import_payments(db, actor: Actor, payload) -> dict:
    """A batch from the accounting system, as a job (docs/jobs.md) that run_import does: its
    shape is checked now, its rows in the background. The same batch submitted again is
    recognised (the job already there)."""
    require_funder_staff(actor)
    batch = parse(PaymentBatch, payload)
    with db.unit_of_work() as uow:
        return uow.jobs.submit(IMPORT, actor, batch.model_dump(mode="json"),
                               {ROWS: len(batch.payments), ADVICES: None})


def run_import(db, ports: Ports, step) -> None:
    """The import job: each row on its own (a number already recorded for the funder is
    `unchanged`, a refused row writes nothing), then the remittance advices, each counted as
    done. Resumed, it goes on from the progress recorded."""
    rows = step.payload["payments"]
    if step.done(ROWS) < len(rows):
        _import_rows(db, ports, step, rows)
    _issue_advices(db, ports, step, step.outcomes())
    reports = step.outcomes().values()
    count = {kind: sum(r["result"] == kind for r in reports)
             for kind in ("created", "unchanged", "error")}
    advices = {kind: sum(r.get("remittance_advice") == kind for r in reports)
               for kind in ("issued", "failed")}
    log.info("payments_imported", job_id=step.job_id, **count)
    step.finish({"created": count["created"], "unchanged": count["unchanged"],
                 "errors": count["error"], "remittance_advices_issued": advices["issued"],
                 "remittance_advices_failed": advices["failed"]})


def _import_rows(db, ports: Ports, step, rows: list) -> None:
    """The rows not yet reported, a chunk at a time, each chunk's reports recorded at once."""
    actor, start = step.actor, step.done(ROWS)
    parsed = {position: _parse_row(raw)
              for position, raw in enumerate(rows, start=1) if position > start}
    good = [entry for entry in parsed.values() if isinstance(entry, NewPayment)]
    numbers = _dossier_ids_by_number(ports, actor, [line for entry in good
                                                    for line in entry.lines])
    dossiers = _dossier_facts(ports, actor, {_dossier_key(line, numbers) for entry in good
                                             for line in entry.lines})
    positions = sorted(parsed)
    for chunk in _chunks(positions):
        step.advance(ROWS, len(chunk), {
            position: _import_row(db, ports, actor, position, parsed[position], dossiers,
                                  numbers).model_dump(mode="json")
            for position in chunk})


def _issue_advices(db, ports: Ports, step, reports: dict[int, dict]) -> None:
    """The advice of each payment created, after every row's commit (as for one payment), and
    of each payment found still `processing`: a failed advice, or one created by an attempt
    that died before reporting it (reported `unchanged` now). The rows to do are marked
    `pending` first, so that a resumed job does exactly the rest."""
    if step.total(ADVICES) is None:
        pending = {position: {**report, "remittance_advice": "pending"}
                   for position, report in reports.items()
                   if report["result"] == "created" or report["result"] == "unchanged"
                   and _processing(db, report["payment_id"])}
        step.set_total(ADVICES, len(pending))
        step.advance(ADVICES, 0, pending)
        reports = {**reports, **pending}
    todo = [position for position, report in reports.items()
            if report.get("remittance_advice") == "pending"]
    for chunk in _chunks(todo):
        step.advance(ADVICES, len(chunk), {
            position: {**reports[position], "remittance_advice": _advice_outcome(
                db, ports, step.actor, reports[position]["payment_id"])}
            for position in chunk})


def _processing(db, payment_id: str | None) -> bool:
    with db.reading() as uow:
        payment = uow.payments.get(payment_id) if payment_id else None
    return payment is not None and payment.status == payments.PROCESSING


def _advice_outcome(db, ports: Ports, actor: Actor, payment_id: str) -> str:
    """issued, or failed (the payment stays processing); one issued before a restart is not
    rendered again."""
    if _processing(db, payment_id):
        return "issued" if _issue(db, ports, actor, payment_id)["status"] == payments.ISSUED \
            else "failed"
    return "issued"


def _chunks(positions: list[int]) -> list[list[int]]:
    return [positions[i:i + IMPORT_CHUNK] for i in range(0, len(positions), IMPORT_CHUNK)]


def get_payment(db, actor: Actor, payment_id) -> dict:
    with db.reading() as uow:
        return _payment_reply(_visible_payment(uow, actor, payment_id))


def issue_remittance_advice(db, ports: Ports, actor: Actor, payment_id) -> dict:
    """Renders (again) a payment's remittance advice: how funder staff finish a payment
    whose advice failed when it was recorded (documents unavailable). The first success
    issues the payment and publishes payment_issued; later ones only replace the PDF."""
    require_funder_staff(actor)
    with db.reading() as uow:
        _visible_payment(uow, actor, payment_id)
    return _issue(db, ports, actor, str(payment_id), raise_errors=True)


def reconcile_payment(db, ports: Ports, actor: Actor, payment_id, payload) -> dict:
    """Pointage: the organisation ticks or unticks a payment as received."""
    change = parse(Reconciliation, payload)
    with db.unit_of_work() as uow:
        payment = _visible_payment(uow, actor, payment_id)
        require_organisation(actor)
        require_payments_right(actor)
        payment.mark_reconciled(change.reconciled, actor.user_id, ports.clock())
        uow.publish("payment_reconciled", PaymentReconciledV1(
            payment_id=payment.id, payment_number=payment.number,
            funder_id=payment.funder_id, organisation_id=payment.organisation_id,
            reconciled=payment.reconciled, reconciled_by=actor.user_id,
            reconciled_at=payment.reconciled_at), subject=payment.id)
        reply = _payment_reply(payment)
    return reply


def _visible_payment(uow, actor: Actor, payment_id) -> payments.Payment:
    return _visible(uow.payments.get(str(payment_id)), actor, payments.payment_not_found)


def _visible(record, actor: Actor, not_found: Callable[[], NotFound]):
    """A payment or credit note the actor may read: its funder's staff, its organisation's
    users with the payments right; NotFound for anyone else, as for none."""
    try:
        scope = scope_for(actor)
    except JalonError:
        raise not_found() from None
    if record is None or not scope.allows(record.funder_id, record.organisation_id):
        raise not_found()
    require_payments_right(actor)
    return record


def _dossier_ids_by_number(ports: Ports, actor: Actor, named: list) -> dict:
    """Dossier number -> id, for the payment lines or credit notes that name their dossier by
    number: the exact number among the dossiers the caller may see (absent when none)."""
    wanted = {item.dossier_number for item in named if item.dossier_number is not None}
    found = {}
    for number in sorted(wanted):
        summaries = ports.dossiers.list_dossiers(_as_caller(actor), number, 50)
        match = [d["id"] for d in summaries if d["number"] == number]
        if len(match) == 1:
            found[number] = match[0]
    return found


def _dossier_facts(ports: Ports, actor: Actor, dossier_ids: set[str]) -> dict:
    """Each dossier as the caller may see it (None when not found), asked before any
    transaction opens."""
    found = {}
    for dossier_id in sorted(dossier_ids):
        if dossier_id.startswith(UNKNOWN_NUMBER):
            found[dossier_id] = None
            continue
        try:
            dossier = Dossier.model_validate(
                ports.dossiers.get_dossier(_as_caller(actor), dossier_id))
        except NotFound:
            found[dossier_id] = None
            continue
        found[dossier_id] = payments.DossierFacts(
            dossier_id=dossier.id, number=dossier.number, funder_id=dossier.funder_id,
            organisation_id=dossier.organisation_id,
            organisation_name=dossier.organisation_name,
            beneficiary_name=dossier.beneficiary.name, training_title=dossier.training_title,
            session_start=dossier.session_start, session_end=dossier.session_end)
    return found


def _record(db, ports: Ports, actor: Actor, entry: payments.PaymentInput, dossiers,
            as_reply: bool = False) -> payments.Payment | None:
    """The payment written in status processing, or None when its number is taken; HoursRefused
    when its lines pay hours not certified or beyond what is left to pay (nothing written).
    `as_reply`: it is also the call's reply until issued, stored with it, so that a call
    redelivered after this commit answers the payment, not payment_number_taken."""
    try:
        # The same number recorded concurrently fails on the unique key at commit: taken too.
        with concurrent_change_is_conflict("Ce règlement est déjà enregistré."), \
                db.unit_of_work() as uow:
            if uow.payments.by_number(actor.funder_id, entry.number):
                return None
            _check_certified(uow, entry)
            version = bank.validated_version(uow.bank_details.versions(entry.organisation_id))
            payment = payments.new_payment(str(uuid.uuid4()), entry, actor.funder_id,
                                           dossiers, version, actor.user_id, ports.clock())
            payment.deductions = credit_notes.deduct(payment.id, payment.amount,
                                                     uow.credit_notes.to_deduct(
                                                         actor.funder_id, entry.organisation_id))
            uow.payments.add(payment)
            if as_reply:
                uow.keep_reply(_payment_reply(payment))
    except Conflict:
        return None
    log.info("payment_recorded", payment_id=payment.id, number=payment.number)
    return payment


def _check_certified(uow, entry: payments.PaymentInput) -> None:
    """Each line paying certified hours pays locked months, within what is left to pay."""
    paying = {line.dossier_id for line in entry.lines if line.kind == payments.PAYMENT}
    if not paying:
        return
    problems = paid_hours.check_certified(entry.lines, uow.locks.for_payment(paying),
                                          uow.payments.paid_lines(paying))
    if problems:
        raise paid_hours.HoursRefused(problems)


def _import_row(db, ports: Ports, actor: Actor, position: int, entry, dossiers,
                numbers: dict[str, str]) -> ImportedRow:
    if isinstance(entry, ImportedRow):
        return entry.model_copy(update={"row": position})
    with db.reading() as uow:
        existing = uow.payments.by_number(actor.funder_id, entry.number)
    if existing is not None:
        return ImportedRow(row=position, number=entry.number, result="unchanged",
                           payment_id=existing.id)
    payment_input = _payment_input(entry, numbers)
    problems = payments.check_payment(payment_input, actor.funder_id, dossiers)
    if not problems:
        try:
            payment = _record(db, ports, actor, payment_input, dossiers)
        except paid_hours.HoursRefused as refused:
            problems = refused.problems
    if problems:
        return ImportedRow(row=position, number=entry.number, result="error", problems=[
            ImportProblem(field=p.field, code=p.code, message=p.message, line=p.line,
                          details=p.details) for p in problems])
    if payment is None:
        with db.reading() as uow:
            existing = uow.payments.by_number(actor.funder_id, entry.number)
        return ImportedRow(row=position, number=entry.number, result="unchanged",
                           payment_id=existing.id if existing else None)
    return ImportedRow(row=position, number=entry.number, result="created",
                       payment_id=payment.id)


def _issue(db, ports: Ports, actor: Actor, payment_id: str, raise_errors: bool = False) -> dict:
    """Render the remittance advice (documents, outside any transaction), then mark the
    payment issued and publish payment_issued, once. If documents fails the payment
    stays `processing`: issue_remittance_advice finishes it later."""
    with db.reading() as uow:
        payment = uow.payments.get(payment_id)
        if payment is None:
            raise payments.payment_not_found()
        request = _advice_request(payment, uow.settings.get(payment.funder_id),
                                  _paid_version(uow, payment))
    try:
        document = ports.documents.render_remittance_advice(
            _as_caller(actor), request.model_dump(mode="json"))
    except Exception as exc:  # noqa: BLE001 - the payment stands; the advice can wait
        log.warning("remittance_advice_failed", payment_id=payment_id,
                    error=type(exc).__name__)
        if raise_errors:
            raise
        with db.reading() as uow:
            return _payment_reply(uow.payments.get(payment_id))
    with db.unit_of_work() as uow:
        payment = uow.payments.get(payment_id)
        if payment.issue(document["id"], ports.clock()):
            uow.publish("payment_issued", PaymentIssuedV1(
                payment_id=payment.id, payment_number=payment.number,
                funder_id=payment.funder_id, organisation_id=payment.organisation_id,
                advance=payment.advance, dossiers=[
                    CoveredDossier(dossier_id=dossier_id, months=months)
                    for dossier_id, months in payment.covered().items()],
                issued_at=payment.issued_at, recorded_by=payment.recorded_by),
                subject=payment.id)
        return _payment_reply(payment)


def _parse_row(raw) -> NewPayment | ImportedRow:
    """One row of an import: the payment, or the row's report listing what is wrong."""
    try:
        return parse(NewPayment, raw)
    except InvalidInput as exc:
        problems = [ImportProblem(field=".".join(str(p) for p in error.get("loc", ())) or None,
                                  code="invalid_field", message=str(error.get("msg"))[:300])
                    for error in exc.details.get("errors", [])]
        number = raw.get("number") if isinstance(raw, dict) else None
        # a row with a control character in its number is refused whole: its number shown escaped
        return ImportedRow(row=0, number=escaped(str(number))[:30] if number else None,
                           result="error",
                           problems=problems or [ImportProblem(code=exc.code,
                                                               message=exc.message)])


def _dossier_key(line, numbers: dict[str, str]) -> str:
    """The dossier id of a payment line or credit note; a number no visible dossier has stays
    a key that finds none."""
    if line.dossier_id is not None:
        return line.dossier_id
    return numbers.get(line.dossier_number, UNKNOWN_NUMBER + line.dossier_number)


def _payment_input(entry: NewPayment, numbers: dict[str, str]) -> payments.PaymentInput:
    return payments.PaymentInput(
        number=entry.number, payment_date=entry.payment_date,
        organisation_id=entry.organisation_id,
        lines=tuple(payments.LineInput(_dossier_key(line, numbers), line.hours_paid,
                                       line.period_start, line.period_end, line.amount,
                                       entry.kind_of(line))
                    for line in entry.lines))


def _payment_reply(payment: payments.Payment) -> dict:
    return Payment(
        id=payment.id, number=payment.number, payment_date=payment.payment_date,
        funder_id=payment.funder_id, organisation_id=payment.organisation_id,
        advance=payment.advance, amount=payment.amount,
        deductions=[PaymentDeduction(credit_note_id=d.credit_note_id, label=d.label,
                                     amount=d.amount) for d in payment.deductions],
        deducted_amount=payment.deducted, transferred_amount=payment.transferred,
        status=payment.status,
        lines=[{name: getattr(line, name) for name in (
            "dossier_id", "dossier_number", "beneficiary_name", "beneficiary_first_name",
            "training_title", "hours_paid", "period_start", "period_end", "amount", "kind")}
            for line in payment.lines],
        bank_details_version=payment.bank_details_version,
        remittance_document_id=payment.remittance_document_id,
        recorded_by=payment.recorded_by, recorded_at=payment.recorded_at,
        issued_at=payment.issued_at, reconciled=payment.reconciled,
        reconciled_by=payment.reconciled_by,
        reconciled_at=payment.reconciled_at).model_dump(mode="json")


def _paid_version(uow, payment: payments.Payment) -> bank.BankDetailsVersion | None:
    """The validated version the payment was recorded with (None: there was none)."""
    if payment.bank_details_version is None:
        return None
    return uow.bank_details.get(payment.organisation_id, payment.bank_details_version)


def _advice_request(payment: payments.Payment,
                    settings: payment_settings.PaymentSettings | None,
                    version: bank.BankDetailsVersion | None) -> RemittanceAdviceRequest:
    """Everything from the recorded payment: the payer from the funder's settings, the
    account from the version paid, one line per payment line."""
    return RemittanceAdviceRequest(
        payment_id=payment.id, payment_number=payment.number,
        payment_date=payment.payment_date, funder_id=payment.funder_id,
        organisation_id=payment.organisation_id, organisation_name=payment.organisation_name,
        payer=settings and Payer(name=settings.payer_name, address=settings.address,
                                 logo_document_id=settings.logo_document_id),
        account=version and PaidAccount(
            holder=advice.account_holder(version, payment.organisation_name),
            masked_iban=advice.masked_iban(version.iban)),
        lines=[AdviceLine(
            dossier_number=line.dossier_number,
            beneficiary_name=" ".join(part for part in (
                line.beneficiary_name, line.beneficiary_first_name) if part),
            period=Period(start=line.period_start, end=line.period_end),
            hours_paid=line.hours_paid, amount=line.amount) for line in payment.lines],
        deductions=[Deduction(label=d.label, amount=d.amount) for d in payment.deductions],
        amount=payment.transferred, advance=payment.advance)


# ---- the funder's payment settings ----------------------------------------------------------

def name_the_payer(uow, data) -> None:
    """A new funder's advices name it as the payer from the start (seed 000), until an
    administrator gives its address and logo."""
    if uow.settings.get(data.funder_id) is None:
        uow.settings.add(payment_settings.PaymentSettings(
            data.funder_id, data.name, None, None, payment_settings.BOOTSTRAP,
            data.bootstrapped_at))


def get_payment_settings(db, actor: Actor) -> dict:
    """The payer the funder's remittance advices name (NotFound for a funder bootstrapped
    before payments named it, until an administrator does)."""
    require_funder_staff(actor)
    with db.reading() as uow:
        settings = uow.settings.get(actor.funder_id)
    if settings is None:
        raise NotFound("payment_settings_not_found",
                       "Les paramètres de paiement du financeur ne sont pas encore renseignés.")
    return _settings_reply(settings)


def set_payment_settings(db, ports: Ports, actor: Actor, payload) -> dict:
    """A funder administrator names the payer: name, address, and the logo it filed."""
    payment_settings.require_funder_admin(actor)
    entry = parse(NewPaymentSettings, payload)
    refund = entry.refund_account and payment_settings.RefundAccount(
        entry.refund_account.holder, bank.normalise_iban(entry.refund_account.iban),
        entry.refund_account.bic and bank.normalise_bic(entry.refund_account.bic))
    if entry.logo_document_id is not None and not payment_settings.logo_is_valid(
            _document_or_none(ports, actor, entry.logo_document_id)):
        raise payment_settings.invalid_logo()
    # Two first settings at once: the second fails on the primary key at commit.
    with concurrent_change_is_conflict("Les paramètres de paiement viennent d'être modifiés : "
                                       "rechargez la page et réessayez."), \
            db.unit_of_work() as uow:
        settings = uow.settings.get(actor.funder_id)
        if settings is None:
            settings = payment_settings.PaymentSettings(
                actor.funder_id, entry.payer_name, entry.address, entry.logo_document_id,
                actor.user_id, ports.clock(), refund)
            uow.settings.add(settings)
        else:
            settings.change(entry.payer_name, entry.address, entry.logo_document_id, refund,
                            actor.user_id, ports.clock())
        reply = _settings_reply(settings)
    log.info("payment_settings_changed", funder_id=actor.funder_id)
    return reply


def _settings_reply(settings: payment_settings.PaymentSettings) -> dict:
    return PaymentSettings(
        funder_id=settings.funder_id, payer_name=settings.payer_name, address=settings.address,
        logo_document_id=settings.logo_document_id,
        refund_account=_refund_account(settings), updated_by=settings.updated_by,
        updated_at=settings.updated_at).model_dump(mode="json")


# ---- the list and its export pages ----------------------------------------------------------

def list_payments(db, actor: Actor, query=None) -> dict:
    """The list grouped by month, date and dossier, with totals (seed 000)."""
    scope = _scope(actor)
    search = parse(PaymentSearch, query or {}).model_dump()
    with db.reading() as uow:
        rows = uow.payments.rows(scope, search, MAX_PAGE + 1)
        truncated = len(rows) > MAX_PAGE
        rows = rows[:MAX_PAGE]
        months, days = uow.payments.totals(scope, search, {row.payment_date for row in rows})
    grouped = listing.group_rows([_row(row) for row in rows], listing.Totals(months, days))
    return PaymentList(months=grouped, total=sum(months.values(), start=_zero()),
                       rows=len(rows), truncated=truncated).model_dump(mode="json")


def export_payments(db, actor: Actor, query=None) -> dict:
    """The Excel export of a search, as a job (docs/jobs.md) that run_export does: the right
    is checked now, the workbook written in the background. The same search asked again gets
    the job already there while its lines are as they were (none recorded or ticked since)."""
    scope = _scope(actor)
    search = parse(PaymentSearch, query or {})
    with db.unit_of_work() as uow:
        lines, changed = uow.payments.export_state(scope, search.model_dump())
        return uow.jobs.submit(EXPORT, actor, {
            "search": search.model_dump(mode="json"), "lines": lines,
            "changed": changed and changed.isoformat()}, {EXPORT_ROWS: lines})


def run_export(db, step) -> None:
    """The export job: the workbook written page by page (memory stays constant), each page
    counted once written, then attached as the job's file. Resumed, it starts over: the file
    being written went with the process that died."""
    if step.done(EXPORT_ROWS):
        step.advance(EXPORT_ROWS, -step.done(EXPORT_ROWS))
    search = step.payload["search"]
    pages = adapters.pages_of(lambda after: export_page(db, step.actor, search, after,
                                                        adapters.PAGE_SIZE))
    content, lines = adapters.workbook_file(_counted(step, pages))
    step.attach_file(content, adapters.file_name(search), adapters.CONTENT_TYPE)
    step.finish({"rows": lines})


def _counted(step, pages):
    """The pages as they come; each one counted done when the next is asked (it is written)."""
    for page in pages:
        yield page
        step.advance(EXPORT_ROWS, len(page.rows))


def export_page(db, actor: Actor, query=None, after=None, limit=1000) -> listing.ExportPage:
    """One page of the export, in list order, with the totals of the months and dates it
    touches; `after` is the previous page's `next_after` (an opaque cursor). The rows stay
    typed on their way to the workbook: written as JSON and read back, they were a third of
    what the export cost beyond a bare openpyxl loop (docs/performance.md). Also what
    bench/run.py drives without the broker."""
    scope = _scope(actor)
    search = parse(PaymentSearch, query or {}).model_dump()
    limit = max(1, min(int(limit), 5000))
    try:
        cursor = listing.decode_cursor(after)
    except ValueError:
        raise InvalidInput("invalid_cursor", "Curseur de page invalide.") from None
    with db.reading() as uow:
        rows = uow.payments.rows(scope, search, limit, cursor)
        months, days = uow.payments.totals(scope, search, {row.payment_date for row in rows})
    next_after = listing.encode_cursor(rows[-1]) if len(rows) == limit else None
    return listing.ExportPage(rows, listing.Totals(months, days), next_after)


def _scope(actor: Actor) -> Scope:
    scope = scope_for(actor)
    require_payments_right(actor)
    return scope


def _row(row) -> PaymentRow:
    """Built without validation: the values come from our own tables, checked on the way in;
    checking every character of every text again was 39 % of the export's overhead
    (docs/performance.md)."""
    return PaymentRow.model_construct(**{name: getattr(row, name)
                                         for name in PaymentRow.model_fields})


def _zero() -> Decimal:
    return Decimal("0.00")


# ---- bank details and credit notes ----------------------------------------------------------

def get_bank_details(db, ports: Ports, actor: Actor, organisation_id) -> dict:
    """The IBAN is read by funder staff and by the organisation's users with the payments
    right only (issue 14: not by a user who only enters hours)."""
    organisation = _organisation(ports, actor, organisation_id)
    funder_id = organisation["funder_id"]
    require_payments_right(actor)
    with db.reading() as uow:
        versions = [v for v in uow.bank_details.versions(organisation_id)
                    if v.funder_id == funder_id]
        processing = uow.payments.processing_count(organisation_id)
    return BankDetails(
        organisation_id=organisation_id, siret=organisation.get("siret"),
        uai=organisation.get("uai"),
        current=_version_reply(versions[0]) if versions else None,
        validated_version=bank.validated_version(versions),
        may_change=processing == 0,
        versions=[_version_reply(v) for v in versions]).model_dump(mode="json")


def submit_bank_details(db, ports: Ports, actor: Actor, organisation_id, payload) -> dict:
    """The organisation enters a new version (IBAN, BIC, invoicing, RIB document): pending
    until the funder decides. Refused while a payment is being processed."""
    funder_id = _as_organisation(ports, actor, organisation_id)
    entry = parse(NewBankDetails, payload)
    _check_rib(ports, actor, entry.rib_document_id, organisation_id)
    with db.unit_of_work() as uow:
        versions = uow.bank_details.versions(organisation_id)
        version = bank.new_bank_details(
            versions[0].version if versions else 0,
            uow.payments.processing_count(organisation_id),
            bank.BankDetailsInput(entry.iban, entry.bic, entry.invoicing,
                                  entry.third_party_name, entry.rib_document_id),
            organisation_id, funder_id, actor.user_id, actor.email, ports.clock())
        uow.bank_details.add(version)
        uow.publish("bank_details_changed", _bank_details_event(version, actor.user_id,
                                                                version.submitted_at),
                    subject=organisation_id)
        reply = _version_reply(version)
    log.info("bank_details_submitted", organisation_id=organisation_id,
             version=reply["version"])
    return reply


def review_bank_details(db, ports: Ports, actor: Actor, organisation_id, payload) -> dict:
    """Funder staff validate or reject (with a reason) a pending version; the organisation
    is told by email."""
    organisation = _organisation(ports, actor, organisation_id)
    require_funder_staff(actor)
    review = parse(BankDetailsReview, payload)
    with db.unit_of_work() as uow:
        version = uow.bank_details.get(organisation_id, review.version)
        if version is None or version.funder_id != actor.funder_id:
            raise NotFound("bank_details_not_found", "Coordonnées bancaires introuvables.")
        version.review(review.decision, review.reason, actor.user_id, ports.clock())
        uow.publish("bank_details_changed", _bank_details_event(version, actor.user_id,
                                                                version.reviewed_at),
                    subject=organisation_id)
        reply = _version_reply(version)
        email = version.submitted_by_email
    _notify_review(ports, organisation.get("email") or email, reply)
    return reply


def _bank_details_event(version: bank.BankDetailsVersion, by: str,
                        at: datetime) -> BankDetailsChangedV1:
    """For identity's audit trail: the version and its status, never the account itself."""
    return BankDetailsChangedV1(
        organisation_id=version.organisation_id, funder_id=version.funder_id,
        version=version.version, status=version.status, reason=version.rejection_reason,
        changed_by=by, changed_at=at)


def get_credit_note_mode(db, ports: Ports, actor: Actor, organisation_id) -> dict:
    _organisation(ports, actor, organisation_id)
    with db.reading() as uow:
        choice = uow.credit_note_modes.latest(organisation_id)
    return _credit_note_mode_reply(organisation_id, choice)


def choose_credit_note_mode(db, ports: Ports, actor: Actor, organisation_id, payload) -> dict:
    funder_id = _as_organisation(ports, actor, organisation_id)
    choice = parse(CreditNoteModeChoice, payload)
    with db.unit_of_work() as uow:
        chosen = credit_notes.CreditNoteChoice(str(uuid.uuid4()), organisation_id, funder_id,
                                               choice.mode, actor.user_id, ports.clock())
        uow.credit_note_modes.add(chosen)
    return _credit_note_mode_reply(organisation_id, chosen)


def _as_organisation(ports: Ports, actor: Actor, organisation_id) -> str:
    """The organisation's own user with the payments right; its funder's id."""
    funder_id = _organisation(ports, actor, organisation_id)["funder_id"]
    require_organisation(actor)
    require_payments_right(actor)
    return funder_id


def _organisation(ports: Ports, actor: Actor, organisation_id) -> dict:
    """identity decides who may see the organisation (NotFound otherwise): its funder's
    staff and its own users."""
    ensure_may_ask_about_organisation(actor, organisation_id)
    return ports.identity.get_organisation(_as_caller(actor), str(organisation_id))


def _document_or_none(ports: Ports, actor: Actor, document_id: str) -> dict | None:
    """The document as the caller reads it (None when they may not see it)."""
    try:
        return ports.documents.get_document(_as_caller(actor), document_id)
    except NotFound:
        return None


def _check_rib(ports: Ports, actor: Actor, document_id: str, organisation_id: str) -> None:
    if not bank.rib_is_valid(_document_or_none(ports, actor, document_id), organisation_id):
        raise InvalidInput("rib_document_invalid",
                           "Joignez le RIB déposé dans la rubrique « RIB » des documents.",
                           {"field": "rib_document_id"})


def _notify_review(ports: Ports, email: str | None, version: dict) -> None:
    if not email:
        return
    try:
        ports.notifications.send_direct_email({
            "to": email, "template": "bank_details_reviewed", "context": {
                "status": version["status"], "status_label": version["status_label"],
                "reason": version["rejection_reason"],
                "iban_end": bank.masked_iban(version["iban"]),
                "version": version["version"],
                "organisation_id": version["organisation_id"]}})  # the link to the details
    except Exception as exc:  # noqa: BLE001 - the decision stands; the status shows it
        log.warning("bank_details_email_failed", error=type(exc).__name__)


def _version_reply(version: bank.BankDetailsVersion) -> dict:
    return BankDetailsVersion(
        organisation_id=version.organisation_id, version=version.version, iban=version.iban,
        bic=version.bic, invoicing=version.invoicing,
        invoicing_label=bank.INVOICING_LABELS[version.invoicing],
        third_party_name=version.third_party_name, rib_document_id=version.rib_document_id,
        status=version.status, status_label=bank.STATUS_LABELS[version.status],
        rejection_reason=version.rejection_reason, submitted_by=version.submitted_by,
        submitted_at=version.submitted_at, reviewed_by=version.reviewed_by,
        reviewed_at=version.reviewed_at).model_dump(mode="json")


def _credit_note_mode_reply(organisation_id: str,
                            choice: credit_notes.CreditNoteChoice | None) -> dict:
    return CreditNoteMode(
        organisation_id=organisation_id, mode=choice.mode if choice else None,
        chosen_by=choice.chosen_by if choice else None,
        chosen_at=choice.chosen_at if choice else None,
        explanation=credit_notes.CREDIT_NOTE_EXPLANATION,
        options=[CreditNoteOption(mode=mode, label=label, text=text)
                 for mode, (label, text) in credit_notes.CREDIT_NOTE_OPTIONS.items()]
    ).model_dump(mode="json")


def _refund_account(settings: payment_settings.PaymentSettings) -> RefundAccount | None:
    account = settings.refund_account
    return account and RefundAccount(holder=account.holder, iban=account.iban, bic=account.bic)


# ---- credit notes ("factures d'avoir", seed 004) --------------------------------------------

MAX_CREDIT_NOTES = 500


def record_credit_note(db, ports: Ports, actor: Actor, payload) -> dict:
    """Funder staff record an overpayment on a dossier's period; its pro forma is edited after
    commit. The organisation's mode in force decides: déduction (taken off its next payments)
    or remboursement (a transfer within 15 days quoting AVCAP + the pro forma number)."""
    require_funder_staff(actor)
    entry = parse(NewCreditNote, payload)
    key = _dossier_key(entry, _dossier_ids_by_number(ports, actor, [entry]))
    dossier = _dossier_facts(ports, actor, {key})[key]
    problems = payments.dossier_problems("", None, dossier, actor.funder_id, None,
                                         entry.period_start, entry.period_end)
    if problems:
        raise payments.invalid_payment(problems)
    note = _new_credit_note(db, ports, actor, entry, dossier)
    log.info("credit_note_recorded", credit_note_id=note.id, number=note.number,
             mode=note.mode)
    return _issue_pro_forma(db, ports, actor, note.id)


def _new_credit_note(db, ports: Ports, actor: Actor, entry: NewCreditNote,
                     dossier: payments.DossierFacts) -> credit_notes.CreditNote:
    """Written with the funder's next pro forma number: a number taken at the same moment by
    another note fails on the unique key, and the next one is taken (three tries)."""
    for _ in range(2):
        try:
            return _write_credit_note(db, ports, actor, entry, dossier)
        except Conflict:
            continue
    return _write_credit_note(db, ports, actor, entry, dossier)


def _write_credit_note(db, ports: Ports, actor: Actor, entry: NewCreditNote,
                       dossier: payments.DossierFacts) -> credit_notes.CreditNote:
    with concurrent_change_is_conflict("Un autre avoir vient d'être enregistré : réessayez."), \
            db.unit_of_work() as uow:
        # The dossier's month locks, as for a payment: a payment and a credit note on the
        # same dossier see each other's amounts.
        uow.locks.for_payment({dossier.dossier_id})
        problem = credit_notes.exceeds_paid(
            entry.amount,
            uow.payments.paid_amount(dossier.dossier_id, entry.period_start, entry.period_end),
            uow.credit_notes.credited(dossier.dossier_id, entry.period_start, entry.period_end))
        if problem is not None:
            raise payments.invalid_payment([problem])
        now = ports.clock()
        note = credit_notes.CreditNote(
            str(uuid.uuid4()), uow.credit_notes.next_sequence(actor.funder_id),
            actor.funder_id, dossier.organisation_id, dossier.organisation_name,
            dossier.dossier_id, dossier.number, dossier.beneficiary_name, entry.period_start,
            entry.period_end, entry.amount, entry.reason,
            credit_notes.mode_in_force(uow.credit_note_modes.latest(dossier.organisation_id)),
            actor.user_id, now, paris_date(now))
        uow.credit_notes.add(note)
        uow.keep_reply(_credit_note_reply(uow, note, ports))
    return note


def get_credit_note(db, ports: Ports, actor: Actor, credit_note_id) -> dict:
    with db.reading() as uow:
        return _credit_note_reply(uow, _visible_credit_note(uow, actor, credit_note_id), ports)


def list_credit_notes(db, ports: Ports, actor: Actor, query=None) -> dict:
    """Funder staff: the funder's; an organisation's users with the payments right: its own.
    Newest first; `late`: a refund still awaited after its due date."""
    scope = _scope(actor)
    search = parse(CreditNoteSearch, query or {})
    with db.reading() as uow:
        today = paris_date(ports.clock())
        found = uow.credit_notes.search(scope, search.organisation_id, search.dossier_number,
                                        search.status, today, MAX_CREDIT_NOTES + 1)
        shown = found[:MAX_CREDIT_NOTES]
        taken_off = uow.payments.deductions_of([note.id for note in shown])
        notes = [_credit_note_shape(note, taken_off.get(note.id, []), today) for note in shown]
    return CreditNoteList(credit_notes=notes,
                          truncated=len(found) > MAX_CREDIT_NOTES).model_dump(mode="json")


def mark_credit_note_received(db, ports: Ports, actor: Actor, credit_note_id) -> dict:
    """Funder staff saw the organisation's transfer arrive (mode remboursement)."""
    with db.unit_of_work() as uow:
        note = _visible_credit_note(uow, actor, credit_note_id)
        require_funder_staff(actor)
        note.mark_received(actor.user_id, ports.clock())
        reply = _credit_note_reply(uow, note, ports)
    log.info("credit_note_received", credit_note_id=note.id)
    return reply


def issue_pro_forma(db, ports: Ports, actor: Actor, credit_note_id) -> dict:
    """Edits (again) a credit note's pro forma: how funder staff finish one whose edition
    failed when it was recorded (documents unavailable)."""
    require_funder_staff(actor)
    with db.reading() as uow:
        _visible_credit_note(uow, actor, credit_note_id)
    return _issue_pro_forma(db, ports, actor, str(credit_note_id), raise_errors=True)


def _issue_pro_forma(db, ports: Ports, actor: Actor, credit_note_id: str,
                     raise_errors: bool = False) -> dict:
    """Render the pro forma (documents, outside any transaction) and keep its document id;
    the credit note stands if documents fails."""
    with db.reading() as uow:
        note = uow.credit_notes.get(credit_note_id)
        settings = uow.settings.get(note.funder_id)
    try:
        organisation = ports.identity.get_organisation(_as_caller(actor), note.organisation_id)
        document = ports.documents.render_credit_note_pro_forma(
            _as_caller(actor), _pro_forma_request(note, settings, organisation).model_dump(
                mode="json"))
    except Exception as exc:  # noqa: BLE001 - the credit note stands; its pro forma can wait
        log.warning("pro_forma_failed", credit_note_id=credit_note_id,
                    error=type(exc).__name__)
        if raise_errors:
            raise
        with db.reading() as uow:
            return _credit_note_reply(uow, uow.credit_notes.get(credit_note_id), ports)
    with db.unit_of_work() as uow:
        note = uow.credit_notes.get(credit_note_id)
        note.issue(document["id"])
        return _credit_note_reply(uow, note, ports)


def _pro_forma_request(note: credit_notes.CreditNote,
                       settings: payment_settings.PaymentSettings | None,
                       organisation: dict) -> CreditNoteProFormaRequest:
    refund = note.mode == credit_notes.REFUND
    return CreditNoteProFormaRequest(
        credit_note_id=note.id, pro_forma_number=note.number, issued_on=note.issued_on,
        funder_id=note.funder_id, organisation_id=note.organisation_id,
        organisation_name=note.organisation_name, siret=organisation.get("siret"),
        uai=organisation.get("uai"),
        payer=settings and Payer(name=settings.payer_name, address=settings.address,
                                 logo_document_id=settings.logo_document_id),
        dossier_number=note.dossier_number, beneficiary_name=note.beneficiary_name,
        period=Period(start=note.period_start, end=note.period_end), amount=note.amount,
        reason=note.reason, mode=note.mode, transfer_reference=note.transfer_reference,
        due_date=note.due_date,
        refund_account=_refund_account(settings) if refund and settings else None)


def _visible_credit_note(uow, actor: Actor, credit_note_id) -> credit_notes.CreditNote:
    return _visible(uow.credit_notes.get(str(credit_note_id)), actor,
                    credit_notes.credit_note_not_found)


def _credit_note_reply(uow, note: credit_notes.CreditNote, ports: Ports) -> dict:
    return _credit_note_shape(note, uow.payments.deductions_of([note.id]).get(note.id, []),
                              paris_date(ports.clock()))


def _credit_note_shape(note: credit_notes.CreditNote, taken_off: list, today: date) -> dict:
    """`taken_off`: the (payment, deduction) pairs the note was deducted by."""
    status = note.status_on(today)
    return CreditNote(
        id=note.id, number=note.number, funder_id=note.funder_id,
        organisation_id=note.organisation_id, organisation_name=note.organisation_name,
        dossier_id=note.dossier_id, dossier_number=note.dossier_number,
        beneficiary_name=note.beneficiary_name, period_start=note.period_start,
        period_end=note.period_end, amount=note.amount, reason=note.reason, mode=note.mode,
        status=status, status_label=credit_notes.STATUS_LABELS[status],
        deducted_amount=note.deducted, remaining_amount=note.remaining,
        deductions=[CreditNoteDeduction(payment_id=payment.id, payment_number=payment.number,
                                        amount=deduction.amount)
                    for payment, deduction in taken_off],
        issued_on=note.issued_on, transfer_reference=note.transfer_reference,
        due_date=note.due_date, pro_forma_document_id=note.pro_forma_document_id,
        recorded_by=note.recorded_by, recorded_at=note.recorded_at,
        received_by=note.received_by, received_at=note.received_at).model_dump(mode="json")
