"""Issue 19's goals over the last `make bench` runs: `python -m bench.spread [--runs 3]`.

Reads the newest result files of bench/results/ (not latest.json, a copy), prints for each
ratio its value in every run, the spread (max - min) and whether every run meets the goal, as
the Markdown table the README shows, and writes the same as bench/results/spread.json.
"""
from __future__ import annotations

import argparse
import json
import operator
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# name: (comparison, goal, what it is), or (None, the goal's name, what it is) for a ceiling.
# export_peak_mib is checked at 100,000 rows only.
GOALS = {
    "drain_ratio": (operator.ge, 0.8, "month-end drain ÷ bare renders per second"),
    "certify_p99_ratio": (operator.le, 2.0, "certify p99 under the burst ÷ bare render p50"),
    "export_ratio": (operator.ge, 0.9, "Excel export rows/s ÷ bare openpyxl loop"),
    "export_peak_mib": (operator.le, 64.0, "export peak memory, MiB (100,000 rows)"),
    "gateway_read_ratio": (operator.ge, 0.6, "gateway GET of a month/s ÷ bare RPC calls/s"),
    "replica_ratio": (operator.ge, 1.7, "PDFs/s from a backlog, 2 documents processes ÷ 1"),
    "pdf_ratio": (operator.ge, 1.0, "our renderer ÷ bare WeasyPrint, certificates/s"),
    # Not goals: what the run's CPU per certified month allows (bench/cpu.py).
    "drain_ceiling_ratio": (None, "drain_ratio", "the most the drain ratio could be on these "
                                                 "cores at the run's CPU per month"),
    "replica_ceiling_ratio": (None, "replica_ratio", "two bare renders at once ÷ one: what "
                                                     "the machine gives a second process"),
}
SIGNS = {operator.ge: "≥", operator.le: "≤"}


def newest_runs(count: int, results: Path = RESULTS) -> list[tuple[str, dict]]:
    """The `count` newest complete result files (UTC stamps sort by time), oldest first."""
    files = sorted(path for path in results.glob("2*.json"))
    runs = [(path.stem, json.loads(path.read_text(encoding="utf-8"))) for path in files]
    return [run for run in runs if "finished_at" in run[1]][-count:]


def spread(runs: list[tuple[str, dict]]) -> dict:
    table = {}
    for name, (compare, goal, label) in GOALS.items():
        values = [data.get(name) for _, data in runs]
        if name == "export_peak_mib":
            values = [value if data.get("export_rows") == 100_000 else None
                      for value, (_, data) in zip(values, runs)]
        known = [value for value in values if value is not None]
        table[name] = {
            "label": label, "values": values,
            "spread": round(max(known) - min(known), 3) if known else None}
        if compare is None:
            table[name].update(goal=f"ceiling of `{goal}`", met_in_every_run=None)
        else:
            table[name].update(goal=f"{SIGNS[compare]} {goal}", met_in_every_run=bool(known)
                               and len(known) == len(values)
                               and all(compare(value, goal) for value in known))
    return {"runs": [stamp for stamp, _ in runs], "ratios": table}


def markdown(report: dict) -> str:
    runs = report["runs"]
    lines = ["| figure | goal | " + " | ".join(runs) + " | spread | met |",
             "| --- | --- | " + " | ".join("---" for _ in runs) + " | --- | --- |"]
    for name, row in report["ratios"].items():
        values = " | ".join("–" if value is None else f"{value:g}" for value in row["values"])
        spread_ = "–" if row["spread"] is None else f"{row['spread']:g}"
        met = {True: "yes", False: "no", None: "–"}[row["met_in_every_run"]]
        lines.append(f"| `{name}`: {row['label']} | {row['goal']} | {values} | {spread_} | "
                     f"{met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="how many of the newest runs")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    runs = newest_runs(args.runs, args.results)
    if not runs:
        parser.error(f"no finished run in {args.results}: run `make bench` first")
    report = spread(runs)
    (args.results / "spread.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
