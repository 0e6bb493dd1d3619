"""The remittance advice ("avis de virement", seed 000) through the gateway: made only from a
recorded payment of certified months, read back as a PDF by the organisation from its
documents: the payer of the funder's payment settings with its logo, the account paid
(masked), one line per payment line, the totals, the number and date; no account sentence
without validated bank details; no free-form route."""
from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from pypdf import PdfReader

from contracts.common.formatting import month_fr
from tests.support.documents import pdf_text
from tests.support.gateway import certified_month
from tests.support.gateway import month_line as line
from tests.support.gateway import record_payment as record

pytestmark = pytest.mark.e2e
IBAN = "FR76 1382 5002 0008 0146 3722 518"
PAYER = {"payer_name": "Transitions Pro Grand Est",
         "address": "1 rue de la Paix\n67000 Strasbourg"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def listed_advice(world: dict, payment: dict) -> tuple[dict, bytes]:
    """The advice as the organisation finds it in its documents (the page's default list),
    and its PDF."""
    org = world["org"]
    found = [d for d in org.get("/documents").json()
             if d["id"] == payment["remittance_document_id"]]
    assert len(found) == 1, "listed among the organisation's documents"
    content = org.get(f"/documents/{found[0]['id']}/content")
    assert content.status_code == 200, content.text
    return found[0], content.content


def validate_bank_details(world: dict) -> None:
    org, base = world["org"], f"/organisations/{world['organisation_id']}"
    rib = org.post("/documents", data={"category": "bank_details"},
                   files={"file": ("rib.pdf", _pdf(), "application/pdf")})
    assert rib.status_code == 201, rib.text
    submitted = org.post(f"{base}/bank-details", json={
        "iban": IBAN, "bic": "CEPAFRPP382", "invoicing": "self",
        "rib_document_id": rib.json()["document_id"]})
    assert submitted.status_code == 201, submitted.text
    decided = world["funder"].post(f"{base}/bank-details/review", json={
        "version": submitted.json()["version"], "decision": "validated"})
    assert decided.status_code == 200, decided.text


def _pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>RIB</p>").write_pdf()


def test_the_free_form_route_is_gone(world):
    gone = world["funder"].post("/remittance-advices", json={"payment_number": "110"})
    assert gone.status_code in (404, 405), gone.text


def test_the_advice_of_a_recorded_payment_says_who_pays_whom_for_what(world):
    funder = world["funder"]
    logo = funder.post("/documents", data={"category": "logo"},
                       files={"file": ("logo.png", _png(), "image/png")})
    assert logo.status_code == 201, logo.text
    settings = funder.put("/payment-settings", json={
        **PAYER, "logo_document_id": logo.json()["document_id"]})
    assert settings.status_code == 200, settings.text
    assert funder.get("/payment-settings").json()["payer_name"] == PAYER["payer_name"]

    # Before any validated bank details: the advice names no account.
    last_month, _ = certified_month(world, 1)
    without_account = record(world, line(world, last_month, "1 050,00"))
    _, pdf = listed_advice(world, without_account)
    text = pdf_text(pdf)
    assert "IBAN" not in text and "compte" not in text and "validées" not in text
    assert PAYER["payer_name"] in text

    validate_bank_details(world)
    first, _ = certified_month(world, 3)
    second, _ = certified_month(world, 2)
    payment = record(world, line(world, first, "10503.34"), line(world, second, "2 802,80"))
    document, pdf = listed_advice(world, payment)
    assert (document["category"], document["category_label"], document["status_label"]) == (
        "remittance_advice", "Avis de virement", "Inscrit par votre AT Pro")
    assert document["dossier_id"] is None
    text = pdf_text(pdf)
    paid_on = date.today().strftime("%d/%m/%Y")
    for expected in (
            f"AVIS DE VIREMENT n° {payment['number']} du {paid_on}",
            f"N° de règlement {payment['number']}", f"Date du virement {paid_on}",
            "Transitions Pro Grand Est", "1 rue de la Paix", "67000 Strasbourg",
            "Centre de Formation Horizon",
            "Virement effectué sur le compte de Centre de Formation Horizon, "
            "IBAN FR76 **** … 2518",
            f"{world['number']} DUBOIS Michelle {_month_fr(first)} 70,00 h 10 503,34 €",
            f"{world['number']} DUBOIS Michelle {_month_fr(second)} 70,00 h 2 802,80 €",
            "Total des lignes 140,00 h 13 306,14 €", "Montant du virement 13 306,14 €"):
        assert expected in text, expected
    assert "MINISTÈRE" not in text and "Dossiers" not in text
    assert sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages) == 1  # the logo
    assert funder.get(f"/documents/{document['id']}").status_code == 200


def _month_fr(first: date) -> str:
    return month_fr(first.strftime("%Y-%m"))
