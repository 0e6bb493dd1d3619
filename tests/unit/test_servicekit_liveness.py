"""The liveness probe's verdict on a heartbeat file, and the native hub watchdog (in a
subprocess: it ends its process)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from servicekit import probe

ROOT = Path(__file__).resolve().parents[2]


def test_a_fresh_heartbeat_is_live_and_an_old_or_missing_one_is_not(tmp_path):
    heartbeat = tmp_path / "documents.alive"
    assert "no heartbeat" in probe.stale_reason(heartbeat, max_age=60)
    heartbeat.touch()
    assert probe.stale_reason(heartbeat, max_age=60) is None
    old = time.time() - 90
    os.utime(heartbeat, (old, old))
    assert "90 s old" in probe.stale_reason(heartbeat, max_age=60)


def test_the_probe_command_reads_the_file_of_the_process_it_names(tmp_path, monkeypatch):
    monkeypatch.setenv("JALON_LIVENESS_FILE", str(tmp_path / "{name}.alive"))
    monkeypatch.setenv("JALON_LIVENESS_DEADLINE", "30")
    (tmp_path / "identity.alive").touch()
    assert probe.main(["identity"]) == 0
    assert probe.main(["documents"]) == 1


HUB_BLOCKED = """
import eventlet
eventlet.monkey_patch()
from eventlet import patcher
from servicekit.liveness import watch_hub

watch_hub(0.5, "documents")
eventlet.sleep(0.3)
patcher.original("time").sleep(30)  # in C, holding the hub: no green thread runs
"""


def test_a_stalled_hub_ends_the_process_with_one_line():
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", HUB_BLOCKED], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert '"event": "hub_stalled"' in result.stderr
