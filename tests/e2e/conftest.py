"""The whole stack as separate processes (tools.stack) on the real broker, fresh PostgreSQL
databases and a real SMTP server (aiosmtpd, in its own process, storing into a Maildir)."""
from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.config import SERVICES
from tests.conftest import private_vhost
from tools.demo import Gateway, provisional_password
from tools.smtp import SmtpServer, free_port


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
        # Tests name the caller's address in X-Forwarded-For (per-address limits).
        "JALON_TRUSTED_PROXIES": "1",
        # The whole suite logs in wrongly and asks resets from 127.0.0.1 (the access matrix
        # alone asks 11 resets): the per-address limits are tested on other addresses.
        "JALON_RESET_MAX_PER_ADDRESS": "50",
        "JALON_IP_MAX_FAILURES": "100",
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
        """A client of a new session; an account created with its password (a bootstrapped
        funder administrator) accepts the privacy policy at its first login."""
        response = self.post("/auth/login", json={"identifier": identifier, "password": password})
        assert response.status_code == 200, response.text
        session = response.json()
        client = Client(self.base_url, session["access_token"])
        if session["privacy_policy_pending"] and not session["must_personalise"]:
            Gateway(self.base_url).accept_privacy_policy(session["access_token"])
        return client


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


def first_login(stack, smtp_server, identifier: str, email: str,
                new_identifier: str | None = None) -> Client:
    """The first login of an account created without a password: the provisional password
    read from the email the SMTP server received, the identifier personalised (confirmed by
    the emailed link when it changes), the privacy policy accepted. A client of that session."""
    gateway = Gateway(stack.base_url)
    token = gateway.first_login(identifier, provisional_password(smtp_server.emails, email),
                                new_identifier or identifier, PASSWORD, smtp_server.emails,
                                confirmations_seen=0)
    return Client(stack.base_url, token)


def bootstrap_funder(stack, code: str | None = None) -> Client:
    """A new funder and its administrator, logged in with the privacy policy accepted."""
    code = code or f"tp-{uuid.uuid4().hex[:6]}"
    with ClusterRpcProxy({"AMQP_URI": stack.env["JALON_AMQP_URI"], "serializer": "json"},
                         timeout=30) as rpc:
        rpc.identity.bootstrap_funder({
            "code": code, "name": "Transitions Pro Test",
            "admin": {"identifier": f"agent-{code}", "name": "Agent Test",
                      "email": f"agent-{code}@funder.example.org", "password": PASSWORD},
        })
    client = Client(stack.base_url).login(f"agent-{code}", PASSWORD)
    client.identifier = f"agent-{code}"
    return client


def new_organisation(stack, smtp_server, funder: Client, siret: str = "73282932000074",
                     name: str = "Centre de Formation Horizon") -> tuple[dict, Client]:
    """An organisation created by `funder` and its first user through the first login:
    (the organisation, a client of its administrator, identifier `of-<suffix>`)."""
    suffix = uuid.uuid4().hex[:6]
    email = f"claire-{suffix}@horizon.example.org"
    organisation = funder.post("/organisations", json={
        "name": name, "siret": siret, "email": f"contact-{suffix}@horizon.example.org",
        "user": {"identifier": f"of-{suffix}", "name": "Claire Martin", "email": email},
    })
    assert organisation.status_code == 201, organisation.text
    client = first_login(stack, smtp_server, f"of-{suffix}", email)
    client.identifier, client.email = f"of-{suffix}", email
    return organisation.json(), client


@pytest.fixture(scope="module")
def funder_admin(stack):
    return bootstrap_funder(stack)


@pytest.fixture(scope="module")
def dossier(stack, smtp_server, funder_admin):
    suffix = uuid.uuid4().hex[:6]
    organisation, organisation_client = new_organisation(stack, smtp_server, funder_admin)
    beneficiary = funder_admin.post("/beneficiaries", json={
        "name": "DUBOIS Michelle", "email": f"michelle-{suffix}@beneficiary.example.org"})
    employer = funder_admin.post("/employers", json={
        "name": "Boulangerie Dupont", "email": f"rh-{suffix}@employer.example.org"})
    assert beneficiary.status_code == employer.status_code == 201, beneficiary.text + employer.text
    today = date.today()
    created = funder_admin.post("/dossiers", json={
        "number": f"20X{suffix}", "organisation_id": organisation["id"],
        "beneficiary_id": beneficiary.json()["id"], "employer_id": employer.json()["id"],
        "training_title": "1ERE ANNEE PHARMACIE",
        "session_start": month_shift(today, -3).isoformat(),
        "session_end": (month_shift(today, 4)).isoformat(),
    })
    assert created.status_code == 201, created.text
    return {
        "id": created.json()["id"],
        "organisation": organisation_client,
        "organisation_id": organisation["id"],
        "beneficiary_email": beneficiary.json()["email"],
        "employer_email": employer.json()["email"],
    }
