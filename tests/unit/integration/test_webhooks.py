"""integration's webhooks: funder admins register HTTPS endpoints for the public events they
want; each event the funder logs is POSTed to them, signed as Standard Webhooks say, retried
with backoff for about a day, then failed; secrets rotate with an overlap; replays reach a
webhook as they reach the replay queue."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from contracts.common import Actor
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.integration import DeliveryQuery, NewWebhook, ReplayRequest
from services.integration import handlers
from services.integration.adapters import WebhookSender
from services.integration.domain import webhooks
from tests.support.notifications import certified, validated
from tests.support.public_log import integration, received

ADMIN = Actor(user_id="admin", role="funder_admin", funder_id="f1")
AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1")
ADMIN_F2 = Actor(user_id="admin-2", role="funder_admin", funder_id="f2")
CERTIFIED = "certification.month_certified.v1"
VALIDATED = "certification.hours_validated.v1"
URL = "https://si.financeur.example.org/jalon"


def register(world, actor=ADMIN, event_types=("*",), url=URL) -> dict:
    return handlers.register_webhook(world.db, world.ports, actor, NewWebhook(
        url=url, event_types=list(event_types), description="ERP"))


def log_event(world, name="certified", funder="f1") -> str:
    data = certified(funder_id=funder) if name == "certified" else validated(funder_id=funder)
    with world.db.unit_of_work() as uow:
        return handlers.translate(uow, world.ports, received("certification", name, data))


def deliver_all(world) -> int:
    sends = 0
    while handlers.deliver_next_webhook(world.db, world.ports):
        sends += 1
    return sends


def verified(secret: str, headers: dict, body: str) -> list[bool]:
    """What a receiver does (docs/integration.md): each `v1,` signature checked."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return [hmac.compare_digest(s.removeprefix("v1,"), expected)
            for s in headers["webhook-signature"].split(" ")]


def test_the_signature_is_standard_webhooks_known_answer():
    # The example of the Standard Webhooks specification, computed here by hand too.
    secret, msg_id, timestamp = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", \
        "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330
    body = '{"test": 2432232314}'
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    by_hand = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(),
                                        hashlib.sha256).digest()).decode()
    assert webhooks.signature(secret, msg_id, timestamp, body) == f"v1,{by_hand}" == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_registered_webhook_shows_its_secret_once():
    world = integration()
    created = register(world, event_types=[CERTIFIED])
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert (created["event_types"], created["active"], created["funder_id"]) == (
        [CERTIFIED], True, "f1")
    shown = handlers.get_webhook(world.db, AGENT, created["id"])
    assert "secret" not in shown and created["secret"] not in json.dumps(
        handlers.list_webhooks(world.db, AGENT))
    assert shown["url"] == URL


def test_admins_register_rotate_delete_agents_read_other_funders_see_nothing():
    world = integration()
    created = register(world)
    for write in (lambda: register(world, actor=AGENT),
                  lambda: handlers.rotate_webhook_secret(world.db, world.ports, AGENT,
                                                         created["id"]),
                  lambda: handlers.delete_webhook(world.db, world.ports, AGENT, created["id"])):
        with pytest.raises(Forbidden):
            write()
    assert handlers.list_webhooks(world.db, ADMIN_F2) == []
    for read in (lambda: handlers.get_webhook(world.db, ADMIN_F2, created["id"]),
                 lambda: handlers.rotate_webhook_secret(world.db, world.ports, ADMIN_F2,
                                                        created["id"])):
        with pytest.raises(NotFound) as missing:
            read()
        assert missing.value.code == "webhook_not_found"


@pytest.mark.parametrize("url, code", [
    ("http://si.example.org/jalon", "webhook_url_not_https"),
    ("ftp://si.example.org/jalon", "webhook_url_not_https"),
    ("https://user:secret@si.example.org/jalon", "webhook_url_with_credentials"),
    ("https://token@si.example.org/jalon", "webhook_url_with_credentials"),
    ("https:///jalon", "webhook_url_invalid"),
    ("https://si.example.org/" + "a" * 2000, "webhook_url_too_long"),
])
def test_url_rules(url, code):
    with pytest.raises(InvalidInput) as refused:
        webhooks.check_url(url, allow_http=False)
    assert refused.value.code == code


def test_http_only_where_the_setting_allows_it():
    webhooks.check_url("http://127.0.0.1:8080/hook", allow_http=True)
    world = integration(allow_http=True)
    assert register(world, url="http://127.0.0.1:8080/hook")["url"].startswith("http://")
    with pytest.raises(InvalidInput):
        register(integration(), url="http://127.0.0.1:8080/hook")


def test_event_types_are_public_keys_or_all():
    for wrong in ([], ["certification.certified"], ["*", "nope.v1"]):
        with pytest.raises(ValueError):
            NewWebhook(url=URL, event_types=wrong)
    assert NewWebhook(url=URL, event_types=[CERTIFIED, VALIDATED, CERTIFIED]).event_types == [
        VALIDATED, CERTIFIED]  # sorted, once each


def test_only_matching_events_of_the_funder_reach_active_webhooks():
    world = integration()
    everything = register(world)
    certified_only = register(world, event_types=[CERTIFIED])
    theirs = register(world, actor=ADMIN_F2)
    deleted = register(world)
    handlers.delete_webhook(world.db, world.ports, ADMIN, deleted["id"])
    log_event(world, "certified")
    log_event(world, "hours_validated")
    log_event(world, "certified", funder="f2")
    by_webhook = {}
    for delivery in world.deliveries:
        by_webhook.setdefault(delivery.webhook_id, []).append(delivery.event_type)
    assert by_webhook == {everything["id"]: [CERTIFIED, VALIDATED],
                          certified_only["id"]: [CERTIFIED], theirs["id"]: [CERTIFIED]}


def test_a_delivery_posts_the_logged_envelope_signed_and_is_delivered_on_2xx():
    world = integration()
    secret = register(world)["secret"]
    event_id = log_event(world)
    assert deliver_all(world) == 1
    [(url, body, headers)] = world.endpoint.posts
    assert url == URL and body == world.log.rows[0].envelope
    assert headers["webhook-id"] == event_id == json.loads(body)["id"]
    assert headers["webhook-timestamp"] == str(int(world.clock().timestamp()))
    assert headers["content-type"] == "application/json"
    assert verified(secret, headers, body) == [True]
    [delivery] = world.deliveries
    assert (delivery.status, delivery.attempts, delivery.last_status_code,
            delivery.delivered_at) == ("delivered", 1, 200, world.clock())


def test_failures_are_retried_with_backoff_for_about_a_day_then_failed():
    world = integration()
    webhook = register(world)
    log_event(world)
    world.endpoint.answers = [500, ConnectionError("refused"), 503, 404, 500, 302, 500, 500]
    waits = []
    while world.deliveries[0].status == "pending":
        assert handlers.deliver_next_webhook(world.db, world.ports) == 1
        delivery = world.deliveries[0]
        if delivery.status == "pending":
            waits.append(delivery.next_attempt_at - world.clock())
            world.clock.now = delivery.next_attempt_at - timedelta(seconds=1)
            assert handlers.deliver_next_webhook(world.db, world.ports) == 0  # not yet due
            world.clock.advance(seconds=1)
    assert waits == list(webhooks.RETRY_DELAYS)
    assert timedelta(hours=24) < sum(waits, timedelta()) < timedelta(hours=30)
    [failed] = handlers.list_deliveries(world.db, AGENT, webhook["id"], DeliveryQuery())
    assert (failed["status"], failed["attempts"], failed["last_status_code"]) == (
        "failed", 8, 500)
    assert [a["status_code"] for a in failed["history"]] == [
        500, None, 503, 404, 500, 302, 500, 500]
    assert failed["history"][1]["error"] == "ConnectionError: refused"
    assert failed["next_attempt_at"] is None and len(world.endpoint.posts) == 8
    # every attempt carries the same webhook-id: the receiver can drop a repeat
    assert len({headers["webhook-id"] for _, _, headers in world.endpoint.posts}) == 1


def test_a_failed_delivery_is_retried_now_on_request():
    world = integration(retry_delays=(timedelta(seconds=5),))
    webhook = register(world)
    log_event(world)
    world.endpoint.answers = [500, 500, 200]
    handlers.deliver_next_webhook(world.db, world.ports)
    delivery_id = world.deliveries[0].id
    with pytest.raises(Conflict) as busy:
        handlers.retry_delivery(world.db, world.ports, ADMIN, webhook["id"], delivery_id)
    assert busy.value.code == "delivery_not_failed"
    world.clock.advance(seconds=5)
    handlers.deliver_next_webhook(world.db, world.ports)
    assert world.deliveries[0].status == "failed"
    with pytest.raises(Forbidden):
        handlers.retry_delivery(world.db, world.ports, AGENT, webhook["id"], delivery_id)
    retried = handlers.retry_delivery(world.db, world.ports, ADMIN, webhook["id"], delivery_id)
    assert retried["status"] == "pending"
    assert deliver_all(world) == 1
    shown = handlers.get_delivery(world.db, AGENT, webhook["id"], delivery_id)
    assert (shown["status"], shown["attempts"]) == ("delivered", 3)


def test_an_answer_is_kept_to_its_first_2_kb():
    attempt = webhooks.outcome(1, None, 500, "x" * 5000, None)
    assert len(attempt.answer) == 2048


def test_a_rotation_signs_with_both_secrets_during_the_overlap_then_the_new_one():
    world = integration(secret_overlap=timedelta(hours=24))
    old = register(world)
    rotated = handlers.rotate_webhook_secret(world.db, world.ports, ADMIN, old["id"])
    assert rotated["secret"] != old["secret"]
    assert rotated["previous_secret_until"] is not None
    log_event(world)
    deliver_all(world)
    _, body, headers = world.endpoint.posts[-1]
    assert verified(rotated["secret"], headers, body) == [True, False]
    assert verified(old["secret"], headers, body) == [False, True]
    world.clock.advance(hours=24)
    log_event(world, "hours_validated")
    deliver_all(world)
    _, body, headers = world.endpoint.posts[-1]
    assert verified(rotated["secret"], headers, body) == [True]


def test_a_deleted_webhook_stops_its_pending_deliveries():
    world = integration()
    webhook = register(world)
    log_event(world)
    deleted = handlers.delete_webhook(world.db, world.ports, ADMIN, webhook["id"])
    assert (deleted["active"], deleted["disabled_at"]) == (False, world.clock().isoformat()
                                                           .replace("+00:00", "Z"))
    assert deliver_all(world) == 0 and world.endpoint.posts == []
    [cancelled] = handlers.list_deliveries(world.db, ADMIN, webhook["id"],
                                           DeliveryQuery(status="cancelled"))
    assert cancelled["status"] == "cancelled"
    with pytest.raises(Conflict) as gone:
        handlers.rotate_webhook_secret(world.db, world.ports, ADMIN, webhook["id"])
    assert gone.value.code == "webhook_deleted"


def test_a_sender_that_died_mid_send_loses_its_attempt_and_the_next_one_sends():
    world = integration()
    register(world)
    log_event(world)
    with world.db.unit_of_work() as uow:  # a sender claims it, then dies
        delivery = uow.deliveries.next_due(world.clock())
        delivery.claim(world.clock(), world.ports.webhooks)
        uow.deliveries.save(delivery)
    assert handlers.deliver_next_webhook(world.db, world.ports) == 0  # its lease holds
    world.clock.advance(seconds=61)
    assert deliver_all(world) == 1
    [delivery] = world.deliveries
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert [a.error for a in delivery.history] == ["claim_expired", None]


def test_deliveries_are_listed_newest_first_by_page_and_status():
    world = integration()
    webhook = register(world)
    ids = [log_event(world, "certified" if n % 2 else "hours_validated") for n in range(5)]
    world.endpoint.answers = [200, 500]
    handlers.deliver_next_webhook(world.db, world.ports)
    handlers.deliver_next_webhook(world.db, world.ports)
    page = handlers.list_deliveries(world.db, AGENT, webhook["id"],
                                    DeliveryQuery(limit=2, offset=1))
    assert [d["event_id"] for d in page] == [ids[3], ids[2]]
    assert [d["event_id"] for d in handlers.list_deliveries(
        world.db, AGENT, webhook["id"], DeliveryQuery(status="delivered"))] == [ids[0]]
    with pytest.raises(NotFound):
        handlers.list_deliveries(world.db, ADMIN_F2, webhook["id"], DeliveryQuery())
    with pytest.raises(NotFound) as missing:
        handlers.get_delivery(world.db, AGENT, webhook["id"], "inconnu")
    assert missing.value.code == "delivery_not_found"


def test_a_replay_to_a_webhook_delivers_the_past_events_it_wants_in_order():
    world = integration()
    ids = [log_event(world, name) for name in ("certified", "hours_validated", "certified")]
    log_event(world, "certified", funder="f2")
    webhook = register(world, event_types=[CERTIFIED])
    assert world.deliveries == []  # registered after them
    job = handlers.replay_to_webhook(world.db, world.ports, ADMIN, webhook["id"],
                                     ReplayRequest(since=world.log.rows[0].occurred_at))
    replay = handlers.get_replay(world.db, ADMIN, job["id"])
    assert (replay["webhook_id"], replay["queue"], replay["total"]) == (webhook["id"], None, 2)
    assert world.run_replay(job["id"])["summary"] == {"sent": 2}
    assert [(d.event_id, d.replay_id) for d in world.deliveries] == [
        (ids[0], replay["id"]), (ids[2], replay["id"])]
    assert world.queues.received == {}  # not to the replay queue
    done = handlers.get_replay(world.db, AGENT, replay["id"])
    assert (done["status"], done["sent"]) == ("done", 2)
    deliver_all(world)
    assert [headers["webhook-id"] for _, _, headers in world.endpoint.posts] == [ids[0], ids[2]]


def test_a_replay_to_a_webhook_follows_the_replays_rules():
    world = integration(retention_days=30)
    webhook = register(world)
    with pytest.raises(InvalidInput) as refused:
        handlers.replay_to_webhook(world.db, world.ports, ADMIN, webhook["id"], ReplayRequest(
            since=world.clock() - timedelta(days=31)))
    assert refused.value.code == "replay_beyond_retention"
    with pytest.raises(NotFound):
        handlers.replay_to_webhook(world.db, world.ports, ADMIN, webhook["id"],
                                   ReplayRequest(after_event_id="inconnu"))
    with pytest.raises(Forbidden):
        handlers.replay_to_webhook(world.db, world.ports, AGENT, webhook["id"],
                                   ReplayRequest(after_event_id="inconnu"))


def test_a_replay_to_a_deleted_webhook_ends():
    world = integration()
    log_event(world)
    webhook = register(world)
    job = handlers.replay_to_webhook(world.db, world.ports, ADMIN, webhook["id"],
                                     ReplayRequest(since=world.log.rows[0].occurred_at))
    handlers.delete_webhook(world.db, world.ports, ADMIN, webhook["id"])
    assert world.run_replay(job["id"])["status"] == "succeeded"
    assert handlers.get_replay(world.db, ADMIN, job["id"])["status"] == "done"
    assert world.deliveries == []


def test_an_endpoint_on_a_private_network_or_this_machine_is_refused_and_never_posted_to():
    world = integration()
    world.endpoint.private_hosts.add("si.financeur.example.org")
    with pytest.raises(InvalidInput) as refused:
        register(world)
    assert refused.value.code == "webhook_url_not_public"
    # A public name that later resolves to a private address: the send is refused, retried.
    world.endpoint.private_hosts.clear()
    register(world)
    world.endpoint.private_hosts.add("si.financeur.example.org")
    log_event(world)
    deliver_all(world)
    assert world.endpoint.posts == []


@pytest.mark.parametrize("url", ["https://127.0.0.1/h", "https://10.1.2.3/h",
                                 "https://169.254.169.254/latest", "https://[::1]/h",
                                 "https://localhost/h", "https://192.168.0.10:8443/h"])
def test_the_sender_refuses_addresses_that_are_not_public(url):
    with pytest.raises(webhooks.UnsafeAddress):
        WebhookSender(timeout=1).check(url)
    WebhookSender(timeout=1, allow_private=True).check(url)  # development and tests


def test_the_sender_lets_a_public_address_through():
    WebhookSender(timeout=1).check("https://93.184.215.14/hook")
