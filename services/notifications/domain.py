"""Notifications' rules: an email's delivery (claims, retries, erased secrets), which emails a
call may ask for, who may read the log.

Pure: no Nameko, no SQLAlchemy, no I/O. The clock and ids are passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.common import Actor
from contracts.common.errors import Forbidden, InvalidInput

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2))
"""Waits after the 1st, 2nd... failed attempt; once they are used up the email is failed."""

DIRECT_TEMPLATES = frozenset({"account_credentials", "certification_code", "identifier_change",
                              "password_reset", "bank_details_reviewed", "email_change",
                              "email_change_notice", "signup_activation", "signup_siret_taken",
                              "signup_email_taken"})
"""Emails that carry a secret: sent by RPC only, and their body is erased once delivered."""
ERASED = "[contenu effacé après envoi : il contenait des informations confidentielles]"


@dataclass
class Email:
    id: str
    recipient: str
    subject: str
    body_text: str
    template: str
    created_at: datetime
    next_attempt_at: datetime
    event_id: str | None = None
    funder_id: str | None = None
    body_html: str | None = None
    status: str = PENDING
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_until: datetime | None = None
    """While `sending`: the end of the sender's lease; past it, the sender is presumed dead."""

    def is_due(self, now: datetime) -> bool:
        if self.status == SENDING:
            return self.claimed_until <= now
        return self.status == PENDING and self.next_attempt_at <= now

    def claim(self, now: datetime, lease: timedelta,
              delays: tuple[timedelta, ...] = RETRY_DELAYS) -> bool:
        """Take the email for one send until `now + lease`, so that no other sender takes it
        meanwhile; True when it is ours to send.

        An expired claim means its sender died mid-send, perhaps after the server accepted
        the message: that attempt counts, and this send may repeat it (the one repeat
        allowed; the stable Message-ID lets the receiver drop it). An email whose sends keep
        dying is failed once the retry budget is spent, like one whose sends keep failing.
        """
        if not self.is_due(now):
            raise EmailNotDue(self.id)
        if self.status == SENDING:
            self._count_attempt("claim_expired")
            if self.attempts > len(delays):
                self.status, self.claimed_until = FAILED, None
                return False
        self.status, self.claimed_until = SENDING, now + lease
        return True

    def holds_claim(self, claimed_until: datetime) -> bool:
        """Still the claim that ended at `claimed_until`: no other sender took it over."""
        return self.status == SENDING and self.claimed_until == claimed_until

    def mark_sent(self, now: datetime) -> None:
        self.status, self.sent_at, self.last_error, self.claimed_until = SENT, now, None, None
        self.attempts += 1
        if self.template in DIRECT_TEMPLATES:  # the secret must not outlive its delivery
            self.body_text, self.body_html = ERASED, None

    def mark_failed_attempt(self, error: str, now: datetime,
                            delays: tuple[timedelta, ...] = RETRY_DELAYS) -> None:
        self._count_attempt(error)
        self.claimed_until = None
        if self.attempts > len(delays):
            self.status = FAILED
        else:
            self.status, self.next_attempt_at = PENDING, now + delays[self.attempts - 1]

    def _count_attempt(self, error: str) -> None:
        self.attempts += 1
        self.last_error = error[:1000]


class EmailNotDue(Exception):
    """A sender tried to claim an email that is not waiting to be sent (a bug, not a race:
    the claim query selects due emails only, under a row lock)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str | None = None


@dataclass(frozen=True)
class Planned:
    """One email to write: to whom, from which template, with what context."""

    recipient: str
    template: str
    context: dict


def new_email(email_id: str, planned: Planned, rendered: Rendered, now: datetime,
              event_id: str | None = None, funder_id: str | None = None) -> Email:
    return Email(id=email_id, recipient=planned.recipient, subject=rendered.subject,
                 body_text=rendered.body_text, body_html=rendered.body_html,
                 template=planned.template, created_at=now, next_attempt_at=now,
                 event_id=event_id, funder_id=funder_id)


def direct_email(recipient: str, template: str, context: dict) -> Planned:
    """Only the emails that carry a secret are asked for by a call; the others follow events."""
    if template not in DIRECT_TEMPLATES:
        raise InvalidInput("unknown_template", "Modèle d'e-mail inconnu.", {"template": template})
    return Planned(recipient, template, context)


def check_can_list(actor: Actor) -> None:
    """The delivery log is for funder staff (support); they see their funder's emails only."""
    if not actor.is_funder_staff:
        raise Forbidden("emails_forbidden",
                        "Seuls les agents du financeur peuvent consulter les e-mails envoyés.")


def one_line(text: str) -> str:
    """A subject is one line: a template's newlines and runs of spaces are collapsed."""
    return " ".join(text.split())
