"""Issue 17's acceptance on the running stack: a funder's system, from docs/integration.md
alone, gets its broker access (tools.integration grant), subscribes to its own public events
over AMQP (pika, as docs/integration/subscriber.py does) and by webhook (signed, retried),
replays last month on its replay queue, and receives nothing of another funder's."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import threading
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pika
import pytest

from contracts.integration import replay_queue
from tests.support.gateway import (bootstrap_funder, enter_month, letterhead_ready, month_shift,
                                   new_organisation, sign_month)
from tests.support.public_events import user_uri
from tools.integration import Rabbitmqctl, grant, live_queue, revoke
from tools.waiting import wait_until

pytestmark = pytest.mark.e2e
PERSONAL = ("@", "DUBOIS", "Michelle", "127.0.0.1")


@pytest.fixture(scope="module")
def funders(stack):
    if not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmqctl is needed to create the funders' broker users")
    amqp, ctl = stack.env["JALON_AMQP_URI"], Rabbitmqctl("rabbitmqctl")
    clients = {label: bootstrap_funder(stack) for label in ("a", "b")}
    ids = {label: client.get("/me").json()["user"]["funder_id"]
           for label, client in clients.items()}
    uris = {}
    for label, funder_id in ids.items():
        password = f"Pw-{uuid.uuid4().hex}"
        grant(ctl, amqp, funder_id, password)
        uris[label] = user_uri(amqp, funder_id, password)
    yield {"clients": clients, "ids": ids, "uris": uris}
    for funder_id in ids.values():
        revoke(ctl, amqp, funder_id)


def received(uri: str, queue: str, expected: int = 1, timeout: float = 30) -> list[dict]:
    """The envelopes on `queue`, read and acked as the funder's user: once at least
    `expected` have come (`expected=0`: what is there now)."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel, found = connection.channel(), []

    def drain() -> list[dict]:
        while (message := channel.basic_get(queue, auto_ack=False))[0] is not None:
            found.append(json.loads(message[2]))
            channel.basic_ack(message[0].delivery_tag)
        return found if len(found) >= expected else []
    try:
        return wait_until(drain, timeout, message=f"{expected} event(s) on {queue}") \
            if expected else drain()
    finally:
        connection.close()


class Receiver(ThreadingHTTPServer):
    """A funder's HTTP endpoint: keeps each POST (headers, body); answers 500 to the first,
    as a system briefly down would, then 200."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        self.posts: list[tuple[dict, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            self.server.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(500 if len(self.server.posts) == 1 else 200)
            self.end_headers()

        def log_message(self, *args):
            pass


@pytest.fixture(scope="module")
def webhook(funders):
    """Funder A's endpoint, registered before the certification."""
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    registered = funders["clients"]["a"].post("/webhooks", json={
        "url": f"http://127.0.0.1:{receiver.server_address[1]}/jalon",
        "event_types": ["certification.month_certified.v1"], "description": "SI"})
    assert registered.status_code == 201, registered.text
    yield {"receiver": receiver, **registered.json()}
    receiver.shutdown()


def signed(webhook: dict, headers: dict, body: str) -> bool:
    """docs/integration.md's check of a delivery's signature."""
    key = base64.b64decode(webhook["secret"].removeprefix("whsec_"))
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(part.removeprefix("v1,"), expected)
               for part in headers["webhook-signature"].split())


@pytest.fixture(scope="module")
def certified(stack, smtp_server, funders, webhook):
    """Funder A's organisation certifies last month of a dossier."""
    funder = funders["clients"]["a"]
    organisation, org = new_organisation(stack, smtp_server, funder)
    letterhead_ready(org, organisation["id"])
    beneficiary = funder.post("/beneficiaries", json={
        "name": "DUBOIS Michelle", "email": f"m-{uuid.uuid4().hex[:6]}@beneficiary.example.org"})
    today = date.today()
    dossier = funder.post("/dossiers", json={
        "number": f"PE{uuid.uuid4().hex[:6]}", "organisation_id": organisation["id"],
        "beneficiary_id": beneficiary.json()["id"], "employer_id": None,
        "training_title": "BTS Tourisme", "session_start": str(month_shift(today, -3)),
        "session_end": str(month_shift(today, 3))}).json()
    month = month_shift(today, -1).strftime("%Y-%m")
    url = f"/dossiers/{dossier['id']}/certificates/{month}"
    enter_month(org, url, "70")
    sign_month(org, dossier["id"], month)
    done = org.post(f"{url}/certify", json={"attest": True})
    assert done.status_code == 200, done.text
    return {"dossier": dossier, "month": month}


def test_a_funder_receives_its_own_certification_minimal_and_b_nothing(funders, certified):
    a = funders["ids"]["a"]
    [event] = [e for e in received(funders["uris"]["a"], live_queue(a))
               if e["type"] == "fr.jalon.certification.month_certified"]
    data = event["data"]
    assert (data["dossier_number"], data["month"]) == (certified["dossier"]["number"],
                                                       certified["month"])
    assert data["hours"]["training"] == "70.00"
    assert not any(mark in json.dumps(event, ensure_ascii=False) for mark in PERSONAL)
    assert received(funders["uris"]["b"], live_queue(funders["ids"]["b"]), expected=0) == []


def test_a_funder_replays_last_month_on_its_own_queue(funders, certified):
    a, client = funders["ids"]["a"], funders["clients"]["a"]
    since = f"{month_shift(date.today(), -1).isoformat()}T00:00:00+00:00"
    started = client.post("/integration/replays", json={"since": since})
    assert started.status_code == 202, started.text
    job = wait_until(lambda: (lambda j: j if j["status"] == "succeeded" else None)(
        client.get(started.headers["Location"]).json()), message="the replay's job is done")
    replay = client.get(f"/integration/replays/{job['id']}").json()
    assert replay["status"] == "done"
    assert replay["sent"] == replay["total"] == job["summary"]["sent"] >= 1
    events = received(funders["uris"]["a"], replay_queue(a), expected=replay["total"])
    assert len({e["id"] for e in events}) == len(events) == replay["total"]  # once each
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)  # in order
    assert certified["dossier"]["id"] in {e["data"].get("dossier_id") for e in events}
    # Funder B's staff cannot replay A's events into anything: B's own replay holds none.
    b_client = funders["clients"]["b"]
    b_replay = b_client.post("/integration/replays", json={"since": since}).json()
    assert wait_until(lambda: b_client.get(f"/integration/replays/{b_replay['id']}").json()[
        "status"] == "done")
    assert received(funders["uris"]["b"], replay_queue(funders["ids"]["b"]), expected=0) == []
    assert b_client.get(f"/jobs/{job['id']}").status_code == 404  # nor see A's replay


def test_a_funder_receives_its_events_by_webhook_signed_and_retried(funders, webhook, certified):
    receiver, client = webhook["receiver"], funders["clients"]["a"]
    posts = wait_until(lambda: receiver.posts if len(receiver.posts) >= 2 else [],
                       message="the delivery, answered 500 then retried")
    (first_headers, first), (headers, body) = posts[:2]
    assert headers["webhook-id"] == first_headers["webhook-id"] and body == first
    assert signed(webhook, headers, body)
    event = json.loads(body)
    assert event["type"] == "fr.jalon.certification.month_certified"
    assert event["data"]["dossier_number"] == certified["dossier"]["number"]
    deliveries = wait_until(lambda: [d for d in client.get(
        f"/webhooks/{webhook['id']}/deliveries").json() if d["status"] == "delivered"])
    assert deliveries[0]["attempts"] == 2
    # Another funder's staff sees nothing of it.
    assert funders["clients"]["b"].get(f"/webhooks/{webhook['id']}").status_code == 404
