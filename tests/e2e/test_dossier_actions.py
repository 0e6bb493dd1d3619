"""Seed 001's dossier list through the gateway (issue 13): each dossier's type of action (PTP,
VAE: the certificate's « Nature de l'action » box) and its « Actions en attente » (the session's
months not certified yet: a certified month leaves, a reopened one returns), with filters;
seed 004's counts of dossiers by status for a dashboard."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from contracts.common.formatting import month_fr
from tests.support.documents import pdf_text
from tests.support.gateway import (certified_month, enter_month, final_certificate,
                                   month_shift, sign_month)
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e
AWAITING = "En attente de saisie par l'organisme"


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def pending_months(client, dossier_id: str) -> list[str]:
    return [m["month"] for m in ok(client.get(f"/dossiers/{dossier_id}"))["pending_actions"]]


def numbers(client, **filters) -> list[str]:
    return sorted(d["number"] for d in ok(client.get("/dossiers", params=filters)))


@pytest.fixture(scope="module")
def others(world):
    """Beside the world's PTP dossier (session from 3 months ago): a VAE dossier begun last
    month, and a PTP dossier that begins next month (nothing pending yet)."""
    funder, suffix, today = world["funder"], uuid.uuid4().hex[:6], date.today()
    beneficiary = ok(funder.post("/beneficiaries", json={
        "name": "LEROY Paul", "email": f"paul-{suffix}@beneficiary.example.org"}), 201)

    def dossier(number: str, start: date, **fields) -> dict:
        return ok(funder.post("/dossiers", json={
            "number": number, "organisation_id": world["organisation_id"],
            "beneficiary_id": beneficiary["id"], "training_title": "Comptabilité",
            "session_start": start.isoformat(),
            "session_end": month_shift(today, 6).isoformat(), **fields}), 201)

    return {"vae": dossier(f"VAE{suffix}", month_shift(today, -1), action_type="vae"),
            "later": dossier(f"LATER{suffix}", month_shift(today, 1))}


def test_the_type_of_action_is_shown_and_filtered(world, others):
    org, funder = world["org"], world["funder"]
    ptp = ok(org.get(f"/dossiers/{world['dossier_id']}"))
    assert (ptp["action_type"], ptp["action_type_label"]) == ("ptp", "PTP")  # the default
    vae = others["vae"]
    assert (vae["action_type"], vae["action_type_label"]) == ("vae", "VAE")
    assert numbers(org, action_type="vae") == [vae["number"]]
    assert numbers(funder, action_type="ptp") == sorted([world["number"],
                                                         others["later"]["number"]])
    changed = ok(funder.patch(f"/dossiers/{others['later']['id']}",
                              json={"action_type": "bilan"}))
    assert changed["action_type_label"] == "Bilan de compétences"
    assert numbers(org, action_type="bilan") == [others["later"]["number"]]
    refused = org.get("/dossiers", params={"action_type": "cif"})
    assert refused.status_code == 422, refused.text


def test_a_certified_month_leaves_the_pending_actions_and_a_reopened_one_returns(world,
                                                                                   others):
    org, funder, today = world["org"], world["funder"], date.today()
    months = [month_shift(today, -n).strftime("%Y-%m") for n in (3, 2, 1, 0)]
    listed = {d["id"]: d for d in ok(org.get("/dossiers"))}
    assert listed[world["dossier_id"]]["pending_actions"][0] == {
        "month": months[0], "month_label": month_fr(months[0]), "status": "awaiting_entry",
        "status_label": AWAITING}
    assert pending_months(org, world["dossier_id"]) == months
    assert listed[others["later"]["id"]]["pending_actions"] == []
    assert numbers(org, pending="true") == sorted([world["number"], others["vae"]["number"]])
    assert numbers(org, pending="false") == [others["later"]["number"]]

    _, url = certified_month(world, 1)
    eventually(lambda: pending_months(org, world["dossier_id"]) == months[:2] + months[3:],
               message="the certified month left the pending actions")
    assert ok(funder.post(f"{url}/reopen", json={"reason": "Absences à corriger"}))
    eventually(lambda: pending_months(org, world["dossier_id"]) == months,
               message="the reopened month awaits the organisation again")


def test_counts_by_status_and_type_for_a_dashboard(world, others):
    org, funder = world["org"], world["funder"]
    closed = funder.patch(f"/dossiers/{others['later']['id']}", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    counts = ok(funder.get("/dossiers/counts"))
    assert counts["total"] == 3
    assert [(c["code"], c["label"], c["count"]) for c in counts["by_status"]] == [
        ("in_progress", "Dossier en cours de suivi", 2), ("closed", "Dossier clôturé", 1)]
    by_type = {c["code"]: c["count"] for c in counts["by_action_type"]}
    assert (by_type["vae"], by_type["ptp"] + by_type["bilan"]) == (1, 2)
    assert ok(org.get("/dossiers/counts")) == counts  # the organisation's are all three
    assert numbers(org, status="closed") == [others["later"]["number"]]


def test_the_draft_and_the_certificate_of_a_vae_dossier_tick_its_nature(world, others):
    org, vae = world["org"], others["vae"]
    month = month_shift(date.today(), -1).strftime("%Y-%m")
    url = f"/dossiers/{vae['id']}/certificates/{month}"
    enter_month(org, url, "12")
    draft = org.get(f"{url}/draft")
    assert draft.status_code == 200, draft.text
    text = pdf_text(draft.content)
    assert "☒ action de validation des acquis de l'expérience" in text, text
    assert "☐ action de formation ☐" in text, text
    sign_month(org, vae["id"], month)
    assert ok(org.post(f"{url}/certify", json={"attest": True}))["status"] == "certified"
    final = pdf_text(final_certificate(org, vae["id"], month))
    assert "☒ action de validation des acquis de l'expérience" in final, final
