"""payments' use cases without a broker or a database: in-memory repositories with the methods
of services/payments/models.py, fake neighbouring services answering in their contract shapes,
and builders of typical actors, dossiers, locks and payments."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from contracts.common import ALL_RIGHTS, Actor, Role
from contracts.common.errors import Conflict, NotFound
from contracts.dossiers import Dossier, Party
from services.payments.domain import listing
from services.payments.domain.access import Scope
from services.payments.domain.bank import BankDetailsVersion
from services.payments.domain.credit_notes import (DEDUCTION, CreditNote, CreditNoteChoice,
                                                   Deduction)
from services.payments.domain.settings import PaymentSettings
from services.payments.domain.locks import CertifiedMonth, MonthLock, lock_month
from services.payments.domain.paid_hours import PaidLine
from services.payments.domain.payments import ADVANCE, PAYMENT, PROCESSING, DossierFacts, \
    LineInput, Payment, PaymentInput, new_payment
from services.payments.handlers import Ports
from tests.support.fakes import FakeClock, FakeDatabase, FakeDossiers
from tests.support.jobs import FakeJobs

FUNDER, ORGANISATION = "f-tpro", "o-lac"
ORGANISATION_EMAIL = "contact@lac.example"
IBAN = "FR76 1382 5002 0008 0146 3722 518"
SIRET, UAI = "73282932000074", "0751234J"


# ---- repositories ---------------------------------------------------------------------------

class InMemoryLocks:
    def __init__(self, *locks: MonthLock):
        self.stored = {(lock.dossier_id, lock.month): lock for lock in locks}

    def get(self, dossier_id: str, month: str) -> MonthLock | None:
        return self.stored.get((dossier_id, month))

    def of_dossier(self, dossier_id: str) -> list[MonthLock]:
        return sorted((lock for lock in self.stored.values() if lock.dossier_id == dossier_id),
                      key=lambda lock: lock.month)

    def for_payment(self, dossier_ids: set[str]) -> list[MonthLock]:
        return [lock for dossier_id in sorted(dossier_ids) for lock in self.of_dossier(dossier_id)]

    def add(self, lock: MonthLock) -> None:
        self.stored[(lock.dossier_id, lock.month)] = lock


class InMemoryPayments:
    """`taken_concurrently`: numbers another call records first, as the unique key would say
    at commit (servicekit turns that IntegrityError into a Conflict)."""

    def __init__(self, *payments: Payment):
        self.stored = {payment.id: payment for payment in payments}
        self.taken_concurrently: set[str] = set()

    def get(self, payment_id: str) -> Payment | None:
        return self.stored.get(payment_id)

    def by_number(self, funder_id: str, number: str) -> Payment | None:
        return next((p for p in self.stored.values()
                     if (p.funder_id, p.number) == (funder_id, number)), None)

    def add(self, payment: Payment) -> None:
        if payment.number in self.taken_concurrently:
            raise Conflict("concurrent_change", "Ce règlement est déjà enregistré.")
        for line in payment.lines:  # as the Numeric(7, 2) column stores them
            line.hours_paid = line.hours_paid.quantize(Decimal("0.01"))
        self.stored[payment.id] = payment

    def paid_lines(self, dossier_ids: set[str]) -> list[PaidLine]:
        return [PaidLine(line.dossier_id, tuple(line.months()), line.hours_paid)
                for payment in sorted(self.stored.values(), key=lambda p: p.recorded_at)
                for line in payment.lines
                if line.dossier_id in dossier_ids and line.kind == PAYMENT]

    def deductions_of(self, credit_note_ids: list[str]
                      ) -> dict[str, list[tuple[Payment, Deduction]]]:
        found: dict[str, list[tuple[Payment, Deduction]]] = {}
        for payment in sorted(self.stored.values(), key=lambda p: p.recorded_at):
            for deduction in payment.deductions:
                if deduction.credit_note_id in credit_note_ids:
                    found.setdefault(deduction.credit_note_id, []).append((payment, deduction))
        return found

    def paid_amount(self, dossier_id: str, start: date, end: date) -> Decimal:
        return sum((line.amount for payment in self.stored.values() for line in payment.lines
                    if line.dossier_id == dossier_id and line.period_start <= end
                    and line.period_end >= start), Decimal(0))

    def processing_count(self, organisation_id: str) -> int:
        return sum(p.organisation_id == organisation_id and p.status == PROCESSING
                   for p in self.stored.values())

    def rows_of(self, scope: Scope, search: dict) -> list[SimpleNamespace]:
        """Every line the search finds, in list order, shaped as models' rows."""
        found = [SimpleNamespace(
            payment_id=p.id, payment_number=p.number, payment_date=p.payment_date,
            advance=line.kind == ADVANCE, organisation_id=p.organisation_id,
            reconciled=p.reconciled,
            remittance_document_id=p.remittance_document_id,
            **{name: getattr(line, name) for name in (
                "dossier_id", "dossier_number", "beneficiary_name", "beneficiary_first_name",
                "training_title", "hours_paid", "period_start", "period_end", "amount",
                "position")})
            for p in self.stored.values() if scope.allows(p.funder_id, p.organisation_id)
            for line in p.lines]
        return sorted((row for row in found if _matches(row, **search)), key=listing.sort_key)

    def rows(self, scope: Scope, search: dict, limit: int, after: tuple | None = None) -> list:
        found = self.rows_of(scope, search)
        if after is not None:
            day, dossier_number, number, position = after
            keyset = (-day.toordinal(), dossier_number, number, position)
            found = [row for row in found if listing.sort_key(row) > keyset]
        return found[:limit]

    def export_state(self, scope: Scope, search: dict):
        found = self.rows_of(scope, search)
        payments = [self.stored[row.payment_id] for row in found]
        return len(found), max((stamp for p in payments
                                for stamp in (p.recorded_at, p.reconciled_at) if stamp),
                               default=None)

    def totals(self, scope: Scope, search: dict, days: set[date] | None = None):
        totals = listing.totals_of(self.rows_of(scope, search))
        if days is None:
            return totals.months, totals.dates
        months = {listing.month_of(day) for day in days}
        return ({month: amount for month, amount in totals.months.items() if month in months},
                {day: amount for day, amount in totals.dates.items() if day in days})


def _matches(row, start, end, dossier_number, payment_number, organisation_id) -> bool:
    return ((start is None or row.payment_date >= start)
            and (end is None or row.payment_date <= end)
            and dossier_number in (None, row.dossier_number)
            and payment_number in (None, row.payment_number)
            and organisation_id in (None, row.organisation_id))


class InMemoryBankDetails:
    def __init__(self, *versions: BankDetailsVersion):
        self.stored = {(v.organisation_id, v.version): v for v in versions}

    def get(self, organisation_id: str, version: int) -> BankDetailsVersion | None:
        return self.stored.get((organisation_id, version))

    def versions(self, organisation_id: str) -> list[BankDetailsVersion]:
        return sorted((v for v in self.stored.values() if v.organisation_id == organisation_id),
                      key=lambda v: v.version, reverse=True)

    def add(self, version: BankDetailsVersion) -> None:
        self.stored[(version.organisation_id, version.version)] = version


class InMemoryCreditNoteChoices:
    def __init__(self):
        self.stored: list[CreditNoteChoice] = []

    def latest(self, organisation_id: str) -> CreditNoteChoice | None:
        return max((c for c in self.stored if c.organisation_id == organisation_id),
                   key=lambda c: c.chosen_at, default=None)

    def add(self, choice: CreditNoteChoice) -> None:
        self.stored.append(choice)


class CommittedElsewhere:
    """Pro forma numbers another transaction takes first (`taken`, then `committed`): kept
    through this one's rollback, as another transaction's commit would be."""

    def __init__(self):
        self.taken: set[int] = set()
        self.committed: set[int] = set()

    def __deepcopy__(self, memo):
        return self


class InMemoryCreditNotes:
    def __init__(self):
        self.stored: dict[str, CreditNote] = {}
        self.elsewhere = CommittedElsewhere()

    def get(self, credit_note_id: str) -> CreditNote | None:
        return self.stored.get(credit_note_id)

    def next_sequence(self, funder_id: str) -> int:
        taken = [n.sequence for n in self.stored.values() if n.funder_id == funder_id]
        return max([*taken, *self.elsewhere.committed], default=0) + 1

    def add(self, note: CreditNote) -> None:
        if note.sequence in self.elsewhere.taken:  # the unique key at commit
            self.elsewhere.taken.discard(note.sequence)
            self.elsewhere.committed.add(note.sequence)
            raise Conflict("concurrent_change", "Un autre avoir vient d'être enregistré.")
        self.stored[note.id] = note

    def to_deduct(self, funder_id: str, organisation_id: str) -> list[CreditNote]:
        return sorted((n for n in self.stored.values()
                       if (n.funder_id, n.organisation_id) == (funder_id, organisation_id)
                       and n.mode == DEDUCTION and n.deducted < n.amount),
                      key=lambda n: (n.recorded_at, n.sequence))

    def credited(self, dossier_id: str, start: date, end: date) -> Decimal:
        return sum((n.amount for n in self.stored.values() if n.dossier_id == dossier_id
                    and n.period_start <= end and n.period_end >= start), Decimal(0))

    def search(self, scope: Scope, organisation_id, dossier_number, status, today: date,
               limit: int) -> list[CreditNote]:
        found = [n for n in self.stored.values() if scope.allows(n.funder_id, n.organisation_id)
                 and organisation_id in (None, n.organisation_id)
                 and dossier_number in (None, n.dossier_number)
                 and status in (None, n.status_on(today))]
        return sorted(found, key=lambda n: (n.recorded_at, n.sequence), reverse=True)[:limit]


class InMemoryPaymentSettings:
    def __init__(self):
        self.stored: dict[str, PaymentSettings] = {}

    def get(self, funder_id: str) -> PaymentSettings | None:
        return self.stored.get(funder_id)

    def add(self, settings: PaymentSettings) -> None:
        self.stored[settings.funder_id] = settings


def payments_database(locks=(), payments=(), bank_details=()) -> FakeDatabase:
    return FakeDatabase("payments", locks=InMemoryLocks(*locks),
                        payments=InMemoryPayments(*payments),
                        bank_details=InMemoryBankDetails(*bank_details),
                        credit_note_modes=InMemoryCreditNoteChoices(),
                        credit_notes=InMemoryCreditNotes(),
                        settings=InMemoryPaymentSettings(), jobs=FakeJobs())


# ---- neighbouring services --------------------------------------------------------------------







class FakeDocuments:
    """Renders remittance advices (unless `down`) and knows the RIB documents filed."""

    def __init__(self, **documents: dict):
        self.documents = documents
        self.advices: list[dict] = []
        self.pro_formas: list[dict] = []
        self.down = False

    def render_remittance_advice(self, actor: dict, request: dict) -> dict:
        if self.down:
            raise RuntimeError("documents down")
        self.advices.append(request)
        return {"id": f"doc-{request['payment_number']}-{len(self.advices)}"}

    def render_credit_note_pro_forma(self, actor: dict, request: dict) -> dict:
        if self.down:
            raise RuntimeError("documents down")
        self.pro_formas.append(request)
        return {"id": f"doc-{request['pro_forma_number']}-{len(self.pro_formas)}"}

    def get_document(self, actor: dict, document_id: str) -> dict:
        if document_id not in self.documents:
            raise NotFound("document_not_found", "Document introuvable.")
        return self.documents[document_id]


class FakeIdentity:
    def get_organisation(self, actor: dict, organisation_id: str) -> dict:
        if organisation_id != ORGANISATION:
            raise NotFound("organisation_not_found", "Organisme introuvable.")
        return {"id": organisation_id, "funder_id": FUNDER, "email": ORGANISATION_EMAIL,
                "siret": SIRET, "uai": UAI}


class FakeNotifications:
    def __init__(self):
        self.emails: list[dict] = []

    def send_direct_email(self, payload: dict) -> dict:
        self.emails.append(payload)
        return {"id": f"e{len(self.emails)}"}


def fake_ports(*dossiers: dict, clock: FakeClock | None = None) -> Ports:
    documents = FakeDocuments(**{
        "rib-ok": {"id": "rib-ok", "category": "bank_details", "organisation_id": ORGANISATION},
        "kbis": {"id": "kbis", "category": "kbis", "organisation_id": ORGANISATION},
        "funder-logo": {"id": "funder-logo", "category": "logo", "organisation_id": None},
        "org-logo": {"id": "org-logo", "category": "logo", "organisation_id": ORGANISATION}})
    return Ports(dossiers=FakeDossiers(*dossiers), documents=documents, identity=FakeIdentity(),
                 notifications=FakeNotifications(), clock=clock or FakeClock())


# ---- builders -------------------------------------------------------------------------------

def staff(funder: str = FUNDER) -> Actor:
    return Actor(user_id="u-agent", role=Role.funder_agent, funder_id=funder)


def organisation_user(organisation: str = ORGANISATION, rights=ALL_RIGHTS) -> Actor:
    return Actor(user_id="u-claire", role=Role.organisation_user, funder_id=FUNDER,
                 organisation_id=organisation, rights=list(rights), email="claire@lac.example")


def beneficiary() -> Actor:
    return Actor(user_id="u-michelle", role=Role.beneficiary, funder_id=FUNDER, party_id="b1")


def a_dossier(number: str = "20X000703", organisation: str = ORGANISATION) -> dict:
    """A dossier as the dossiers service answers get_dossier."""
    party = Party(id="b1", kind=Role.beneficiary.value, funder_id=FUNDER,
                  name="DUBOIS Michelle", email="m@example.org")
    return Dossier(id=str(uuid.uuid4()), number=number, funder_id=FUNDER,
                   organisation_id=organisation, organisation_name="Formations du Lac",
                   beneficiary=party, training_title="Soudure TIG",
                   session_start=date(2019, 1, 7), session_end=date(2020, 6, 30),
                   status="in_progress").model_dump(mode="json")


def new_payment_payload(number: str, dossier: dict, amount: str = "10 503,34",
                        payment_date: str = "2019-09-20") -> dict:
    return {"number": number, "payment_date": payment_date, "organisation_id": ORGANISATION,
            "advance": False, "lines": [{
                "dossier_id": dossier["id"], "hours_paid": "35,5",
                "period_start": "2019-08-01", "period_end": "2019-09-30", "amount": amount}]}


def a_payment(dossier: dict, number: str = "107", amount: str = "100.00",
              payment_date: date = date(2019, 9, 20), recorded_at: datetime | None = None
              ) -> Payment:
    """A payment recorded, its remittance advice not issued yet (processing)."""
    facts = DossierFacts(dossier["id"], dossier["number"], FUNDER, dossier["organisation_id"],
                         dossier["organisation_name"], dossier["beneficiary"]["name"],
                         dossier["training_title"], date.fromisoformat(dossier["session_start"]),
                         date.fromisoformat(dossier["session_end"]))
    entry = PaymentInput(number, payment_date, dossier["organisation_id"], (LineInput(
        dossier["id"], Decimal("35.00"), date(2019, 8, 1), date(2019, 9, 30),
        Decimal(amount)),))
    return new_payment(str(uuid.uuid4()), entry, FUNDER, {dossier["id"]: facts}, None,
                       "u-agent", recorded_at or FakeClock()())


def a_lock(dossier_id: str, month: str = "2026-02", organisation: str = ORGANISATION,
           certificate_id: str = "c1") -> MonthLock:
    return lock_month(None, CertifiedMonth(dossier_id, month, FUNDER, organisation,
                                           certificate_id, Decimal("147.00"), Decimal("0.00"),
                                           Decimal("3.50")), FakeClock()())


def certified_locks(*dossiers: dict, months=("2019-08", "2019-09")) -> list[MonthLock]:
    """The dossiers' months locked for payment, 147 h each: what new_payment_payload pays."""
    return [a_lock(dossier["id"], month, dossier["organisation_id"])
            for dossier in dossiers for month in months]
