"""What a remittance advice says of the account paid: whose it is, and its IBAN masked."""
from __future__ import annotations

from services.payments.domain.bank import BankDetailsVersion


def account_holder(version: BankDetailsVersion, organisation_name: str) -> str:
    """The third party that invoices for the organisation, or the organisation itself."""
    return version.third_party_name or organisation_name


def masked_iban(iban: str) -> str:
    """"FR7613825002000801463722518" -> "FR76 **** … 2518": the country and check digits and
    the last four characters, enough to recognise one's account on paper."""
    return f"{iban[:4]} **** … {iban[-4:]}"
