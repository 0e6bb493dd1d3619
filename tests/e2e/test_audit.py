"""Issue 15, one audit trail through the gateway: a certification and a document check, made in
certification and documents, reach the organisation administrator's trail named (person,
role, organisation, dossier and month); another organisation sees none of it; the funder's
administrator finds the hash chain intact."""
from __future__ import annotations

import json

import pytest

from tests.support.gateway import deposit, enter_month, new_organisation, sign_month
from tools import audit
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e

OTHER_SIRET = "73282932000082"


def test_certification_and_document_check_in_the_named_trail(world, stack, smtp_server):
    funder, org, month = world["funder"], world["org"], world["month"]
    url = f"{world['base']}/{month}"
    enter_month(org, url, "7,00")
    sign_month(org, world["dossier_id"], month)
    certified = org.post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text
    kbis = deposit(org, "kbis")
    checked = funder.post(f"/documents/{kbis}/check")
    assert checked.status_code == 200, checked.text

    path = f"/organisations/{world['organisation_id']}/audit"

    def trail_with_both():
        entries = org.get(path).json()
        kinds = {entry["action"] for entry in entries}
        return {"certified", "document_checked"} <= kinds and entries
    trail = wait_until(trail_with_both, message="identity records the certification and check")

    [certification] = [e for e in trail if e["action"] == "certified"]
    assert certification["person_name"] == "Claire Martin"
    assert certification["person_role_label"] == "utilisateur de l'organisme"
    assert certification["organisation_name"] == "Centre de Formation Horizon"
    assert certification["object"] == f"Dossier {world['number']}, mois {month}"
    assert certification["details"]["method"] == 1
    assert certification["action_label"] == "Certification des heures"
    [check] = [e for e in trail if e["action"] == "document_checked"]
    assert (check["person_name"], check["person_role_label"]) == (
        "Agent Test", "administrateur du financeur")
    assert check["action_label"] == "Document contrôlé"
    assert trail == sorted(trail, key=lambda e: e["at"], reverse=True)  # newest first

    by_dossier = org.get(path, params={"dossier": world["number"]}).json()
    assert {e["action"] for e in by_dossier} >= {"certified"}
    assert all(e["dossier_id"] == world["dossier_id"] for e in by_dossier)
    assert [e["action"] for e in org.get(path, params={"kind": "document_checked"}).json()] \
        == ["document_checked"]

    # another organisation of the funder: its own trail holds none of it, A's is closed to it
    other_organisation, other = new_organisation(stack, smtp_server, funder,
                                                 siret=OTHER_SIRET, name="Institut Autre")
    other_id = other_organisation["id"]
    own = other.get(f"/organisations/{other_id}/audit")
    assert own.status_code == 200, own.text
    text = json.dumps(own.json(), ensure_ascii=False)
    for secret in (world["number"], world["dossier_id"], "Centre de Formation Horizon"):
        assert secret not in text
    assert other.get(path).status_code == 403

    # funder staff read the whole funder's trail; its administrator checks the chain
    everything = funder.get("/audit", params={"limit": 1000}).json()
    assert {world["organisation_id"], other_id} <= {e["organisation_id"] for e in everything}
    verified = funder.get("/audit/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["intact"] is True, verified.json()
    assert verified.json()["entries"] >= len(trail)
    assert verified.json()["message"].startswith("La chaîne du journal est intacte")
    assert audit.verify(funder)[0] is True  # python -m tools.audit verify, as ops run it
