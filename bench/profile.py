"""Where a month-end burst's time goes (docs/performance.md): `python -m bench.profile
[--organisations N] [--dossiers M] [--clients K] [--out DIR]`.

Runs the stack on PostgreSQL like `make bench`'s month-end (SMTP server of its own), with
JALON_PROFILE_DIR set (servicekit/run.py counts every SQL statement per process) and the
Prometheus metrics on. After the organisations are set up and their setup's work is done,
py-spy samples every process, the bench's own and its SMTP server's included (collapsed stacks,
CPU only) while K clients certify last month for every dossier and the
effects drain. Writes DIR/profile.json: per phase (burst, drain) the entrypoint calls and
milliseconds per certification, the SQL statements per process, and per process the share of
CPU samples in PDF rendering, SQL, logging, AMQP and the rest, and bench/cpu.py's CPU per month
of each process; the py-spy files stay in DIR.
"""
from __future__ import annotations

# bench.run first: it monkey-patches the standard library for the green threads.
from bench.run import PG_ADMIN, load_avg, machine, stack_env  # isort: skip

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench import cpu
from bench.effects import EventsHandled
from bench.month_end import (_wait_for_effects, certify_all, dossiers_of, measure_cpu,
                             organisations_ready)
from servicekit import config
from tools.sandbox import PostgresDatabases
from tools.smtp import SmtpServer, free_port
from tools.stack import Stack

PY_SPY = Path(sys.executable).with_name("py-spy")
# A sample's share goes to the first category whose marker its stack holds (leaf side first).
CATEGORIES = (("pdf_render", ("weasyprint", "pydyf", "fontTools", "PIL")),
              ("sql", ("sqlalchemy", "psycopg", "sqlite3")),
              ("logging", ("structlog", "logging/__init__", "servicekit/logging")),
              ("amqp_rpc", ("kombu", "amqp/", "nameko")),
              ("json_pydantic", ("pydantic", "json/")),
              ("http", ("eventlet/wsgi", "werkzeug", "http/")))


def scrape(urls: dict[str, str]) -> dict[str, tuple[float, float]]:
    """`process route-or-method` -> (calls, seconds) of every timed entrypoint and route."""
    found: dict[str, tuple[float, float]] = {}
    for process, url in urls.items():
        sums: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        for family in text_string_to_metric_families(requests.get(url, timeout=10).text):
            if not family.name.endswith("duration_seconds"):
                continue
            for sample in family.samples:
                labels = sample.labels
                key = " ".join([process, family.name.split("_")[1]] + [
                    labels[k] for k in ("service", "method", "route", "document") if k in labels])
                if sample.name.endswith("_sum"):
                    sums[key] += sample.value
                elif sample.name.endswith("_count"):
                    counts[key] += sample.value
        found.update({key: (counts[key], sums[key]) for key in counts})
    return found


def sql_counts(directory: Path, stack: Stack) -> dict[str, Counter]:
    """Each process's statements so far (SIGUSR1 makes it write them)."""
    for process in stack.processes.values():
        process.send_signal(signal.SIGUSR1)
    time.sleep(2)
    counts = {}
    for path in directory.glob("*.json"):
        name = path.stem.rsplit("-", 1)[0]
        data = json.loads(path.read_text())
        counts[name] = Counter(data["counts"]), Counter(data["seconds"])
    return counts


def difference(after: dict, before: dict, per: int) -> dict:
    rows = {}
    for key, (calls, seconds) in after.items():
        calls0, seconds0 = before.get(key, (0, 0))
        if calls - calls0 > 0:
            rows[key] = {"calls_per_certification": round((calls - calls0) / per, 2),
                         "ms_per_call": round(1000 * (seconds - seconds0) / (calls - calls0), 1)}
    return dict(sorted(rows.items()))


def sql_difference(after: dict, before: dict, per: int) -> dict:
    rows = {}
    for name, (counts, seconds) in after.items():
        counts0, seconds0 = before.get(name, (Counter(), Counter()))
        statements = counts - counts0
        if statements:
            rows[name] = {kind: {"per_certification": round(n / per, 1),
                                 "ms_each": round(1000 * (seconds[kind] - seconds0[kind]) / n, 2)}
                          for kind, n in sorted(statements.items())}
    return rows


def shares(collapsed: Path) -> dict:
    """Share of the process's CPU samples per category, from py-spy's raw (collapsed) file."""
    totals: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")[::-1]
        category = next((name for frame in frames for name, markers in CATEGORIES
                         if any(marker in frame for marker in markers)), "other")
        totals[category] += int(count)
    samples = sum(totals.values())
    return {"samples": samples, **{name: round(n / samples, 3) for name, n in
                                   totals.most_common()}} if samples else {"samples": 0}


def record(processes: dict[str, int], out: Path) -> list[subprocess.Popen]:
    """py-spy on each process (name -> pid)."""
    return [subprocess.Popen([str(PY_SPY), "record", "--pid", str(pid), "--rate", "50",
                              "--format", "raw", "--nonblocking", "-o", str(out / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=open(out / f"{name}.err", "w"))
            for name, pid in processes.items()]


def run(organisations: int, dossiers: int, clients: int, out: Path) -> dict:
    amqp_uri = config.load().amqp_uri
    databases = PostgresDatabases(PG_ADMIN, "bench")
    root = Path(tempfile.mkdtemp(prefix="jalon-profile-"))
    smtp = SmtpServer(root)
    counted = root / "sql"
    try:
        env = stack_env(amqp_uri, root, databases)
        env.update({"JALON_SMTP_HOST": "127.0.0.1", "JALON_SMTP_PORT": str(smtp.port),
                    "JALON_PROFILE_DIR": str(counted),
                    "JALON_METRICS_BASE_PORT": str(free_port()),
                    "JALON_LOG_LEVEL": os.environ.get("JALON_LOG_LEVEL", "INFO")})
        with Stack(env, log_dir=root / "logs") as stack:
            return _drive(stack, smtp, counted, organisations, dossiers, clients, out,
                          env["JALON_LOG_LEVEL"])
    finally:
        smtp.stop()
        databases.drop_all()


def _drive(stack, smtp, counted, organisations, dossiers, clients, out, log_level) -> dict:
    result = {"machine": machine(), "log_level": log_level, "clients": clients}
    with organisations_ready(stack, stack.settings.amqp_uri, smtp, organisations, dossiers,
                             clients) as ready:
        work = dossiers_of(ready.organisations)
        n = len(work)
        result["certifications"] = n
        result["settle_s"] = ready.settle_s
        metrics0, sql0 = scrape(stack.metrics_urls), sql_counts(counted, stack)
        # The bench's own process and SMTP server too: they share the cores.
        spies = record({**{name: process.pid for name, process in stack.processes.items()},
                        "bench": os.getpid(), "smtp": smtp.process.pid}, out)
        handled = EventsHandled.certified(stack, since=datetime.now(timezone.utc))
        cpu_before = measure_cpu(stack, smtp)
        result["load_before"] = load_avg()
        started = time.perf_counter()
        steps = certify_all(ready, work)
        result["burst_s"] = round(time.perf_counter() - started, 3)
        result["load_after_burst"] = load_avg()
        metrics1, sql1 = scrape(stack.metrics_urls), sql_counts(counted, stack)
        effects = _wait_for_effects(handled, n, ready.inbox)
        handled.close()
        result["effects"] = effects
        result["load_after_drain"] = load_avg()
        metrics2, sql2 = scrape(stack.metrics_urls), sql_counts(counted, stack)
        result["cpu"] = cpu.used(cpu_before, measure_cpu(stack, smtp),
                                 n - effects["months_not_done"])
    for spy in spies:
        spy.send_signal(signal.SIGINT)
    for spy in spies:
        spy.wait(60)
    certify = sorted(s["certify"] for s in steps)
    result["certify_ms"] = {"p50": round(1000 * certify[n // 2], 1),
                            "p99": round(1000 * certify[min(n - 1, int(n * 0.99))], 1)}
    result["burst"] = {"entrypoints": difference(metrics1, metrics0, n),
                       "sql": sql_difference(sql1, sql0, n)}
    result["drain"] = {"entrypoints": difference(metrics2, metrics1, n),
                       "sql": sql_difference(sql2, sql1, n)}
    result["cpu_shares"] = {path.stem: shares(path) for path in sorted(out.glob("*.txt"))}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=4)
    parser.add_argument("--dossiers", type=int, default=10)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="jalon-spy-")))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = run(args.organisations, args.dossiers, args.clients, args.out)
    (args.out / "profile.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))  # CLI output for the person at the terminal
    return 0


if __name__ == "__main__":
    sys.exit(main())
