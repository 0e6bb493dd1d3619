"""integration's use cases: the internal events a funder's systems may know, logged as public
events (contracts/public.py) for the relay to publish; replays of a funder's log; retention;
webhooks and their deliveries.

A translation appends one row to the log in the transaction that records the internal event
as processed, and one delivery per webhook of the funder that wants it. The relay
(adapters.PublicEventRelay) publishes the rows in order once committed; the webhook sender
(adapters.WebhookDelivery) POSTs the deliveries. A replay is a job (servicekit.jobs): it sends
a batch per transaction (or creates a batch of deliveries, to a webhook) and records its
progress in it: after a crash the batch is sent again, and subscribers drop the copies by
event id.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

from contracts import public
from contracts.common import Actor
from contracts.common.access import require_funder_staff
from contracts.common.errors import Conflict, InvalidInput, NotFound
from contracts.envelope import Envelope, cloud_type
from contracts.integration import Delivery as DeliveryShape
from contracts.integration import (DeliveryAttempt, DeliveryQuery, NewWebhook, ReplayRequest,
                                   WebhookSecret, replay_queue)
from contracts.integration import Replay as ReplayShape
from contracts.integration import Webhook as WebhookShape
from servicekit.logging import get_logger
from services.integration import domain
from services.integration.domain import DONE, Replay, webhooks
from services.integration.domain.webhooks import (DELIVERED, FAILED, PENDING, SENDING,
                                                  Delivery, Webhook, WebhookPolicy)

log = get_logger(__name__)

REPLAY = "integration.replay"  # the job kind (servicekit.jobs)
EVENTS = "events"  # its one phase
REPLAY_BATCH = 100
ENDED_EARLY = ("cancelled", "failed")  # a job's end that leaves its replay unfinished

TRANSLATIONS = {
    cloud_type("certification", "certified"): (public.MONTH_CERTIFIED, domain.month_certified),
    cloud_type("certification", "hours_validated"): (public.HOURS_VALIDATED,
                                                     domain.hours_validated),
    cloud_type("certification", "hours_contested"): (public.HOURS_CONTESTED,
                                                     domain.hours_contested),
    cloud_type("certification", "certificate_reopened"): (public.MONTH_REOPENED,
                                                          domain.month_reopened),
    cloud_type("payments", "payment_issued"): (public.PAYMENT_ISSUED, domain.payment_issued),
    cloud_type("documents", "document_checked"): (public.DOCUMENT_REVIEWED,
                                                  domain.document_checked),
    cloud_type("documents", "document_rejected"): (public.DOCUMENT_REVIEWED,
                                                   domain.document_rejected),
}


class ReplayQueue(Protocol):
    def send(self, queue: str, envelope: str, event_id: str,
             correlation_id: str | None) -> None:
        """Publish the envelope (JSON) to the funder's replay queue, confirmed by the broker."""


class WebhookSender(Protocol):
    def check(self, url: str) -> None:
        """Raises webhooks.UnsafeAddress when the host is or resolves to a non-public
        address (unless a setting allows them, for development and tests)."""

    def post(self, url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
        """POST the body, redirects not followed, to a public address only (`check`, again
        at each send: a name may resolve elsewhere later); the answer's status and its
        first 2 KB. Raises when no answer comes (timeout, connection refused...)."""


@dataclass(frozen=True)
class Ports:
    clock: Callable[[], datetime]
    retention: timedelta
    replays: ReplayQueue
    sender: WebhookSender | None = None
    webhooks: WebhookPolicy = WebhookPolicy()
    random_bytes: Callable[[int], bytes] = os.urandom


class Event(Protocol):
    id: str
    envelope: Envelope
    data: object


# ---- the public log --------------------------------------------------------------------------

def translate(uow, ports: Ports, event: Event) -> str:
    """Log the public event an internal event makes, with its deliveries to the funder's
    webhooks that want it; its id (the same on a redelivery)."""
    spec, translation_of = TRANSLATIONS[event.envelope.type]
    translation = translation_of(event.data)
    payload = spec.model.model_validate(translation.fields)  # extra="forbid": nothing more
    event_id = domain.public_event_id(event.id, spec.key)
    if uow.public_events.exists(event_id):
        log.info("public_event_already_logged", event_id=event_id)
        return event_id
    envelope = Envelope(
        id=event_id, source=f"jalon/{spec.service}", type=cloud_type(spec.service, spec.name),
        subject=translation.subject, time=event.envelope.time, schemaversion=spec.version,
        correlationid=event.envelope.correlationid, data=payload.model_dump(mode="json"))
    body = envelope.model_dump_json()
    uow.public_events.add(event_id, translation.funder_id,
                          public.public_routing_key(translation.funder_id, spec), envelope.type,
                          envelope.correlationid, body, envelope.time)
    for webhook in uow.webhooks.of_funder(translation.funder_id, active_only=True):
        if webhook.wants(spec.key):
            _add_delivery(uow, webhook, event_id, spec.key, body, ports.clock())
    log.info("public_event_logged", event_id=event_id, funder_id=translation.funder_id,
             key=spec.key)
    return event_id


def prune_public_events(db, ports: Ports) -> int:
    """Forget the published events older than the retention; how many."""
    with db.unit_of_work() as uow:
        removed = uow.public_events.delete_published_before(ports.clock() - ports.retention)
    if removed:
        log.info("public_events_pruned", count=removed)
    return removed


# ---- replays ---------------------------------------------------------------------------------

def start_replay(db, ports: Ports, actor: Actor, request: ReplayRequest) -> dict:
    require_funder_staff(actor)
    return _begin_replay(db, ports, actor, request)


def _begin_replay(db, ports: Ports, actor: Actor, request: ReplayRequest,
                  webhook_id: str | None = None) -> dict:
    """To the funder's replay queue, or (`webhook_id`) as deliveries to that webhook: a job
    (docs/jobs.md) that run_replay does; the same request while its job is queued or running
    gets that job back."""
    _check_retention(ports, request)
    with db.unit_of_work() as uow:
        webhook = _webhook(uow, actor, webhook_id, active=True) if webhook_id else None
        job = _submit_replay(uow, ports, actor, request, webhook)
        uow.keep_reply(job)
    return job


def _check_retention(ports: Ports, request: ReplayRequest) -> None:
    if request.since is not None and request.since < ports.clock() - ports.retention:
        raise InvalidInput("replay_beyond_retention",
                           f"Les événements ne sont gardés que {ports.retention.days} jours : "
                           "choisissez une date plus récente.",
                           {"retention_days": ports.retention.days})


def _submit_replay(uow, ports: Ports, actor: Actor, request: ReplayRequest,
                   webhook: Webhook | None) -> dict:
    """The replay's job, and the replay under the job's id: bounded by what is logged now,
    to the queue or to `webhook`."""
    events, funder_id = uow.public_events, actor.funder_id
    if request.after_event_id is not None:
        start = events.position_of(funder_id, request.after_event_id)
        if start is None:
            raise NotFound("public_event_not_found",
                           "Événement introuvable (inconnu, ou plus ancien que la durée de "
                           "conservation).")
    else:
        start = events.position_before(funder_id, request.since)
    end = max(events.last_position(), start)
    total = events.count(funder_id, start, end, _routing_keys(webhook))
    payload = {**request.model_dump(mode="json"), "webhook_id": webhook and webhook.id}
    # Asked again once over, a replay is sent again: only a pending one is the same.
    job = uow.jobs.submit(REPLAY, actor, payload, {EVENTS: total}, window=timedelta(0))
    if not job["resubmitted"]:
        uow.replays.add(Replay.start(job["id"], funder_id, request.since,
                                     request.after_event_id, start, end, total, actor.user_id,
                                     ports.clock(), webhook_id=webhook and webhook.id))
        log.info("replay_started", replay_id=job["id"], funder_id=funder_id, total=total)
    return job


def get_replay(db, actor: Actor, replay_id: str) -> dict:
    require_funder_staff(actor)
    with db.reading() as reading:
        replay = reading.replays.get(actor.funder_id, replay_id)
        if replay is None:
            raise NotFound("replay_not_found", "Rejeu introuvable.")
        return _shape(replay, reading.jobs.statuses([replay.id]))


def list_replays(db, actor: Actor) -> list[dict]:
    """The funder's replays, newest first."""
    require_funder_staff(actor)
    with db.reading() as reading:
        found = reading.replays.of_funder(actor.funder_id)
        statuses = reading.jobs.statuses([replay.id for replay in found])
        return [_shape(replay, statuses) for replay in found]


def run_replay(db, ports: Ports, step) -> None:
    """The replay job: a batch per transaction, its progress recorded in it. Resumed, it goes
    on after the last batch recorded; a batch sent but not recorded (a crash between) is sent
    again, and subscribers drop the copies by event id."""
    funder_id = step.actor.funder_id
    while True:
        with db.unit_of_work() as uow:
            replay = uow.replays.get(funder_id, step.job_id)
            if replay.status == DONE:
                break
            if replay.webhook_id is None:
                batch = _send_to_queue(uow, ports, replay)
            else:
                batch = _deliver_to_webhook(uow, ports, replay)
            replay.advance(batch[-1][0] if batch else None, len(batch), ports.clock())
            uow.replays.save(replay)
            uow.jobs.record(step, EVENTS, len(batch))
        log.info("replay_progressed", replay_id=replay.id, sent=replay.sent,
                 total=replay.total, status=replay.status)
        step.raise_if_cancelled()
    step.finish({"sent": replay.sent})


def _send_to_queue(uow, ports: Ports, replay: Replay) -> list[tuple]:
    batch = uow.public_events.batch(replay.funder_id, replay.sent_position,
                                    replay.end_position, REPLAY_BATCH)
    queue = replay_queue(replay.funder_id)
    for _position, event_id, correlation_id, envelope, _key in batch:
        ports.replays.send(queue, envelope, event_id, correlation_id)
    return batch


def _deliver_to_webhook(uow, ports: Ports, replay: Replay) -> list[tuple]:
    """The batch's deliveries, marked with the replay; none once the webhook is deleted
    (the replay then ends)."""
    webhook = uow.webhooks.get(replay.funder_id, replay.webhook_id)
    if not webhook.active:
        return []
    batch = uow.public_events.batch(replay.funder_id, replay.sent_position,
                                    replay.end_position, REPLAY_BATCH, _routing_keys(webhook))
    prefix = f"{replay.funder_id}."
    for _position, event_id, _correlation_id, envelope, routing_key in batch:
        _add_delivery(uow, webhook, event_id, routing_key.removeprefix(prefix), envelope,
                      ports.clock(), replay.id)
    return batch


def _shape(replay: Replay, job_statuses: dict[str, str]) -> dict:
    """Cancelled or failed as its job, when the job ended before the replay did."""
    job_status = job_statuses.get(replay.id)
    status = job_status if replay.status != DONE and job_status in ENDED_EARLY \
        else replay.status
    return ReplayShape(
        id=replay.id, funder_id=replay.funder_id, status=status, since=replay.since,
        after_event_id=replay.after_event_id, webhook_id=replay.webhook_id,
        queue=None if replay.webhook_id else replay_queue(replay.funder_id),
        total=replay.total, sent=replay.sent, created_by=replay.created_by,
        created_at=replay.created_at, finished_at=replay.finished_at).model_dump(mode="json")


# ---- webhooks --------------------------------------------------------------------------------

def register_webhook(db, ports: Ports, actor: Actor, request: NewWebhook) -> dict:
    """The webhook with its secret, shown this once."""
    webhooks.require_funder_admin(actor)
    webhooks.check_url(request.url, ports.webhooks.allow_http)
    try:
        ports.sender.check(request.url)
    except webhooks.UnsafeAddress:
        raise webhooks.refuse_unsafe_address(request.url) from None
    webhook = Webhook(str(uuid.uuid4()), actor.funder_id, request.url, request.event_types,
                      request.description, _new_secret(ports), actor.user_id, ports.clock())
    with db.unit_of_work() as uow:
        uow.webhooks.add(webhook)
    log.info("webhook_registered", webhook_id=webhook.id, funder_id=webhook.funder_id,
             event_types=webhook.event_types)
    return _webhook_shape(webhook, with_secret=True)


def list_webhooks(db, actor: Actor) -> list[dict]:
    """The funder's webhooks, deleted ones included, oldest first."""
    require_funder_staff(actor)
    with db.reading() as reading:
        return [_webhook_shape(webhook) for webhook in reading.webhooks.of_funder(
            actor.funder_id)]


def get_webhook(db, actor: Actor, webhook_id: str) -> dict:
    require_funder_staff(actor)
    with db.reading() as reading:
        return _webhook_shape(_webhook(reading, actor, webhook_id))


def rotate_webhook_secret(db, ports: Ports, actor: Actor, webhook_id: str) -> dict:
    """A new secret, shown this once; the previous one signs beside it for the overlap."""
    webhooks.require_funder_admin(actor)
    with db.unit_of_work() as uow:
        webhook = _webhook(uow, actor, webhook_id, active=True)
        webhook.rotate(_new_secret(ports), ports.clock(), ports.webhooks.secret_overlap)
        uow.webhooks.save(webhook)
    log.info("webhook_secret_rotated", webhook_id=webhook.id,
             previous_until=webhook.previous_secret_until)
    return _webhook_shape(webhook, with_secret=True)


def delete_webhook(db, ports: Ports, actor: Actor, webhook_id: str) -> dict:
    """Disabled, kept for its deliveries' record; those not sent yet are cancelled."""
    webhooks.require_funder_admin(actor)
    with db.unit_of_work() as uow:
        webhook = _webhook(uow, actor, webhook_id)
        webhook.disable(ports.clock())
        uow.webhooks.save(webhook)
        cancelled = uow.deliveries.cancel_pending(webhook.id)
    log.info("webhook_deleted", webhook_id=webhook.id, cancelled=cancelled)
    return _webhook_shape(webhook)


def list_deliveries(db, actor: Actor, webhook_id: str, query: DeliveryQuery) -> list[dict]:
    """The webhook's deliveries, newest first."""
    require_funder_staff(actor)
    with db.reading() as reading:
        webhook = _webhook(reading, actor, webhook_id)
        return [_delivery_shape(delivery) for delivery in reading.deliveries.of_webhook(
            webhook.id, query.status, query.limit, query.offset)]


def get_delivery(db, actor: Actor, webhook_id: str, delivery_id: str) -> dict:
    require_funder_staff(actor)
    with db.reading() as reading:
        return _delivery_shape(_delivery(reading, actor, webhook_id, delivery_id))


def retry_delivery(db, ports: Ports, actor: Actor, webhook_id: str, delivery_id: str) -> dict:
    """A failed delivery, sent again at once (409 `delivery_not_failed` otherwise)."""
    webhooks.require_funder_admin(actor)
    with db.unit_of_work() as uow:
        _webhook(uow, actor, webhook_id, active=True)
        delivery = _delivery(uow, actor, webhook_id, delivery_id)
        delivery.retry_now(ports.clock())
        uow.deliveries.save(delivery)
    log.info("webhook_delivery_retry_asked", delivery_id=delivery.id, webhook_id=webhook_id)
    return _delivery_shape(delivery)


def replay_to_webhook(db, ports: Ports, actor: Actor, webhook_id: str,
                      request: ReplayRequest) -> dict:
    """The funder's events from `since` or after an event, delivered again to the webhook
    (those it wants), in order, bounded by the log now; its progress as a replay's."""
    webhooks.require_funder_admin(actor)
    return _begin_replay(db, ports, actor, request, webhook_id)


def deliver_next_webhook(db, ports: Ports) -> int:
    """Claim one due delivery, POST it, record the outcome; how many were claimed."""
    now = ports.clock()
    with db.unit_of_work() as uow:
        delivery = uow.deliveries.next_due(now)
        if delivery is None:
            return 0
        lost = delivery.claim(now, ports.webhooks)
        uow.deliveries.save(delivery, lost)
        webhook = uow.webhooks.get(delivery.funder_id, delivery.webhook_id)
    if lost is not None:
        log.warning("webhook_claim_expired", delivery_id=delivery.id, status=delivery.status)
    if delivery.status == SENDING:
        _post(db, ports, webhook, delivery)
    return 1


def _post(db, ports: Ports, webhook: Webhook, delivery: Delivery) -> None:
    claim, now = delivery.claimed_until, ports.clock()
    timestamp = int(now.timestamp())
    headers = {"webhook-id": delivery.event_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": webhooks.signatures(webhook, delivery.event_id, timestamp,
                                                        delivery.body, now),
               "content-type": "application/json"}
    status_code = answer = error = None
    try:
        status_code, answer = ports.sender.post(webhook.url, delivery.body, headers)
    except Exception as exc:  # no answer, whatever the reason: retried with backoff
        error = f"{type(exc).__name__}: {exc}"
    attempt = webhooks.outcome(delivery.attempts + 1, ports.clock(), status_code, answer, error)
    with db.unit_of_work() as uow:
        stored = uow.deliveries.locked(delivery.id)
        if not stored.holds_claim(claim):  # our lease passed: another sender has it
            log.warning("webhook_claim_lost", delivery_id=delivery.id)
            return
        stored.record(attempt, ports.webhooks)
        uow.deliveries.save(stored, attempt)
    _log_attempt(stored, status_code, error and error.split(":", 1)[0])  # the rest names URLs


def _log_attempt(delivery: Delivery, status_code: int | None, error: str | None) -> None:
    if delivery.status == DELIVERED:
        log.info("webhook_delivered", delivery_id=delivery.id, event_id=delivery.event_id,
                 attempts=delivery.attempts, status_code=status_code)
    elif delivery.status == FAILED:
        log.warning("webhook_delivery_failed", delivery_id=delivery.id,
                    event_id=delivery.event_id, attempts=delivery.attempts,
                    status_code=status_code, error=error)
    else:
        log.warning("webhook_delivery_retried", delivery_id=delivery.id,
                    event_id=delivery.event_id, attempts=delivery.attempts,
                    status_code=status_code, error=error,
                    next_attempt_at=delivery.next_attempt_at)


def _add_delivery(uow, webhook: Webhook, event_id: str, key: str, body: str, now: datetime,
                  replay_id: str | None = None) -> None:
    uow.deliveries.add(Delivery(str(uuid.uuid4()), webhook.id, webhook.funder_id, event_id,
                                key, body, now, now, replay_id=replay_id))


def _routing_keys(webhook: Webhook | None) -> list[str] | None:
    """The webhook's events on the log, or None: every one."""
    if webhook is None or webhooks.ALL_EVENTS in webhook.event_types:
        return None
    return [f"{webhook.funder_id}.{key}" for key in webhook.event_types]


def _new_secret(ports: Ports) -> str:
    return webhooks.new_secret(ports.random_bytes(webhooks.SECRET_BYTES))


def _webhook(uow, actor: Actor, webhook_id: str, active: bool = False) -> Webhook:
    """The funder's webhook (404 for another funder's); `active`: 409 once deleted."""
    webhook = uow.webhooks.get(actor.funder_id, webhook_id)
    if webhook is None:
        raise NotFound("webhook_not_found", "Webhook introuvable.")
    if active and not webhook.active:
        raise Conflict("webhook_deleted", "Ce webhook a été supprimé.")
    return webhook


def _delivery(uow, actor: Actor, webhook_id: str, delivery_id: str) -> Delivery:
    delivery = uow.deliveries.get(actor.funder_id, webhook_id, delivery_id)
    if delivery is None:
        raise NotFound("delivery_not_found", "Envoi introuvable.")
    return delivery


def _webhook_shape(webhook: Webhook, with_secret: bool = False) -> dict:
    fields = dict(
        id=webhook.id, funder_id=webhook.funder_id, url=webhook.url,
        event_types=webhook.event_types, description=webhook.description,
        active=webhook.active, created_by=webhook.created_by, created_at=webhook.created_at,
        rotated_at=webhook.rotated_at, previous_secret_until=webhook.previous_secret_until,
        disabled_at=webhook.disabled_at)
    if with_secret:
        return WebhookSecret(**fields, secret=webhook.secret).model_dump(mode="json")
    return WebhookShape(**fields).model_dump(mode="json")


def _delivery_shape(delivery: Delivery) -> dict:
    return DeliveryShape(
        id=delivery.id, webhook_id=delivery.webhook_id, event_id=delivery.event_id,
        event_type=delivery.event_type, status=delivery.status, attempts=delivery.attempts,
        last_status_code=delivery.last_status_code, last_answer=delivery.last_answer,
        last_error=delivery.last_error, delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at if delivery.status == PENDING else None,
        replay_id=delivery.replay_id, created_at=delivery.created_at,
        history=[DeliveryAttempt(number=a.number, at=a.at, status_code=a.status_code,
                                 answer=a.answer, error=a.error) for a in delivery.history],
    ).model_dump(mode="json")
