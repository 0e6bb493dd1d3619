"""The remittance advice payments asks documents for: everything from the recorded payment,
the payer from the funder's payment settings, the account from the version paid (seed 000)."""
from __future__ import annotations

import pytest

from contracts.common import Role
from contracts.common.errors import Forbidden, InvalidInput, NotFound
from contracts.events import FunderBootstrappedV1
from services.payments import handlers
from services.payments.domain.bank import BankDetailsVersion
from tests.support.fakes import FakeClock
from tests.support.payments import (FUNDER, ORGANISATION, a_dossier, certified_locks,
                                    fake_ports, new_payment_payload, payments_database, staff)

NOW = FakeClock()()
SETTINGS = {"payer_name": "Transitions Pro Grand Est",
            "address": "1 rue de la Paix\n67000 Strasbourg", "logo_document_id": "funder-logo"}


def admin():
    return staff().model_copy(update={"role": Role.funder_admin, "user_id": "u-admin"})


def version(number: int, status: str | None, third_party: str | None = None):
    found = BankDetailsVersion(ORGANISATION, number, FUNDER, "FR7613825002000801463722518",
                               "CEPAFRPP382", "third_party" if third_party else "self",
                               third_party, "rib-ok", "u-of", None, NOW)
    if status is not None:
        found.review(status, "Illisible" if status == "rejected" else None, "u-agent", NOW)
    return found


def two_lines(number: str, first: dict, second: dict) -> dict:
    payload = new_payment_payload(number, first, "100,00")
    payload["lines"].append({**payload["lines"][0], "dossier_id": second["id"],
                             "amount": "50,00", "period_start": "2019-09-01"})
    return payload


def test_the_advice_names_the_payer_the_account_paid_and_every_line():
    first, second = a_dossier(), a_dossier("20X000704")
    db = payments_database(certified_locks(first, second),
                           bank_details=[version(2, None), version(1, "validated")])
    ports = fake_ports(first, second)
    handlers.set_payment_settings(db, ports, admin(), SETTINGS)
    handlers.record_payment(db, ports, staff(), two_lines("113", first, second))
    [advice] = ports.documents.advices
    assert advice["payer"] == {"name": "Transitions Pro Grand Est",
                               "address": "1 rue de la Paix\n67000 Strasbourg",
                               "logo_document_id": "funder-logo"}
    assert advice["account"] == {"holder": "Formations du Lac",
                                 "masked_iban": "FR76 **** … 2518"}
    assert [(line["dossier_number"], line["beneficiary_name"], line["period"]["start"],
             line["amount"]) for line in advice["lines"]] == [
        ("20X000703", "DUBOIS Michelle", "2019-08-01", "100.00"),
        ("20X000704", "DUBOIS Michelle", "2019-09-01", "50.00")]
    assert (advice["payment_number"], advice["payment_date"], advice["amount"],
            advice["deductions"]) == ("113", "2019-09-20", "150.00", [])


def test_a_third_party_holds_the_account_it_invoices_with():
    dossier = a_dossier()
    db = payments_database(certified_locks(dossier),
                           bank_details=[version(1, "validated", "Affacturage du Rhin")])
    ports = fake_ports(dossier)
    handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    assert ports.documents.advices[0]["account"]["holder"] == "Affacturage du Rhin"


@pytest.mark.parametrize("versions", [(), (version(1, None),), (version(1, "rejected"),)])
def test_without_a_validated_version_the_advice_names_no_account(versions):
    dossier = a_dossier()
    db = payments_database(certified_locks(dossier), bank_details=versions)
    ports = fake_ports(dossier)
    handlers.record_payment(db, ports, staff(), new_payment_payload("113", dossier))
    [advice] = ports.documents.advices
    assert advice["account"] is None and advice["payer"] is None


def test_a_funder_administrator_sets_the_payer_its_staff_read():
    db, ports = payments_database(), fake_ports()
    with pytest.raises(NotFound) as missing:
        handlers.get_payment_settings(db, staff())
    assert missing.value.code == "payment_settings_not_found"
    with pytest.raises(Forbidden) as refused:
        handlers.set_payment_settings(db, ports, staff(), SETTINGS)
    assert refused.value.code == "funder_admin_only"
    saved = handlers.set_payment_settings(db, ports, admin(), SETTINGS)
    assert (saved["funder_id"], saved["payer_name"], saved["updated_by"]) == (
        FUNDER, "Transitions Pro Grand Est", "u-admin")
    changed = handlers.set_payment_settings(db, ports, admin(), {"payer_name": "TP Grand Est"})
    assert (changed["payer_name"], changed["address"], changed["logo_document_id"]) == (
        "TP Grand Est", None, None)
    assert handlers.get_payment_settings(db, staff()) == changed
    with pytest.raises(Forbidden):
        handlers.get_payment_settings(db, staff().model_copy(update={
            "role": Role.organisation_user, "organisation_id": ORGANISATION}))


def test_a_new_funder_is_the_payer_by_its_name_until_its_administrator_says_more():
    db, ports = payments_database(), fake_ports()
    bootstrapped = FunderBootstrappedV1(funder_id=FUNDER, name="Transitions Pro Test",
                                        contact_email="admin@tp.example", bootstrapped_at=NOW)
    with db.unit_of_work() as uow:
        handlers.name_the_payer(uow, bootstrapped)
    assert handlers.get_payment_settings(db, staff())["payer_name"] == "Transitions Pro Test"
    handlers.set_payment_settings(db, ports, admin(), SETTINGS)
    with db.unit_of_work() as uow:  # a replay never undoes the administrator's settings
        handlers.name_the_payer(uow, bootstrapped)
    assert handlers.get_payment_settings(db, staff())["address"] == SETTINGS["address"]


@pytest.mark.parametrize("logo", ["org-logo", "kbis", "nowhere"])
def test_the_payer_s_logo_is_a_logo_the_funder_filed(logo):
    db = payments_database()
    with pytest.raises(InvalidInput) as refused:
        handlers.set_payment_settings(db, fake_ports(), admin(),
                                      {**SETTINGS, "logo_document_id": logo})
    assert refused.value.code == "logo_document_invalid"
    assert db.repositories["settings"].stored == {}
