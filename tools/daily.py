"""What every daily job of the ops' timer does (tools.digest, tools.months_to_certify): read
`--day`, ask one service by RPC over the broker JALON_AMQP_URI names, say what it did.

Exit status 0: done, 2: the service could not be reached (the timer retries).
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Callable


def run(argv: list[str] | None, description: str, ask: Callable[[object, str | None], dict],
        done: Callable[[dict], str], failed: str) -> int:
    """`ask(cluster, day)` calls the service; `done(result)` says what it did."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--day", type=date.fromisoformat, default=None,
                        help="the day (YYYY-MM-DD); default today in Paris")
    args = parser.parse_args(argv)
    from nameko.standalone.rpc import ClusterRpcProxy

    from servicekit import config
    try:
        with ClusterRpcProxy(config.load().nameko_config(), timeout=300) as cluster:
            result = ask(cluster, args.day.isoformat() if args.day else None)
    except Exception as exc:  # broker away, service down, timeout: the timer retries
        print(f"{failed} : {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(done(result))
    return 0
