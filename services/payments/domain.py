"""Payments' rules, pure: month locks, payments and their lines, the grouped list, the
reconciliation mark, bank details versions and the credit-note settlement mode.

No Nameko, no SQLAlchemy: service.py loads these objects in a unit of work and passes the
clock in.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from typing import Iterable

from babel.dates import format_date
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.common.formatting import LOCALE, amount_fr, month_fr

FUNDER_ROLES = frozenset({"funder_agent", "funder_admin"})
ORGANISATION_ROLE = "organisation_user"
CENT = Decimal("0.01")


# ---- month locks ----------------------------------------------------------------------------

class MonthLock:
    """A dossier's month whose certified hours are now the payable hours (mapped in models).
    `locked` falls to False when the funder unlocks it; a new certification locks it again."""

    def __init__(self, dossier_id: str, month: str, funder_id: str, organisation_id: str,
                 certificate_id: str, training_hours: Decimal, internship_hours: Decimal,
                 absence_hours: Decimal, locked_at: datetime):
        self.dossier_id = dossier_id
        self.month = month
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.certificate_id = certificate_id
        self.training_hours = training_hours
        self.internship_hours = internship_hours
        self.absence_hours = absence_hours
        self.locked_at = locked_at
        self.locked = True
        self.unlocked_at: datetime | None = None
        self.unlocked_by: str | None = None
        self.unlock_reason: str | None = None
        self.transmitted_at: datetime | None = None
        self.transmitted_by: str | None = None

    def unlock(self, user_id: str, reason: str, now: datetime) -> None:
        if not self.release(user_id, reason, now):
            raise Conflict("month_not_locked", "Ce mois n'est pas verrouillé.")

    def release(self, user_id: str, reason: str, now: datetime) -> bool:
        """Unlock (the hours will be certified again, and transmitted again); False when the
        month is not locked, which changes nothing."""
        if not self.locked:
            return False
        self.locked = False
        self.unlocked_at, self.unlocked_by, self.unlock_reason = now, user_id, reason
        self.transmitted_at = self.transmitted_by = None
        return True

    def transmitted(self, certificate_id: str, user_id: str, at: datetime) -> bool:
        """The funder transmitted these certified hours for payment; False (nothing changes)
        when they are not this lock's hours or were already recorded."""
        if not self.locked or certificate_id != self.certificate_id or self.transmitted_at:
            return False
        self.transmitted_at, self.transmitted_by = at, user_id
        return True


@dataclass(frozen=True)
class CertifiedMonth:
    """What payments needs from a `certified` event."""

    dossier_id: str
    month: str
    funder_id: str
    organisation_id: str
    certificate_id: str
    training_hours: Decimal
    internship_hours: Decimal
    absence_hours: Decimal


def lock_month(existing: MonthLock | None, certified: CertifiedMonth,
               now: datetime) -> MonthLock | None:
    """The lock to write, or None when the month is already locked: the first certified hours
    stay the payable ones. A month the funder unlocked is locked again by its next
    certification, with that certification's hours."""
    if existing is not None and existing.locked:
        return None
    if existing is not None:
        existing.certificate_id = certified.certificate_id
        existing.training_hours = certified.training_hours
        existing.internship_hours = certified.internship_hours
        existing.absence_hours = certified.absence_hours
        existing.locked, existing.locked_at = True, now
        return existing
    return MonthLock(certified.dossier_id, certified.month, certified.funder_id,
                     certified.organisation_id, certified.certificate_id,
                     certified.training_hours, certified.internship_hours,
                     certified.absence_hours, now)


def may_see(role: str, actor_funder_id: str, actor_organisation_id: str | None,
            lock: MonthLock) -> bool:
    """Funder staff see their funder's locks; an organisation user its organisation's."""
    if role in FUNDER_ROLES:
        return actor_funder_id == lock.funder_id
    if role == ORGANISATION_ROLE:
        return actor_funder_id == lock.funder_id and actor_organisation_id == lock.organisation_id
    return False


def ensure_may_see(role: str, actor_funder_id: str, actor_organisation_id: str | None,
                   lock: MonthLock) -> None:
    # NotFound, not Forbidden: another funder's or organisation's dossiers must not leak.
    if not may_see(role, actor_funder_id, actor_organisation_id, lock):
        raise NotFound("month_lock_not_found", "Aucun mois verrouillé trouvé pour ce dossier.")


# ---- who sees what ------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Whose payments a caller sees: a funder's (staff), or one organisation's."""

    funder_id: str
    organisation_id: str | None

    def allows(self, funder_id: str, organisation_id: str) -> bool:
        return self.funder_id == funder_id and self.organisation_id in (None, organisation_id)


def scope_for(role: str, funder_id: str, organisation_id: str | None) -> Scope:
    if role in FUNDER_ROLES:
        return Scope(funder_id, None)
    if role == ORGANISATION_ROLE and organisation_id:
        return Scope(funder_id, organisation_id)
    raise Forbidden("payments_not_allowed",
                    "Les règlements sont réservés au financeur et à l'organisme payé.")


def payment_not_found() -> NotFound:
    return NotFound("payment_not_found", "Règlement introuvable.")


# ---- payments -----------------------------------------------------------------------------

PROCESSING = "processing"  # recorded, remittance advice not issued yet: "being processed"
ISSUED = "issued"          # remittance advice issued and payment_issued published


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


class PaymentLine:
    def __init__(self, payment_id: str, position: int, dossier: DossierFacts,
                 hours_paid: Decimal, period_start: date, period_end: date, amount: Decimal):
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

    def covered(self) -> dict[str, list[str]]:
        """dossier id -> the months its lines cover, in order (payment_issued's dossiers)."""
        months: dict[str, set[str]] = {}
        for line in self.lines:
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


@dataclass(frozen=True)
class PaymentInput:
    number: str
    payment_date: date
    organisation_id: str
    advance: bool
    lines: tuple[LineInput, ...]


@dataclass(frozen=True)
class Problem:
    field: str | None
    code: str
    message: str


def check_payment(entry: PaymentInput, funder_id: str,
                  dossiers: dict[str, DossierFacts | None]) -> list[Problem]:
    """Everything wrong with a payment before anything is written: each dossier found (by the
    caller's own access), the funder's and the payment's organisation's, amounts in cents."""
    problems = []
    for index, line in enumerate(entry.lines):
        where = f"lines.{index}"
        dossier = dossiers.get(line.dossier_id)
        if dossier is None or dossier.funder_id != funder_id:
            problems.append(Problem(f"{where}.dossier_id", "dossier_not_found",
                                    "Dossier introuvable."))
        elif dossier.organisation_id != entry.organisation_id:
            problems.append(Problem(f"{where}.dossier_id", "dossier_of_another_organisation",
                                    f"Le dossier {dossier.number} n'est pas suivi par "
                                    "l'organisme payé."))
        if line.amount != line.amount.quantize(CENT):
            problems.append(Problem(f"{where}.amount", "amount_not_in_cents",
                                    "Le montant doit être en euros et centimes."))
    if sum((line.amount for line in entry.lines), Decimal(0)) <= 0:
        problems.append(Problem("lines", "amount_zero", "Le montant du règlement est nul."))
    return problems


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
                                 line.amount.quantize(CENT))
                     for position, line in enumerate(entry.lines)]
    payment.amount = sum((line.amount for line in payment.lines), Decimal("0.00"))
    return payment


def invalid_payment(problems: list[Problem]) -> InvalidInput:
    first = problems[0]
    return InvalidInput(first.code, first.message,
                        {"problems": [p.__dict__ for p in problems]})


# ---- the list, grouped as seed 000 shows it ---------------------------------------------------

def date_label(day: date) -> str:
    """date(2019, 9, 20) -> "20 sept." (babel's abbreviated French month)."""
    return format_date(day, "dd MMM", locale=LOCALE)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def sort_key(row) -> tuple:
    """The list's order: most recent date first, then dossier, payment and line."""
    return (-row.payment_date.toordinal(), row.dossier_number, row.payment_number,
            getattr(row, "position", 0))


def encode_cursor(row) -> str:
    """The keyset of a row (date, dossier, payment, line), opaque to the caller."""
    raw = json.dumps([row.payment_date.isoformat(), row.dossier_number, row.payment_number,
                      row.position])
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii")


def decode_cursor(after: str | None) -> tuple | None:
    """encode_cursor's tuple back; ValueError for anything else."""
    if after is None:
        return None
    try:
        day, dossier_number, number, position = json.loads(
            base64.urlsafe_b64decode(str(after).encode("ascii")))
        return date.fromisoformat(day), str(dossier_number), str(number), int(position)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise ValueError("invalid cursor") from exc


@dataclass
class Totals:
    months: dict[str, Decimal] = field(default_factory=dict)
    dates: dict[date, Decimal] = field(default_factory=dict)

    def add(self, day: date, amount: Decimal) -> None:
        self.months[month_of(day)] = self.months.get(month_of(day), Decimal("0.00")) + amount
        self.dates[day] = self.dates.get(day, Decimal("0.00")) + amount


def totals_of(rows: Iterable) -> Totals:
    totals = Totals()
    for row in rows:
        totals.add(row.payment_date, row.amount)
    return totals


def group_rows(rows: list, totals: Totals | None = None) -> list[dict]:
    """Rows (any objects with payment_date, dossier_id, dossier_number, amount) already in
    sort_key order -> months -> dates -> dossiers, with the totals per month and per date
    and their French labels ("septembre 2019", "10 503,34 €")."""
    totals = totals or totals_of(rows)
    months = []
    for month, in_month in groupby(rows, key=lambda r: month_of(r.payment_date)):
        dates = []
        for day, on_day in groupby(in_month, key=lambda r: r.payment_date):
            dossiers = [{"dossier_id": dossier_id, "dossier_number": number, "rows": list(rs)}
                        for (dossier_id, number), rs in groupby(
                            on_day, key=lambda r: (r.dossier_id, r.dossier_number))]
            total = totals.dates[day]
            dates.append({"payment_date": day, "label": date_label(day), "total": total,
                          "total_label": amount_fr(total), "dossiers": dossiers})
        total = totals.months[month]
        months.append({"month": month, "label": month_fr(month), "total": total,
                       "total_label": amount_fr(total), "dates": dates})
    return months


# ---- bank details (seed 004) --------------------------------------------------------------

PENDING, VALIDATED, REJECTED = "pending", "validated", "rejected"
STATUS_LABELS = {PENDING: "En attente de validation", VALIDATED: "Validé", REJECTED: "Refusé"}
INVOICING_LABELS = {
    "self": "Je facture moi-même mes contrats",
    "third_party": "J'utilise un tiers pour la facturation (organisme gestionnaire, "
                   "établissement principal ou affactureur)",
}


def normalise_iban(iban: str) -> str:
    """The IBAN checked (country format, check digits) with schwifty, in compact form."""
    try:
        return IBAN(iban).compact
    except SchwiftyException:
        raise InvalidInput("invalid_iban", "L'IBAN saisi n'est pas valide.",
                           {"field": "iban"}) from None


def normalise_bic(bic: str) -> str:
    try:
        return BIC(bic).compact
    except SchwiftyException:
        raise InvalidInput("invalid_bic", "Le BIC saisi n'est pas valide.",
                           {"field": "bic"}) from None


class BankDetailsVersion:
    """One version of an organisation's bank details: every change is a new version; the
    funder's decision (validated or rejected with a reason) is recorded on it once."""

    def __init__(self, organisation_id: str, version: int, funder_id: str, iban: str, bic: str,
                 invoicing: str, third_party_name: str | None, rib_document_id: str,
                 submitted_by: str, submitted_by_email: str | None, submitted_at: datetime):
        self.organisation_id = organisation_id
        self.version = version
        self.funder_id = funder_id
        self.iban = iban
        self.bic = bic
        self.invoicing = invoicing
        self.third_party_name = third_party_name
        self.rib_document_id = rib_document_id
        self.status = PENDING
        self.rejection_reason: str | None = None
        self.submitted_by = submitted_by
        self.submitted_by_email = submitted_by_email
        self.submitted_at = submitted_at
        self.reviewed_by: str | None = None
        self.reviewed_at: datetime | None = None

    def review(self, decision: str, reason: str | None, user_id: str, now: datetime) -> None:
        if self.status != PENDING:
            raise Conflict("bank_details_already_reviewed",
                           "Ces coordonnées bancaires ont déjà été examinées.")
        self.status = decision
        self.rejection_reason = reason if decision == REJECTED else None
        self.reviewed_by, self.reviewed_at = user_id, now


@dataclass(frozen=True)
class BankDetailsInput:
    iban: str
    bic: str
    invoicing: str
    third_party_name: str | None
    rib_document_id: str


def new_bank_details(latest_version: int, payments_processing: int, entry: BankDetailsInput,
                     organisation_id: str, funder_id: str, user_id: str, email: str | None,
                     now: datetime) -> BankDetailsVersion:
    """The next version, pending. Refused while a payment to the organisation is being
    processed (recorded, remittance advice not issued yet): it must reach the account it was
    recorded with (seed 004: « uniquement si aucune facture n'est en cours de traitement »)."""
    if payments_processing:
        raise Conflict("payment_in_progress",
                       "Vous pouvez modifier vos informations bancaires uniquement si aucun "
                       "règlement n'est en cours de traitement.")
    if entry.invoicing == "third_party" and not entry.third_party_name:
        raise InvalidInput("third_party_name_required",
                           "Indiquez le tiers qui facture pour vous.",
                           {"field": "third_party_name"})
    return BankDetailsVersion(
        organisation_id, latest_version + 1, funder_id, normalise_iban(entry.iban),
        normalise_bic(entry.bic), entry.invoicing,
        entry.third_party_name if entry.invoicing == "third_party" else None,
        entry.rib_document_id, user_id, email, now)


def validated_version(versions: Iterable[BankDetailsVersion]) -> int | None:
    """The newest validated version: the one payments are made to."""
    found = [v.version for v in versions if v.status == VALIDATED]
    return max(found) if found else None


def may_manage_bank_details(role: str, actor_funder_id: str, actor_organisation_id: str | None,
                            funder_id: str, organisation_id: str) -> bool:
    """Read: the organisation itself and its funder's staff."""
    if actor_funder_id != funder_id:
        return False
    return role in FUNDER_ROLES or (role == ORGANISATION_ROLE
                                    and actor_organisation_id == organisation_id)


def masked_iban(iban: str) -> str:
    """For emails: only the last four characters."""
    return "•" * 4 + " " + iban[-4:]


# ---- credit-note settlement mode (seed 004) ---------------------------------------------------

DEDUCTION, REFUND = "deduction", "refund"
CREDIT_NOTE_EXPLANATION = (
    "Afin de simplifier le règlement de vos factures d'avoir, nos équipes se chargent "
    "d'imputer ces montants sur les factures à venir. Cette modalité est appelée « déduction ». "
    "Si vous ne souhaitez pas utiliser cette démarche simplifiée, vous devrez nous adresser "
    "des virements correspondants aux montants des factures pro forma « facture d'avoir » "
    "générées et déposées sur le portail. Cette modalité est appelée « remboursement ».")
CREDIT_NOTE_OPTIONS = {
    DEDUCTION: ("Je choisis le mode « déduction » afin de régler mes factures d'avoir.",
                "En choisissant cette modalité, il vous suffira de générer et déposer sur le "
                "portail, la facture d'avoir accompagnant la pro forma. Nous nous chargeons "
                "ensuite de déduire ce montant d'un prochain règlement en votre faveur."),
    REFUND: ("Je choisis le mode « remboursement » afin de régler mes factures d'avoir.",
             "En choisissant cette modalité, vous vous engagez à rembourser les sommes indûment "
             "perçues (rupture, fin de contrat initial...) en effectuant un virement à notre "
             "profit, dans les 15 jours qui suivent la génération et le dépôt de la facture "
             "d'avoir et de la pro forma sur le portail. Vous devez obligatoirement indiquer "
             "les informations et références nous permettant de traiter rapidement le "
             "remboursement."),
}


class CreditNoteChoice:
    """One choice of settlement mode, kept with who and when (the latest is in force)."""

    def __init__(self, id: str, organisation_id: str, funder_id: str, mode: str,
                 chosen_by: str, chosen_at: datetime):
        self.id = id
        self.organisation_id = organisation_id
        self.funder_id = funder_id
        self.mode = mode
        self.chosen_by = chosen_by
        self.chosen_at = chosen_at
