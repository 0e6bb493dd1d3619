"""The mission's core flow, end to end, through the HTTP gateway only (plus the one ops-only
bootstrap RPC that creates the funder). Every service runs as its own process."""
from __future__ import annotations

import io
from datetime import date
from email.header import decode_header, make_header

import pytest
from babel.dates import format_date
from pypdf import PdfReader

from tests.support.gateway import letterhead_ready, month_shift, new_organisation, sign_month
from tools.client import Client
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e

def recipients(smtp_server, subject_part: str) -> set[str]:
    found = set()
    for message in smtp_server.emails():
        if subject_part in str(make_header(decode_header(message["Subject"]))):
            found.add(message["To"])
    return found


def test_certification_emails_locks_and_renders(stack, smtp_server, dossier):
    org = dossier["organisation"]
    base = f"/dossiers/{dossier['id']}/certificates"
    month_day = month_shift(date.today(), -1)
    month = month_day.strftime("%Y-%m")
    month_label = format_date(month_day, "MMMM yyyy", locale="fr_FR")

    months = org.get(base)
    assert months.status_code == 200, months.text
    assert {m["month"]: m["status"] for m in months.json()}[month] == "awaiting_entry"

    entered = org.put(f"{base}/{month}/hours", json={
        "training_hours": "147,00", "internship_hours": "0", "absence_hours": "3.5"})
    assert entered.status_code == 200, entered.text
    assert entered.json()["status"] == "hours_entered"

    # Method 1 (the default): the letterhead complete, the signed certificate deposited.
    letterhead_ready(org, dossier["organisation_id"])
    sign_month(org, dossier["id"], month)
    certified = org.post(f"{base}/{month}/certify", json={"attest": True},
                         headers={"X-Correlation-Id": "e2e-core-flow"})
    assert certified.status_code == 200, certified.text
    assert certified.headers["X-Correlation-Id"] == "e2e-core-flow"
    assert certified.json()["status"] == "certified"

    # With no further call: two emails, the month locked, the PDF produced.
    def both_emailed():
        return recipients(smtp_server, month_label) >= {dossier["beneficiary_email"],
                                                         dossier["employer_email"]}
    eventually(both_emailed)

    def locked():
        response = org.get(f"{base}/{month}/payment-lock")
        return response.status_code == 200 and response.json()["locked"] and response.json()
    lock = eventually(locked)
    assert float(lock["training_hours"]) == 147.0 and float(lock["absence_hours"]) == 3.5

    def certificate_document():
        response = org.get(f"/dossiers/{dossier['id']}/documents")
        assert response.status_code == 200, response.text
        return [d for d in response.json() if d["month"] == month]
    document = eventually(certificate_document)[0]
    pdf = org.get(f"/documents/{document['id']}/content")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"].startswith("application/pdf")
    assert "attachment" in pdf.headers["Content-Disposition"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "DUBOIS Michelle" in text
    assert month_label in text
    assert "147,00" in text and "3,50" in text

    # The month is closed: neither a second certification nor a change of hours.
    again = org.post(f"{base}/{month}/certify", json={"attest": True})
    assert again.status_code == 409
    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert again.json()["code"] in {"certificate_already_certified", "month_locked"}
    changed = org.put(f"{base}/{month}/hours", json={
        "training_hours": "10", "internship_hours": "0", "absence_hours": "0"})
    assert changed.status_code == 409
    assert changed.json()["code"] in {"certificate_already_certified", "month_locked"}

    # Exactly one email each: the effects ran once (other tests share the mailbox).
    parties = {dossier["beneficiary_email"], dossier["employer_email"]}
    assert len([m for m in smtp_server.emails() if m["To"] in parties
                and month_label in str(make_header(decode_header(m["Subject"])))]) == 2


def test_other_organisation_sees_nothing(stack, smtp_server, funder_admin, dossier):
    _, intruder = new_organisation(stack, smtp_server, funder_admin, siret="55208131766522",
                                   name="Autre Organisme")
    assert intruder.get(f"/dossiers/{dossier['id']}").status_code == 404
    documents = intruder.get(f"/dossiers/{dossier['id']}/documents")
    assert documents.status_code in (403, 404) or documents.json() == []
    assert intruder.get("/dossiers").json() == []


def test_requests_without_token_are_refused(stack):
    response = Client(stack.base_url).get("/dossiers")
    assert response.status_code == 401
    assert response.json()["code"]
