"""payments: month locks, payments ("règlements") with their remittance advice, the grouped
list and its export pages, the reconciliation mark, bank details and the credit-note mode
(Nameko entrypoints only; the rules live in domain.py)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from nameko.rpc import rpc
from sqlalchemy.exc import IntegrityError

from contracts.common import Actor, DossierMonth, Right
from contracts.events import CoveredDossier, MonthHours, MonthLockedV1, MonthUnlockedV1, \
    PaymentIssuedV1
from contracts.payments import (MAX_PAGE, BankDetails, BankDetailsReview, BankDetailsVersion,
                                CreditNoteMode, CreditNoteModeChoice, CreditNoteOption,
                                ExportPage, ImportedRow, ImportProblem, NewBankDetails,
                                NewPayment, PaymentBatch, PaymentImportReport, PaymentList,
                                PaymentRow, PaymentSearch, Reconciliation, Unlock)
from contracts.payments import MonthLock as MonthLockReply
from contracts.payments import Payment as PaymentReply
from contracts.pdfs import PartyName, Period, RemittanceAdviceRequest
from servicekit.access import acting
from contracts.common.access import require_funder_staff, require_right
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from contracts.common.errors import (Conflict, Forbidden, InvalidInput, JalonError, NotFound,
                               ServiceUnavailable)
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse
from services.payments import domain, models
from services.payments.domain import BankDetailsVersion as BankVersion
from services.payments.domain import CreditNoteChoice, MonthLock, Payment
from services.payments.models import metadata, start_mappers

log = get_logger(__name__)
NO_PAYMENTS_RIGHT = "Il vous faut le droit « règlements » pour cette action."
UNKNOWN_NUMBER = "number:"  # never an Id (":" is not allowed in one)


class PaymentsService(ServiceBase):
    name = "payments"
    db = Database(metadata, start_mappers)
    relay = OutboxRelay()
    dossiers = RpcClient("dossiers")
    documents = RpcClient("documents")
    identity = RpcClient("identity")
    notifications = RpcClient("notifications")

    # ---- month locks ------------------------------------------------------------------------
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
        return _lock_reply(lock)

    @rpc
    def unlock_month(self, actor, dossier_id, month, payload):
        """Funder staff unlock a locked month with a reason; certification follows
        month_unlocked. Unlocking a month that is not locked is a Conflict, and changes
        nothing."""
        actor = acting(actor)
        ref = parse(DossierMonth, {"dossier_id": dossier_id, "month": month})
        unlock = parse(Unlock, payload)
        with self.db.unit_of_work() as uow:
            lock = uow.session.get(MonthLock, (ref.dossier_id, ref.month))
            if lock is None:
                raise NotFound("month_lock_not_found",
                               "Aucun mois verrouillé trouvé pour ce dossier.")
            domain.ensure_may_see(actor.role, actor.funder_id, actor.organisation_id, lock)
            require_funder_staff(actor)
            lock.unlock(actor.user_id, unlock.reason, utcnow())
            uow.publish("month_unlocked", MonthUnlockedV1(
                dossier_id=lock.dossier_id, month=lock.month, reason=unlock.reason,
                unlocked_by=actor.user_id, unlocked_at=lock.unlocked_at),
                subject=f"{lock.dossier_id}/{lock.month}")
            reply = _lock_reply(lock)
        log.info("month_unlocked", dossier_id=ref.dossier_id, month=ref.month)
        return reply

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

    @subscribe("certification", "certificate_reopened")
    @idempotent
    def on_certificate_reopened(self, uow, event):
        """The funder reopened the month in certification: its lock is released (no
        month_unlocked: certification reopened it already)."""
        data = event.data
        released = _lock_of(uow, data).release(data.reopened_by, data.reason, data.reopened_at)
        log.info("month_released", dossier_id=data.dossier_id, month=data.month,
                 released=released)

    @subscribe("certification", "hours_transmitted")
    @idempotent
    def on_hours_transmitted(self, uow, event):
        data = event.data
        recorded = _lock_of(uow, data).transmitted(data.certificate_id, data.transmitted_by,
                                                   data.transmitted_at)
        log.info("hours_transmitted", dossier_id=data.dossier_id, month=data.month,
                 recorded=recorded)

    # ---- payments -----------------------------------------------------------------------------
    @rpc
    @replayable
    def record_payment(self, actor, payload):
        """Funder staff record one payment; its remittance advice is rendered after commit."""
        actor = acting(actor)
        require_funder_staff(actor)
        entry = parse(NewPayment, payload)
        numbers = self._dossier_ids_by_number(actor, [entry])
        dossiers = self._dossier_facts(actor, {_dossier_key(line, numbers)
                                               for line in entry.lines})
        payment_input = _payment_input(entry, numbers)
        problems = domain.check_payment(payment_input, actor.funder_id, dossiers)
        if problems:
            raise domain.invalid_payment(problems)
        payment = self._record(actor, payment_input, dossiers, as_reply=True)
        if payment is None:
            raise Conflict("payment_number_taken",
                           f"Le règlement n° {entry.number} est déjà enregistré.")
        return self._issue(actor, payment.id)

    @rpc
    @replayable
    def import_payments(self, actor, payload):
        """A batch from the accounting system: each row on its own; a number already recorded
        for the funder is `unchanged` (a re-import changes nothing)."""
        actor = acting(actor)
        require_funder_staff(actor)
        batch = parse(PaymentBatch, payload)
        parsed = [_parse_row(raw) for raw in batch.payments]
        good = [entry for entry in parsed if isinstance(entry, NewPayment)]
        numbers = self._dossier_ids_by_number(actor, good)
        dossiers = self._dossier_facts(actor, {_dossier_key(line, numbers) for entry in good
                                               for line in entry.lines})
        rows, created = [], []
        for position, entry in enumerate(parsed, start=1):
            row = self._import_row(actor, position, entry, dossiers, numbers)
            rows.append(row)
            if row.result == "created":
                created.append(row.payment_id)
        for payment_id in created:  # after every commit, as for one payment
            self._issue(actor, payment_id)
        count = {kind: sum(r.result == kind for r in rows)
                 for kind in ("created", "unchanged", "error")}
        log.info("payments_imported", **count)
        return PaymentImportReport(created=count["created"], unchanged=count["unchanged"],
                                   errors=count["error"], rows=rows).model_dump(mode="json")

    @rpc
    def get_payment(self, actor, payment_id):
        actor = acting(actor)
        with self.db.read() as session:
            return _payment_reply(self._visible_payment(session, actor, payment_id))

    @rpc
    @replayable
    def issue_remittance_advice(self, actor, payment_id):
        """Renders (again) a payment's remittance advice: how funder staff finish a payment
        whose advice failed when it was recorded (documents unavailable). The first success
        issues the payment and publishes payment_issued; later ones only replace the PDF."""
        actor = acting(actor)
        require_funder_staff(actor)
        with self.db.read() as session:
            self._visible_payment(session, actor, payment_id)
        return self._issue(actor, str(payment_id), raise_errors=True)

    @rpc
    def reconcile_payment(self, actor, payment_id, payload):
        """Pointage: the organisation ticks or unticks a payment as received."""
        actor = acting(actor)
        change = parse(Reconciliation, payload)
        with self.db.unit_of_work() as uow:
            payment = self._visible_payment(uow.session, actor, payment_id)
            if actor.role.value != domain.ORGANISATION_ROLE:
                raise _organisation_only()
            require_right(actor, Right.payments, NO_PAYMENTS_RIGHT)
            payment.mark_reconciled(change.reconciled, actor.user_id, utcnow())
            reply = _payment_reply(payment)
        return reply

    @rpc
    def list_payments(self, actor, query=None):
        """The list grouped by month, date and dossier, with totals (seed 000)."""
        actor = acting(actor)
        scope = self._scope(actor)
        search = parse(PaymentSearch, query or {}).model_dump()
        with self.db.read() as session:
            rows = models.search_rows(session, scope, search, MAX_PAGE + 1)
            truncated = len(rows) > MAX_PAGE
            rows = rows[:MAX_PAGE]
            months, days = models.totals(session, scope, search,
                                         {row.payment_date for row in rows})
        totals = domain.Totals(months, days)
        grouped = domain.group_rows([_row(row) for row in rows], totals)
        return PaymentList(months=grouped, total=sum(months.values(), start=_zero()),
                           rows=len(rows), truncated=truncated).model_dump(mode="json")

    @rpc
    def export_rows(self, actor, query=None, after=None, limit=1000):
        """One page of the export, in list order, with the totals of the months and dates it
        touches; `after` is the previous page's `next_after` (an opaque cursor)."""
        actor = acting(actor)
        scope = self._scope(actor)
        search = parse(PaymentSearch, query or {}).model_dump()
        limit = max(1, min(int(limit), 5000))
        with self.db.read() as session:
            return export_page(session, scope, search, after, limit)

    def _scope(self, actor: Actor) -> domain.Scope:
        scope = domain.scope_for(actor.role.value, actor.funder_id, actor.organisation_id)
        require_right(actor, Right.payments, NO_PAYMENTS_RIGHT)
        return scope

    def _visible_payment(self, session, actor: Actor, payment_id) -> Payment:
        payment = session.get(Payment, str(payment_id))
        try:
            scope = domain.scope_for(actor.role.value, actor.funder_id, actor.organisation_id)
        except JalonError:
            raise domain.payment_not_found() from None
        if payment is None or not scope.allows(payment.funder_id, payment.organisation_id):
            raise domain.payment_not_found()
        require_right(actor, Right.payments, NO_PAYMENTS_RIGHT)
        return payment

    def _dossier_ids_by_number(self, actor: Actor, entries: list[NewPayment]) -> dict:
        """Dossier number -> id, for the lines that name their dossier by number: the exact
        number among the dossiers the caller may see (absent when none)."""
        wanted = {line.dossier_number for entry in entries for line in entry.lines
                  if line.dossier_number is not None}
        found = {}
        for number in sorted(wanted):
            summaries = self.dossiers.list_dossiers(actor.model_dump(mode="json"), number, 50)
            match = [d["id"] for d in summaries if d["number"] == number]
            if len(match) == 1:
                found[number] = match[0]
        return found

    def _dossier_facts(self, actor: Actor, dossier_ids: set[str]) -> dict:
        """Each dossier as the caller may see it (None when not found), asked before any
        transaction opens."""
        found = {}
        for dossier_id in sorted(dossier_ids):
            if dossier_id.startswith(UNKNOWN_NUMBER):
                found[dossier_id] = None
                continue
            try:
                dossier = self.dossiers.get_dossier(actor.model_dump(mode="json"), dossier_id)
            except NotFound:
                found[dossier_id] = None
                continue
            found[dossier_id] = domain.DossierFacts(
                dossier_id=dossier["id"], number=dossier["number"],
                funder_id=dossier["funder_id"], organisation_id=dossier["organisation_id"],
                organisation_name=dossier["organisation_name"],
                beneficiary_name=dossier["beneficiary"]["name"],
                training_title=dossier["training_title"])
        return found

    def _record(self, actor: Actor, entry: domain.PaymentInput, dossiers,
                as_reply: bool = False) -> Payment | None:
        """The payment written in status processing, or None when its number is taken.
        `as_reply`: it is also the call's reply until issued, stored with it, so that a call
        redelivered after this commit answers the payment, not payment_number_taken."""
        try:
            with self.db.unit_of_work() as uow:
                if models.payment_by_number(uow.session, actor.funder_id, entry.number):
                    return None
                version = domain.validated_version(
                    models.bank_versions(uow.session, entry.organisation_id))
                payment = domain.new_payment(str(uuid.uuid4()), entry, actor.funder_id,
                                             dossiers, version, actor.user_id, utcnow())
                uow.session.add(payment)
                if as_reply:
                    uow.session.flush()
                    uow.keep_reply(_payment_reply(payment))
        except IntegrityError:  # the same number recorded concurrently
            return None
        log.info("payment_recorded", payment_id=payment.id, number=payment.number)
        return payment

    def _import_row(self, actor: Actor, position: int, entry, dossiers,
                    numbers: dict[str, str]) -> ImportedRow:
        if isinstance(entry, ImportedRow):
            return entry.model_copy(update={"row": position})
        with self.db.read() as session:
            existing = models.payment_by_number(session, actor.funder_id, entry.number)
        if existing is not None:
            return ImportedRow(row=position, number=entry.number, result="unchanged",
                               payment_id=existing.id)
        payment_input = _payment_input(entry, numbers)
        problems = domain.check_payment(payment_input, actor.funder_id, dossiers)
        if problems:
            return ImportedRow(row=position, number=entry.number, result="error", problems=[
                ImportProblem(field=p.field, code=p.code, message=p.message) for p in problems])
        payment = self._record(actor, payment_input, dossiers)
        if payment is None:
            with self.db.read() as session:
                existing = models.payment_by_number(session, actor.funder_id, entry.number)
            return ImportedRow(row=position, number=entry.number, result="unchanged",
                               payment_id=existing.id if existing else None)
        return ImportedRow(row=position, number=entry.number, result="created",
                           payment_id=payment.id)

    def _issue(self, actor: Actor, payment_id: str, raise_errors: bool = False) -> dict:
        """Render the remittance advice (documents, outside any transaction), then mark the
        payment issued and publish payment_issued, once. If documents fails the payment
        stays `processing`: issue_remittance_advice finishes it later."""
        with self.db.read() as session:
            payment = session.get(Payment, payment_id)
            if payment is None:
                raise domain.payment_not_found()
            request = _advice_request(payment)
        try:
            document = self.documents.render_remittance_advice(
                actor.model_dump(mode="json"), request.model_dump(mode="json"))
        except Exception as exc:  # noqa: BLE001 - the payment stands; the advice can wait
            log.warning("remittance_advice_failed", payment_id=payment_id,
                        error=type(exc).__name__)
            if raise_errors:
                raise
            with self.db.read() as session:
                return _payment_reply(session.get(Payment, payment_id))
        with self.db.unit_of_work() as uow:
            payment = uow.session.get(Payment, payment_id)
            if payment.issue(document["id"], utcnow()):
                uow.publish("payment_issued", PaymentIssuedV1(
                    payment_id=payment.id, payment_number=payment.number,
                    funder_id=payment.funder_id, organisation_id=payment.organisation_id,
                    advance=payment.advance, dossiers=[
                        CoveredDossier(dossier_id=dossier_id, months=months)
                        for dossier_id, months in payment.covered().items()],
                    issued_at=payment.issued_at), subject=payment.id)
            return _payment_reply(payment)

    # ---- bank details and credit notes ----------------------------------------------------------
    @rpc
    def get_bank_details(self, actor, organisation_id):
        actor = acting(actor)
        funder_id = self._organisation_funder(actor, organisation_id)
        with self.db.read() as session:
            return _bank_details_reply(session, organisation_id, funder_id)

    @rpc
    def submit_bank_details(self, actor, organisation_id, payload):
        """The organisation enters a new version (IBAN, BIC, invoicing, RIB document): pending
        until the funder decides. Refused while a payment is being processed."""
        actor = acting(actor)
        funder_id = self._as_organisation(actor, organisation_id)
        entry = parse(NewBankDetails, payload)
        self._check_rib(actor, entry.rib_document_id, organisation_id)
        with self.db.unit_of_work() as uow:
            versions = models.bank_versions(uow.session, organisation_id)
            version = domain.new_bank_details(
                versions[0].version if versions else 0,
                models.processing_count(uow.session, organisation_id),
                domain.BankDetailsInput(entry.iban, entry.bic, entry.invoicing,
                                        entry.third_party_name, entry.rib_document_id),
                organisation_id, funder_id, actor.user_id, actor.email, utcnow())
            uow.session.add(version)
            uow.session.flush()
            reply = _version_reply(version)
        log.info("bank_details_submitted", organisation_id=organisation_id,
                 version=reply["version"])
        return reply

    @rpc
    def review_bank_details(self, actor, organisation_id, payload):
        """Funder staff validate or reject (with a reason) a pending version; the organisation
        is told by email."""
        actor = acting(actor)
        organisation = self._organisation(actor, organisation_id)
        require_funder_staff(actor)
        review = parse(BankDetailsReview, payload)
        with self.db.unit_of_work() as uow:
            version = uow.session.get(BankVersion, (organisation_id, review.version))
            if version is None or version.funder_id != actor.funder_id:
                raise NotFound("bank_details_not_found", "Coordonnées bancaires introuvables.")
            version.review(review.decision, review.reason, actor.user_id, utcnow())
            reply = _version_reply(version)
            email = version.submitted_by_email
        self._notify_review(organisation.get("email") or email, reply)
        return reply

    @rpc
    def get_credit_note_mode(self, actor, organisation_id):
        actor = acting(actor)
        self._organisation_funder(actor, organisation_id)
        with self.db.read() as session:
            choice = models.latest_credit_note_choice(session, organisation_id)
            return _credit_note_reply(organisation_id, choice)

    @rpc
    def choose_credit_note_mode(self, actor, organisation_id, payload):
        actor = acting(actor)
        funder_id = self._as_organisation(actor, organisation_id)
        choice = parse(CreditNoteModeChoice, payload)
        with self.db.unit_of_work() as uow:
            chosen = CreditNoteChoice(str(uuid.uuid4()), organisation_id, funder_id,
                                      choice.mode, actor.user_id, utcnow())
            uow.session.add(chosen)
            reply = _credit_note_reply(organisation_id, chosen)
        return reply

    def _as_organisation(self, actor: Actor, organisation_id) -> str:
        """The organisation's own user with the payments right; its funder's id."""
        funder_id = self._organisation_funder(actor, organisation_id)
        if actor.role.value != domain.ORGANISATION_ROLE:
            raise _organisation_only()
        require_right(actor, Right.payments, NO_PAYMENTS_RIGHT)
        return funder_id

    def _organisation_funder(self, actor: Actor, organisation_id) -> str:
        return self._organisation(actor, organisation_id)["funder_id"]

    def _organisation(self, actor: Actor, organisation_id) -> dict:
        """identity decides who may see the organisation (NotFound otherwise): its funder's
        staff and its own users."""
        if actor.role.value not in domain.FUNDER_ROLES and actor.organisation_id != str(
                organisation_id):
            raise NotFound("organisation_not_found", "Organisme introuvable.")
        return self.identity.get_organisation(actor.model_dump(mode="json"),
                                              str(organisation_id))

    def _check_rib(self, actor: Actor, document_id: str, organisation_id: str) -> None:
        try:
            document = self.documents.get_document(actor.model_dump(mode="json"), document_id)
        except NotFound:
            document = None
        if (document is None or document.get("category") != "bank_details"
                or document.get("organisation_id") not in (None, organisation_id)):
            raise InvalidInput("rib_document_invalid",
                               "Joignez le RIB déposé dans la rubrique « RIB » des documents.",
                               {"field": "rib_document_id"})

    def _notify_review(self, email: str | None, version: dict) -> None:
        if not email:
            return
        try:
            self.notifications.send_direct_email({
                "to": email, "template": "bank_details_reviewed", "context": {
                    "status": version["status"], "status_label": version["status_label"],
                    "reason": version["rejection_reason"],
                    "iban_end": domain.masked_iban(version["iban"]),
                    "version": version["version"]}})
        except Exception as exc:  # noqa: BLE001 - the decision stands; the status shows it
            log.warning("bank_details_email_failed", error=type(exc).__name__)


# ---- replies ------------------------------------------------------------------------------------

def _zero() -> Decimal:
    return Decimal("0.00")


def _organisation_only() -> Forbidden:
    return Forbidden("organisation_only", "Cette action est réservée à l'organisme.")


def _lock_of(uow, data) -> MonthLock:
    """The lock a certification event about a certified month refers to. Events of different
    queues may overtake each other: before `certified` is handled there is none yet, and the
    event is retried later (then dead-lettered, visible, if it never comes)."""
    lock = uow.session.get(MonthLock, (data.dossier_id, data.month))
    if lock is None:
        raise ServiceUnavailable("month_not_locked_yet",
                                 "Le mois n'est pas encore verrouillé pour paiement.")
    return lock


def _lock_reply(lock: MonthLock) -> dict:
    return MonthLockReply(
        dossier_id=lock.dossier_id, month=lock.month, locked=lock.locked,
        certificate_id=lock.certificate_id, training_hours=lock.training_hours,
        internship_hours=lock.internship_hours, absence_hours=lock.absence_hours,
        locked_at=lock.locked_at, unlocked_at=lock.unlocked_at, unlocked_by=lock.unlocked_by,
        unlock_reason=lock.unlock_reason, transmitted_at=lock.transmitted_at,
        transmitted_by=lock.transmitted_by).model_dump(mode="json")


def _parse_row(raw) -> NewPayment | ImportedRow:
    try:
        return parse(NewPayment, raw)
    except InvalidInput as exc:
        problems = [ImportProblem(field=".".join(str(p) for p in error.get("loc", ())) or None,
                                  code="invalid_field", message=str(error.get("msg"))[:300])
                    for error in exc.details.get("errors", [])]
        number = raw.get("number") if isinstance(raw, dict) else None
        return ImportedRow(row=0, number=str(number)[:30] if number else None, result="error",
                           problems=problems or [ImportProblem(code=exc.code,
                                                               message=exc.message)])


def _dossier_key(line, numbers: dict[str, str]) -> str:
    """The line's dossier id; a number no visible dossier has stays a key that finds none."""
    if line.dossier_id is not None:
        return line.dossier_id
    return numbers.get(line.dossier_number, UNKNOWN_NUMBER + line.dossier_number)


def _payment_input(entry: NewPayment, numbers: dict[str, str]) -> domain.PaymentInput:
    return domain.PaymentInput(
        number=entry.number, payment_date=entry.payment_date,
        organisation_id=entry.organisation_id, advance=entry.advance,
        lines=tuple(domain.LineInput(_dossier_key(line, numbers), line.hours_paid,
                                     line.period_start, line.period_end, line.amount)
                    for line in entry.lines))


def _payment_reply(payment: Payment) -> dict:
    return PaymentReply(
        id=payment.id, number=payment.number, payment_date=payment.payment_date,
        funder_id=payment.funder_id, organisation_id=payment.organisation_id,
        advance=payment.advance, amount=payment.amount, status=payment.status,
        lines=[{name: getattr(line, name) for name in (
            "dossier_id", "dossier_number", "beneficiary_name", "beneficiary_first_name",
            "training_title", "hours_paid", "period_start", "period_end", "amount")}
            for line in payment.lines],
        bank_details_version=payment.bank_details_version,
        remittance_document_id=payment.remittance_document_id,
        recorded_by=payment.recorded_by, recorded_at=payment.recorded_at,
        issued_at=payment.issued_at, reconciled=payment.reconciled,
        reconciled_by=payment.reconciled_by,
        reconciled_at=payment.reconciled_at).model_dump(mode="json")


def _advice_request(payment: Payment) -> RemittanceAdviceRequest:
    lines = payment.lines
    dossier_ids = {line.dossier_id for line in lines}
    periods = sorted({(line.period_start, line.period_end) for line in lines})[:24]
    first = lines[0]
    beneficiary = (PartyName(id=first.dossier_id, name=" ".join(
        part for part in (first.beneficiary_name, first.beneficiary_first_name) if part))
        if len(dossier_ids) == 1 else None)
    return RemittanceAdviceRequest(
        payment_number=payment.number, payment_date=payment.payment_date,
        funder_id=payment.funder_id, organisation_id=payment.organisation_id,
        organisation_name=payment.organisation_name,
        dossier_id=first.dossier_id if len(dossier_ids) == 1 else None,
        dossier_numbers=[line.dossier_number for line in lines][:50],
        beneficiary=beneficiary, periods=[Period(start=s, end=e) for s, e in periods],
        hours_paid=sum((line.hours_paid for line in lines), _zero()),
        amount=payment.amount, advance=payment.advance)


def _row(row) -> PaymentRow:
    return PaymentRow(**{name: getattr(row, name) for name in PaymentRow.model_fields})


def export_page(session, scope: domain.Scope, search: dict, after, limit: int) -> dict:
    """An ExportPage: also what bench/run.py drives without the broker."""
    try:
        cursor = domain.decode_cursor(after)
    except ValueError:
        raise InvalidInput("invalid_cursor", "Curseur de page invalide.") from None
    rows = models.search_rows(session, scope, search, limit, cursor)
    months, days = models.totals(session, scope, search, {row.payment_date for row in rows})
    next_after = domain.encode_cursor(rows[-1]) if len(rows) == limit else None
    return ExportPage(rows=[_row(row) for row in rows], month_totals=months,
                      date_totals={day.isoformat(): amount for day, amount in days.items()},
                      next_after=next_after).model_dump(mode="json")


def _version_reply(version: BankVersion) -> dict:
    return BankDetailsVersion(
        organisation_id=version.organisation_id, version=version.version, iban=version.iban,
        bic=version.bic, invoicing=version.invoicing,
        invoicing_label=domain.INVOICING_LABELS[version.invoicing],
        third_party_name=version.third_party_name, rib_document_id=version.rib_document_id,
        status=version.status, status_label=domain.STATUS_LABELS[version.status],
        rejection_reason=version.rejection_reason, submitted_by=version.submitted_by,
        submitted_at=version.submitted_at, reviewed_by=version.reviewed_by,
        reviewed_at=version.reviewed_at).model_dump(mode="json")


def _bank_details_reply(session, organisation_id: str, funder_id: str) -> dict:
    versions = [v for v in models.bank_versions(session, organisation_id)
                if v.funder_id == funder_id]
    return BankDetails(
        organisation_id=organisation_id,
        current=_version_reply(versions[0]) if versions else None,
        validated_version=domain.validated_version(versions),
        may_change=models.processing_count(session, organisation_id) == 0,
        versions=[_version_reply(v) for v in versions]).model_dump(mode="json")


def _credit_note_reply(organisation_id: str, choice: CreditNoteChoice | None) -> dict:
    return CreditNoteMode(
        organisation_id=organisation_id, mode=choice.mode if choice else None,
        chosen_by=choice.chosen_by if choice else None,
        chosen_at=choice.chosen_at if choice else None,
        explanation=domain.CREDIT_NOTE_EXPLANATION,
        options=[CreditNoteOption(mode=mode, label=label, text=text)
                 for mode, (label, text) in domain.CREDIT_NOTE_OPTIONS.items()]
    ).model_dump(mode="json")
