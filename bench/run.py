"""Benchmarks, reproducible with one command: `python -m bench.run` (`make bench`).

(a) floor: round trips of an empty Nameko RPC between two processes, sequential and with
    concurrent clients: what any call between services costs on this machine.
(b) core: the whole stack (tools.stack.Stack) on PostgreSQL (or SQLite with
    JALON_BENCH_DB=sqlite), driven through the HTTP gateway: enter hours and certify months of
    many dossiers with concurrent clients by method 1 (the signed certificate deposited first,
    untimed), then wait until every effect is done (month locked, PDF certificate listed, two
    emails per certification). Then the gateway read: the same clients GET a dossier's month
    (`GET /dossiers/{id}/certificates/{month}`, --reads in all), next to the floor's
    concurrent RPCs.
(c) pdf: final completion certificates (method 2, logo and stamp) rendered per second in this
    process through documents' PdfRenderer (template + context + cached fonts, CSS and images,
    render in eventlet.tpool), and the same HTML by a bare `weasyprint.HTML(string=...)
    .write_pdf()` call in the same run; the ratio ours / bare shows our overhead (or gain).
    Then the bare render in two processes at once against one: what the machine itself gives
    a second process, the reference of (f).
(d) export: the payments Excel export of 100,000 payment lines (--export-rows): payments' own
    paged query (services.payments.handlers.export_page on a SQLite database filled in bulk,
    5,000 rows a page as the export job asks) written by services.payments.adapters'
    write_workbook, next to a bare openpyxl write-only loop of the same values in the same run:
    rows per second (timed runs) and peak Python memory (tracemalloc, separate runs, so
    tracing slows no timing).
(e) month_end: certifier organisations (--organisations) certify last month for their
    dossiers (--org-dossiers) all at once by method 2, the code read from a real SMTP server;
    p50/p99 of each step and the time until every consumer of each month's certified event
    has done its effect, read in their databases (bench/effects.py), and every email is
    received (bench/month_end.py), with one documents process, once the setup's work is done.
(f) replicas: PDF throughput of two documents processes over one's: a backlog of certified
    months (documents held while they are certified), rendered and filed with the rest of the
    stack idle (bench/replicas.py).

Where each month's CPU went in (e) and (f): bench/cpu.py, per process, with the ceiling the
cores allow.

Each ratio of issue 19's table is also at the top level of the results, under its own name
(`RATIOS`, computed from the parts above by `top_ratios`); each part records the load average
before and after it, and `machine` the machine.

Writes bench/results/<UTC timestamp>.json and bench/results/latest.json and prints a summary.
No assertions: it measures and records the machine with the numbers.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402  the clients are green threads, like the services

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from datetime import date, datetime, timedelta, timezone  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

from nameko.rpc import rpc  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from servicekit import config, registry  # noqa: E402
from tools.client import Client, bootstrap_funder, provisional_password  # noqa: E402
from tools.smtp import free_port  # noqa: E402
from tools.sandbox import PostgresDatabases, private_vhost  # noqa: E402
from tools.waiting import wait_until  # noqa: E402

# The readiness probe closes channels with replies in flight: amqp warns, harmlessly.
logging.getLogger("amqp").setLevel(logging.ERROR)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
FLOOR_SERVICE = "bench_floor"
PG_ADMIN = os.environ.get("JALON_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "Bench-Jalon-2026!"
REQUEST_TIMEOUT = 60  # seconds: the gateway answers slowly under the bench's load
PARTS = ("floor", "core", "pdf", "export", "month_end", "replicas")


# ---------------------------------------------------------------------------------------------
# measuring

def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summarise(latencies: list[float], elapsed: float, unit: str = "calls") -> dict:
    """Latencies (seconds) of `len(latencies)` operations that took `elapsed` in all."""
    ordered = sorted(latencies)
    return {
        unit: len(ordered),
        "elapsed_s": round(elapsed, 3),
        f"{unit}_per_s": round(len(ordered) / elapsed, 1) if elapsed else None,
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


def timed(call, *args, **kwargs):
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - started


def load_avg() -> list[float] | None:
    """The load average over 1, 5 and 15 minutes."""
    return [round(load, 2) for load in os.getloadavg()] if hasattr(os, "getloadavg") else None


def _proc_field(path: str, field: str) -> str | None:
    """The value of the first `field: value` line of a /proc file (None off Linux)."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == field:
                return value.strip()
    return None


def machine() -> dict:
    memory = _proc_field("/proc/meminfo", "MemTotal")  # "16318444 kB"
    return {
        "cores": os.cpu_count(),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": round(int(memory.split()[0]) / 2**20, 1) if memory else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m": (load_avg() or [None])[0],
        "load_avg": load_avg(),
    }


# ---------------------------------------------------------------------------------------------
# (a) the floor: an empty RPC between two processes

class FloorService:
    name = FLOOR_SERVICE

    @rpc
    def ping(self):
        return None


def serve_floor(amqp_uri: str) -> None:
    """Runs in the child process until SIGTERM."""
    from nameko.runners import ServiceRunner
    runner = ServiceRunner({"AMQP_URI": amqp_uri, "serializer": "json", "max_workers": 10})
    runner.add_service(FloorService)
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn(runner.stop))
    runner.start()
    runner.wait()


def _proxy(amqp_uri: str) -> ClusterRpcProxy:
    return ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30)


def _wait_floor_ready(amqp_uri: str, process: subprocess.Popen, timeout: float = 60) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the floor service exited with {process.returncode}")
        try:
            with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"},
                                 timeout=2) as proxy:
                proxy[FLOOR_SERVICE].ping()
                return True
        except Exception:  # not consuming yet: the queue does not exist or nobody answers
            return False

    wait_until(answers, timeout, interval=0.2, message="the floor service's answer")


def _calls(amqp_uri: str, count: int) -> list[float]:
    """`count` sequential round trips on one proxy (one per green thread: not shareable)."""
    with _proxy(amqp_uri) as proxy:
        method = proxy[FLOOR_SERVICE].ping
        method()  # warm up the reply queue
        return [timed(method)[1] for _ in range(count)]


def run_floor(amqp_uri: str, calls: int, clients: int) -> dict:
    process = subprocess.Popen([sys.executable, "-m", "bench.run", "--serve-floor", amqp_uri],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_floor_ready(amqp_uri, process)
        latencies, elapsed = timed(_calls, amqp_uri, calls)
        sequential = summarise(latencies, elapsed)
        per_client = max(1, calls // clients)
        pool = eventlet.GreenPool(clients)
        batches, elapsed = timed(lambda: list(pool.imap(_calls, [amqp_uri] * clients,
                                                        [per_client] * clients)))
        concurrent = summarise([x for batch in batches for x in batch], elapsed)
        concurrent["clients"] = clients
        return {"sequential": sequential, "concurrent": concurrent}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# ---------------------------------------------------------------------------------------------
# (b) the core flow through the gateway

def months_back(day: date, count: int) -> date:
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def past_months(today: date, count: int) -> list[str]:
    """The `count` complete months before today's, oldest first, as YYYY-MM."""
    return [months_back(today, n).strftime("%Y-%m") for n in range(count, 0, -1)]


def new_user(identifier: str, name: str) -> dict:
    return {"identifier": identifier, "name": name, "email": f"{identifier}@bench.example"}


def bench_funder(amqp_uri: str, base_url: str) -> Client:
    """The funder (ops RPC); a client of its administrator."""
    from contracts.identity import NewFunder
    funder = NewFunder(code="bench", name="Financeur de banc d'essai",
                       admin={**new_user("bench.admin", "Alice BANC"), "password": PASSWORD})
    admin = bootstrap_funder(amqp_uri, base_url, funder)
    admin.timeout = REQUEST_TIMEOUT
    return admin


def bootstrap(amqp_uri: str, base_url: str, mail_dir: Path) -> tuple[Client, Client, str]:
    """The funder, its organisation, whose first user goes through the first login
    (provisional password from the emails written to `mail_dir`); returns admin and
    organisation clients."""
    from contracts.identity import NewOrganisation
    from tools.demo import eml_folder_reader
    admin = bench_funder(amqp_uri, base_url)
    read = eml_folder_reader(mail_dir)
    organisation = NewOrganisation(
        name="Organisme de banc d'essai", siret="73282932000074", email="of@bench.example",
        user=new_user("bench.of", "Olivier FORMATION"))
    org = admin.call("POST", "/organisations", json=organisation.model_dump(mode="json")).json()
    email = organisation.user.email
    org_client = Client(base_url, timeout=REQUEST_TIMEOUT).first_login(
        "bench.of", provisional_password(read, email), "bench.of", PASSWORD, read)
    letterhead(org_client, org["id"])
    return admin, org_client, org["id"]


def letterhead(org: Client, organisation_id: str) -> None:
    """What a certificate prints and method 1 requires: the legal representative and logo."""
    from tools.demo import DemoDocument, demo_file
    logo = DemoDocument("logo", "Logo", "logo.png", "deposited")
    org.call("PATCH", f"/organisations/{organisation_id}/profile",
             json={"legal_representative": "Directrice du banc d'essai"})
    org.call("POST", "/documents", data={"category": "logo", "label": "Logo"},
             files={"file": (logo.filename, demo_file(logo))}, ok=(201,))


def create_dossier(admin_base: Client, organisation_id: str, index: int, today: date,
                   months: int) -> str:
    admin = Client(admin_base.base_url, admin_base.token, REQUEST_TIMEOUT)
    beneficiary = admin.call("POST", "/beneficiaries", json={
        "name": f"BENEFICIAIRE Numéro{index}", "email": f"beneficiaire{index}@bench.example"}
    ).json()
    employer = admin.call("POST", "/employers", json={
        "name": f"EMPLOYEUR {index} SARL", "email": f"employeur{index}@bench.example"}).json()
    dossier = admin.call("POST", "/dossiers", json={
        "number": f"BENCH-{index:05d}", "organisation_id": organisation_id,
        "beneficiary_id": beneficiary["id"], "employer_id": employer["id"],
        "training_title": "Titre professionnel (banc d'essai)",
        "session_start": months_back(today, months).isoformat(),
        "session_end": (today.replace(day=1) - timedelta(days=1)).isoformat(),
    }).json()
    return dossier["id"]


def month_bounds(month: str) -> tuple[str, str]:
    first = date.fromisoformat(f"{month}-01")
    return first.isoformat(), (months_back(first, -1) - timedelta(days=1)).isoformat()


def certify_dossier(org_base: Client, dossier_id: str, months: list[str],
                    signed_pdf: bytes) -> list[tuple]:
    """Method 1 for each month in order: enter hours, deposit the signed certificate, certify;
    (hours, certify) latencies per month (the deposit is not timed: an upload, not the flow)."""
    org = Client(org_base.base_url, org_base.token, REQUEST_TIMEOUT)
    latencies = []
    for month in months:
        path = f"/dossiers/{dossier_id}/certificates/{month}"
        _, hours_s = timed(org.call, "PUT", path + "/hours", json={
            "training_hours": "140.00", "internship_hours": "0.00", "absence_hours": "7.00"})
        first, last = month_bounds(month)
        org.call("POST", "/documents", data={
            "category": "signed_certificate", "dossier_id": dossier_id, "period_start": first,
            "period_end": last}, files={"file": ("signe.pdf", signed_pdf)}, ok=(201,))
        _, certify_s = timed(org.call, "POST", path + "/certify", json={"attest": True})
        latencies.append((hours_s, certify_s))
    return latencies


def effects_done(org: Client, dossier_id: str, month: str) -> bool:
    path = f"/dossiers/{dossier_id}/certificates/{month}/payment-lock"
    if not org.call("GET", path).json().get("locked"):
        return False
    documents = org.call("GET", f"/dossiers/{dossier_id}/documents").json()
    return any(doc.get("month") == month for doc in documents)


def wait_for_months(pending: list, done: Callable[[object], bool], timeout: float,
                    also: Callable[[], bool] = lambda: True, clients: int = 10) -> None:
    """Until every month of `pending` is done (`done(month)` asks the gateway) and `also()`.
    First the newest month only, once per poll: the effects drain in the order of the
    certifications, so the others are mostly done by then, and asking about every pending
    month at every poll took the cores being measured. Then every month still pending at
    once, by `clients` green threads: asked one by one, hundreds of months added seconds to
    the drain measured. Afterwards `pending` holds exactly the months not done."""
    deadline = time.monotonic() + timeout
    pool = eventlet.GreenPool(clients)

    def not_done() -> list:
        months = list(pending)
        return [month for month, ok in zip(months, pool.imap(done, months)) if not ok]

    def all_done() -> bool:
        pending[:] = not_done()
        return not pending and also()

    try:
        if pending:
            newest = pending[-1]
            wait_until(lambda: done(newest), timeout, interval=0.5)
        wait_until(all_done, max(0.0, deadline - time.monotonic()), interval=0.5)
    except TimeoutError:  # the figures say what is not done
        pending[:] = not_done()


def count_emails(mail_dir: Path) -> int:
    return len(list(mail_dir.glob("*.eml"))) if mail_dir.exists() else 0


def wait_for_emails(mail_dir: Path, count: int, timeout: float = 120) -> int:
    with contextlib.suppress(TimeoutError):  # the effects' figures show any shortfall
        wait_until(lambda: count_emails(mail_dir) >= count, timeout, interval=0.2)
    return count_emails(mail_dir)


def wait_for_effects(org: Client, work: list[tuple[str, str]], mail_dir: Path,
                     emails_expected: int, timeout: float) -> dict:
    """Poll until every month is locked with its PDF and every email is written."""
    started = time.perf_counter()
    pending = list(work)
    poll_errors: list[str] = []

    def done(item) -> bool:
        try:
            return effects_done(org, *item)
        except RuntimeError as exc:  # e.g. a 503 while a service is busy: ask again later
            poll_errors.append(str(exc)[:200])
            return False

    wait_for_months(pending, done, timeout,
                    also=lambda: count_emails(mail_dir) >= emails_expected)
    return {"effects_s": round(time.perf_counter() - started, 3),
            "months_not_done": len(pending),
            "emails_written": count_emails(mail_dir), "emails_expected": emails_expected,
            "poll_errors": len(poll_errors), "first_poll_errors": poll_errors[:3]}


def stack_env(amqp_uri: str, data_dir: Path, databases: PostgresDatabases | None) -> dict:
    env = {"JALON_AMQP_URI": amqp_uri, "JALON_DATA_DIR": str(data_dir),
           "JALON_HTTP_ADDRESS": f"127.0.0.1:{free_port()}", "JALON_SMTP_HOST": "",
           "JALON_LOG_LEVEL": os.environ.get("JALON_LOG_LEVEL", "WARNING")}
    if databases is not None:
        for service in registry.databases():
            env[f"JALON_DB_URL_{service.upper()}"] = databases.create(service)
    return env


def run_core(amqp_uri: str, dossiers: int, months: int, clients: int, reads: int,
             keep: bool) -> dict:
    from tools.stack import Stack
    use_sqlite = os.environ.get("JALON_BENCH_DB", "postgresql") == "sqlite"
    databases = None if use_sqlite else PostgresDatabases(PG_ADMIN, "bench")
    data_dir = Path(tempfile.mkdtemp(prefix="jalon-bench-"))
    result = {"database": "sqlite" if use_sqlite else "postgresql", "dossiers": dossiers,
              "months_per_dossier": months, "clients": clients, "data_dir": str(data_dir)}
    try:
        env = stack_env(amqp_uri, data_dir, databases)
        result["log_level"] = env["JALON_LOG_LEVEL"]
        with Stack(env, log_dir=data_dir / "logs") as stack:
            result.update(_drive(stack, amqp_uri, dossiers, months, clients, reads))
    finally:
        if databases is not None:
            databases.drop_all()
    if not keep:  # on failure the exception skips this: the logs stay for reading
        shutil.rmtree(data_dir, ignore_errors=True)
        result.pop("data_dir")
    return result


def _drive(stack, amqp_uri: str, dossiers: int, months: int, clients: int,
           reads: int) -> dict:
    today = datetime.now(timezone.utc).date()
    admin, org, organisation_id = bootstrap(amqp_uri, stack.base_url, stack.settings.mail_dir)
    pool = eventlet.GreenPool(clients)
    emails_at_start = count_emails(stack.settings.mail_dir)
    dossier_ids, setup_s = timed(lambda: list(pool.imap(
        lambda i: create_dossier(admin, organisation_id, i, today, months), range(dossiers))))
    # Each dossier emails its beneficiary and employer their credentials: wait for them, so
    # that the effects' email count below is the certifications' own.
    emails_before = wait_for_emails(stack.settings.mail_dir, emails_at_start + 2 * dossiers)
    month_list = past_months(today, months)
    from tools.demo import scanned_pdf
    signed = scanned_pdf()
    started = time.perf_counter()
    batches = list(pool.imap(lambda d: certify_dossier(org, d, month_list, signed),
                             dossier_ids))
    certify_s = time.perf_counter() - started
    pairs = [pair for batch in batches for pair in batch]
    # The rate counts whole months (enter hours + certify) over the phase's wall time.
    certify = summarise([c for _, c in pairs], certify_s, "certifications")
    hours = summarise([h for h, _ in pairs], certify_s, "hour_entries")
    work = [(d, m) for d in dossier_ids for m in month_list]
    # Per month: the beneficiary, the employer and the funder (its settings, seeded from
    # funder_bootstrapped, notify it at certification by default since issue 13).
    effects = wait_for_effects(org, work, stack.settings.mail_dir,
                               emails_before + 3 * len(work), timeout=600)
    effects["all_done_s"] = round(certify_s + effects["effects_s"], 3)
    return {"setup_s": round(setup_s, 3), "certify": certify, "enter_hours": hours,
            "effects": effects, "gateway_read": read_months(org, work, reads, clients),
            "notes": "certifications_per_s: months entered and certified per second of the "
                     "certification phase; effects.all_done_s: from the phase's start until "
                     "every month is locked, its PDF listed and its two emails written; "
                     "gateway_read: GETs of a certified dossier's month per second, once every "
                     "effect is done (the stack idle), by `clients` clients of a session each"}


def read_months(org_base: Client, work: list[tuple[str, str]], reads: int,
                clients: int) -> dict:
    """`reads` GETs of a dossier's month by `clients` concurrent clients, each going round the
    certified months from its own place, like the floor's concurrent RPCs."""
    paths = [f"/dossiers/{dossier_id}/certificates/{month}" for dossier_id, month in work]
    per_client = max(1, reads // clients)

    def client_reads(offset: int) -> list[float]:
        org = Client(org_base.base_url, org_base.token, REQUEST_TIMEOUT)
        org.call("GET", paths[offset % len(paths)])  # warm up the connection, as _calls does
        return [timed(org.call, "GET", paths[(offset + n) % len(paths)])[1]
                for n in range(per_client)]

    pool = eventlet.GreenPool(clients)
    batches, elapsed = timed(lambda: list(pool.imap(client_reads, range(clients))))
    result = summarise([x for batch in batches for x in batch], elapsed, "requests")
    result["clients"] = clients
    return result


# ---------------------------------------------------------------------------------------------
# (c) PDF certificates per second per process

def _bench_certificate():
    """A realistic final certificate: (renderer, context, images) and the same page as one
    self-contained HTML string (images as data: URIs) for the bare call."""
    import base64
    import io
    from decimal import Decimal

    from PIL import Image

    from contracts.events import CertifiedV1, MonthHours, Party
    from services.documents.adapters import PdfRenderer
    from services.documents.domain import pdfs, sha256_of
    from services.documents.handlers import facts_from_event

    def png(size, color) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", size, color).save(buffer, "PNG")
        return buffer.getvalue()

    logo, stamp = png((400, 160), "navy"), png((240, 240), "firebrick")
    data = CertifiedV1(
        certificate_id="bench", dossier_id="bench", dossier_number="16/0/5756",
        funder_id="bench", organisation_id="bench", organisation_name="Organisme de banc d'essai",
        beneficiary=Party(id="b", name="DUBOIS Michelle", email="b@bench.example"),
        employer=Party(id="e", name="ACME Industries", email="e@bench.example"),
        training_title="Titre professionnel Développeur web", session_start=date(2026, 9, 1),
        session_end=date(2027, 1, 31), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"),
                         absence=Decimal("3.5")),
        method=2, certified_by="bench-user", certified_at=datetime.now(timezone.utc),
        certified_from_ip="192.0.2.10", organisation_siret="73282932000074",
        organisation_address="12 rue du Lac\n67000 Strasbourg",
        legal_representative="Jeanne MARTIN")
    certification = pdfs.certification_of(data, pdfs.verification_reference(os.urandom(10)))
    context = pdfs.certificate_context(facts_from_event(data),
                                       pdfs.certificate_issued_on(certification), certification,
                                       logo_sha256=sha256_of(logo), stamp_sha256=sha256_of(stamp))
    images = {sha256_of(logo): logo, sha256_of(stamp): stamp}
    renderer = PdfRenderer()
    renderer.setup()
    html = renderer.html("certificate.html", context)
    for sha256, content in images.items():
        html = html.replace(pdfs.image_url(sha256),
                            "data:image/png;base64," + base64.b64encode(content).decode())
    return renderer, context, images, html


def _bare_render(html: str):
    """The bare render: WeasyPrint on the certificate's HTML, nothing of ours."""
    from weasyprint import HTML

    from services.documents.adapters import STYLESHEET, TEMPLATES
    return lambda: HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        stylesheets=[str(STYLESHEET)])


def serve_bare_renders(count: int) -> None:
    """A process of `bare_parallel`: warm, says "ready", renders `count` certificates once its
    standard input says go, prints the seconds they took."""
    render = _bare_render(_bench_certificate()[3])
    render()
    print("ready", flush=True)
    sys.stdin.readline()
    # CLI output read by the parent process, not a log line.
    print(timed(lambda: [render() for _ in range(count)])[1], flush=True)


def bare_parallel(count: int, processes: int) -> float:
    """Bare renders per second of `processes` processes rendering `count` each at once."""
    started = [subprocess.Popen([sys.executable, "-m", "bench.run", "--bare-renders", str(count)],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
               for _ in range(processes)]
    try:
        for process in started:
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("a bare render process did not start")
        for process in started:
            process.stdin.write("go\n")
            process.stdin.flush()
        seconds = [float(process.stdout.read().split()[-1]) for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(10)
    return round(processes * count / max(seconds), 2)


def run_pdf(count: int) -> dict:
    renderer, context, images, html = _bench_certificate()

    def ours() -> bytes:
        return renderer.render("certificate.html", context, images)

    bare = _bare_render(html)

    variants = {"ours": ours, "bare": bare}
    sizes = {name: len(render()) for name, render in variants.items()}  # warm-up: first-use
    latencies = {name: [] for name in variants}  # costs (fonts, caches) are not the rate
    for index in range(count):
        # Interleaved, in alternating order: both variants see the same load of the machine.
        for name in (("ours", "bare") if index % 2 == 0 else ("bare", "ours")):
            latencies[name].append(timed(variants[name])[1])
    results = {"certificates": count}
    for name, values in latencies.items():
        results[name] = {**summarise(values, sum(values), "certificates"),
                         "pdf_bytes": sizes[name]}
    # Same count on both sides: the ratio of rates is the inverse ratio of total times.
    results["ratio_ours_to_bare"] = round(sum(latencies["bare"]) / sum(latencies["ours"]), 3)
    # What the machine itself gives a second process: the replicas' reference.
    one, two = bare_parallel(count, 1), bare_parallel(count, 2)
    results["bare_parallel"] = {"one_process_per_s": one, "two_processes_per_s": two,
                                "ratio_two_to_one": round(two / one, 3)}
    results["notes"] = ("one process, sequential renders, the two variants interleaved; "
                        "ours = PdfRenderer.render (jinja2 template + cached FontConfiguration, "
                        "CSS and decoded images, in eventlet.tpool); bare = weasyprint.HTML("
                        "string=same html with data: images).write_pdf(stylesheets=[pdf.css]) "
                        "in the calling thread; "
                        "ratio > 1: ours is faster; bare_parallel: bare renders per second of "
                        "one process, then of two processes rendering `certificates` each at "
                        "once (the machine's own scaling of the render)")
    return results


# ---------------------------------------------------------------------------------------------
# (d) the payments export

def _export_database(rows: int, path: Path):
    """A payments database with `rows` payments of one line each, over two years, in bulk."""
    from sqlalchemy import insert

    from servicekit.db import make_engine
    from services.payments import models

    engine = make_engine(f"sqlite:///{path}")
    models.metadata.create_all(engine)
    now, start = datetime.now(timezone.utc), date(2024, 1, 1)
    with engine.begin() as conn:
        for first in range(0, rows, 10_000):
            numbers = range(first, min(rows, first + 10_000))
            conn.execute(insert(models.payments), [{
                "id": f"p{n}", "number": f"R{n:07d}", "funder_id": "f-bench",
                "payment_date": start + timedelta(days=n % 730), "organisation_id": "o-bench",
                "organisation_name": "Formations du Banc", "advance": n % 10 == 0,
                "amount": Decimal("1234.56"), "status": "issued", "recorded_by": "u",
                "recorded_at": now, "reconciled": n % 3 == 0} for n in numbers])
            conn.execute(insert(models.payment_lines), [{
                "payment_id": f"p{n}", "position": 0, "dossier_id": f"d{n % 500}",
                "dossier_number": f"24X{n % 500:06d}", "beneficiary_name": "DUBOIS",
                "beneficiary_first_name": "Michelle", "training_title": "Soudure TIG",
                "hours_paid": Decimal("35.50"), "period_start": start, "period_end": start,
                "amount": Decimal("1234.56")} for n in numbers])
    return engine


def run_export(rows: int) -> dict:
    import tracemalloc
    from types import SimpleNamespace

    from openpyxl import Workbook
    from sqlalchemy.orm import Session

    from contracts.common import Actor, Role
    from servicekit.db import Reading
    from services.payments import adapters
    from services.payments.handlers import export_page
    from services.payments.models import repositories, start_mappers

    start_mappers()
    work = Path(tempfile.mkdtemp(prefix="jalon-bench-export-"))
    try:
        engine, filled = timed(_export_database, rows, work / "payments.db")
        organisation = Actor(user_id="u-bench", role=Role.organisation_user,
                             funder_id="f-bench", organisation_id="o-bench", rights=["payments"])

        def ours() -> int:
            with Session(engine) as session:
                # the use case reads through `db.reading()`: here one session, no broker
                reading = Reading(session, repositories)
                db = SimpleNamespace(reading=lambda: contextlib.nullcontext(reading))
                return adapters.write_workbook(adapters.pages_of(lambda after: export_page(
                    db, organisation, {}, after, adapters.PAGE_SIZE)), str(work / "ours.xlsx"))

        def bare() -> int:
            book = Workbook(write_only=True)
            sheet = book.create_sheet("Règlements")
            day = date(2024, 1, 1)
            for n in range(rows):
                sheet.append([None, day, f"24X{n % 500:06d}", "DUBOIS", "Michelle",
                              "Soudure TIG", f"R{n:07d}", Decimal("35.50"), day, day,
                              Decimal("1234.56"), "Non", "Non"])
            book.save(str(work / "bare.xlsx"))
            return rows

        results = {"rows": rows, "fill_database_s": round(filled, 1), "database": "sqlite"}
        for name, write in (("ours", ours), ("bare", bare)):
            written, elapsed = timed(write)
            tracemalloc.start()
            write()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            results[name] = {"rows": written, "elapsed_s": round(elapsed, 2),
                             "rows_per_s": round(written / elapsed, 1),
                             "peak_mib": round(peak / 2**20, 1),
                             "xlsx_bytes": (work / f"{name}.xlsx").stat().st_size}
        results["ratio_ours_to_bare"] = round(results["ours"]["rows_per_s"]
                                              / results["bare"]["rows_per_s"], 3)
        results["notes"] = (f"ours = payments' paged query (keyset, {adapters.PAGE_SIZE:,} rows, "
                            "totals per page) "
                            "+ payments' adapters.write_workbook (month and date rows, styled "
                            "typed cells), without the broker; bare = Workbook(write_only=True) and one "
                            "append of the same 13 plain values per row; peak = tracemalloc's "
                            "peak of Python allocations during a separate run")
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------------

def attempt(name: str, run, *args) -> dict:
    """A part that fails is recorded as failed; the other part still runs. Either way with
    the load average before and after it: a loaded machine shows in its figures."""
    before = load_avg()
    try:
        result = run(*args)
    except Exception as exc:  # the bench records failures instead of dying
        result = {"error": f"{type(exc).__name__}: {exc}"[:2000],
                  "traceback": traceback.format_exc()[-4000:], "part": name}
    result["load_avg"] = {"before": before, "after": load_avg()}
    return result


def figure(results: dict, *path: str):
    """results[path[0]][path[1]]...; None where a part was skipped, failed or lacks it."""
    for key in path:
        if not isinstance(results, dict):
            return None
        results = results.get(key)
    return results


def ratio(numerator, denominator) -> float | None:
    return round(numerator / denominator, 3) if numerator and denominator else None


# Issue 19's table: each ratio's name and how it is made from the parts of the same run.
RATIOS = {
    "drain_ratio": "month_end.effects.drained_per_s / pdf.bare.certificates_per_s",
    "certify_p99_ratio": "month_end.certify.p99_ms / pdf.bare.p50_ms",
    "export_ratio": "export.ratio_ours_to_bare (rows/s); export_peak_mib: export.ours.peak_mib "
                    "at export_rows rows",
    "pdf_ratio": "pdf.ratio_ours_to_bare (certificates/s)",
    "gateway_read_ratio": "core.gateway_read.requests_per_s / floor.concurrent.calls_per_s "
                          "(same number of clients)",
    "replica_ratio": "replicas.ratio_two_to_one: PDFs filed per second from a backlog of "
                     "certified months by 2 documents processes / by 1, the rest idle",
    # What the machine allows at the CPU each month cost (bench/cpu.py): not goals, the
    # ceilings of the two ratios above them.
    "drain_ceiling_ratio": "month_end.cpu.ceiling_months_per_s / pdf.bare.certificates_per_s: "
                           "the most drain_ratio could be on these cores at this CPU per month",
    "replica_ceiling_ratio": "pdf.bare_parallel.ratio_two_to_one: two processes rendering "
                             "bare at once ÷ one, what this machine gives a second process",
}


def top_ratios(results: dict) -> dict:
    return {
        "drain_ratio": ratio(figure(results, "month_end", "effects", "drained_per_s"),
                             figure(results, "pdf", "bare", "certificates_per_s")),
        "certify_p99_ratio": ratio(figure(results, "month_end", "certify", "p99_ms"),
                                   figure(results, "pdf", "bare", "p50_ms")),
        "export_ratio": figure(results, "export", "ratio_ours_to_bare"),
        "export_peak_mib": figure(results, "export", "ours", "peak_mib"),
        "export_rows": figure(results, "export", "rows"),
        "pdf_ratio": figure(results, "pdf", "ratio_ours_to_bare"),
        "gateway_read_ratio": ratio(figure(results, "core", "gateway_read", "requests_per_s"),
                                    figure(results, "floor", "concurrent", "calls_per_s")),
        "replica_ratio": figure(results, "replicas", "ratio_two_to_one"),
        "drain_ceiling_ratio": ratio(figure(results, "month_end", "cpu", "ceiling_months_per_s"),
                                     figure(results, "pdf", "bare", "certificates_per_s")),
        "replica_ceiling_ratio": figure(results, "pdf", "bare_parallel", "ratio_two_to_one"),
        "ratios_notes": RATIOS,
    }


def write_results(results: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, indent=2, ensure_ascii=False)
    path = RESULTS / f"{stamp}.json"
    path.write_text(text + "\n", encoding="utf-8")
    (RESULTS / "latest.json").write_text(text + "\n", encoding="utf-8")
    return path


def summary_lines(results: dict) -> list[str]:
    lines = [f"machine: {results['machine']['cores']} cores ({results['machine']['cpu']}), "
             f"Python {results['machine']['python']}, load {results['machine']['load_avg']}"]
    floor = results.get("floor", {})
    for variant in ("sequential", "concurrent"):
        if variant in floor:
            row = floor[variant]
            lines.append(f"floor {variant:<10} {row['calls_per_s']:>8} calls/s  "
                         f"p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms")
    core = results.get("core", {})
    if "certify" in core:
        row = core["certify"]
        lines.append(f"core certify   {row['certifications_per_s']:>8} certif/s  "
                     f"p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms "
                     f"({row['certifications']} certifications, {core['database']})")
        effects = core["effects"]
        lines.append(f"core effects   all done {effects['all_done_s']} s "
                     f"after the first request; not done: {effects['months_not_done']} months, "
                     f"emails {effects['emails_written']}/{effects['emails_expected']}")
        row = core["gateway_read"]
        lines.append(f"gateway read   {row['requests_per_s']:>8} GET/s  p50 {row['p50_ms']} ms  "
                     f"p99 {row['p99_ms']} ms ({row['clients']} clients)")
    pdf = results.get("pdf", {})
    if "ours" in pdf:
        lines.append(f"pdf ours       {pdf['ours']['certificates_per_s']:>8} certif/s  "
                     f"p50 {pdf['ours']['p50_ms']} ms  | bare weasyprint "
                     f"{pdf['bare']['certificates_per_s']} certif/s  p50 {pdf['bare']['p50_ms']} "
                     f"ms  | ratio ours/bare {pdf['ratio_ours_to_bare']}  | bare in 2 processes "
                     f"÷ 1: {pdf['bare_parallel']['ratio_two_to_one']}")
    export = results.get("export", {})
    if "ours" in export:
        lines.append(f"export ours    {export['ours']['rows_per_s']:>8} rows/s  peak "
                     f"{export['ours']['peak_mib']} MiB  | bare openpyxl "
                     f"{export['bare']['rows_per_s']} rows/s  peak {export['bare']['peak_mib']} "
                     f"MiB  ({export['rows']} rows)")
    lines.extend(month_end_lines("month_end", results.get("month_end", {})))
    lines.extend(replicas_lines(results.get("replicas", {})))
    lines.append("ratios: " + "  ".join(f"{name} {results.get(name)}" for name in RATIOS))
    for part in PARTS:
        if "error" in results.get(part, {}):
            lines.append(f"{part} FAILED: {results[part]['error'][:300]}")
        elif "skipped" in results.get(part, {}):
            lines.append(f"{part} skipped")
    return lines


def month_end_lines(part: str, month_end: dict) -> list[str]:
    lines = []
    if "certify" in month_end:
        row = month_end["certify"]
        lines.append(f"{part:<14} {row['certifications_per_s']:>8} certif/s  "
                     f"p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms (method 2, "
                     f"{month_end['organisations']} organisations x "
                     f"{month_end['dossiers_per_organisation']} dossiers, replicas "
                     f"{month_end['replicas'] or 'none'})")
        steps = "  ".join(f"{step} p50 {month_end[step]['p50_ms']} / p99 "
                          f"{month_end[step]['p99_ms']} ms"
                          for step in ("enter_hours", "request_code", "code_delivery"))
        lines.append(f"month-end steps {steps}")
        effects = month_end["effects"]
        lines.append(f"{part} effects all done {effects['all_done_s']} s "
                     f"({effects['drained_per_s']} months/s); not done: "
                     f"{effects['months_not_done']} months, emails "
                     f"{effects['emails_received']}/{effects['emails_expected']}")
    if month_end.get("cpu"):
        use = month_end["cpu"]
        heaviest = sorted(use["ms_per_month"].items(), key=lambda item: -item[1])[:5]
        lines.append(f"{part} CPU per month: system {use['system_ms_per_month']} ms ("
                     + ", ".join(f"{name} {ms}" for name, ms in heaviest)
                     + f"), busy cores {use['busy_cores']}/{use['cores']}, steal "
                     f"{use['steal_share']}, ceiling {use['ceiling_months_per_s']} months/s")
    return lines


def replicas_lines(replicas: dict) -> list[str]:
    lines = []
    for count in ("one", "two"):
        if count in replicas:
            row, use = replicas[count], replicas[count]["cpu"] or {}
            lines.append(f"replicas {count:<5} {row['pdfs_per_s']:>8} PDFs/s  ({row['pdfs']} of "
                         f"{row['months']} filed in {row['elapsed_s']} s from the start; busy "
                         f"cores {use.get('busy_cores')}, documents "
                         f"{use.get('ms_per_month', {}).get('documents')} ms per PDF)")
    return lines


def run_month_end(amqp_uri: str, organisations: int, dossiers: int, clients: int) -> dict:
    from bench.month_end import run_month_end as month_end
    return month_end(amqp_uri, organisations, dossiers, clients)


def run_replicas(amqp_uri: str, organisations: int, dossiers: int, clients: int) -> dict:
    from bench.month_end import run_month_end as month_end
    from bench.replicas import DOCUMENTS, drive
    return month_end(amqp_uri, organisations, dossiers, clients, {"documents": len(DOCUMENTS)},
                     drive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="floor: RPC round trips")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients")
    parser.add_argument("--dossiers", type=int, default=50, help="core: dossiers")
    parser.add_argument("--months", type=int, default=3, help="core: months per dossier")
    parser.add_argument("--pdfs", type=int, default=50, help="pdf: certificates per variant")
    parser.add_argument("--export-rows", type=int, default=100_000,
                        help="export: payment lines")
    parser.add_argument("--organisations", type=int, default=10,
                        help="month_end: certifier organisations")
    parser.add_argument("--org-dossiers", type=int, default=15,
                        help="month_end: dossiers per organisation")
    parser.add_argument("--reads", type=int, default=2000,
                        help="core: GETs of a month through the gateway")
    parser.add_argument("--only", choices=PARTS, nargs="+", metavar="PART",
                        help=f"run these parts only ({', '.join(PARTS)}); the ratios need "
                             "the parts they compare")
    parser.add_argument("--keep", action="store_true", help="core: keep data and logs")
    parser.add_argument("--serve-floor", metavar="AMQP_URI", help=argparse.SUPPRESS)
    parser.add_argument("--bare-renders", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return 0
    if args.bare_renders:
        serve_bare_renders(args.bare_renders)
        return 0
    # SIGTERM ends the run like Ctrl-C: through the `finally`s that stop the stack's processes
    # and delete the vhost and databases.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    base_uri = config.load().amqp_uri
    with private_vhost(base_uri, "bench") as amqp_uri:
        results = {"started_at": datetime.now(timezone.utc).isoformat(), "machine": machine(),
                   "private_vhost": amqp_uri != base_uri}
        month_end = (amqp_uri, args.organisations, args.org_dossiers, args.clients)
        runs = {"floor": (run_floor, amqp_uri, args.calls, args.clients),
                "core": (run_core, amqp_uri, args.dossiers, args.months, args.clients,
                         args.reads, args.keep),
                "pdf": (run_pdf, args.pdfs),
                "export": (run_export, args.export_rows),
                "month_end": (run_month_end, *month_end),
                "replicas": (run_replicas, *month_end)}
        for part in PARTS:
            results[part] = (attempt(part, *runs[part]) if args.only is None or part in args.only
                             else {"skipped": True})
    results.update(top_ratios(results))
    results["finished_at"] = datetime.now(timezone.utc).isoformat()
    path = write_results(results)
    # CLI output, not a log line: the summary is what `make bench` shows.
    print("\n".join(summary_lines(results) + [f"results: {path}"]))
    return 1 if any("error" in results[part] for part in PARTS) else 0


if __name__ == "__main__":
    sys.exit(main())
