"""Issue 15: payments tells identity's audit trail of a payment ticked as received and of
bank details submitted and reviewed (their version and status, never the IBAN)."""
from __future__ import annotations

from services.payments import handlers
from tests.support.payments import (FUNDER, IBAN, ORGANISATION, a_dossier, a_payment,
                                    fake_ports, organisation_user, payments_database, staff)

RIB = {"iban": IBAN, "bic": "CEPAFRPP382", "invoicing": "self", "rib_document_id": "rib-ok"}


def test_a_ticked_payment_is_published_with_who_ticked_it():
    payment = a_payment(a_dossier())
    db, ports = payments_database(payments=[payment]), fake_ports()
    handlers.reconcile_payment(db, ports, organisation_user(), payment.id, {"reconciled": True})
    handlers.reconcile_payment(db, ports, organisation_user(), payment.id,
                               {"reconciled": False})
    ticked, unticked = db.events("payment_reconciled")
    assert (ticked.payment_number, ticked.reconciled, ticked.reconciled_by) == (
        payment.number, True, "u-claire")
    assert unticked.reconciled is False and ticked.organisation_id == ORGANISATION


def test_bank_details_submitted_then_rejected_are_published_without_the_iban():
    db, ports = payments_database(), fake_ports()
    handlers.submit_bank_details(db, ports, organisation_user(), ORGANISATION, RIB)
    handlers.review_bank_details(db, ports, staff(), ORGANISATION,
                                 {"version": 1, "decision": "rejected",
                                  "reason": "RIB illisible"})
    submitted, rejected = db.events("bank_details_changed")
    assert (submitted.version, submitted.status, submitted.changed_by) == (1, "pending",
                                                                           "u-claire")
    assert (rejected.status, rejected.reason, rejected.changed_by) == (
        "rejected", "RIB illisible", "u-agent")
    assert rejected.funder_id == FUNDER
    assert IBAN not in submitted.model_dump_json() + rejected.model_dump_json()
