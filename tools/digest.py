"""Send the day's email digests (issue 16): for the ops' daily timer (cron, systemd timer).

    python -m tools.digest [--day 2026-10-02]

Asks the notifications service (RPC send_daily_digests). Safe to run on several hosts or
twice: each person's digest of a day is sent once. Exit status 0: done (prints how many
digests were queued), 2: the service could not be reached.
"""
from __future__ import annotations

import sys

from tools import daily


def main(argv: list[str] | None = None) -> int:
    return daily.run(
        argv, __doc__.split("\n\n")[0],
        lambda cluster, day: cluster.notifications.send_daily_digests(day),
        lambda result: f"Récapitulatifs du {result['day']} : {result['queued']} envoyé(s).",
        "Récapitulatifs non envoyés")


if __name__ == "__main__":
    sys.exit(main())
