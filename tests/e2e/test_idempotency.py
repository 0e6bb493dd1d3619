"""Safe retries through the gateway on the real stack: the same Idempotency-Key answers the
first reply, and the effects (the certification, its email, a payment) happen once."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select

from servicekit.db import driver_url
from contracts.common.formatting import of_month_fr
from services.certification.models import metadata as certification_tables
from tests.support.gateway import (certify_by_event, enter_month, month_shift, payment,
                                   sign_month)
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e


def certified_events(stack, dossier_id: str, month: str) -> int:
    outbox = certification_tables.tables["outbox"]
    engine = create_engine(driver_url(stack.env["JALON_DB_URL_CERTIFICATION"]))
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).where(
            outbox.c.event_name == "certified",
            outbox.c.envelope.contains(f'"subject":"{dossier_id}/{month}"'))).scalar()
    engine.dispose()
    return count


def emails_to(smtp_server, to: str, subject_starts: str) -> list:
    return [m for m in smtp_server.emails() if m["To"] == to
            and str(m["Subject"]).startswith(subject_starts)]


def test_certify_twice_with_one_key_answers_the_same_and_certifies_once(stack, smtp_server,
                                                                        world):  # noqa: F811
    org, dossier_id = world["org"], world["dossier_id"]
    month = month_shift(date.today(), -3).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    enter_month(org, url, "7")
    sign_month(org, dossier_id, month)
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = org.post(f"{url}/certify", json={"attest": True}, headers=key)
    again = org.post(f"{url}/certify", json={"attest": True}, headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and first.json()["status"] == "certified"
    assert certified_events(stack, dossier_id, month) == 1
    subject = f"Certificat de réalisation {of_month_fr(month)}"
    eventually(lambda: emails_to(smtp_server, world["beneficiary_email"], subject))
    eventually(lambda: org.get(url).json()["locked_for_payment"])
    assert len(emails_to(smtp_server, world["beneficiary_email"], subject)) == 1

    reused = org.post(f"{url}/certify", json={"attest": True, "method": 2, "code": "1234"},
                      headers=key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    other_key = org.post(f"{url}/certify", json={"attest": True})
    assert other_key.status_code == 409  # a new request is judged by the rules


def test_record_a_payment_twice_with_one_key_records_one(stack, funder_admin, dossier):
    certify_by_event(stack, dossier, month_shift(date.today(), -2).strftime("%Y-%m"), "140")
    number = f"IK-{uuid.uuid4().hex[:6]}"
    body = payment(number, dossier, "2019-10-01", "100,00")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = funder_admin.post("/payments", json=body, headers=key)
    again = funder_admin.post("/payments", json=body, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    listed = funder_admin.get("/payments", params={"payment_number": number})
    assert listed.status_code == 200 and listed.json()["rows"] == 1, listed.text
