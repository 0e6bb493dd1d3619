"""Announce the months to certify (issue 16): for the ops' daily timer (cron, systemd timer).

    python -m tools.months_to_certify [--day 2026-10-02]

Asks the certification service (RPC announce_months_to_certify). Safe to run on several hosts
or twice: each month of a dossier is announced once. Exit status 0: done (prints how many
months were announced), 2: the service could not be reached.
"""
from __future__ import annotations

import sys

from tools import daily


def main(argv: list[str] | None = None) -> int:
    return daily.run(
        argv, __doc__.split("\n\n")[0],
        lambda cluster, day: cluster.certification.announce_months_to_certify(day),
        lambda result: f"Mois à certifier du {result['day']} : {result['announced']} "
                       "annoncé(s).",
        "Mois à certifier non annoncés")


if __name__ == "__main__":
    sys.exit(main())
