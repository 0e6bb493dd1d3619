"""Credit notes ("factures d'avoir", seed 004): the settlement mode an organisation chooses, the
notes funder staff record, their deduction from the next payments or their refund."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.common.errors import Conflict, NotFound
from contracts.common.formatting import amount_fr, date_fr
from services.payments.domain.payments import Problem

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


# ---- credit notes ("factures d'avoir") ------------------------------------------------------

REFUND_DAYS = 15  # seed 004: « nous adresser un virement dans les 15 jours »
TO_DEDUCT, PARTLY_DEDUCTED, DEDUCTED = "to_deduct", "partly_deducted", "deducted"
AWAITING_REFUND, LATE, RECEIVED = "awaiting_refund", "late", "received"
STATUS_LABELS = {
    TO_DEDUCT: "À déduire des prochains règlements",
    PARTLY_DEDUCTED: "Partiellement déduit",
    DEDUCTED: "Déduit",
    AWAITING_REFUND: "Remboursement attendu",
    LATE: "Remboursement en retard",
    RECEIVED: "Remboursement reçu",
}
ZERO = Decimal("0.00")


def mode_in_force(choice: CreditNoteChoice | None) -> str:
    """The organisation's latest choice; déduction until it chooses (the seed's box ticked by
    default)."""
    return choice.mode if choice is not None else DEDUCTION


def pro_forma_number(sequence: int) -> str:
    """Seed 004's example: « pro forma n° 100 » is « PRO-100 »."""
    return f"PRO-{sequence}"


class CreditNote:
    """An overpayment on a dossier's period, owed back by the organisation: taken off its next
    payments (déduction) or transferred back within 15 days quoting AVCAP + the pro forma
    number (remboursement), as the mode in force when it was recorded says."""

    def __init__(self, id: str, sequence: int, funder_id: str, organisation_id: str,
                 organisation_name: str, dossier_id: str, dossier_number: str,
                 beneficiary_name: str, period_start: date, period_end: date, amount: Decimal,
                 reason: str, mode: str, recorded_by: str, recorded_at: datetime,
                 issued_on: date):
        self.id = id
        self.sequence = sequence
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.organisation_name = organisation_name
        self.dossier_id = dossier_id
        self.dossier_number = dossier_number
        self.beneficiary_name = beneficiary_name
        self.period_start = period_start
        self.period_end = period_end
        self.amount = amount
        self.reason = reason
        self.mode = mode
        self.deducted = ZERO
        self.status = TO_DEDUCT if mode == DEDUCTION else AWAITING_REFUND
        self.issued_on = issued_on
        self.due_date = issued_on + timedelta(days=REFUND_DAYS) if mode == REFUND else None
        self.pro_forma_document_id: str | None = None
        self.recorded_by = recorded_by
        self.recorded_at = recorded_at
        self.received_by: str | None = None
        self.received_at: datetime | None = None

    @property
    def number(self) -> str:
        return pro_forma_number(self.sequence)

    @property
    def transfer_reference(self) -> str | None:
        """What the organisation writes in its transfer's label (refund only)."""
        return f"AVCAP {self.number}" if self.mode == REFUND else None

    @property
    def remaining(self) -> Decimal:
        """What is still owed: to deduct, or to transfer until received."""
        if self.mode == REFUND:
            return ZERO if self.status == RECEIVED else self.amount
        return self.amount - self.deducted

    def status_on(self, today: date) -> str:
        """The stored status, or late once a refund's due date is past unreceived."""
        if self.status == AWAITING_REFUND and self.due_date is not None and today > self.due_date:
            return LATE
        return self.status

    def take(self, wanted: Decimal) -> Decimal:
        """Deduct up to `wanted` from what is left (déduction only); what was taken."""
        taken = min(self.remaining, wanted) if self.mode == DEDUCTION else ZERO
        if taken > 0:
            self.deducted += taken
            self.status = DEDUCTED if self.deducted == self.amount else PARTLY_DEDUCTED
        return taken

    def mark_received(self, user_id: str, now: datetime) -> None:
        """The funder saw the transfer arrive (remboursement only, once)."""
        if self.mode != REFUND:
            raise Conflict("credit_note_not_refundable",
                           f"L'avoir {self.number} est en mode déduction : il est déduit des "
                           "prochains règlements, aucun virement n'est attendu.")
        if self.status == RECEIVED:
            raise Conflict("credit_note_already_received",
                           f"Le remboursement de l'avoir {self.number} est déjà enregistré.")
        self.status, self.received_by, self.received_at = RECEIVED, user_id, now

    def issue(self, document_id: str) -> None:
        self.pro_forma_document_id = document_id


class Deduction:
    """Part of a credit note taken off one payment: printed on its remittance advice."""

    def __init__(self, payment_id: str, position: int, credit_note_id: str, label: str,
                 amount: Decimal):
        self.payment_id = payment_id
        self.position = position
        self.credit_note_id = credit_note_id
        self.label = label
        self.amount = amount


def deduction_label(note: CreditNote) -> str:
    return (f"Avoir {note.number} – dossier {note.dossier_number}, du "
            f"{date_fr(note.period_start)} au {date_fr(note.period_end)}")


def deduct(payment_id: str, gross: Decimal, notes: list[CreditNote]) -> list[Deduction]:
    """Take the organisation's open credit notes (oldest first) off a payment of `gross`,
    never below zero: a note larger than the payment is finished by the next ones."""
    deductions, left = [], gross
    for note in notes:
        if left <= 0:
            break
        taken = note.take(left)
        if taken > 0:
            deductions.append(Deduction(payment_id, len(deductions), note.id,
                                        deduction_label(note), taken))
            left -= taken
    return deductions


def exceeds_paid(amount: Decimal, paid: Decimal, credited: Decimal) -> Problem | None:
    """A credit note gives back at most what was paid on the dossier's period, less the credit
    notes already recorded on it."""
    left = max(Decimal(paid) - Decimal(credited), ZERO).quantize(ZERO)
    if amount <= left:
        return None
    return Problem("amount", "credit_note_exceeds_paid",
                   "Le montant de l'avoir dépasse ce qui a été payé sur ce dossier pour la "
                   "période, déduction faite des avoirs déjà enregistrés (reste : "
                   f"{amount_fr(left)}).",
                   details={"available": str(left)})


def credit_note_not_found() -> NotFound:
    return NotFound("credit_note_not_found", "Avoir introuvable.")
