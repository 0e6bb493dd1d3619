"""The credit-note settlement mode (seed 004): how an organisation settles its credit notes."""
from __future__ import annotations

from datetime import datetime

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
