"""The whole stack as separate processes (tools.stack) on the real broker, fresh PostgreSQL
databases and a real SMTP server (aiosmtpd, in its own process, storing into a Maildir)."""
from __future__ import annotations

import mailbox
import socket
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.config import SERVICES
from tests.conftest import private_vhost


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class SmtpServer:
    """aiosmtpd's Mailbox handler: every message it accepts lands in a Maildir we read."""

    def __init__(self, root: Path):
        self.port = free_port()
        self.maildir = root / "maildir"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            stdout=subprocess.DEVNULL, stderr=(root / "smtp.log").open("wb"))
        wait_for_port(self.port)

    def messages(self) -> list:
        if not self.maildir.exists():
            return []
        return list(mailbox.Maildir(str(self.maildir), create=False))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack_amqp_uri():
    with private_vhost("e2e") as uri:
        yield uri


@pytest.fixture(scope="session")
def stack(tmp_path_factory, stack_amqp_uri, postgres, smtp_server):
    from tools.stack import Stack

    root = tmp_path_factory.mktemp("stack")
    env = {
        "JALON_AMQP_URI": stack_amqp_uri,
        "JALON_DATA_DIR": str(root / "var"),
        "JALON_HTTP_ADDRESS": f"127.0.0.1:{free_port()}",
        "JALON_SMTP_HOST": "127.0.0.1",
        "JALON_SMTP_PORT": str(smtp_server.port),
        "JALON_RELAY_POLL_SECONDS": "0.2",
        "JALON_LOG_FORMAT": "json",
        **{f"JALON_DB_URL_{name.upper()}": postgres.create(name) for name in SERVICES},
    }
    with Stack(env=env, log_dir=root / "logs") as running:
        running.env = env
        yield running


class Client:
    """A thin HTTP client for the gateway that remembers a bearer token."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method):
        def call(path, **kwargs):
            kwargs.setdefault("timeout", 30)
            return self.session.request(method.upper(), self.base_url + path, **kwargs)
        return call

    def login(self, identifier: str, password: str) -> "Client":
        response = self.post("/auth/login", json={"identifier": identifier, "password": password})
        assert response.status_code == 200, response.text
        return Client(self.base_url, response.json()["access_token"])


def eventually(check, timeout: float = 30.0, interval: float = 0.25):
    """Poll `check` until it returns a truthy value (an effect of an event) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not done within {timeout} s: {check.__name__}")
        time.sleep(interval)


PASSWORD = "Demo-Passw0rd!"


def month_shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture(scope="module")
def funder_admin(stack):
    code = f"tp-{uuid.uuid4().hex[:6]}"
    with ClusterRpcProxy({"AMQP_URI": stack.env["JALON_AMQP_URI"], "serializer": "json"},
                         timeout=30) as rpc:
        rpc.identity.bootstrap_funder({
            "code": code, "name": "Transitions Pro Test",
            "admin": {"identifier": f"agent-{code}", "name": "Agent Test",
                      "email": f"agent-{code}@funder.example.org", "password": PASSWORD},
        })
    return Client(stack.base_url).login(f"agent-{code}", PASSWORD)


@pytest.fixture(scope="module")
def dossier(stack, funder_admin):
    suffix = uuid.uuid4().hex[:6]
    organisation = funder_admin.post("/organisations", json={
        "name": "Centre de Formation Horizon", "siret": "73282932000074",
        "email": f"contact-{suffix}@horizon.example.org",
        "user": {"identifier": f"of-{suffix}", "name": "Claire Martin",
                 "email": f"claire-{suffix}@horizon.example.org", "password": PASSWORD},
    })
    assert organisation.status_code == 201, organisation.text
    beneficiary = funder_admin.post("/beneficiaries", json={
        "name": "DUBOIS Michelle", "email": f"michelle-{suffix}@beneficiary.example.org"})
    employer = funder_admin.post("/employers", json={
        "name": "Boulangerie Dupont", "email": f"rh-{suffix}@employer.example.org"})
    assert beneficiary.status_code == employer.status_code == 201, beneficiary.text + employer.text
    today = date.today()
    created = funder_admin.post("/dossiers", json={
        "number": f"20X{suffix}", "organisation_id": organisation.json()["id"],
        "beneficiary_id": beneficiary.json()["id"], "employer_id": employer.json()["id"],
        "training_title": "1ERE ANNEE PHARMACIE",
        "session_start": month_shift(today, -3).isoformat(),
        "session_end": (month_shift(today, 4)).isoformat(),
    })
    assert created.status_code == 201, created.text
    return {
        "id": created.json()["id"],
        "organisation": Client(stack.base_url).login(f"of-{suffix}", PASSWORD),
        "beneficiary_email": beneficiary.json()["email"],
        "employer_email": employer.json()["email"],
    }
