"""Webhooks on real RabbitMQ + PostgreSQL, delivered to a real local HTTP receiver that checks
the Standard Webhooks signature as docs/integration.md tells funders' developers to: a failed
attempt (500) is retried and ends delivered, with both attempts' outcome on record; a replay
to the webhook delivers the funder's past events."""
from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher

from contracts.envelope import new_envelope
from servicekit.db import driver_url
from tests.support.notifications import certified, validated
from tools.waiting import wait_until

pytestmark = pytest.mark.integration

CERTIFIED = "certification.month_certified.v1"


class Receiver(BaseHTTPRequestHandler):
    """A funder's endpoint: checks each POST's signature with `server.secret`, answers the
    next of `server.answers` (then 200), or 401 to a bad signature; keeps what it received."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers = {name.lower(): value for name, value in self.headers.items()}
        valid = signed_by(self.server.secret, headers, body)
        self.server.received.append({"headers": headers, "body": body, "valid": valid})
        status = (self.server.answers.pop(0) if self.server.answers else 200) if valid else 401
        answer = b"merci" if status < 300 else b"indisponible"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def signed_by(secret: str, headers: dict, body: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(signature.removeprefix("v1,"), expected)
               for signature in headers["webhook-signature"].split(" "))


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), Receiver)  # a free port
    server.secret, server.answers, server.received = "whsec_", [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def integration(service_env, container_factory, monkeypatch):
    """integration with http endpoints allowed and a backoff of a second per attempt."""
    from services.integration.service import IntegrationService

    monkeypatch.setenv("JALON_WEBHOOKS_ALLOW_HTTP", "true")
    monkeypatch.setenv("JALON_WEBHOOKS_ALLOW_PRIVATE", "true")  # the receiver is on 127.0.0.1
    monkeypatch.setenv("JALON_WEBHOOK_RETRY_DELAYS", "1,1,1")
    url = service_env("integration")
    container_factory(IntegrationService)
    return url


def send(amqp_uri: str, name: str, data) -> dict:
    envelope = new_envelope("certification", name, 1, data).model_dump(mode="json")
    event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})("certification", name,
                                                                  envelope)
    return envelope


def logged(database_url: str, funder_id: str) -> list[str]:
    """The funder's public event ids, in the log's order."""
    engine = sa.create_engine(driver_url(database_url))
    try:
        with engine.connect() as connection:
            return list(connection.scalars(sa.text(
                "SELECT id FROM public_events WHERE funder_id = :funder ORDER BY position"),
                {"funder": funder_id}))
    finally:
        engine.dispose()


def test_a_webhook_receives_signed_events_retried_after_a_500_and_replays(
        integration, amqp_uri, rpc, receiver):
    funder = f"fw{uuid.uuid4().hex[:6]}"
    admin = {"user_id": "admin", "role": "funder_admin", "funder_id": funder}
    past = send(amqp_uri, "certified", certified(funder_id=funder, month="2026-07"))
    [past_id] = wait_until(lambda: logged(integration, funder), message="the past event")

    port = receiver.server_address[1]
    webhook = rpc.integration.register_webhook(admin, {
        "url": f"http://127.0.0.1:{port}/jalon", "event_types": [CERTIFIED],
        "description": "ERP"})
    receiver.secret, receiver.answers = webhook["secret"], [500]
    send(amqp_uri, "hours_validated", validated(funder_id=funder))  # not asked for
    send(amqp_uri, "certified", certified(funder_id=funder, month="2026-08"))
    first, second = wait_until(lambda: len(receiver.received) >= 2 and receiver.received,
                               message="an attempt and its retry")
    live_id = first["headers"]["webhook-id"]
    assert second["headers"]["webhook-id"] == live_id != past_id
    assert first["valid"] and second["valid"]
    assert first["headers"]["content-type"] == "application/json"
    delivery = wait_until(lambda: [d for d in rpc.integration.list_deliveries(
        admin, webhook["id"], {}) if d["status"] == "delivered"], message="delivered")[0]
    assert delivery["event_id"] == live_id and delivery["attempts"] == 2
    assert [(a["status_code"], a["answer"]) for a in delivery["history"]] == [
        (500, "indisponible"), (200, "merci")]
    assert len(rpc.integration.list_deliveries(admin, webhook["id"], {})) == 1

    job = rpc.integration.replay_to_webhook(admin, webhook["id"], {"since": past["time"]})
    replay = rpc.integration.get_replay(admin, job["id"])
    assert (replay["webhook_id"], replay["total"]) == (webhook["id"], 2)
    wait_until(lambda: len(receiver.received) >= 4, message="the replayed events")
    assert [r["headers"]["webhook-id"] for r in receiver.received[2:]] == [past_id, live_id]
    assert all(r["valid"] for r in receiver.received)
    done = wait_until(lambda: (r := rpc.integration.get_replay(admin, replay["id"]))
                      ["status"] == "done" and r)
    assert done["sent"] == 2
    replayed = wait_until(lambda: [d for d in rpc.integration.list_deliveries(
        admin, webhook["id"], {"status": "delivered"}) if d["replay_id"] == replay["id"]]
        if len(rpc.integration.list_deliveries(admin, webhook["id"], {"status": "delivered"}))
        == 3 else None, message="the replay's deliveries delivered")
    assert [d["event_id"] for d in replayed] == [live_id, past_id]  # newest first
