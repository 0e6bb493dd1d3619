"""`python -m bench.spread`: the goals over the newest runs, run as the README says."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_file(results: Path, stamp: str, **ratios) -> None:
    data = {"started_at": stamp, "finished_at": stamp, "export_rows": 100_000, **ratios}
    (results / f"{stamp}.json").write_text(json.dumps(data), encoding="utf-8")


def spread(results: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.spread", "--results", str(results),
                           *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_newest_runs_their_spread_and_whether_every_one_meets_the_goal(tmp_path):
    run_file(tmp_path, "20261101T000000Z", drain_ratio=0.1)  # older than the three read
    run_file(tmp_path, "20261102T000000Z", drain_ratio=0.85, certify_p99_ratio=1.5,
             export_peak_mib=5.0)
    run_file(tmp_path, "20261103T000000Z", drain_ratio=0.95, certify_p99_ratio=2.5,
             export_peak_mib=4.0)
    run_file(tmp_path, "20261104T000000Z", drain_ratio=0.8, certify_p99_ratio=1.0,
             export_peak_mib=4.5)
    (tmp_path / "20261105T000000Z.json").write_text('{"started_at": "x"}')  # unfinished
    done = spread(tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "spread.json").read_text())
    assert report["runs"] == ["20261102T000000Z", "20261103T000000Z", "20261104T000000Z"]
    drain, p99 = report["ratios"]["drain_ratio"], report["ratios"]["certify_p99_ratio"]
    assert (drain["values"], drain["spread"], drain["met_in_every_run"]) == (
        [0.85, 0.95, 0.8], 0.15, True)
    assert (p99["spread"], p99["met_in_every_run"]) == (1.5, False)
    assert report["ratios"]["export_peak_mib"]["met_in_every_run"] is True
    assert report["ratios"]["replica_ratio"] == {
        "label": "PDFs/s from a backlog, 2 documents processes ÷ 1", "goal": "≥ 1.7",
        "values": [None, None, None], "spread": None, "met_in_every_run": False}
    assert "| `drain_ratio`: month-end drain ÷ bare renders per second | ≥ 0.8 | 0.85 | 0.95 " \
           "| 0.8 | 0.15 | yes |" in done.stdout


def test_a_ceiling_is_shown_beside_the_goals_without_a_verdict(tmp_path):
    for day, ceiling in (("02", 0.7), ("03", 0.75), ("04", None)):
        run_file(tmp_path, f"202611{day}T000000Z", drain_ceiling_ratio=ceiling)
    done = spread(tmp_path)
    assert done.returncode == 0, done.stderr
    row = json.loads((tmp_path / "spread.json").read_text())["ratios"]["drain_ceiling_ratio"]
    assert (row["goal"], row["values"], row["spread"], row["met_in_every_run"]) == (
        "ceiling of `drain_ratio`", [0.7, 0.75, None], 0.05, None)
    assert "| ceiling of `drain_ratio` | 0.7 | 0.75 | – | 0.05 | – |" in done.stdout


def test_without_a_finished_run_it_says_to_run_the_bench(tmp_path):
    done = spread(tmp_path)
    assert done.returncode == 2 and "run `make bench` first" in done.stderr
