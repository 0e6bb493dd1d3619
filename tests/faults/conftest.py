"""The fault suite's world: a RabbitMQ node and a PostgreSQL cluster of its own (tools.faults),
a real SMTP server, the whole stack (tools.stack) on them, one funder and one organisation
with its letterhead complete. Everything is torn down at the end, even on failure."""
from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from servicekit import registry
from tests.support.gateway import PASSWORD, bootstrap_funder, letterhead_ready, new_organisation
from tools.client import Client
from tools.faults import PostgresCluster, RabbitNode, missing_tools
from tools.smtp import SmtpServer, free_port
from tools.stack import Stack, get_health, unhealthy_parts

EMAIL_LEASE_SECONDS = 10
RECORDED: list[dict] = []  # each fault kind's figures, for the table at the end
COLUMNS = (  # header, path into the figures
    ("kind", ("kind",)), ("certs", ("certifications",)), ("burst s", ("burst_s",)),
    ("settle s", ("settle_s",)), ("struck at s", ("fault", "struck_at_s")),
    ("retried", ("answers", "retried_attempts")), ("finals", ("answers", "final_statuses")),
    ("lies", ("answers", "error_but_certified")), ("replay diff", ("answers",
                                                                   "replay_differences")),
    ("emails", ("effects", "emails_delivered")), ("dup", ("effects",
                                                          "emails_duplicate_deliveries")),
    ("dup same id", ("effects", "emails_repeats_same_message_id")),
    ("locks missing", ("effects", "locks_missing")), ("pdfs missing", ("effects",
                                                                       "pdfs_missing")),
    ("pdfs dup", ("effects", "pdfs_duplicate")), ("restarts", ("recovery", "restarts")),
    ("failures", ("failures",)),
)


def _cell(figures: dict, path: tuple[str, ...]) -> str:
    for key in path:
        figures = figures.get(key, "") if isinstance(figures, dict) else ""
    return json.dumps(figures, ensure_ascii=False) if isinstance(figures, (dict, list)) \
        else str(figures)


def pytest_terminal_summary(terminalreporter) -> None:
    """The per-fault table of this session's figures (also build/faults/summary.json)."""
    if not RECORDED:
        return
    rows = [[header for header, _ in COLUMNS]] + [
        [_cell(figures, path) for _, path in COLUMNS] for figures in RECORDED]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    terminalreporter.section("fault injection figures")
    for row in rows:
        terminalreporter.write_line(" | ".join(c.ljust(w) for c, w in zip(row, widths)))
    results = Path(__file__).resolve().parents[2] / "build" / "faults"
    results.mkdir(parents=True, exist_ok=True)
    (results / "summary.json").write_text(json.dumps(RECORDED, indent=2, ensure_ascii=False))


@dataclass
class Infra:
    root: Path
    broker: RabbitNode
    database: PostgresCluster
    smtp: SmtpServer


@pytest.fixture(scope="session")
def infra(tmp_path_factory):
    reason = missing_tools()
    if reason:
        pytest.skip(f"fault suite: {reason}")
    root = tmp_path_factory.mktemp("faults")
    with contextlib.ExitStack() as cleanup:
        broker = cleanup.enter_context(RabbitNode(root / "rabbit"))
        database = cleanup.enter_context(PostgresCluster())
        database.create_databases([f"jalon_{service}" for service in registry.databases()])
        smtp = SmtpServer(root)
        cleanup.callback(smtp.stop)
        yield Infra(root, broker, database, smtp)


def stack_env(infra: Infra) -> dict[str, str]:
    return {
        "JALON_AMQP_URI": infra.broker.uri,
        "JALON_DATABASE_URL_TEMPLATE": infra.database.url_template,
        "JALON_DATA_DIR": str(infra.root / "var"),
        "JALON_HTTP_ADDRESS": f"127.0.0.1:{free_port()}",
        "JALON_SMTP_HOST": "127.0.0.1",
        "JALON_SMTP_PORT": str(infra.smtp.port),
        "JALON_RETRY_DELAYS": "1,2,5",
        "JALON_EMAIL_LEASE_SECONDS": str(EMAIL_LEASE_SECONDS),
        "JALON_RELAY_POLL_SECONDS": "0.2",
        # The PDF/logging hang of issue 10 appeared at INFO.
        "JALON_LOG_LEVEL": "INFO",
        "JALON_LOG_FORMAT": "json",
        # A full run lasts longer than a session's default life.
        "JALON_TOKEN_TTL_MINUTES": "600",
        "JALON_SESSION_IDLE_MINUTES": "600",
    }


def dead(stack: Stack) -> dict[str, int]:
    """Processes that exited and are not (yet) replaced by a new one."""
    return {name: proc.returncode for name, proc in stack.processes.items()
            if proc.poll() is not None}


class System:
    """The running stack; `healthy_stack()` replaces it by a fresh one (same databases,
    broker and address) when a previous fault kind left it broken, so that one kind's failure
    does not spoil the next: that replacement is recorded, never hidden."""

    def __init__(self, infra: Infra):
        self.infra = infra
        self.env = stack_env(infra)
        self.stack: Stack | None = None
        self.replacements = 0

    def start(self) -> Stack:
        log_dir = self.infra.root / "logs" / f"stack-{self.replacements}"
        self.stack = Stack(env=self.env, log_dir=log_dir, startup_timeout=180)
        self.stack.__enter__()
        self.stack.env = {**self.stack.env, **self.env}
        return self.stack

    def broken(self) -> bool:
        status, body = get_health(self.stack.base_url)
        return bool(dead(self.stack)) or status != 200 or bool(unhealthy_parts(body))

    def healthy_stack(self) -> Stack:
        if self.stack is None:
            return self.start()
        if self.broken():
            self.stack.stop()
            self.replacements += 1
            return self.start()
        return self.stack

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()


@pytest.fixture(scope="session")
def system(infra):
    running = System(infra)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@dataclass
class Parties:
    """The funder's administrator and the organisation's user (identifiers: a fresh login
    per fault kind, since a stack replacement may come between) and the organisation id."""
    funder_identifier: str
    organisation_identifier: str
    organisation_id: str

    def funder(self, base_url: str) -> Client:
        return Client(base_url).login(self.funder_identifier, PASSWORD)

    def organisation(self, base_url: str) -> Client:
        return Client(base_url).login(self.organisation_identifier, PASSWORD)


@pytest.fixture(scope="session")
def parties(system, infra) -> Parties:
    stack = system.stack
    funder = bootstrap_funder(stack, code=f"flt-{uuid.uuid4().hex[:6]}")
    organisation, org = new_organisation(stack, infra.smtp, funder)
    letterhead_ready(org, organisation["id"])
    return Parties(funder.identifier, org.identifier, organisation["id"])


def burst_size() -> int:
    """Certifications per fault kind (JALON_FAULTS_BURST, default 300: the issue's figure)."""
    return int(os.environ.get("JALON_FAULTS_BURST", "300"))
