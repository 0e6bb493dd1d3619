"""Credit notes ("factures d'avoir", seed 004) through the gateway: funder staff record an
overpayment on a dossier's period; in mode déduction the organisation's next payments take it
off (never below zero) and their remittance advices say so; in mode remboursement its pro forma
says the reference to quote (AVCAP + the pro forma number) and the due date, and the funder
marks it received. The billing details show the UAI beside the SIRET."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from contracts.common.formatting import PARIS
from tests.support.documents import pdf_text
from tests.support.gateway import certified_month, month_line, month_shift, record_payment

pytestmark = pytest.mark.e2e
IBAN = "FR76 1382 5002 0008 0146 3722 518"


def note_of(world: dict, first: date, amount: str, **changes) -> dict:
    last = month_line(world, first, amount)["period_end"]
    return {"dossier_number": world["number"], "period_start": first.isoformat(),
            "period_end": last, "amount": amount, "reason": "Rupture du contrat",
            **changes}


def record_note(world: dict, first: date, amount: str) -> dict:
    recorded = world["funder"].post("/credit-notes", json=note_of(world, first, amount))
    assert recorded.status_code == 201, recorded.text
    return recorded.json()


def listed_pdf(world: dict, document_id: str, category: str) -> bytes:
    """The document as the organisation finds it among its documents, and its content."""
    org = world["org"]
    found = [d for d in org.get("/documents").json() if d["id"] == document_id]
    assert [d["category"] for d in found] == [category]
    content = org.get(f"/documents/{document_id}/content")
    assert content.status_code == 200, content.text
    return content.content


@pytest.fixture(scope="module")
def paid(world):
    """Last month certified and paid 1 000,00 € (the paid period credit notes refer to)."""
    last_month, _ = certified_month(world, 1)
    record_payment(world, month_line(world, last_month, "1000.00"))
    return last_month


def test_a_note_is_refused_on_a_wrong_dossier_period_amount_or_caller(world, paid):
    funder = world["funder"]
    for changes, code in (({"dossier_number": "NOPE-1"}, "dossier_not_found"),
                          ({"period_start": month_shift(paid, -12).isoformat()},
                           "period_outside_session"),
                          ({}, "credit_note_exceeds_paid")):
        amount = "1 000,01" if not changes else "10,00"
        refused = funder.post("/credit-notes", json=note_of(world, paid, amount, **changes))
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    assert world["org"].post("/credit-notes", json=note_of(world, paid, "10,00")
                             ).status_code == 403
    assert funder.get("/credit-notes").json()["credit_notes"] == []


def test_a_deduction_note_is_taken_off_the_next_payments_and_printed_on_their_advices(world,
                                                                                   paid):
    note = record_note(world, paid, "300,00")
    assert (note["number"], note["mode"], note["status"], note["remaining_amount"]) == (
        "PRO-1", "deduction", "to_deduct", "300.00")
    pro_forma = pdf_text(listed_pdf(world, note["pro_forma_document_id"],
                                    "credit_note_pro_forma"))
    assert "PRO-1" in pro_forma and "300,00" in pro_forma and "AVCAP" not in pro_forma

    advance_month = month_shift(paid, -1)
    first = record_payment(world, {**month_line(world, advance_month, "200,00"),
                                   "kind": "advance"})
    assert (first["amount"], first["deducted_amount"], first["transferred_amount"]) == (
        "200.00", "200.00", "0.00")
    second = record_payment(world, {**month_line(world, advance_month, "500,00"),
                                    "kind": "advance"})
    assert (second["deducted_amount"], second["transferred_amount"]) == ("100.00", "400.00")
    advice = pdf_text(listed_pdf(world, second["remittance_document_id"], "remittance_advice"))
    assert "Avoir PRO-1" in advice and "100,00" in advice and "400,00" in advice

    settled = world["org"].get(f"/credit-notes/{note['id']}").json()
    assert (settled["status"], settled["remaining_amount"]) == ("deducted", "0.00")
    assert [d["amount"] for d in settled["deductions"]] == ["200.00", "100.00"]
    refused = world["funder"].post(f"/credit-notes/{note['id']}/received")
    assert (refused.status_code, refused.json()["code"]) == (409, "credit_note_not_refundable")


def test_a_refund_note_says_how_to_transfer_and_is_marked_received(world, paid):
    org, funder = world["org"], world["funder"]
    base = f"/organisations/{world['organisation_id']}"
    assert org.put(f"{base}/credit-note-mode", json={"mode": "refund"}).status_code == 200
    assert funder.put("/payment-settings", json={
        "payer_name": "Transitions Pro Grand Est", "refund_account": {
            "holder": "Transitions Pro Grand Est", "iban": IBAN, "bic": "CEPAFRPP382"}}
                      ).status_code == 200
    note = record_note(world, paid, "50,00")
    due = datetime.now(PARIS).date() + timedelta(days=15)
    assert (note["status"], note["transfer_reference"], note["due_date"]) == (
        "awaiting_refund", f"AVCAP {note['number']}", due.isoformat())
    text = pdf_text(listed_pdf(world, note["pro_forma_document_id"], "credit_note_pro_forma"))
    assert f"AVCAP {note['number']}" in text and due.strftime("%d/%m/%Y") in text
    assert "FR76" in text

    awaited = org.get("/credit-notes", params={"status": "awaiting_refund"}).json()
    assert [n["id"] for n in awaited["credit_notes"]] == [note["id"]]
    assert org.post(f"/credit-notes/{note['id']}/received").status_code == 403
    received = funder.post(f"/credit-notes/{note['id']}/received")
    assert (received.status_code, received.json()["status"]) == (200, "received"), received.text
    again = funder.post(f"/credit-notes/{note['id']}/received")
    assert (again.status_code, again.json()["code"]) == (409, "credit_note_already_received")
    payment = record_payment(world, {**month_line(world, month_shift(paid, -1), "10,00"),
                                     "kind": "advance"})
    assert payment["deducted_amount"] == "0.00"


def test_the_billing_details_show_the_uai_beside_the_siret(world):
    base = f"/organisations/{world['organisation_id']}"
    assert world["org"].patch(f"{base}/profile", json={"uai": "0750655e"}).status_code == 200
    details = world["funder"].get(f"{base}/bank-details").json()
    assert (details["siret"], details["uai"]) == ("73282932000074", "0750655E")
