"""The whole stack as separate processes (tools.stack) on the real broker, fresh PostgreSQL
databases and a real SMTP server (aiosmtpd, in its own process, storing into a Maildir)."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from servicekit import registry
from tests.conftest import BROKER
from tests.support.gateway import bootstrap_funder, letterhead_ready, month_shift, new_organisation
from tools.smtp import SmtpServer, free_port
from tools.sandbox import private_vhost


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    server = SmtpServer(tmp_path_factory.mktemp("smtp"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack_amqp_uri():
    with private_vhost(BROKER, "e2e") as uri:
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
        # Webhooks reach the tests' receiver on 127.0.0.1, over http, and retry at once.
        "JALON_WEBHOOKS_ALLOW_HTTP": "true", "JALON_WEBHOOKS_ALLOW_PRIVATE": "true",
        "JALON_WEBHOOK_RETRY_DELAYS": "0.5,1,1,1",
        # A job whose process is killed is resumed after this long (test_jobs kills one).
        "JALON_JOB_STALE_SECONDS": "6",
        **{f"JALON_DB_URL_{name.upper()}": postgres.create(name) for name in registry.databases()},
    }
    with Stack(env=env, log_dir=root / "logs") as running:
        running.env = env
        yield running


@pytest.fixture(scope="module")
def funder_admin(stack):
    return bootstrap_funder(stack)


@pytest.fixture(scope="module")
def dossier(stack, smtp_server, funder_admin):
    suffix = uuid.uuid4().hex[:6]
    organisation, organisation_client = new_organisation(stack, smtp_server, funder_admin)
    letterhead_ready(organisation_client, organisation["id"])  # before any entry of hours
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


@pytest.fixture(scope="module")
def world(stack, smtp_server):
    """A funder of its own (its settings change here), an organisation, a dossier whose
    session began three months ago, with a forecast of 7 h on the first day of last month."""
    funder = bootstrap_funder(stack)
    organisation, org = new_organisation(stack, smtp_server, funder)
    suffix = uuid.uuid4().hex[:6]
    beneficiary = funder.post("/beneficiaries", json={
        "name": "DUBOIS Michelle", "email": f"michelle-{suffix}@beneficiary.example.org"})
    assert beneficiary.status_code == 201, beneficiary.text
    today = date.today()
    last_month = month_shift(today, -1)
    number = f"CR{suffix}"
    created = funder.post("/dossiers", json={
        "number": number, "organisation_id": organisation["id"],
        "beneficiary_id": beneficiary.json()["id"], "training_title": "1ERE ANNEE PHARMACIE",
        "session_start": month_shift(today, -3).isoformat(),
        "session_end": month_shift(today, 4).isoformat(),
        "forecast": [{"day": last_month.isoformat(), "training_hours": "7,00"}]})
    assert created.status_code == 201, created.text
    letterhead_ready(org, organisation["id"])
    return {"funder": funder, "org": org, "organisation_id": organisation["id"],
            "dossier_id": created.json()["id"], "number": number,
            "funder_id": created.json()["funder_id"],
            "beneficiary_email": beneficiary.json()["email"],
            "base": f"/dossiers/{created.json()['id']}/certificates",
            "month": last_month.strftime("%Y-%m"), "last_month": last_month}
