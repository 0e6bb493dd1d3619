"""Issue 13, "the right person, named": the final certificate and the certificate reply name
the signer by name and role, never by an id."""
from __future__ import annotations

import re

import pytest

from tests.support.documents import pdf_text
from tests.support.gateway import enter_month, final_certificate, sign_month

pytestmark = pytest.mark.e2e

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SIGNER = "Claire Martin (organisme de formation)"


def test_the_certificate_names_its_signer_by_name_and_role(world):
    org, month = world["org"], world["month"]
    url = f"{world['base']}/{month}"
    enter_month(org, url, "7,00")
    sign_month(org, world["dossier_id"], month)
    certified = org.post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text

    for reply in (certified.json(), org.get(url).json(), world["funder"].get(url).json()):
        assert (reply["certified_by_name"], reply["certified_by_role"],
                reply["certified_by_label"]) == ("Claire Martin", "organisation_user", SIGNER)
        assert reply["certified_by"]  # the id stays beside the name

    text = pdf_text(final_certificate(org, world["dossier_id"], month))
    assert f"par {SIGNER}." in text
    assert not UUID.search(text), text
