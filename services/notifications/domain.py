"""Notifications' rules: which emails an event causes, who may read the log, retry policy.

Pure: no Nameko, no SQLAlchemy, no I/O. The clock and ids are passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.common import Actor
from contracts.events import (CertifiedV1, DocumentCheckedV1, DocumentRejectedV1,
                              DocumentReviewed, HoursContestedV1)
from contracts.common.errors import Forbidden
from contracts.common.formatting import PARIS, date_fr, datetime_fr, hours_fr, month_fr

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2))
"""Waits after the 1st, 2nd... failed attempt; once they are used up the email is failed."""

DIRECT_TEMPLATES = frozenset({"account_credentials", "certification_code", "identifier_change",
                              "password_reset", "bank_details_reviewed", "email_change",
                              "email_change_notice"})
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


def certified_context(data: CertifiedV1) -> dict:
    return {
        "organisation_name": data.organisation_name,
        "beneficiary_name": data.beneficiary.name,
        "employer_name": data.employer.name if data.employer else None,
        "dossier_number": data.dossier_number,
        "training_title": data.training_title,
        "month_label": month_fr(data.month),
        "training_hours": hours_fr(data.hours.training),
        "internship_hours": hours_fr(data.hours.internship),
        "absence_hours": hours_fr(data.hours.absence),
        "certified_at": datetime_fr(data.certified_at),
        # Who the funder asks to validate the hours from their space (seed 001: "pour
        # l'inviter à valider les heures"); the employer does it after the beneficiary.
        "beneficiary_validates": "beneficiary" in data.validations,
        "employer_validates": "employer" in data.validations,
    }


def certified_emails(data: CertifiedV1) -> list[Planned]:
    """The beneficiary, the employer if the dossier has one, and the funder when its settings
    give an address (notify_funder) learn the month is certified."""
    context = certified_context(data)
    planned = [Planned(str(data.beneficiary.email), "certified_beneficiary", context)]
    if data.employer:
        planned.append(Planned(str(data.employer.email), "certified_employer", context))
    if data.funder_notification_email:
        planned.append(Planned(str(data.funder_notification_email), "certified_funder",
                               context))
    return planned


def contested_emails(data: HoursContestedV1) -> list[Planned]:
    """The organisation (and the funder, per its settings) learns who contested the hours
    and why; nobody when neither address is known."""
    context = {"organisation_name": data.organisation_name,
               "dossier_number": data.dossier_number, "month_label": month_fr(data.month),
               "party_label": "le bénéficiaire" if data.party == "beneficiary"
               else "l'employeur", "party_name": data.party_name, "reason": data.reason,
               "contested_at": datetime_fr(data.contested_at)}
    recipients = dict.fromkeys(str(address) for address in (
        data.organisation_email, data.funder_notification_email) if address)
    return [Planned(address, "hours_contested", context) for address in recipients]


def _review_context(data: DocumentReviewed) -> dict:
    return {"label": data.label, "category_label": data.category_label,
            "dossier_number": data.dossier_number}


def document_checked_emails(data: DocumentCheckedV1) -> list[Planned]:
    """The uploader learns the funder checked their document; nobody when they gave no email."""
    if not data.owner_email:
        return []
    context = {**_review_context(data), "checked_on": date_fr(data.checked_at.astimezone(PARIS))}
    return [Planned(data.owner_email, "document_checked", context)]


def document_rejected_emails(data: DocumentRejectedV1) -> list[Planned]:
    """The uploader learns why the funder found their document non-compliant."""
    if not data.owner_email:
        return []
    context = {**_review_context(data), "reason_text": data.reason_text}
    return [Planned(data.owner_email, "document_rejected", context)]


def new_email(email_id: str, planned: Planned, rendered: Rendered, now: datetime,
              event_id: str | None = None, funder_id: str | None = None) -> Email:
    return Email(id=email_id, recipient=planned.recipient, subject=rendered.subject,
                 body_text=rendered.body_text, body_html=rendered.body_html,
                 template=planned.template, created_at=now, next_attempt_at=now,
                 event_id=event_id, funder_id=funder_id)


def check_can_list(actor: Actor) -> None:
    """The delivery log is for funder staff (support); they see their funder's emails only."""
    if not actor.is_funder_staff:
        raise Forbidden("emails_forbidden",
                        "Seuls les agents du financeur peuvent consulter les e-mails envoyés.")


def one_line(text: str) -> str:
    """A subject is one line: a template's newlines and runs of spaces are collapsed."""
    return " ".join(text.split())
