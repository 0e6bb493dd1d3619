"""A reopened month's final certificate stops verifying as valid, end to end through the
gateway (issue 13): the organisation certifies, the funder reopens the month (with a reason),
and the old certificate's reference answers superseded (when, why); certified again, the month
has a new certificate whose new reference verifies as valid."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.documents import pdf_text
from tests.support.gateway import enter_month, sign_month
from tools.client import Client
from tools.waiting import wait_until as eventually

pytestmark = pytest.mark.e2e
REASON = "Absences du 3 à corriger"


def certify(world, url: str, training: str) -> None:
    """Method 1: the hours entered, the draft signed and deposited, the month certified."""
    enter_month(world["org"], url, training)
    sign_month(world["org"], world["dossier_id"], world["month"])
    certified = world["org"].post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text


def final_certificates(world) -> list[dict]:
    """The month's final certificates in the dossier's documents, newest first."""
    listed = world["org"].get(f"/dossiers/{world['dossier_id']}/documents")
    assert listed.status_code == 200, listed.text
    return [d for d in listed.json()
            if d["category"] == "completion_certificate" and d["month"] == world["month"]]


def verify(world, reference: str) -> dict:
    verified = Client(world["org"].base_url).get(f"/verifications/{reference}")  # no token
    assert verified.status_code == 200, verified.text
    return verified.json()


def test_a_reopened_month_s_certificate_is_superseded_and_the_next_one_is_valid(world):
    url = f"{world['base']}/{world['month']}"
    certify(world, url, "70")
    [first] = eventually(lambda: final_certificates(world), message="the final certificate")
    old = first["verification_reference"]
    assert verify(world, old)["valid"] is True

    reopened = world["funder"].post(f"{url}/reopen", json={"reason": REASON})
    assert reopened.status_code == 200, reopened.text

    def superseded() -> dict | None:
        answer = verify(world, old)
        return answer if answer.get("superseded") else None
    answer = eventually(superseded, message="the old reference answers superseded")
    assert (answer["valid"], answer["superseded_reason"]) == (False, REASON)
    assert (answer["month"], answer["sha256"]) == (world["month"], first["sha256"])
    assert datetime.fromisoformat(answer["superseded_at"]) >= datetime.fromisoformat(
        answer["issued_at"])

    certify(world, url, "63")

    def new_certificate() -> dict | None:
        found = final_certificates(world)
        return found[0] if len(found) == 2 else None
    newest = eventually(new_certificate, message="the new final certificate")
    new = newest["verification_reference"]
    assert new and new != old
    current = verify(world, new)
    assert current["valid"] is True and not current.get("superseded")
    assert current["sha256"] == newest["sha256"] != first["sha256"]
    # The document list flags the old certificate (when, why): it is no longer valid.
    [old_listed] = [d for d in final_certificates(world) if d["id"] == first["id"]]
    assert (old_listed["superseded"], old_listed["superseded_reason"]) == (True, REASON)
    assert old_listed["superseded_at"] == answer["superseded_at"]
    assert "n'est plus valable" in old_listed["status_label"]
    assert newest["superseded"] is False and newest["superseded_at"] is None
    content = world["org"].get(f"/documents/{newest['id']}/content")
    assert content.status_code == 200 and content.content.startswith(b"%PDF")
    # The final certificate prints the reference of the hours the funder sees beside them.
    seen = world["funder"].get(url).json()
    assert seen["training_hours"] == "63.00" and len(seen["hours_reference"]) == 6
    assert f"Référence des heures : {seen['hours_reference']}" in pdf_text(content.content)
    assert newest["hours_reference"] == seen["hours_reference"]  # and in the document list
    # The old paper copy still answers superseded, with its reopening's reason.
    assert superseded() == answer
