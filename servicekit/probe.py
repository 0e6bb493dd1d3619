"""Liveness probe for Kubernetes and compose: `python -m servicekit.probe NAME`.

Exit 0 when process NAME's heartbeat file (servicekit/liveness.py) was touched within
JALON_LIVENESS_DEADLINE seconds, else 1 with a one-line reason. Reads a file only: no broker
connection per probe, and it cannot be answered by a sibling replica.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from servicekit import config


def stale_reason(path: Path, max_age: float, now: float | None = None) -> str | None:
    """Why the heartbeat is not fresh, or None when it is."""
    try:
        age = (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return f"no heartbeat at {path}"
    if age > max_age:
        return f"heartbeat {age:.0f} s old (limit {max_age:.0f} s) at {path}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m servicekit.probe NAME", file=sys.stderr)
        return 2
    settings = config.load()
    reason = stale_reason(settings.heartbeat_path(args[0]), settings.liveness_deadline)
    if reason:
        print(f"{args[0]} not live: {reason}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
