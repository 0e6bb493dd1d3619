"""Send the day's email digests (issue 16): for the ops' daily timer (cron, systemd timer).

    python -m tools.digest [--day 2026-10-02]

Asks the notifications service (RPC send_daily_digests) over the broker JALON_AMQP_URI names.
Safe to run on several hosts or twice: each person's digest of a day is sent once. Exit
status 0: done (prints how many digests were queued), 2: the service could not be reached.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", type=date.fromisoformat, default=None,
                        help="the day (YYYY-MM-DD); default today in Paris")
    args = parser.parse_args(argv)
    from nameko.standalone.rpc import ClusterRpcProxy

    from servicekit import config
    try:
        with ClusterRpcProxy(config.load().nameko_config(), timeout=300) as cluster:
            result = cluster.notifications.send_daily_digests(
                args.day.isoformat() if args.day else None)
    except Exception as exc:  # broker away, service down, timeout: the timer retries
        print(f"Récapitulatifs non envoyés : {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"Récapitulatifs du {result['day']} : {result['queued']} envoyé(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
