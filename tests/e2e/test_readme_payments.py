"""README.md's payment example runs as written on the demo data (issue 14): once the demo
dossier's month is certified (the core flow above it), its POST /payments pays that month's
certified hours, the list and export lines answer, and its credit note is to deduct."""
from __future__ import annotations

import re

import pytest

from tests.support.readme import bash_block, core_flow, demo_data, run_bash, run_core_flow
from tools import demo
from tools.client import Client
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e


def readme_payment_lines() -> str:
    """The Documents block's lines from ORG= to the payments export."""
    return re.search(r"^ORG=.*?-o reglements_DEMO-0000\.xlsx$", bash_block("Documents with curl"),
                     re.DOTALL | re.MULTILINE).group(0)


def certified_month(stack, data: demo.DemoData, org: Client, tmp_path) -> None:
    """The demo month certified by the README's core flow (unless a test did it already),
    then locked for payment."""
    url = f"/dossiers/{data.dossier_id}/certificates/{data.month}"
    if org.get(url).json()["status"] != "certified":
        run_core_flow(stack, data, tmp_path)
    wait_until(lambda: org.get(f"{url}/payment-lock").json()["locked"])


def test_the_readme_payment_pays_a_certified_month_of_the_demo_dossier(stack, smtp_server,
                                                                       tmp_path):
    data = demo_data(stack, smtp_server)
    org = Client(stack.base_url).login(demo.ORGANISATION_USER.identifier, demo.PASSWORD)
    certified_month(stack, data, org, tmp_path)
    funder = Client(stack.base_url).login(demo.ADMIN.identifier, demo.PASSWORD)
    block = core_flow()
    months = "\n".join(re.findall(r"^MONTH(?:_END)?=.*$", block, re.MULTILINE))
    script = "\n".join([
        f"URL={stack.base_url}", f"DOSSIER={data.dossier_id}", months,
        f"TOKEN={org.token}", 'AUTH="Authorization: Bearer $TOKEN"',
        f"FUNDER_TOKEN={funder.token}", readme_payment_lines()])
    run_bash(script, tmp_path, timeout=120)
    listed = org.get("/payments", params={"payment_number": "107"}).json()
    assert listed["rows"] == 1 and listed["total"] == "2066.40"
    assert (tmp_path / "reglements_DEMO-0000.xlsx").read_bytes().startswith(b"PK")
    [note] = org.get("/credit-notes").json()["credit_notes"]
    assert (note["amount"], note["mode"], note["status"], note["dossier_id"]) == (
        "66.40", "deduction", "to_deduct", data.dossier_id)
