"""Monthly certificates through the gateway on the real stack: the funder's settings, entry per
its mode with the form's helpers, the dashboard of pending actions, reopening, the xlsx
template and its upload, and the months a payment closes."""
from __future__ import annotations

import io
import re
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from nameko.standalone.events import event_dispatcher
from openpyxl import load_workbook

from contracts.envelope import new_envelope
from contracts.events import CoveredDossier, PaymentIssuedV1
from tests.support.gateway import (DEFAULTS, certifier_ready, enter_month, first_login,
                                   month_shift, sign_month)
from tools.client import wait_for_email
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e


def settings(world, **values):
    saved = world["funder"].put("/certification-settings", json={**DEFAULTS, **values})
    assert saved.status_code == 200, saved.text
    return saved.json()


def test_settings_defaults_then_changed_by_the_funder_admin(world):
    current = world["funder"].get("/certification-settings")
    assert current.status_code == 200, current.text
    # Seed 002: the funder is emailed at certification unless it turns that off.
    assert {k: current.json()[k] for k in DEFAULTS} == {**DEFAULTS, "notify_funder": True}
    assert world["org"].get("/certification-settings").status_code == 403
    refused = world["funder"].put("/certification-settings", json={"code_lifetime_minutes": 60})
    assert refused.status_code == 422
    saved = settings(world, entry_mode="half_day", code_length=6, code_lifetime_minutes=10)
    assert (saved["entry_mode"], saved["code_length"], saved["code_lifetime_minutes"]) == (
        "half_day", 6, 10)
    months = world["org"].get(world["base"]).json()
    assert {m["entry_mode"] for m in months} == {"half_day"}
    settings(world)


def test_per_day_entry_with_helpers_warning_and_rules(world):
    settings(world, entry_mode="day")
    org, url = world["org"], f"{world['base']}/{world['month']}"
    spread = org.get(f"{url}/hours/proposal", params={"source": "spread"})
    assert spread.status_code == 200, spread.text
    days = spread.json()["entry"]["days"]
    assert days and all(date.fromisoformat(d["day"]).weekday() < 5 for d in days)
    assert spread.json()["warnings"][0]["code"] == "over_plan"  # the plan: 7 h only
    forecast = org.get(f"{url}/hours/proposal", params={"source": "forecast"}).json()
    assert forecast["entry"]["days"] == [{
        "day": world["last_month"].isoformat(), "period": "day", "training_hours": "7.00",
        "internship_hours": "0.00", "absence_hours": "0.00"}]

    entered = org.put(f"{url}/hours", json={"days": [
        {"day": world["last_month"].isoformat(), "training_hours": "7,00",
         "absence_hours": "0,50"}]})
    assert entered.status_code == 200, entered.text
    body = entered.json()
    assert (body["status"], body["training_hours"], body["absence_hours"]) == (
        "hours_entered", "7.00", "0.50")
    assert [w["code"] for w in body["warnings"]] == ["over_plan"]
    assert "7,50" in body["warnings"][0]["message"]

    too_long = org.put(f"{url}/hours", json={"days": [
        {"day": world["last_month"].isoformat(), "training_hours": "24", "absence_hours": "1"}]})
    assert too_long.status_code == 422 and too_long.json()["code"] == "day_over_limit"
    outside = org.put(f"{url}/hours", json={"days": [
        {"day": date.today().replace(day=1).isoformat(), "training_hours": "7"}]})
    assert outside.status_code == 422 and outside.json()["code"] == "day_outside_session"
    totals_only = org.put(f"{url}/hours", json={"training_hours": "7"})
    assert totals_only.status_code == 422 and totals_only.json()["code"] == "detail_required"
    unticked = org.post(f"{url}/certify", json={"attest": False})
    assert unticked.status_code == 422 and unticked.json()["code"] == "attestation_required"
    assert org.get(url).json()["training_hours"] == "7.00"  # nothing half-written
    settings(world)


def test_dashboard_certify_validation_wait_and_reopen(world):
    settings(world, beneficiary_validation=True)
    org, funder = world["org"], world["funder"]
    month = month_shift(date.today(), -2).strftime("%Y-%m")
    url = f"{world['base']}/{month}"

    pending = org.get("/pending-actions")
    assert pending.status_code == 200, pending.text
    mine = [a for a in pending.json()["actions"] if a["dossier_id"] == world["dossier_id"]]
    assert (world["dossier_id"], month) in {(a["dossier_id"], a["month"]) for a in mine}
    assert pending.json()["label"] == f"{pending.json()['count']} actions en attente"
    line = next(a for a in mine if a["month"] == month)
    assert (line["dossier_number"], line["beneficiary_name"], line["training_title"],
            line["status_label"]) == (world["number"], "DUBOIS Michelle",
                                      "1ERE ANNEE PHARMACIE",
                                      "En attente de saisie par l'organisme")
    assert funder.get("/pending-actions").status_code == 403

    assert org.put(f"{url}/hours", json={"training_hours": "140,00", "internship_hours": "0",
                                         "absence_hours": "7"}).status_code == 200
    unsigned = org.post(f"{url}/certify", json={"attest": True})
    assert unsigned.status_code == 409
    assert unsigned.json()["code"] == "signed_certificate_required"
    sha256 = sign_month(org, world["dossier_id"], month)
    certified = org.post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text
    body = certified.json()
    assert (body["status"], body["method"], body["certified_document_sha256"]) == (
        "awaiting_beneficiary_validation", 1, sha256)
    # No stamp: a warning, not a refusal (over_plan too: nothing was planned that month).
    assert [w["code"] for w in body["warnings"]] == ["over_plan", "stamp_missing"]
    after = org.get("/pending-actions").json()["actions"]
    assert (world["dossier_id"], month) not in {(a["dossier_id"], a["month"]) for a in after}
    eventually(lambda: org.get(url).json()["locked_for_payment"])

    assert org.post(f"{url}/reopen", json={"reason": "Erreur"}).status_code == 403
    no_reason = funder.post(f"{url}/reopen", json={"reason": ""})
    assert no_reason.status_code == 422
    reopened = funder.post(f"{url}/reopen", json={"reason": "Absences à corriger"})
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["reopen_reason"]) == (
        "reopened", "Absences à corriger")
    again = org.put(f"{url}/hours", json={"training_hours": "133", "internship_hours": "0",
                                          "absence_hours": "14"})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "hours_entered"
    settings(world)


def test_the_beneficiary_sees_the_validation_waiting_for_them(stack, smtp_server, world):
    settings(world, beneficiary_validation=True)
    org = world["org"]
    month = month_shift(date.today(), -3).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    enter_month(org, url, "70")
    sign_month(org, world["dossier_id"], month)
    assert org.post(f"{url}/certify", json={"attest": True}).status_code == 200
    email = world["beneficiary_email"]
    beneficiary = first_login(stack, smtp_server, email, email)
    waiting = beneficiary.get("/pending-actions")
    assert waiting.status_code == 200, waiting.text
    assert [(a["dossier_id"], a["month"], a["status"]) for a in waiting.json()["actions"]] == [
        (world["dossier_id"], month, "awaiting_beneficiary_validation")]
    assert waiting.json()["label"] == "1 action en attente"
    settings(world)


def test_template_download_then_upload_of_the_filled_sheet(world):
    org = world["org"]
    month = date.today().strftime("%Y-%m")
    template = org.get("/certificates/template", params={"month": month})
    assert template.status_code == 200, template.text
    assert template.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(template.content))
    sheet = book.active
    rows = list(sheet.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == [world["number"]]
    rows[0][4].value, rows[0][6].value = "35,00", 3.5
    sheet.append(["INCONNU-404", None, None, month, 7, 0, 0])
    out = io.BytesIO()
    book.save(out)
    report = org.finished_job(org.post("/certificates/import",
                                       files={"file": ("heures.xlsx", out.getvalue())}))
    assert report["summary"] == {"entered": 1, "errors": 1}, report
    assert [(r["row"], r["status"], r["code"]) for r in report["items"]] == [
        (2, "ok", None), (3, "error", "dossier_not_found")]
    entered = org.get(f"{world['base']}/{month}").json()
    assert (entered["training_hours"], entered["absence_hours"]) == ("35.00", "3.50")
    not_a_sheet = org.post("/certificates/import", files={"file": ("x.xlsx", b"%PDF-1.4")})
    assert not_a_sheet.status_code == 422 and not_a_sheet.json()["code"] == "invalid_template"


def test_a_payment_closes_its_months_but_not_an_advance(stack, world):
    org, month = world["org"], date.today().strftime("%Y-%m")
    first = org.get(world["base"]).json()[0]["month"]
    publish = event_dispatcher({"AMQP_URI": stack.env["JALON_AMQP_URI"], "serializer": "json"})

    def issue(months, advance):
        data = PaymentIssuedV1(
            payment_id=uuid.uuid4().hex, payment_number="R-2026-0042",
            funder_id=world["funder_id"],
            organisation_id=world["organisation_id"], advance=advance,
            dossiers=[CoveredDossier(dossier_id=world["dossier_id"], months=months)],
            issued_at=datetime.now(timezone.utc) - timedelta(seconds=1))
        publish("payments", "payment_issued",
                new_envelope("payments", "payment_issued", 1, data).model_dump(mode="json"))

    issue([month], advance=True)
    issue([first], advance=False)
    closed = eventually(lambda: (lambda c: c["status"] == "closed_by_payment" and c)(
        org.get(f"{world['base']}/{first}").json()))
    assert closed["status_label"] == ("La saisie n'est plus disponible car des règlements "
                                      "ont été effectués")
    refused = org.put(f"{world['base']}/{first}/hours", json={
        "training_hours": "1", "internship_hours": "0", "absence_hours": "0"})
    assert refused.status_code == 409 and refused.json()["code"] == "month_closed_by_payment"
    # The advance closed nothing: this month still takes hours.
    assert org.put(f"{world['base']}/{month}/hours", json={
        "training_hours": "7", "internship_hours": "0", "absence_hours": "0"}).status_code == 200


def test_two_certifications_at_once_only_one_wins(world):
    org = world["org"]
    month = month_shift(date.today(), -1).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    enter_month(org, url, "7")
    sign_month(org, world["dossier_id"], month)
    results = []

    def certify():
        results.append(org.post(f"{url}/certify", json={"attest": True}))
    threads = [threading.Thread(target=certify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["code"] in {"concurrent_change", "certificate_already_certified"}


def test_method_2_with_the_code_read_from_the_mailbox(stack, smtp_server, world):
    org, funder = world["org"], world["funder"]
    organisation_id = world["organisation_id"]
    month = month_shift(date.today(), -2).strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    ask = {"attest": True, "accept_ip": True}
    enter_month(org, url, "100")
    before = org.post(f"{url}/certification-code", json=ask)
    assert before.status_code == 409
    assert before.json()["code"] == "stamp_missing"

    # The stamp, "Je suis certificateur", KBIS and consent letter checked by the funder.
    certifier_ready(org, funder, organisation_id)
    sent = org.post(f"{url}/certification-code", json=ask).json()
    assert (sent["code_length"], sent["lifetime_minutes"]) == (4, 15)
    no_ip = org.post(f"{url}/certification-code", json={**ask, "accept_ip": False})
    assert no_ip.status_code == 422 and no_ip.json()["code"] == "ip_consent_required"

    text = wait_for_email(smtp_server.emails, org.email, "Votre code de vérification")
    code = re.search(r"^\s*(\d{4})\s*$", text, re.MULTILINE).group(1)
    assert "15 minutes" in text
    wrong = "0000" if code != "0000" else "1111"
    certify2 = {"attest": True, "method": 2, "accept_ip": True}
    bad = org.post(f"{url}/certify", json={**certify2, "code": wrong})
    assert bad.status_code == 422 and bad.json()["code"] == "wrong_code"
    done = org.post(f"{url}/certify", json={**certify2, "code": code})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["method"], body["status"]) == (2, "certified")
    assert body["code_checked_at"] and len(body["certified_document_sha256"]) == 64
    again = org.post(f"{url}/certify", json={**certify2, "code": code})
    assert again.status_code == 409

    # At most 5 codes an hour per user and month: each one is an email and 3 new attempts.
    current = f"{world['base']}/{date.today():%Y-%m}"
    enter_month(org, current, "7")
    for _ in range(5):
        assert org.post(f"{current}/certification-code", json=ask).status_code == 202
    limited = org.post(f"{current}/certification-code", json=ask)
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_code_requests"
