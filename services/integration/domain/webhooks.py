"""Webhooks' rules: the URL a webhook may have, the events it wants, its secrets (a rotation
keeps the previous one signing for an overlap) and the Standard Webhooks signature; a
delivery's attempts: claimed with a lease, retried with backoff for about a day, then failed.

Pure: the clock, ids and random bytes are passed in.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from contracts.common import Actor, Role
from contracts.common.errors import Conflict, Forbidden, InvalidInput

ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_URL_LENGTH = 2000
MAX_ANSWER_CHARS = 2048
PENDING, SENDING, DELIVERED, FAILED, CANCELLED = (
    "pending", "sending", "delivered", "failed", "cancelled")
RETRY_DELAYS = tuple(timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000))
"""Waits after the 1st, 2nd... failed attempt (about a day in all); then the delivery fails."""


@dataclass(frozen=True)
class WebhookPolicy:
    """The settings webhooks follow (servicekit.config)."""

    allow_http: bool = False
    secret_overlap: timedelta = timedelta(hours=24)
    retry_delays: tuple[timedelta, ...] = RETRY_DELAYS
    lease: timedelta = timedelta(seconds=60)  # longer than a send (its timeout, 10 s)


def require_funder_admin(actor: Actor) -> None:
    """Registering, rotating, deleting, retrying and replaying: its administrators; its
    agents read."""
    if actor.role != Role.funder_admin:
        raise Forbidden("funder_admin_only",
                        "Cette action est réservée aux administrateurs du financeur.")


def check_url(url: str, allow_http: bool) -> None:
    """https (http only where a setting allows it, for development), a host, no
    credentials: they would be stored and shown to every reader of the webhook."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("webhook_url_too_long",
                           f"L'adresse ne doit pas dépasser {MAX_URL_LENGTH} caractères.")
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise InvalidInput("webhook_url_not_https", "L'adresse doit commencer par https://.")
    if not parts.hostname:
        raise InvalidInput("webhook_url_invalid", "Cette adresse n'est pas une URL valide.")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("webhook_url_with_credentials",
                           "L'adresse ne doit pas contenir d'identifiant ni de mot de passe : "
                           "vérifiez la signature des envois à la place.")


class UnsafeAddress(Exception):
    """The endpoint's host is, or resolves to, an address of a private network, this machine
    or a reserved range: a webhook could otherwise reach what only Jalon should."""


def refuse_unsafe_address(url: str) -> InvalidInput:
    return InvalidInput("webhook_url_not_public",
                        "L'adresse doit mener à un serveur public (ni un réseau privé, ni "
                        "cette machine).")


def new_secret(random_bytes: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """Standard Webhooks' `v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>`, keyed by
    the secret's bytes (the base64 after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass
class Webhook:
    id: str
    funder_id: str
    url: str
    event_types: list[str]
    description: str
    secret: str
    created_by: str
    created_at: datetime
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    """The end of the rotation's overlap: until then the previous secret signs too."""
    rotated_at: datetime | None = None
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def wants(self, public_key: str) -> bool:
        return self.active and (ALL_EVENTS in self.event_types
                                or public_key in self.event_types)

    def signing_secrets(self, now: datetime) -> list[str]:
        if self.previous_secret and now < self.previous_secret_until:
            return [self.secret, self.previous_secret]
        return [self.secret]

    def rotate(self, secret: str, now: datetime, overlap: timedelta) -> None:
        self.previous_secret, self.previous_secret_until = self.secret, now + overlap
        self.secret, self.rotated_at = secret, now

    def disable(self, now: datetime) -> None:
        self.disabled_at = self.disabled_at or now


def signatures(webhook: Webhook, message_id: str, timestamp: int, body: str,
               now: datetime) -> str:
    """The `webhook-signature` header: one signature per secret signing now."""
    return " ".join(signature(secret, message_id, timestamp, body)
                    for secret in webhook.signing_secrets(now))


@dataclass(frozen=True)
class Attempt:
    """One try: the receiver's status and the start of its answer, or why none came."""

    number: int
    at: datetime
    status_code: int | None = None
    answer: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Delivery:
    """One public event to one webhook; `event_id` is also its `webhook-id`, the same on every
    attempt and every replay, so that the receiver drops what it already handled."""

    id: str
    webhook_id: str
    funder_id: str
    event_id: str
    event_type: str
    body: str
    created_at: datetime
    next_attempt_at: datetime
    replay_id: str | None = None
    status: str = PENDING
    attempts: int = 0
    last_status_code: int | None = None
    last_answer: str | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    claimed_until: datetime | None = None
    history: list[Attempt] = field(default_factory=list)

    def is_due(self, now: datetime) -> bool:
        if self.status == SENDING:
            return self.claimed_until <= now
        return self.status == PENDING and self.next_attempt_at <= now

    def claim(self, now: datetime, policy: WebhookPolicy) -> Attempt | None:
        """Take the delivery for one send until `now + lease`. An expired claim means its
        sender died mid-send: that attempt counts (its outcome unknown); the Attempt so
        recorded, or None."""
        lost = None
        if self.status == SENDING:
            lost = self.record(Attempt(self.attempts + 1, now, error="claim_expired"), policy)
            if self.status == FAILED:
                return lost
        self.status, self.claimed_until = SENDING, now + policy.lease
        return lost

    def holds_claim(self, claimed_until: datetime) -> bool:
        return self.status == SENDING and self.claimed_until == claimed_until

    def record(self, attempt: Attempt, policy: WebhookPolicy) -> Attempt:
        """The attempt's outcome: delivered, retried after the next delay, or failed once the
        delays are used up."""
        self.attempts, self.claimed_until = attempt.number, None
        self.last_status_code, self.last_error = attempt.status_code, attempt.error
        self.last_answer = attempt.answer
        self.history.append(attempt)
        if attempt.succeeded:
            self.status, self.delivered_at = DELIVERED, attempt.at
        elif self.attempts > len(policy.retry_delays):
            self.status = FAILED
        else:
            self.status = PENDING
            self.next_attempt_at = attempt.at + policy.retry_delays[self.attempts - 1]
        return attempt

    def retry_now(self, now: datetime) -> None:
        """A failed delivery, once more at once (it fails again after one failed attempt)."""
        if self.status != FAILED:
            raise Conflict("delivery_not_failed",
                           "Seul un envoi en échec peut être relancé.", {"status": self.status})
        self.status, self.next_attempt_at = PENDING, now


def outcome(number: int, now: datetime, status_code: int | None, answer: str | None,
            error: str | None) -> Attempt:
    """An attempt with its answer cut to its first 2 KB."""
    return Attempt(number, now, status_code,
                   None if answer is None else answer[:MAX_ANSWER_CHARS],
                   None if error is None else error[:1000])
