"""README.md's "The core flow with curl" runs as written on `make run`'s demo data: its bash
block, the dossier's id filled in, certifies the month by method 1 and saves the certificate's
PDF; and `make run` prints the same commands."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.readme import core_flow, demo_data, run_core_flow
from tools import demo
from tools.client import Client

pytestmark = pytest.mark.e2e

# Lines that differ by design: make run fills them in (the scan: the data folder's path).
FILLED_IN = re.compile(r"^(URL|DOSSIER|SCAN)=")


def commands(block: str) -> list[str]:
    """The block's lines but comments and the filled-in ones, without indentation."""
    lines = (line.strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")
            and not FILLED_IN.match(line)]


def test_the_readme_core_flow_certifies_a_month_of_the_demo_dossier(stack, smtp_server,
                                                                      tmp_path):
    """Its month is the demo's last month, its hours are taken, then certified by method 1."""
    data = demo_data(stack, smtp_server)
    run_core_flow(stack, data, tmp_path)
    org = Client(stack.base_url).login(demo.ORGANISATION_USER.identifier, demo.PASSWORD)
    month = org.get(f"/dossiers/{data.dossier_id}/certificates/{data.month}").json()
    assert (month["status"], month["method"], month["training_hours"]) == (
        "certified", 1, "140.00")
    assert (tmp_path / "certificat.pdf").read_bytes().startswith(b"%PDF")


def test_make_run_prints_the_readme_commands():
    printed = demo.core_flow("http://127.0.0.1:8000", "d-1", Path("var") / demo.SAMPLE_SCAN)
    assert commands(printed.split("\n", 1)[1]) == commands(core_flow())
