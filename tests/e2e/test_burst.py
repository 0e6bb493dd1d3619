"""`python -m bench.burst`, as the README's month-end section runs it, small, against the
session stack (the emails: the SMTP server's Maildir): its organisations are set up under the
demo funder and every month it reports certified is certified by method 2; a second run
certifies again, with names of its own."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tools import demo
from tools.client import Client

pytestmark = pytest.mark.e2e

REPORT = re.compile(r"^(\d+)/(\d+) months (\d{4}-\d{2}) certified in ", re.MULTILINE)
DOSSIERS = re.compile(r"dossiers (FM\S*?)\d{3}/\d{4} to ")


def burst(stack, smtp_server, organisations: int, dossiers: int, clients: int) -> str:
    """The command's output; the RPC that bootstraps the demo funder uses the stack's broker."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.burst", "--base-url", stack.base_url,
         "--mail-dir", str(smtp_server.maildir), "--organisations", str(organisations),
         "--dossiers", str(dossiers), "--clients", str(clients)],
        env={**os.environ, "JALON_AMQP_URI": stack.env["JALON_AMQP_URI"]},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def certified_months(admin: Client, output: str) -> dict[str, tuple[str, int]]:
    """Dossier number -> (status, method) of the reported month, for the run's dossiers."""
    month, prefix = REPORT.search(output).group(3), DOSSIERS.search(output).group(1)
    found = admin.get("/dossiers", params={"q": prefix}).json()
    statuses = {}
    for dossier in found:
        certificate = admin.get(f"/dossiers/{dossier['id']}/certificates/{month}").json()
        statuses[dossier["number"]] = (certificate["status"], certificate["method"])
    return statuses


def test_a_small_burst_certifies_last_month_of_every_dossier(stack, smtp_server):
    first = burst(stack, smtp_server, organisations=2, dossiers=2, clients=2)
    assert REPORT.search(first).group(1, 2) == ("4", "4"), first

    # The demo funder's administrator sees only its funder's dossiers.
    admin = Client(stack.base_url).login(demo.ADMIN.identifier, demo.PASSWORD)
    statuses = certified_months(admin, first)
    assert len(statuses) == 4, first
    assert set(statuses.values()) == {("certified", 2)}

    second = burst(stack, smtp_server, organisations=1, dossiers=1, clients=1)
    assert REPORT.search(second).group(1, 2) == ("1", "1"), second
    again = certified_months(admin, second)
    assert list(again.values()) == [("certified", 2)] and not again.keys() & statuses.keys()
