"""payments tables, the imperative mapping of the domain classes onto them, and the
repositories (the only SQL of the service), reached by handlers as `uow.<name>`."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, Column, Date, ForeignKey, Index, Integer, MetaData, Numeric,
                        String, Table, UniqueConstraint, and_, func, or_, select, true,
                        tuple_)
from sqlalchemy.orm import Session, registry, relationship

from servicekit.idempotency import add_idempotency_table
from servicekit.jobs import JobStore, add_job_tables
from servicekit.ops import counts_per_funder_month
from servicekit.tables import UtcDateTime, add_kit_tables
from services.payments.domain.access import Scope
from services.payments.domain.bank import BankDetailsVersion
from services.payments.domain.credit_notes import (AWAITING_REFUND, DEDUCTION, LATE,
                                                   CreditNote, CreditNoteChoice, Deduction)
from services.payments.domain.listing import month_of
from services.payments.domain.locks import MonthLock
from services.payments.domain.paid_hours import PaidLine
from services.payments.domain.payments import ADVANCE, PAYMENT, PROCESSING, Payment, \
    PaymentLine, months_between
from services.payments.domain.settings import PaymentSettings

metadata = MetaData()
add_kit_tables(metadata)
add_idempotency_table(metadata)
add_job_tables(metadata)

month_locks = Table(
    "month_locks", metadata,
    Column("dossier_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("funder_id", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=False),
    Column("certificate_id", String(36), nullable=False),
    Column("training_hours", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("internship_hours", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("absence_hours", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("locked_at", UtcDateTime(), nullable=False),
    Column("locked", Boolean(), nullable=False, server_default=true()),
    Column("unlocked_at", UtcDateTime(), nullable=True),
    Column("unlocked_by", String(64), nullable=True),
    Column("unlock_reason", String(500), nullable=True),
    Column("transmitted_at", UtcDateTime(), nullable=True),  # certification.hours_transmitted
    Column("transmitted_by", String(64), nullable=True),
)

payments = Table(
    "payments", metadata,
    Column("id", String(36), primary_key=True),
    Column("number", String(30), nullable=False),
    Column("payment_date", Date(), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=False),
    Column("organisation_name", String(300), nullable=False),
    Column("advance", Boolean(), nullable=False),
    Column("amount", Numeric(12, 2, asdecimal=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("bank_details_version", Integer(), nullable=True),
    Column("remittance_document_id", String(64), nullable=True),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=True),
    Column("reconciled", Boolean(), nullable=False),
    Column("reconciled_by", String(64), nullable=True),
    Column("reconciled_at", UtcDateTime(), nullable=True),
    # Idempotent imports: a funder's payment number is recorded once.
    UniqueConstraint("funder_id", "number", name="uq_payments_funder_number"),
    Index("ix_payments_organisation_date", "funder_id", "organisation_id", "payment_date"),
    Index("ix_payments_status", "organisation_id", "status"),
)

payment_lines = Table(
    "payment_lines", metadata,
    Column("payment_id", String(36), ForeignKey("payments.id"), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("dossier_id", String(64), nullable=False),
    Column("dossier_number", String(30), nullable=False),
    Column("beneficiary_name", String(200), nullable=False),
    Column("beneficiary_first_name", String(200), nullable=False),
    Column("training_title", String(300), nullable=False),
    Column("hours_paid", Numeric(7, 2, asdecimal=True), nullable=False),
    Column("period_start", Date(), nullable=False),
    Column("period_end", Date(), nullable=False),
    Column("amount", Numeric(12, 2, asdecimal=True), nullable=False),
    Column("kind", String(10), nullable=False, server_default="payment"),
    Index("ix_payment_lines_dossier", "dossier_number"),
)

bank_details = Table(
    "bank_details", metadata,
    Column("organisation_id", String(64), primary_key=True),
    Column("version", Integer(), primary_key=True),
    Column("funder_id", String(64), nullable=False),
    Column("iban", String(34), nullable=False),
    Column("bic", String(11), nullable=False),
    Column("invoicing", String(20), nullable=False),
    Column("third_party_name", String(200), nullable=True),
    Column("rib_document_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("rejection_reason", String(500), nullable=True),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_by_email", String(320), nullable=True),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", UtcDateTime(), nullable=True),
)

credit_note_choices = Table(
    "credit_note_choices", metadata,
    Column("id", String(36), primary_key=True),
    Column("organisation_id", String(64), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("chosen_by", String(64), nullable=False),
    Column("chosen_at", UtcDateTime(), nullable=False),
    Index("ix_credit_note_choices_organisation", "organisation_id", "chosen_at"),
)

payment_settings = Table(
    "payment_settings", metadata,
    Column("funder_id", String(64), primary_key=True),
    Column("payer_name", String(300), nullable=False),
    Column("address", String(500), nullable=True),
    Column("logo_document_id", String(64), nullable=True),
    Column("refund_holder", String(200), nullable=True),
    Column("refund_iban", String(34), nullable=True),
    Column("refund_bic", String(11), nullable=True),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

credit_notes = Table(
    "credit_notes", metadata,
    Column("id", String(36), primary_key=True),
    Column("sequence", Integer(), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=False),
    Column("organisation_name", String(300), nullable=False),
    Column("dossier_id", String(64), nullable=False),
    Column("dossier_number", String(30), nullable=False),
    Column("beneficiary_name", String(300), nullable=False),
    Column("period_start", Date(), nullable=False),
    Column("period_end", Date(), nullable=False),
    Column("amount", Numeric(12, 2, asdecimal=True), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("deducted", Numeric(12, 2, asdecimal=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("issued_on", Date(), nullable=False),
    Column("due_date", Date(), nullable=True),
    Column("pro_forma_document_id", String(64), nullable=True),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("received_by", String(64), nullable=True),
    Column("received_at", UtcDateTime(), nullable=True),
    # The pro forma numbers of a funder are its own sequence, each given once.
    UniqueConstraint("funder_id", "sequence", name="uq_credit_notes_funder_sequence"),
    Index("ix_credit_notes_organisation", "organisation_id", "status", "recorded_at"),
    Index("ix_credit_notes_dossier", "dossier_id"),
)

credit_note_deductions = Table(
    "credit_note_deductions", metadata,
    Column("payment_id", String(36), ForeignKey("payments.id"), primary_key=True),
    Column("position", Integer(), primary_key=True),
    Column("credit_note_id", String(36), ForeignKey("credit_notes.id"), nullable=False),
    Column("label", String(300), nullable=False),
    Column("amount", Numeric(12, 2, asdecimal=True), nullable=False),
    Index("ix_credit_note_deductions_note", "credit_note_id"),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes; calling it again is harmless."""
    if getattr(MonthLock, "__mapper__", None) is not None:
        return
    mapper_registry.map_imperatively(MonthLock, month_locks)
    mapper_registry.map_imperatively(PaymentLine, payment_lines)
    mapper_registry.map_imperatively(Deduction, credit_note_deductions)
    mapper_registry.map_imperatively(Payment, payments, properties={
        "lines": relationship(PaymentLine, order_by=payment_lines.c.position,
                              cascade="all, delete-orphan", lazy="selectin"),
        "deductions": relationship(Deduction, order_by=credit_note_deductions.c.position,
                                   cascade="all, delete-orphan", lazy="selectin")})
    mapper_registry.map_imperatively(CreditNote, credit_notes)
    mapper_registry.map_imperatively(BankDetailsVersion, bank_details)
    mapper_registry.map_imperatively(CreditNoteChoice, credit_note_choices)
    mapper_registry.map_imperatively(PaymentSettings, payment_settings)


# ---- repositories -------------------------------------------------------------------------

class MonthLocks:
    def __init__(self, session: Session):
        self._session = session

    def get(self, dossier_id: str, month: str) -> MonthLock | None:
        return self._session.get(MonthLock, (dossier_id, month))

    def locked_counts(self, funder_id: str | None, month: str | None) -> list[dict]:
        """Per funder and month, how many dossier months are locked for payment now."""
        return counts_per_funder_month(self._session, month_locks, funder_id, month,
                                       locked=month_locks.c.locked.is_(True))

    def of_dossier(self, dossier_id: str) -> list[MonthLock]:
        return list(self._session.scalars(select(MonthLock).where(
            MonthLock.dossier_id == dossier_id).order_by(MonthLock.month)))

    def for_payment(self, dossier_ids: set[str]) -> list[MonthLock]:
        """The dossiers' locks, held until commit: two payments on the same dossier's months
        check what is left to pay one after the other."""
        return list(self._session.scalars(select(MonthLock).where(
            MonthLock.dossier_id.in_(sorted(dossier_ids))).order_by(
            MonthLock.dossier_id, MonthLock.month).with_for_update()))

    def add(self, lock: MonthLock) -> None:
        # A concurrent lock of the same month fails on the primary key at commit.
        self._session.add(lock)


ROW_COLUMNS = (
    payments.c.id.label("payment_id"), payments.c.number.label("payment_number"),
    payments.c.payment_date, (payment_lines.c.kind == ADVANCE).label("advance"),
    payments.c.organisation_id,
    payment_lines.c.dossier_id, payment_lines.c.dossier_number,
    payment_lines.c.beneficiary_name, payment_lines.c.beneficiary_first_name,
    payment_lines.c.training_title, payment_lines.c.hours_paid, payment_lines.c.period_start,
    payment_lines.c.period_end, payment_lines.c.amount, payments.c.reconciled,
    payments.c.remittance_document_id, payment_lines.c.position,
)
ORDER = (payments.c.payment_date.desc(), payment_lines.c.dossier_number,
         payments.c.number, payment_lines.c.position)


def _filters(scope: Scope, start: date | None, end: date | None, dossier_number: str | None,
             payment_number: str | None, organisation_id: str | None) -> list:
    found = [payments.c.funder_id == scope.funder_id]
    if scope.organisation_id is not None:
        found.append(payments.c.organisation_id == scope.organisation_id)
    if organisation_id is not None:
        found.append(payments.c.organisation_id == organisation_id)
    if start is not None:
        found.append(payments.c.payment_date >= start)
    if end is not None:
        found.append(payments.c.payment_date <= end)
    if dossier_number is not None:
        found.append(payment_lines.c.dossier_number == dossier_number)
    if payment_number is not None:
        found.append(payments.c.number == payment_number)
    return found


def _joined():
    return payments.join(payment_lines, payment_lines.c.payment_id == payments.c.id)


class Payments:
    def __init__(self, session: Session):
        self._session = session

    def get(self, payment_id: str) -> Payment | None:
        return self._session.get(Payment, payment_id)

    def by_number(self, funder_id: str, number: str) -> Payment | None:
        return self._session.scalars(select(Payment).where(
            Payment.funder_id == funder_id, Payment.number == number)).first()

    def paid_lines(self, dossier_ids: set[str]) -> list[PaidLine]:
        """The dossiers' lines paying certified hours, in the order they were recorded."""
        found = self._session.execute(select(
            payment_lines.c.dossier_id, payment_lines.c.period_start,
            payment_lines.c.period_end, payment_lines.c.hours_paid).select_from(_joined()).where(
            payment_lines.c.dossier_id.in_(sorted(dossier_ids)),
            payment_lines.c.kind == PAYMENT).order_by(
            payments.c.recorded_at, payments.c.id, payment_lines.c.position))
        return [PaidLine(row.dossier_id, tuple(months_between(row.period_start, row.period_end)),
                         row.hours_paid) for row in found]

    def deductions_of(self, credit_note_ids: list[str]
                      ) -> dict[str, list[tuple[Payment, Deduction]]]:
        """The payments each credit note was taken off, in the order they were recorded (one
        query for a whole list of notes)."""
        found: dict[str, list[tuple[Payment, Deduction]]] = {}
        for payment, deduction in self._session.execute(
                select(Payment, Deduction).join(Deduction, Deduction.payment_id == Payment.id)
                .where(Deduction.credit_note_id.in_(credit_note_ids))
                .order_by(Payment.recorded_at, Payment.id)):
            found.setdefault(deduction.credit_note_id, []).append((payment, deduction))
        return found

    def paid_amount(self, dossier_id: str, start: date, end: date) -> Decimal:
        """What the dossier's lines whose period meets start-end paid (advances included)."""
        return self._session.execute(select(func.coalesce(func.sum(payment_lines.c.amount), 0))
                                     .where(payment_lines.c.dossier_id == dossier_id,
                                            payment_lines.c.period_start <= end,
                                            payment_lines.c.period_end >= start)).scalar_one()

    def add(self, payment: Payment) -> None:
        # Written now: a number taken concurrently fails here, before the call's reply is kept.
        self._session.add(payment)
        self._session.flush()

    def processing_count(self, organisation_id: str) -> int:
        return self._session.execute(select(func.count()).select_from(payments).where(
            payments.c.organisation_id == organisation_id,
            payments.c.status == PROCESSING)).scalar_one()

    def rows(self, scope: Scope, search: dict, limit: int, after: tuple | None = None) -> list:
        """The search's rows in list order, `limit` at most, after the keyset `after`
        ((payment_date, dossier_number, payment_number, position) of the previous page's
        last)."""
        query = select(*ROW_COLUMNS).select_from(_joined()).where(*_filters(scope, **search))
        if after is not None:
            day, dossier_number, number, position = after
            # the bound alone lets the date's index skip the pages already written
            query = query.where(payments.c.payment_date <= day, or_(
                payments.c.payment_date < day,
                and_(payments.c.payment_date == day,
                     tuple_(payment_lines.c.dossier_number, payments.c.number,
                            payment_lines.c.position) > tuple_(dossier_number, number,
                                                               position))))
        return self._session.execute(query.order_by(*ORDER).limit(limit)).all()

    def export_state(self, scope: Scope, search: dict) -> tuple[int, datetime | None]:
        """How many lines the search finds, and when the last of their payments was recorded
        or ticked: while both stay, an export of the search is the same file."""
        count, recorded, reconciled = self._session.execute(
            select(func.count(), func.max(payments.c.recorded_at),
                   func.max(payments.c.reconciled_at))
            .select_from(_joined()).where(*_filters(scope, **search))).one()
        return count, max(filter(None, (recorded, reconciled)), default=None)

    def totals(self, scope: Scope, search: dict, days: set[date] | None = None
               ) -> tuple[dict[str, Decimal], dict[date, Decimal]]:
        """The totals per month and per date over the whole search (only the months and dates
        of `days` when given): a page of rows shows totals it does not itself hold."""
        query = (select(payments.c.payment_date, func.sum(payment_lines.c.amount))
                 .select_from(_joined()).where(*_filters(scope, **search)))
        if days is not None:
            if not days:
                return {}, {}
            low, high = min(days), max(days)
            after_high = date(high.year + (high.month == 12), high.month % 12 + 1, 1)
            query = query.where(payments.c.payment_date >= low.replace(day=1),
                                payments.c.payment_date < after_high)
        by_date: dict[date, Decimal] = {}
        by_month: dict[str, Decimal] = {}
        for day, amount in self._session.execute(query.group_by(payments.c.payment_date)):
            amount = Decimal(amount).quantize(Decimal("0.01"))
            by_date[day] = amount
            by_month[month_of(day)] = by_month.get(month_of(day), Decimal("0.00")) + amount
        if days is not None:
            months = {month_of(day) for day in days}
            by_date = {day: amount for day, amount in by_date.items() if day in days}
            by_month = {month: amount for month, amount in by_month.items() if month in months}
        return by_month, by_date


class BankDetails:
    def __init__(self, session: Session):
        self._session = session

    def get(self, organisation_id: str, version: int) -> BankDetailsVersion | None:
        return self._session.get(BankDetailsVersion, (organisation_id, version))

    def versions(self, organisation_id: str) -> list[BankDetailsVersion]:
        """The organisation's versions, newest first."""
        return list(self._session.scalars(select(BankDetailsVersion).where(
            BankDetailsVersion.organisation_id == organisation_id).order_by(
            BankDetailsVersion.version.desc())))

    def add(self, version: BankDetailsVersion) -> None:
        self._session.add(version)


class CreditNoteChoices:
    def __init__(self, session: Session):
        self._session = session

    def latest(self, organisation_id: str) -> CreditNoteChoice | None:
        return self._session.scalars(select(CreditNoteChoice).where(
            CreditNoteChoice.organisation_id == organisation_id).order_by(
            CreditNoteChoice.chosen_at.desc())).first()

    def add(self, choice: CreditNoteChoice) -> None:
        self._session.add(choice)


class CreditNotes:
    def __init__(self, session: Session):
        self._session = session

    def get(self, credit_note_id: str) -> CreditNote | None:
        return self._session.get(CreditNote, credit_note_id)

    def next_sequence(self, funder_id: str) -> int:
        """The funder's next pro forma number; two taken at once fail on the unique key."""
        found = self._session.execute(select(func.max(credit_notes.c.sequence)).where(
            credit_notes.c.funder_id == funder_id)).scalar_one()
        return (found or 0) + 1

    def add(self, note: CreditNote) -> None:
        self._session.add(note)
        self._session.flush()

    def to_deduct(self, funder_id: str, organisation_id: str) -> list[CreditNote]:
        """The organisation's credit notes still to deduct, oldest first, held until commit:
        two payments recorded at once do not take the same euros twice."""
        return list(self._session.scalars(select(CreditNote).where(
            CreditNote.funder_id == funder_id, CreditNote.organisation_id == organisation_id,
            CreditNote.mode == DEDUCTION, CreditNote.deducted < CreditNote.amount).order_by(
            CreditNote.recorded_at, CreditNote.sequence).with_for_update()))

    def credited(self, dossier_id: str, start: date, end: date) -> Decimal:
        """What credit notes already give back on the dossier over periods meeting start-end."""
        return self._session.execute(select(func.coalesce(func.sum(credit_notes.c.amount), 0))
                                     .where(credit_notes.c.dossier_id == dossier_id,
                                            credit_notes.c.period_start <= end,
                                            credit_notes.c.period_end >= start)).scalar_one()

    def search(self, scope: Scope, organisation_id: str | None, dossier_number: str | None,
               status: str | None, today: date, limit: int) -> list[CreditNote]:
        """Newest first; `late` is a refund awaited past its due date."""
        query = select(CreditNote).where(CreditNote.funder_id == scope.funder_id)
        for column, value in ((CreditNote.organisation_id, scope.organisation_id),
                              (CreditNote.organisation_id, organisation_id),
                              (CreditNote.dossier_number, dossier_number)):
            if value is not None:
                query = query.where(column == value)
        if status == LATE:
            query = query.where(CreditNote.status == AWAITING_REFUND,
                                CreditNote.due_date < today)
        elif status == AWAITING_REFUND:
            query = query.where(CreditNote.status == AWAITING_REFUND,
                                CreditNote.due_date >= today)
        elif status is not None:
            query = query.where(CreditNote.status == status)
        return list(self._session.scalars(query.order_by(
            CreditNote.recorded_at.desc(), CreditNote.sequence.desc()).limit(limit)))


class PaymentSettingsRepository:
    def __init__(self, session: Session):
        self._session = session

    def get(self, funder_id: str) -> PaymentSettings | None:
        return self._session.get(PaymentSettings, funder_id)

    def add(self, settings: PaymentSettings) -> None:
        self._session.add(settings)


def repositories(session: Session) -> dict[str, object]:
    return {"locks": MonthLocks(session), "payments": Payments(session),
            "bank_details": BankDetails(session), "credit_note_modes": CreditNoteChoices(session),
            "credit_notes": CreditNotes(session),
            "settings": PaymentSettingsRepository(session),
            "jobs": JobStore(session, metadata)}
