"""Check a funder's audit trail: is its hash chain intact, or where does it break?

    python -m tools.audit verify --url http://127.0.0.1:8000 --identifier admin-tpro-ge

The password is read from JALON_AUDIT_PASSWORD (or asked). The funder's administrator's
session asks the gateway (GET /audit/verify), which recomputes every entry's seal; exit status
0: intact, 1: broken (the entry id and position are printed), 2: the check could not run.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys

from tools.client import Client, HttpError


def verify(client: Client) -> tuple[bool, str]:
    """(intact, what to print) for the funder of `client`'s session."""
    found = client.call("GET", "/audit/verify", ok=(200,)).json()
    broken = found.get("broken_at")
    where = f"\nentrée : {broken['entry_id'] or '—'}, position : {broken['position']}" \
        if broken else ""
    return found["intact"], found["message"] + where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--url", default=os.environ.get("JALON_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--identifier", required=True,
                        help="a funder administrator's identifier")
    args = parser.parse_args(argv)
    password = os.environ.get("JALON_AUDIT_PASSWORD") or getpass.getpass("Mot de passe : ")
    try:
        intact, text = verify(Client(args.url).login(args.identifier, password))
    except (HttpError, OSError) as exc:
        print(f"Vérification impossible : {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
