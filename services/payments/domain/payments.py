"""Payments ("règlements") and their lines: checked before anything is written, issued once
their remittance advice is stored, ticked as received by the organisation."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from datetime import date, datetime
from decimal import Decimal

from contracts.common.errors import InvalidInput, NotFound
from contracts.common.formatting import date_fr

PAYMENT = "payment"  # a line paying certified hours: closes its months for entry
ADVANCE = "advance"  # an advance ("avance", seed 001): needs no certification, closes nothing
PROCESSING = "processing"  # recorded, remittance advice not issued yet: "being processed"
ISSUED = "issued"          # remittance advice issued and payment_issued published
CENT = Decimal("0.01")


def payment_not_found() -> NotFound:
    return NotFound("payment_not_found", "Règlement introuvable.")


def split_name(full_name: str) -> tuple[str, str]:
    """"DUBOIS Michelle" -> ("DUBOIS", "Michelle"): French lists print the family name in
    capitals first. A name with no capitalised word is all family name."""
    words = full_name.split()
    family = [w for w in _leading(words, lambda w: w.isupper() or not any(c.isalpha() for c in w))]
    if not family:
        return full_name.strip(), ""
    if len(family) == len(words):
        return full_name.strip(), ""
    return " ".join(family), " ".join(words[len(family):])


def _leading(words: list[str], keep) -> list[str]:
    taken = []
    for word in words:
        if not keep(word):
            break
        taken.append(word)
    return taken


@dataclass(frozen=True)
class DossierFacts:
    """What the dossiers service tells about a dossier (get_dossier with the caller's actor)."""

    dossier_id: str
    number: str
    funder_id: str
    organisation_id: str
    organisation_name: str
    beneficiary_name: str
    training_title: str
    session_start: date
    session_end: date


class PaymentLine:
    def __init__(self, payment_id: str, position: int, dossier: DossierFacts,
                 hours_paid: Decimal, period_start: date, period_end: date, amount: Decimal,
                 kind: str = PAYMENT):
        family, first = split_name(dossier.beneficiary_name)
        self.payment_id = payment_id
        self.position = position
        self.dossier_id = dossier.dossier_id
        self.dossier_number = dossier.number
        self.beneficiary_name = family
        self.beneficiary_first_name = first
        self.training_title = dossier.training_title
        self.hours_paid = hours_paid
        self.period_start = period_start
        self.period_end = period_end
        self.amount = amount
        self.kind = kind

    def months(self) -> list[str]:
        return months_between(self.period_start, self.period_end)


class Payment:
    def __init__(self, id: str, number: str, payment_date: date, funder_id: str,
                 organisation_id: str, organisation_name: str, advance: bool,
                 bank_details_version: int | None, recorded_by: str, recorded_at: datetime):
        self.id = id
        self.number = number
        self.payment_date = payment_date
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.organisation_name = organisation_name
        self.advance = advance
        self.amount = Decimal("0.00")
        self.status = PROCESSING
        self.bank_details_version = bank_details_version
        self.remittance_document_id: str | None = None
        self.recorded_by = recorded_by
        self.recorded_at = recorded_at
        self.issued_at: datetime | None = None
        self.reconciled = False
        self.reconciled_by: str | None = None
        self.reconciled_at: datetime | None = None
        self.lines: list[PaymentLine] = []
        self.deductions: list = []  # credit_notes.Deduction, in the order taken

    @property
    def deducted(self) -> Decimal:
        return sum((d.amount for d in self.deductions), Decimal("0.00"))

    @property
    def transferred(self) -> Decimal:
        """What reaches the organisation's account: the lines less the credit notes taken."""
        return self.amount - self.deducted

    def covered(self) -> dict[str, list[str]]:
        """dossier id -> the months its lines paying certified hours cover, in order
        (payment_issued's dossiers: the months closed for entry; an advance closes none)."""
        months: dict[str, set[str]] = {}
        for line in self.lines:
            if line.kind == ADVANCE:
                continue
            months.setdefault(line.dossier_id, set()).update(line.months())
        return {dossier_id: sorted(found) for dossier_id, found in months.items()}

    def issue(self, document_id: str, now: datetime) -> bool:
        """The remittance advice is stored: the payment is issued. True the first time only,
        so payment_issued is published once per payment whatever the re-requests."""
        self.remittance_document_id = document_id
        if self.status == ISSUED:
            return False
        self.status, self.issued_at = ISSUED, now
        return True

    def mark_reconciled(self, reconciled: bool, user_id: str, now: datetime) -> None:
        """The organisation ticks (or unticks) the payment as received: who and when are
        kept, for the untick too."""
        self.reconciled = reconciled
        self.reconciled_by, self.reconciled_at = user_id, now


def months_between(start: date, end: date) -> list[str]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass(frozen=True)
class LineInput:
    dossier_id: str
    hours_paid: Decimal
    period_start: date
    period_end: date
    amount: Decimal
    kind: str = PAYMENT

    def months(self) -> list[str]:
        return months_between(self.period_start, self.period_end)


@dataclass(frozen=True)
class PaymentInput:
    number: str
    payment_date: date
    organisation_id: str
    lines: tuple[LineInput, ...]

    @property
    def advance(self) -> bool:
        """An advance payment: all its lines are advances."""
        return all(line.kind == ADVANCE for line in self.lines)


@dataclass(frozen=True)
class Problem:
    field: str | None
    code: str
    message: str
    line: int | None = None  # the line's index in the payment
    details: dict = dataclass_field(default_factory=dict)

    def as_dict(self) -> dict:
        found = {"field": self.field, "code": self.code, "message": self.message,
                 "line": self.line, **self.details}
        return {key: value for key, value in found.items() if value is not None}


def check_payment(entry: PaymentInput, funder_id: str,
                  dossiers: dict[str, DossierFacts | None]) -> list[Problem]:
    """Everything wrong with a payment's input before anything is written: each dossier found
    (by the caller's own access), the funder's and the payment's organisation's, each period
    within its dossier's session, amounts in cents."""
    problems = []
    for index, line in enumerate(entry.lines):
        problems += _line_problems(index, line, dossiers.get(line.dossier_id),
                                   funder_id, entry.organisation_id)
    if sum((line.amount for line in entry.lines), Decimal(0)) <= 0:
        problems.append(Problem("lines", "amount_zero", "Le montant du règlement est nul."))
    return problems


def _line_problems(index: int, line: LineInput, dossier: DossierFacts | None, funder_id: str,
                   organisation_id: str) -> list[Problem]:
    where = f"lines.{index}"
    problems = dossier_problems(where, index, dossier, funder_id, organisation_id,
                                line.period_start, line.period_end)
    if line.amount != line.amount.quantize(CENT):
        problems.append(Problem(f"{where}.amount", "amount_not_in_cents",
                                "Le montant doit être en euros et centimes.", index))
    return problems


def dossier_problems(where: str, index: int | None, dossier: DossierFacts | None,
                     funder_id: str, organisation_id: str | None, period_start: date,
                     period_end: date) -> list[Problem]:
    """A dossier named for a payment or a credit note: found (by the caller's own access),
    the funder's, the organisation's (when one is named), the period within its session."""
    prefix = f"{where}." if where else ""
    if dossier is None or dossier.funder_id != funder_id:
        # Another funder's dossier is not found: its existence must not leak.
        return [Problem(f"{prefix}dossier_id", "dossier_not_found", "Dossier introuvable.",
                        index)]
    if organisation_id is not None and dossier.organisation_id != organisation_id:
        return [Problem(f"{prefix}dossier_id", "dossier_of_another_organisation",
                        f"Le dossier {dossier.number} n'est pas suivi par l'organisme payé.",
                        index)]
    if not (dossier.session_start <= period_start and period_end <= dossier.session_end):
        return [Problem(
            f"{prefix}period_start", "period_outside_session",
            f"La période sort de la session du dossier {dossier.number} (du "
            f"{date_fr(dossier.session_start)} au {date_fr(dossier.session_end)}).", index,
            {"session_start": dossier.session_start.isoformat(),
             "session_end": dossier.session_end.isoformat()})]
    return []


def new_payment(payment_id: str, entry: PaymentInput, funder_id: str,
                dossiers: dict[str, DossierFacts], bank_details_version: int | None,
                user_id: str, now: datetime) -> Payment:
    """A checked payment (check_payment found nothing), in status processing."""
    first = dossiers[entry.lines[0].dossier_id]
    payment = Payment(payment_id, entry.number, entry.payment_date, funder_id,
                      entry.organisation_id, first.organisation_name, entry.advance,
                      bank_details_version, user_id, now)
    payment.lines = [PaymentLine(payment_id, position, dossiers[line.dossier_id],
                                 line.hours_paid, line.period_start, line.period_end,
                                 line.amount.quantize(CENT), line.kind)
                     for position, line in enumerate(entry.lines)]
    payment.amount = sum((line.amount for line in payment.lines), Decimal("0.00"))
    return payment


def invalid_payment(problems: list[Problem]) -> InvalidInput:
    first = problems[0]
    return InvalidInput(first.code, first.message,
                        {"line": first.line, "problems": [p.as_dict() for p in problems]})
