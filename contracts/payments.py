"""payments RPC shapes: month locks, payments ("règlements"), their search and export pages,
the reconciliation mark, bank details ("coordonnées bancaires") and the credit-note mode."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from contracts.common import EnteredHours, FrenchDecimalInput, Id, Shape
from contracts.events import Hours, Month
from contracts.pdfs import RefundAccount

# Euros, exact: Numeric(12, 2) in the database, a JSON string "10503.34" on the wire; French
# input "10 503,34" is accepted.
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), FrenchDecimalInput]
PaymentNumber = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[^\s].*$")]
MAX_LINES = 50
MAX_BATCH = 500
MAX_PAGE = 2000
LineKind = Literal["payment", "advance"]


class MonthLock(Shape):
    dossier_id: Id
    month: Month
    locked: bool
    certificate_id: Id | None = None
    training_hours: Hours | None = None
    internship_hours: Hours | None = None
    absence_hours: Hours | None = None
    locked_at: datetime | None = None
    unlocked_at: datetime | None = Field(None, description="the last unlock by the funder")
    unlocked_by: str | None = None
    unlock_reason: str | None = None
    transmitted_at: datetime | None = Field(None, description="the funder transmitted these "
                                                               "hours for payment")
    transmitted_by: str | None = None


class Unlock(Shape):
    reason: str = Field(min_length=1, max_length=500, description="why the funder unlocks")


# ---- payments -----------------------------------------------------------------------------

class NewPaymentLine(Shape):
    """One dossier's share of a payment: the dossier's facts (number, beneficiary, training)
    come from the dossiers service, never from the caller. The dossier by its id, or by its
    number (what an accounting system knows)."""

    dossier_id: Id | None = None
    dossier_number: str | None = Field(None, min_length=1, max_length=30,
                                       pattern=r"^[A-Za-z0-9/._-]+$")
    hours_paid: EnteredHours
    period_start: date
    period_end: date
    amount: Amount
    kind: LineKind | None = Field(
        None, description="payment (default): pays certified hours of locked months, at most "
                          "what is left to pay, and closes them for entry; advance (« avance »)"
                          ": needs no certification and closes nothing")

    @model_validator(mode="after")
    def _one_dossier_in_order(self):
        if (self.dossier_id is None) == (self.dossier_number is None):
            raise ValueError("give dossier_id or dossier_number, not both")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class NewPayment(Shape):
    number: PaymentNumber
    payment_date: date
    organisation_id: Id
    advance: bool = Field(False, description="shorthand: every line is an advance")
    lines: list[NewPaymentLine] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _kinds(self):
        if self.advance and any(line.kind == "payment" for line in self.lines):
            raise ValueError("an advance payment has advance lines only")
        return self

    def kind_of(self, line: NewPaymentLine) -> str:
        return line.kind or ("advance" if self.advance else "payment")


class PaymentBatch(Shape):
    """An import from the accounting system: each row is checked on its own; a payment whose
    number the funder already has is reported `unchanged` and left as it is."""

    payments: list[dict] = Field(min_length=1, max_length=MAX_BATCH,
                                 description="rows of the shape of NewPayment")


class ImportProblem(Shape):
    field: str | None = None
    code: str
    message: str
    line: int | None = Field(None, description="the line's index in the row's payment")
    details: dict = Field({}, description="e.g. month, certified, already_paid, asked")


class ImportedRow(Shape):
    row: int = Field(description="1-based position in the batch")
    number: str | None = None
    result: Literal["created", "unchanged", "error"]
    payment_id: Id | None = None
    problems: list[ImportProblem] = []


class PaymentImportReport(Shape):
    created: int
    unchanged: int
    errors: int
    rows: list[ImportedRow]


class PaymentLine(Shape):
    dossier_id: Id
    dossier_number: str
    beneficiary_name: str = Field(description="nom")
    beneficiary_first_name: str = Field(description="prénom")
    training_title: str
    hours_paid: Hours
    period_start: date
    period_end: date
    amount: Amount
    kind: LineKind = "payment"


class PaymentDeduction(Shape):
    """A credit note (or part of one) taken off the payment, as its remittance advice prints
    it."""

    credit_note_id: Id
    label: str
    amount: Amount


class Payment(Shape):
    id: Id
    number: str
    payment_date: date
    funder_id: Id
    organisation_id: Id
    advance: bool = Field(description="every line is an advance")
    amount: Amount = Field(description="the sum of the lines")
    deductions: list[PaymentDeduction] = Field(
        [], description="credit notes in mode déduction taken off this payment, oldest first")
    deducted_amount: Amount = Field(Decimal("0.00"), description="the sum of the deductions")
    transferred_amount: Amount = Field(description="what is transferred: amount less "
                                                   "deducted_amount, never negative")
    status: str = Field(description="processing (remittance advice not issued yet) or issued")
    lines: list[PaymentLine]
    bank_details_version: int | None = Field(
        None, description="the organisation's validated bank details it was paid to")
    remittance_document_id: Id | None = None
    recorded_by: str
    recorded_at: datetime
    issued_at: datetime | None = None
    reconciled: bool = False
    reconciled_by: str | None = None
    reconciled_at: datetime | None = None


class Reconciliation(Shape):
    reconciled: bool = Field(description="the organisation received it (pointage)")


class PaymentSearch(Shape):
    """Seed 000: a period (start and end dates, on the payment date), a dossier number, a
    payment number. Funder staff may also narrow to one organisation."""

    start: date | None = None
    end: date | None = None
    dossier_number: str | None = Field(None, min_length=1, max_length=30)
    payment_number: str | None = Field(None, min_length=1, max_length=30)
    organisation_id: Id | None = None


class PaymentRow(Shape):
    """One line of the list and of the export: a payment's share for one dossier."""

    payment_id: Id
    payment_number: str
    payment_date: date
    advance: bool = Field(description="this line is an advance (« Avance »)")
    organisation_id: Id
    dossier_id: Id
    dossier_number: str
    beneficiary_name: str
    beneficiary_first_name: str
    training_title: str
    hours_paid: Hours
    period_start: date
    period_end: date
    amount: Amount
    reconciled: bool
    remittance_document_id: Id | None = None


class DossierGroup(Shape):
    dossier_id: Id
    dossier_number: str
    rows: list[PaymentRow]


class DateGroup(Shape):
    payment_date: date
    label: str = Field(description='"20 sep."')
    total: Amount
    total_label: str = Field(description='"3 567,20 €"')
    dossiers: list[DossierGroup]


class MonthGroup(Shape):
    month: Month
    label: str = Field(description='"septembre 2019"')
    total: Amount
    total_label: str = Field(description='"10 503,34 €"')
    dates: list[DateGroup]


class PaymentList(Shape):
    """Grouped by month, then date, then dossier, most recent first (seed 000)."""

    months: list[MonthGroup]
    total: Amount
    rows: int
    truncated: bool = Field(False, description=f"more than {MAX_PAGE} lines: narrow the search")


class ExportPage(Shape):
    """payments.export_rows' reply: rows in list order, the totals of the months and dates
    they touch (over the whole search, not only this page), and the cursor of the next page."""

    rows: list[PaymentRow]
    month_totals: dict[str, Amount]
    date_totals: dict[str, Amount]
    next_after: str | None = None


# ---- bank details and credit notes (seed 004) --------------------------------------------

Invoicing = Literal["self", "third_party"]


class NewBankDetails(Shape):
    iban: str = Field(min_length=15, max_length=42)
    bic: str = Field(min_length=8, max_length=11)
    invoicing: Invoicing = Field(description="self: « Je facture moi-même mes contrats » ; "
                                             "third_party: « J'utilise un tiers pour la "
                                             "facturation »")
    third_party_name: str | None = Field(None, min_length=1, max_length=200)
    rib_document_id: Id = Field(description="the RIB uploaded in documents (category "
                                            "bank_details)")


class BankDetailsVersion(Shape):
    organisation_id: Id
    version: int
    iban: str
    bic: str
    invoicing: Invoicing
    invoicing_label: str
    third_party_name: str | None = None
    rib_document_id: Id
    status: Literal["pending", "validated", "rejected"]
    status_label: str
    rejection_reason: str | None = None
    submitted_by: str
    submitted_at: datetime
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


class BankDetails(Shape):
    """The billing details (« Coordonnées bancaires », seed 004): the UAI and SIRET of the
    organisation above its bank-details versions."""

    organisation_id: Id
    siret: str | None = Field(None, description="« MON SIRET »")
    uai: str | None = Field(None, description="« NUMÉRO UAI », when the organisation gave one")
    current: BankDetailsVersion | None = None
    validated_version: int | None = Field(None, description="the version payments use")
    may_change: bool = Field(description="false while a payment is being processed")
    versions: list[BankDetailsVersion] = Field(description="newest first")


class BankDetailsReview(Shape):
    version: int = Field(ge=1)
    decision: Literal["validated", "rejected"]
    reason: str | None = Field(None, min_length=1, max_length=500,
                               description="required to reject")

    @model_validator(mode="after")
    def _reason_to_reject(self):
        if self.decision == "rejected" and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


CreditNoteModeName = Literal["deduction", "refund"]


class CreditNoteModeChoice(Shape):
    mode: CreditNoteModeName


class CreditNoteOption(Shape):
    mode: CreditNoteModeName
    label: str
    text: str


class CreditNoteMode(Shape):
    organisation_id: Id
    mode: CreditNoteModeName | None = None
    chosen_by: str | None = None
    chosen_at: datetime | None = None
    explanation: str
    options: list[CreditNoteOption]


# ---- the funder's payment settings --------------------------------------------------------

PayerName = Annotated[str, Field(min_length=1, max_length=300)]


class NewPaymentSettings(Shape):
    """What a funder administrator sets (PUT /payment-settings): the payer as its remittance
    advices print it."""

    payer_name: PayerName
    address: str | None = Field(None, max_length=500, description="one line per line printed")
    logo_document_id: Id | None = Field(None, description="a « Logo » image the funder filed "
                                                          "(POST /documents), not an "
                                                          "organisation's")
    refund_account: RefundAccount | None = Field(
        None, description="the funder's account printed on the pro forma of credit notes in "
                          "mode remboursement (seed 004's « Mode opératoire »)")


class PaymentSettings(NewPaymentSettings):
    funder_id: Id
    updated_by: str | None = None
    updated_at: datetime | None = None


# ---- credit notes ("factures d'avoir", seed 004) ------------------------------------------

CreditNoteStatus = Literal["to_deduct", "partly_deducted", "deducted", "awaiting_refund",
                           "late", "received"]


class NewCreditNote(Shape):
    """An overpayment the organisation owes back on a dossier's period (funder staff)."""

    dossier_id: Id | None = None
    dossier_number: str | None = Field(None, min_length=1, max_length=30)
    period_start: date
    period_end: date
    amount: Amount = Field(gt=0, description="at most what was paid on the dossier for the "
                                             "period, less earlier credit notes on it")
    reason: str = Field(min_length=1, max_length=500, description="« rupture du contrat », "
                                                                   "« avenant »...")

    @model_validator(mode="after")
    def _one_dossier_and_a_period(self):
        if (self.dossier_id is None) == (self.dossier_number is None):
            raise ValueError("give dossier_id or dossier_number, not both")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class CreditNoteDeduction(Shape):
    payment_id: Id
    payment_number: str
    amount: Amount


class CreditNote(Shape):
    id: Id
    number: str = Field(description="the pro forma number, « PRO-100 »")
    funder_id: Id
    organisation_id: Id
    organisation_name: str
    dossier_id: Id
    dossier_number: str
    beneficiary_name: str
    period_start: date
    period_end: date
    amount: Amount
    reason: str
    mode: CreditNoteModeName = Field(description="the organisation's mode when recorded")
    status: CreditNoteStatus
    status_label: str
    deducted_amount: Amount
    remaining_amount: Amount = Field(description="still to deduct, or to transfer")
    deductions: list[CreditNoteDeduction] = Field([], description="the payments it was taken "
                                                                  "off (déduction)")
    issued_on: date
    transfer_reference: str | None = Field(None, description="remboursement: to quote in the "
                                                             "transfer, « AVCAP PRO-100 »")
    due_date: date | None = Field(None, description="remboursement: the transfer's last day "
                                                    "(15 days after issue)")
    pro_forma_document_id: Id | None = Field(None, description="None until the pro forma is "
                                                               "edited")
    recorded_by: str
    recorded_at: datetime
    received_by: str | None = None
    received_at: datetime | None = None


class CreditNoteSearch(Shape):
    organisation_id: Id | None = None
    dossier_number: str | None = Field(None, min_length=1, max_length=30)
    status: CreditNoteStatus | None = None


class CreditNoteList(Shape):
    credit_notes: list[CreditNote] = Field(description="newest first, 500 at most")
    truncated: bool
