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
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2, examples=["1250.00"]),
                   FrenchDecimalInput]
PaymentNumber = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[^\s].*$",
                                     examples=["AV-1042"])]
# The `*_by` fields hold the acting user's id (not their name).
_A_USER_ID = "4f7a2c9e-1b3d-4e5f-8a6b-7c8d9e0f1a2b"
MAX_LINES = 50
MAX_BATCH = 500
MAX_PAGE = 2000
LineKind = Literal["payment", "advance"]


class MonthLock(Shape):
    dossier_id: Id = Field(description="the dossier")
    month: Month = Field(examples=["2026-10"])
    locked: bool = Field(description="its certified hours are the payable ones and entry is "
                                     "closed; false once the funder unlocks it")
    certificate_id: Id | None = Field(None, description="the certificate whose hours are "
                                                        "locked")
    training_hours: Hours | None = Field(None, description="certified « Heures de présence en "
                                                           "formation »", examples=["70.00"])
    internship_hours: Hours | None = Field(None, description="certified « Heures de présence "
                                                             "en stage »", examples=["35.00"])
    absence_hours: Hours | None = Field(None, description="certified « Heures d'absence »",
                                        examples=["3.50"])
    locked_at: datetime | None = Field(None, description="when the certification locked it")
    unlocked_at: datetime | None = Field(None, description="the last unlock by the funder")
    unlocked_by: str | None = Field(None, description="the user id of the funder staff who "
                                                      "unlocked it", examples=[_A_USER_ID])
    unlock_reason: str | None = Field(None, description="why the funder unlocked it",
                                      examples=["Heures de stage à corriger après avenant"])
    transmitted_at: datetime | None = Field(None, description="the funder transmitted these "
                                                               "hours for payment")
    transmitted_by: str | None = Field(None, description="the user id of who transmitted them",
                                       examples=[_A_USER_ID])


class Unlock(Shape):
    reason: str = Field(min_length=1, max_length=500, description="why the funder unlocks",
                        examples=["Heures de stage à corriger après avenant"])


# ---- payments -----------------------------------------------------------------------------

class NewPaymentLine(Shape):
    """One dossier's share of a payment: the dossier's facts (number, beneficiary, training)
    come from the dossiers service, never from the caller. The dossier by its id, or by its
    number (what an accounting system knows)."""

    dossier_id: Id | None = Field(None, description="the dossier paid (or give dossier_number)")
    dossier_number: str | None = Field(None, min_length=1, max_length=30,
                                       pattern=r"^[A-Za-z0-9/._-]+$",
                                       description="the dossier's number (or give dossier_id)",
                                       examples=["20X000703"])
    hours_paid: EnteredHours = Field(description="« nombre d'heures payées »",
                                     examples=["70.00"])
    period_start: date = Field(description="first day of the period paid, within the session")
    period_end: date = Field(description="last day of the period paid, not before "
                                         "period_start")
    amount: Amount = Field(description="the line's amount in euros")
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
    number: PaymentNumber = Field(description="the funder's payment number (« N° règlement »), "
                                              "unique per funder")
    payment_date: date = Field(description="the day of the transfer")
    organisation_id: Id = Field(description="the organisation paid")
    advance: bool = Field(False, description="shorthand: every line is an advance")
    lines: list[NewPaymentLine] = Field(min_length=1, max_length=MAX_LINES,
                                        description="one line per dossier and period paid")

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
    field: str | None = Field(None, description="the row's field at fault, when one is",
                              examples=["hours_paid"])
    code: str = Field(description="stable machine-readable code, snake_case",
                      examples=["hours_exceed_certified"])
    message: str = Field(description="French explanation for the user",
                         examples=["Les heures payées dépassent les heures certifiées du mois."])
    line: int | None = Field(None, description="the line's index in the row's payment")
    details: dict = Field({}, description="e.g. month, certified, already_paid, asked")


class ImportedRow(Shape):
    row: int = Field(description="1-based position in the batch")
    number: str | None = Field(None, description="the row's payment number, when it has one",
                               examples=["AV-1042"])
    result: Literal["created", "unchanged", "error"] = Field(
        description="created; unchanged: the funder already has this number; error: nothing "
                    "written, see problems")
    payment_id: Id | None = Field(None, description="the payment created or already there")
    problems: list[ImportProblem] = Field([], description="why the row was refused")
    remittance_advice: Literal["pending", "issued", "failed"] | None = Field(
        None, description="the advice of a payment created (or found still processing): "
                          "failed leaves the payment processing (POST "
                          "/payments/{payment_id}/remittance-advice finishes it)")


class PaymentLine(Shape):
    dossier_id: Id = Field(description="the dossier paid")
    dossier_number: str = Field(description="« N° dossier »", examples=["20X000703"])
    beneficiary_name: str = Field(description="nom", examples=["DUBOIS"])
    beneficiary_first_name: str = Field(description="prénom", examples=["Michelle"])
    training_title: str = Field(description="the dossier's training (« formation »)",
                                examples=["BTS Management commercial opérationnel"])
    hours_paid: Hours = Field(description="« nombre d'heures payées »", examples=["70.00"])
    period_start: date = Field(description="first day of the period paid")
    period_end: date = Field(description="last day of the period paid")
    amount: Amount = Field(description="the line's amount in euros")
    kind: LineKind = Field("payment", description="payment (certified hours) or advance "
                                                  "(« avance »)")


class PaymentDeduction(Shape):
    """A credit note (or part of one) taken off the payment, as its remittance advice prints
    it."""

    credit_note_id: Id = Field(description="the credit note deducted")
    label: str = Field(description="as the remittance advice prints it",
                       examples=["Avoir PRO-100 – dossier 20X000703, du 01/09/2026 au "
                                 "30/09/2026"])
    amount: Amount = Field(description="the part of the credit note taken off this payment, in "
                                       "euros")


class Payment(Shape):
    id: Id = Field(description="the payment's id")
    number: str = Field(description="the funder's payment number (« N° règlement »)",
                        examples=["AV-1042"])
    payment_date: date = Field(description="the day of the transfer")
    funder_id: Id = Field(description="the funder who pays")
    organisation_id: Id = Field(description="the organisation paid")
    advance: bool = Field(description="every line is an advance")
    amount: Amount = Field(description="the sum of the lines", examples=["3567.20"])
    deductions: list[PaymentDeduction] = Field(
        [], description="credit notes in mode déduction taken off this payment, oldest first")
    deducted_amount: Amount = Field(Decimal("0.00"), description="the sum of the deductions")
    transferred_amount: Amount = Field(description="what is transferred: amount less "
                                                   "deducted_amount, never negative",
                                       examples=["3067.20"])
    status: str = Field(description="processing (remittance advice not issued yet) or issued",
                        examples=["issued"])
    lines: list[PaymentLine] = Field(description="one line per dossier and period paid")
    bank_details_version: int | None = Field(
        None, description="the organisation's validated bank details it was paid to")
    remittance_document_id: Id | None = Field(None, description="the remittance advice (« avis "
                                                                "de virement ») once issued")
    recorded_by: str = Field(description="the user id of who recorded it",
                             examples=[_A_USER_ID])
    recorded_at: datetime = Field(description="when it was recorded")
    issued_at: datetime | None = Field(None, description="when its remittance advice was "
                                                         "issued")
    reconciled: bool = Field(False, description="the organisation ticked it as received "
                                                "(pointage)")
    reconciled_by: str | None = Field(None, description="the user id of who last ticked or "
                                                        "unticked it", examples=[_A_USER_ID])
    reconciled_at: datetime | None = Field(None, description="when it was last ticked or "
                                                             "unticked")


class Reconciliation(Shape):
    reconciled: bool = Field(description="the organisation received it (pointage)")


class PaymentSearch(Shape):
    """Seed 000: a period (start and end dates, on the payment date), a dossier number, a
    payment number. Funder staff may also narrow to one organisation."""

    start: date | None = Field(None, description="payments on or after this day")
    end: date | None = Field(None, description="payments on or before this day")
    dossier_number: str | None = Field(None, min_length=1, max_length=30,
                                       description="« N° dossier »", examples=["20X000703"])
    payment_number: str | None = Field(None, min_length=1, max_length=30,
                                       description="« N° règlement »", examples=["AV-1042"])
    organisation_id: Id | None = Field(None, description="only this organisation's payments "
                                                         "(its own users see no other)")


class PaymentRow(Shape):
    """One line of the list and of the export: a payment's share for one dossier."""

    payment_id: Id = Field(description="the payment")
    payment_number: str = Field(description="« N° règlement »", examples=["AV-1042"])
    payment_date: date = Field(description="the day of the transfer")
    advance: bool = Field(description="this line is an advance (« Avance »)")
    organisation_id: Id = Field(description="the organisation paid")
    dossier_id: Id = Field(description="the dossier paid")
    dossier_number: str = Field(description="« N° dossier »", examples=["20X000703"])
    beneficiary_name: str = Field(description="nom", examples=["DUBOIS"])
    beneficiary_first_name: str = Field(description="prénom", examples=["Michelle"])
    training_title: str = Field(description="« formation »",
                                examples=["BTS Management commercial opérationnel"])
    hours_paid: Hours = Field(description="« nombre d'heures payées »", examples=["70.00"])
    period_start: date = Field(description="first day of the period paid")
    period_end: date = Field(description="last day of the period paid")
    amount: Amount = Field(description="the line's amount in euros")
    reconciled: bool = Field(description="the organisation ticked the payment as received "
                                         "(pointage)")
    remittance_document_id: Id | None = Field(None, description="the payment's remittance "
                                                                "advice, once issued")


class DossierGroup(Shape):
    dossier_id: Id = Field(description="the dossier")
    dossier_number: str = Field(description="« N° dossier »", examples=["20X000703"])
    rows: list[PaymentRow] = Field(description="the dossier's lines paid that day")


class DateGroup(Shape):
    payment_date: date = Field(description="the day of the transfers")
    label: str = Field(description='"20 sep."', examples=["20 sept."])
    total: Amount = Field(description="the day's total in euros", examples=["3567.20"])
    total_label: str = Field(description='"3 567,20 €"', examples=["3\u00a0567,20\u00a0€"])
    dossiers: list[DossierGroup] = Field(description="the day's lines, by dossier")


class MonthGroup(Shape):
    month: Month = Field(examples=["2026-10"])
    label: str = Field(description='"septembre 2019"', examples=["octobre 2026"])
    total: Amount = Field(description="the month's total in euros", examples=["10503.34"])
    total_label: str = Field(description='"10 503,34 €"', examples=["10\u00a0503,34\u00a0€"])
    dates: list[DateGroup] = Field(description="the month's payment days, most recent first")


class PaymentList(Shape):
    """Grouped by month, then date, then dossier, most recent first (seed 000)."""

    months: list[MonthGroup] = Field(description="most recent first")
    total: Amount = Field(description="the sum of the months' totals, in euros",
                          examples=["10503.34"])
    rows: int = Field(description="how many lines are listed")
    truncated: bool = Field(False, description=f"more than {MAX_PAGE} lines: narrow the search")


# ---- bank details and credit notes (seed 004) --------------------------------------------

Invoicing = Literal["self", "third_party"]


class NewBankDetails(Shape):
    iban: str = Field(min_length=15, max_length=42, description="« IBAN », checked (country "
                                                                "format, check digits)",
                      examples=["FR76 3000 6000 0112 3456 7890 189"])
    bic: str = Field(min_length=8, max_length=11, description="the bank's BIC, checked",
                     examples=["AGRIFRPP"])
    invoicing: Invoicing = Field(description="self: « Je facture moi-même mes contrats » ; "
                                             "third_party: « J'utilise un tiers pour la "
                                             "facturation »")
    third_party_name: str | None = Field(None, min_length=1, max_length=200,
                                         description="the third party who invoices, with "
                                                     "third_party",
                                         examples=["Affacturage Rhône Gestion"])
    rib_document_id: Id = Field(description="the RIB uploaded in documents (category "
                                            "bank_details)")


class BankDetailsVersion(Shape):
    organisation_id: Id = Field(description="the organisation whose bank details these are")
    version: int = Field(description="1, 2...: every change is a new version")
    iban: str = Field(description="« IBAN », compact", examples=["FR7630006000011234567890189"])
    bic: str = Field(description="the bank's BIC, compact", examples=["AGRIFRPP"])
    invoicing: Invoicing = Field(description="self or third_party (who invoices)")
    invoicing_label: str = Field(description="the same, as the screen says it",
                                 examples=["Je facture moi-même mes contrats"])
    third_party_name: str | None = Field(None, description="the third party who invoices, with "
                                                           "third_party",
                                         examples=["Affacturage Rhône Gestion"])
    rib_document_id: Id = Field(description="the RIB uploaded with this version")
    status: Literal["pending", "validated", "rejected"] = Field(
        description="pending until the funder validates or rejects it")
    status_label: str = Field(description="« Statut de vos informations de facturation »",
                              examples=["Validé"])
    rejection_reason: str | None = Field(None, description="why the funder rejected it",
                                         examples=["Le RIB déposé est une copie d'écran."])
    submitted_by: str = Field(description="the user id of who submitted it",
                              examples=[_A_USER_ID])
    submitted_at: datetime = Field(description="when it was submitted")
    reviewed_by: str | None = Field(None, description="the user id of the funder staff who "
                                                      "reviewed it", examples=[_A_USER_ID])
    reviewed_at: datetime | None = Field(None, description="when it was validated or rejected")


class BankDetails(Shape):
    """The billing details (« Coordonnées bancaires », seed 004): the UAI and SIRET of the
    organisation above its bank-details versions."""

    organisation_id: Id = Field(description="the organisation")
    siret: str | None = Field(None, description="« MON SIRET »", examples=["73282932000074"])
    uai: str | None = Field(None, description="« NUMÉRO UAI », when the organisation gave one",
                            examples=["0691234A"])
    current: BankDetailsVersion | None = Field(None, description="the latest version, whatever "
                                                                 "its status")
    validated_version: int | None = Field(None, description="the version payments use")
    may_change: bool = Field(description="false while a payment is being processed")
    versions: list[BankDetailsVersion] = Field(description="newest first")


class BankDetailsReview(Shape):
    version: int = Field(ge=1, description="the version reviewed")
    decision: Literal["validated", "rejected"] = Field(description="validate or reject it")
    reason: str | None = Field(None, min_length=1, max_length=500,
                               description="required to reject",
                               examples=["Le RIB déposé est une copie d'écran."])

    @model_validator(mode="after")
    def _reason_to_reject(self):
        if self.decision == "rejected" and not self.reason:
            raise ValueError("a rejection needs a reason")
        return self


CreditNoteModeName = Literal["deduction", "refund"]


class CreditNoteModeChoice(Shape):
    mode: CreditNoteModeName = Field(description="deduction (« déduction ») or refund "
                                                 "(« remboursement »)")


class CreditNoteOption(Shape):
    mode: CreditNoteModeName = Field(description="the mode this option chooses")
    label: str = Field(description="the option's box, as the screen says it",
                       examples=["Je choisis le mode « déduction » afin de régler mes factures "
                                 "d'avoir."])
    text: str = Field(description="what choosing it commits to",
                      examples=["En choisissant cette modalité, il vous suffira de générer et "
                                "déposer sur le portail, la facture d'avoir accompagnant la pro "
                                "forma."])


class CreditNoteMode(Shape):
    organisation_id: Id = Field(description="the organisation")
    mode: CreditNoteModeName | None = Field(None, description="the mode chosen; None: never "
                                                              "chosen, déduction applies")
    chosen_by: str | None = Field(None, description="the user id of who chose it",
                                  examples=[_A_USER_ID])
    chosen_at: datetime | None = Field(None, description="when it was chosen")
    explanation: str = Field(description="« Mode de règlement des factures d'avoir », as the "
                                         "screen explains it",
                             examples=["Afin de simplifier le règlement de vos factures "
                                       "d'avoir, nos équipes se chargent d'imputer ces montants "
                                       "sur les factures à venir."])
    options: list[CreditNoteOption] = Field(description="the two modes to choose from")


# ---- the funder's payment settings --------------------------------------------------------

PayerName = Annotated[str, Field(min_length=1, max_length=300)]


class NewPaymentSettings(Shape):
    """What a funder administrator sets (PUT /payment-settings): the payer as its remittance
    advices print it."""

    payer_name: PayerName = Field(description="the payer printed at the head of remittance "
                                              "advices", examples=["Opco EP"])
    address: str | None = Field(None, max_length=500, description="one line per line printed",
                                examples=["2 rue Exemple\n69003 Lyon"])
    logo_document_id: Id | None = Field(None, description="a « Logo » image the funder filed "
                                                          "(POST /documents), not an "
                                                          "organisation's")
    refund_account: RefundAccount | None = Field(
        None, description="the funder's account printed on the pro forma of credit notes in "
                          "mode remboursement (seed 004's « Mode opératoire »)")


class PaymentSettings(NewPaymentSettings):
    funder_id: Id = Field(description="the funder")
    updated_by: str | None = Field(None, description="the user id of who last changed them",
                                   examples=[_A_USER_ID])
    updated_at: datetime | None = Field(None, description="when they last changed")


# ---- credit notes ("factures d'avoir", seed 004) ------------------------------------------

CreditNoteStatus = Literal["to_deduct", "partly_deducted", "deducted", "awaiting_refund",
                           "late", "received"]


class NewCreditNote(Shape):
    """An overpayment the organisation owes back on a dossier's period (funder staff)."""

    dossier_id: Id | None = Field(None, description="the dossier (or give dossier_number)")
    dossier_number: str | None = Field(None, min_length=1, max_length=30,
                                       description="the dossier's number (or give dossier_id)",
                                       examples=["20X000703"])
    period_start: date = Field(description="first day of the period overpaid, within the "
                                           "session")
    period_end: date = Field(description="last day of the period overpaid")
    amount: Amount = Field(gt=0, description="at most what was paid on the dossier for the "
                                             "period, less earlier credit notes on it")
    reason: str = Field(min_length=1, max_length=500, description="« rupture du contrat », "
                                                                   "« avenant »...",
                        examples=["Rupture du contrat au 15/09/2026"])

    @model_validator(mode="after")
    def _one_dossier_and_a_period(self):
        if (self.dossier_id is None) == (self.dossier_number is None):
            raise ValueError("give dossier_id or dossier_number, not both")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class CreditNoteDeduction(Shape):
    payment_id: Id = Field(description="the payment it was taken off")
    payment_number: str = Field(description="that payment's number", examples=["AV-1042"])
    amount: Amount = Field(description="the part taken off that payment, in euros",
                           examples=["500.00"])


class CreditNote(Shape):
    id: Id = Field(description="the credit note's id")
    number: str = Field(description="the pro forma number, « PRO-100 »", examples=["PRO-100"])
    funder_id: Id = Field(description="the funder owed")
    organisation_id: Id = Field(description="the organisation that owes it")
    organisation_name: str = Field(description="the organisation's name",
                                   examples=["CFA Horizon Lyon"])
    dossier_id: Id = Field(description="the dossier overpaid")
    dossier_number: str = Field(description="« N° dossier »", examples=["20X000703"])
    beneficiary_name: str = Field(description="the dossier's beneficiary",
                                  examples=["DUBOIS Michelle"])
    period_start: date = Field(description="first day of the period overpaid")
    period_end: date = Field(description="last day of the period overpaid")
    amount: Amount = Field(description="what is owed back, in euros", examples=["500.00"])
    reason: str = Field(description="« rupture du contrat », « avenant »...",
                        examples=["Rupture du contrat au 15/09/2026"])
    mode: CreditNoteModeName = Field(description="the organisation's mode when recorded")
    status: CreditNoteStatus = Field(description="to_deduct, partly_deducted, deducted "
                                                 "(déduction); awaiting_refund, late, received "
                                                 "(remboursement)")
    status_label: str = Field(description="the same, in French",
                              examples=["À déduire des prochains règlements"])
    deducted_amount: Amount = Field(description="taken off payments so far, in euros",
                                    examples=["0.00"])
    remaining_amount: Amount = Field(description="still to deduct, or to transfer",
                                     examples=["500.00"])
    deductions: list[CreditNoteDeduction] = Field([], description="the payments it was taken "
                                                                  "off (déduction)")
    issued_on: date = Field(description="the pro forma's date")
    transfer_reference: str | None = Field(None, description="remboursement: to quote in the "
                                                             "transfer, « AVCAP PRO-100 »",
                                           examples=["AVCAP PRO-100"])
    due_date: date | None = Field(None, description="remboursement: the transfer's last day "
                                                    "(15 days after issue)")
    pro_forma_document_id: Id | None = Field(None, description="None until the pro forma is "
                                                               "edited")
    recorded_by: str = Field(description="the user id of the funder staff who recorded it",
                             examples=[_A_USER_ID])
    recorded_at: datetime = Field(description="when it was recorded")
    received_by: str | None = Field(None, description="remboursement: the user id of who "
                                                      "recorded the transfer's receipt",
                                    examples=[_A_USER_ID])
    received_at: datetime | None = Field(None, description="remboursement: when the transfer's "
                                                           "receipt was recorded")


class CreditNoteSearch(Shape):
    organisation_id: Id | None = Field(None, description="only this organisation's credit "
                                                         "notes (its own users see no other)")
    dossier_number: str | None = Field(None, min_length=1, max_length=30,
                                       description="« N° dossier »", examples=["20X000703"])
    status: CreditNoteStatus | None = Field(None, description="only the credit notes in this "
                                                              "status")


class CreditNoteList(Shape):
    credit_notes: list[CreditNote] = Field(description="newest first, 500 at most")
    truncated: bool = Field(description="more than 500 found: narrow the search")
