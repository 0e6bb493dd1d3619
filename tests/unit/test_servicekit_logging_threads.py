"""Native threads (eventlet.tpool) log, and run our tpool'd code, without touching a green lock.

Each scenario runs in a child process (`python -m tests.unit.test_servicekit_logging_threads
SCENARIO`): monkey patching, servicekit.logging.setup and tpool must start afresh, outside
pytest's own logging. The child counts every acquisition of a green lock or semaphore
(eventlet.semaphore.Semaphore, which green Lock and RLock are built on) by another OS thread
than the one that made it (the hub's, for locks made before the count starts), and reports it
with its stack: such a lock is shared between green and native threads. (A lock made and used
by one native thread alone, like zipfile's per-archive lock, can never be contended: it
passes.) The parent also checks that no worker raised, that no line was lost or mangled, and
that the child ends within its deadline (a broken green lock makes it hang).
"""
from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60
LINES = 150  # per worker and kind
NATIVE_CALLS = 40  # twice tpool's 20 threads: all of them busy at once
GREEN_THREADS = 40
RENDERS = 4


def run_child(scenario: str, tmp_path: Path) -> tuple[dict, list[str]]:
    """(the child's report, its stderr lines): what it logged."""
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:
        try:
            result = subprocess.run(
                [sys.executable, "-W", "ignore", "-m", __name__, scenario], cwd=ROOT,
                stdout=subprocess.PIPE, stderr=stderr, timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{scenario}: hung for {DEADLINE_SECONDS} s; stderr ends:\n"
                                 + stderr_path.read_text(errors="replace")[-3000:]) from None
    lines = stderr_path.read_text(errors="replace").splitlines()
    assert result.returncode == 0, f"{scenario} exited {result.returncode}:\n" + "\n".join(
        lines[-40:])
    return json.loads(result.stdout), lines


def events_of(lines: list[str]) -> Counter:
    """How many JSON lines per event (a library's: its message's first word)."""
    events = Counter()
    for line in lines:
        if line.startswith("{"):
            try:
                events[json.loads(line)["event"].split(" ")[0]] += 1
            except ValueError:
                raise AssertionError(f"two writers mangled a line: {line[:300]}") from None
    return events


def assert_clean(report: dict, lines: list[str]) -> None:
    assert report["errors"] == [], report["errors"]
    assert report["green_shared_with_native"] == 0, (
        f"{report['green_shared_with_native']} acquisitions of green locks shared with native "
        "threads, first stacks:\n" + "\n---\n".join(report["stacks"]))
    assert not [line for line in lines if "greenlet" in line or "Traceback" in line]


def test_library_and_structlog_lines_from_native_and_green_threads_are_all_written(tmp_path):
    report, lines = run_child("library", tmp_path)
    assert_clean(report, lines)
    assert all(line.startswith("{") for line in lines), "a line that is not ours"
    per_kind = NATIVE_CALLS * LINES
    assert events_of(lines) == Counter({
        "native_stdlib": per_kind, "native_structlog": per_kind,
        "green_stdlib": GREEN_THREADS * LINES, "green_structlog": GREEN_THREADS * LINES,
        "tpooled_done": NATIVE_CALLS})


def test_tpooled_work_of_the_services_touches_no_green_lock(tmp_path):
    report, lines = run_child("services", tmp_path)
    assert_clean(report, lines)
    events = events_of(lines)
    assert events["tpooled_done"] == report["calls"]
    assert events["Step"] >= RENDERS  # weasyprint's INFO progress lines, from native threads
    assert events["Ignored"] >= RENDERS  # and its CSS warnings
    assert events["green_structlog"] == GREEN_THREADS * LINES


# ---- the child --------------------------------------------------------------------------------

def _watch_green_locks() -> dict:
    """Counts acquisitions of green locks by another thread than their maker's (first stacks
    kept)."""
    import traceback

    from eventlet import patcher
    from eventlet.semaphore import Semaphore

    native = patcher.original("_thread")
    hub_thread = native.get_ident()
    seen = {"count": 0, "stacks": []}
    init, acquire = Semaphore.__init__, Semaphore.acquire

    def made(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.maker_thread = native.get_ident()

    def watched(self, *args, **kwargs):
        if native.get_ident() != getattr(self, "maker_thread", hub_thread):
            seen["count"] += 1
            if len(seen["stacks"]) < 3:
                seen["stacks"].append("".join(traceback.format_stack(limit=8)))
        return acquire(self, *args, **kwargs)

    Semaphore.__init__, Semaphore.acquire = made, watched
    return seen


def _green_logging(log) -> None:
    import logging

    import eventlet

    library = logging.getLogger("library.green")
    for i in range(LINES):
        log.info("green_structlog", i=i)
        library.warning("green_stdlib %s", i)
        eventlet.sleep(0)


def _native_logging(n: int) -> None:
    import logging

    from servicekit.logging import get_logger

    library, log = logging.getLogger("library.native"), get_logger("native")
    for i in range(LINES):
        library.info("native_stdlib %s %s", n, i)
        log.info("native_structlog", n=n, i=i)


def _library_calls() -> list:
    return [(_native_logging, n) for n in range(NATIVE_CALLS)]


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


def _xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    for row in [("Numéro", "Nom"), *[(f"D{i}", f"Nom {i}") for i in range(200)]]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _service_calls() -> list:
    """What documents, dossiers and identity hand to tpool, on inputs that make them log."""
    from contracts.documents import JPEG, PDF, PNG
    from services.documents import adapters, domain
    from services.dossiers import adapters as dossiers_adapters
    from services.identity.domain import Passwords

    toolkit = adapters._Toolkit.get()
    sha = domain.sha256_of(_png())
    toolkit.images.keep({sha: _png()})
    html = (f'<style>p {{ colr: red; widht: 3cm }}</style><h1>Certificat</h1>'
            f'<p>Heures réalisées</p><img src="jalon-file:{sha}">')
    pdf = adapters._html_to_pdf(html, toolkit)
    category = domain.Category(code="kbis", funder_id=domain.GLOBAL, label="KBIS",
                               instructions="", upload_roles=["organisation_user"],
                               content_types=[PDF, PNG, JPEG], max_size=10 * 2**20)
    broken_pdf = pdf.replace(b"startxref", b"startxraf")  # pypdf warns, then recovers
    encoded = [base64.b64encode(content).decode() for content in (pdf, broken_pdf, _png())]
    passwords = Passwords()
    return [
        *[(adapters._html_to_pdf, html, toolkit) for _ in range(RENDERS)],
        *[(domain.inspect_upload, category, content) for content in encoded],
        (dossiers_adapters.read_spreadsheet, _xlsx()),
        *[(passwords.hash, f"mot de passe {n}") for n in range(4)],
    ]


def _tpooled(call) -> None:
    from contracts.common.errors import InvalidInput
    from servicekit.logging import get_logger

    function, *args = call
    try:
        function(*args)
    except InvalidInput:  # a refused file is an answer, not a fault
        pass
    get_logger("native").info("tpooled_done", function=function.__name__)


def child(scenario: str) -> None:
    import eventlet

    eventlet.monkey_patch()
    from eventlet import tpool

    from servicekit import logging as kit_logging

    calls = _library_calls() if scenario == "library" else _service_calls()
    kit_logging.setup("test", "json", "INFO")  # after the warm-up: every line is a tpool'd one
    seen = _watch_green_locks()
    log = kit_logging.get_logger("green")
    pool = eventlet.GreenPool(1000)
    threads = [pool.spawn(tpool.execute, _tpooled, call) for call in calls]
    threads += [pool.spawn(_green_logging, log) for _ in range(GREEN_THREADS)]
    errors = []
    for thread in threads:
        try:
            thread.wait()
        except Exception as exc:  # noqa: BLE001  reported to the parent, which fails
            errors.append(repr(exc))
    print(json.dumps({"errors": errors[:5], "calls": len(calls),
                      "green_shared_with_native": seen["count"], "stacks": seen["stacks"]}))


if __name__ == "__main__":
    child(sys.argv[1])
