"""notifications' use cases: emails queued from events and calls, the email log, delivery.

Event and call handlers only queue emails (status pending) in their own transaction: nothing
is sent before it commits, and a rolled-back handler sends nothing. The delivery loop
(adapters.EmailDelivery) then calls `deliver_next`, which claims one email, sends it and
records the outcome, each step on its own (claim and outcome in their own commits, nothing
held open during the send): a crash or a lost database between a send and its record repeats
at most that one email. Its claim (status sending) keeps other senders off it until its lease
passes; it is then sent again with the same Message-ID, which lets the receiver drop the copy.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Protocol

from contracts.common import Actor, Role
from contracts.common.errors import ServiceUnavailable
from contracts.common.formatting import PARIS, date_fr, datetime_fr, hours_fr, month_fr
from contracts.events import (CertifiedV1, DocumentCheckedV1, DocumentRejectedV1,
                              DocumentReviewed, HoursContestedV1)
from contracts.notifications import DirectEmail
from contracts.notifications import Email as EmailShape
from servicekit.logging import get_logger
from services.notifications import domain
from services.notifications.domain import SENDING, Email, Planned, Rendered

log = get_logger(__name__)

RECORD_RETRY_FIRST_SECONDS = 0.5
RECORD_RETRY_MAX_SECONDS = 5


class Renderer(Protocol):
    def render(self, template: str, context: dict) -> Rendered: ...


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send the email (or write it); return where it went."""


@dataclass(frozen=True)
class Ports:
    templates: Renderer
    mailer: Mailer
    clock: Callable[[], datetime]
    sleep: Callable[[float], None]
    queued: Callable[[], None]
    """Says "this worker queued emails": the delivery loop is woken once its transaction is done."""


class Event(Protocol):
    id: str
    data: object


# ---- emails an event causes ---------------------------------------------------------------

def notify_certified(uow, ports: Ports, event: Event) -> None:
    _queue(uow, ports, event, _certified_emails(event.data))


def notify_hours_contested(uow, ports: Ports, event: Event) -> None:
    planned = _contested_emails(event.data)
    if not planned:
        log.info("contest_without_address", event_id=event.id, dossier_id=event.data.dossier_id)
        return
    _queue(uow, ports, event, planned)


def notify_document_checked(uow, ports: Ports, event: Event) -> None:
    data: DocumentCheckedV1 = event.data
    context = {**_review_context(data), "checked_on": date_fr(data.checked_at.astimezone(PARIS))}
    _queue_review_email(uow, ports, event, "document_checked", context)


def notify_document_rejected(uow, ports: Ports, event: Event) -> None:
    data: DocumentRejectedV1 = event.data
    context = {**_review_context(data), "reason_text": data.reason_text}
    _queue_review_email(uow, ports, event, "document_rejected", context)


def _queue_review_email(uow, ports: Ports, event: Event, template: str, context: dict) -> None:
    """The uploader learns how the funder reviewed their document."""
    data: DocumentReviewed = event.data
    if not data.owner_email:
        # The uploader's account had no email: nobody to tell, and nothing to retry.
        log.info("document_owner_without_email", event_id=event.id,
                 document_id=data.document_id, owner=data.owner_user_id)
        return
    _queue(uow, ports, event, [Planned(data.owner_email, template, context)])


def _queue(uow, ports: Ports, event: Event, planned: list[Planned]) -> None:
    now = ports.clock()
    for one in planned:
        rendered = ports.templates.render(one.template, one.context)
        uow.emails.add(domain.new_email(str(uuid.uuid4()), one, rendered, now,
                                        event_id=event.id, funder_id=event.data.funder_id))
    ports.queued()


def _certified_context(data: CertifiedV1) -> dict:
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
        "beneficiary_validates": Role.beneficiary in data.validations,
        "employer_validates": Role.employer in data.validations,
    }


def _certified_emails(data: CertifiedV1) -> list[Planned]:
    """The beneficiary, the employer if the dossier has one, and the funder when its settings
    give an address (notify_funder) learn the month is certified."""
    context = _certified_context(data)
    planned = [Planned(str(data.beneficiary.email), "certified_beneficiary", context)]
    if data.employer:
        planned.append(Planned(str(data.employer.email), "certified_employer", context))
    if data.funder_notification_email:
        planned.append(Planned(str(data.funder_notification_email), "certified_funder",
                               context))
    return planned


def _contested_emails(data: HoursContestedV1) -> list[Planned]:
    """The organisation (and the funder, per its settings) learns who contested the hours
    and why; nobody when neither address is known."""
    context = {"organisation_name": data.organisation_name,
               "dossier_number": data.dossier_number, "month_label": month_fr(data.month),
               "party_label": "le bénéficiaire" if data.party == Role.beneficiary
               else "l'employeur", "party_name": data.party_name, "reason": data.reason,
               "contested_at": datetime_fr(data.contested_at)}
    recipients = dict.fromkeys(str(address) for address in (
        data.organisation_email, data.funder_notification_email) if address)
    return [Planned(address, "hours_contested", context) for address in recipients]


def _review_context(data: DocumentReviewed) -> dict:
    return {"label": data.label, "category_label": data.category_label,
            "dossier_number": data.dossier_number}


# ---- calls -------------------------------------------------------------------------------

def send_direct_email(db, ports: Ports, request: DirectEmail) -> dict:
    planned = domain.direct_email(str(request.to), request.template, dict(request.context))
    rendered = ports.templates.render(planned.template, planned.context)
    email = domain.new_email(str(uuid.uuid4()), planned, rendered, ports.clock())
    with db.unit_of_work() as uow:
        uow.emails.add(email)
    ports.queued()
    log.info("direct_email_queued", email_id=email.id, template=email.template)
    return {"id": email.id}


def list_emails(db, actor: Actor, event_id: str | None = None) -> list[dict]:
    domain.check_can_list(actor)
    with db.reading() as reading:
        found = reading.emails.of_funder(actor.funder_id,
                                         None if event_id is None else str(event_id))
    return [_shape(email) for email in found]


def _shape(email: Email) -> dict:
    return EmailShape(
        id=email.id, to=email.recipient, subject=email.subject, template=email.template,
        status=email.status, attempts=email.attempts, created_at=email.created_at,
        sent_at=email.sent_at, event_id=email.event_id,
    ).model_dump(mode="json")


# ---- delivery ----------------------------------------------------------------------------

def deliver_next(db, ports: Ports, lease: timedelta) -> int:
    """Claim one due email, send it, record the outcome; return how many were claimed."""
    email = _claim_next(db, ports.clock(), lease)
    if email is None:
        return 0
    if email.status == SENDING:
        _send(db, ports, email)
    return 1


def _claim_next(db, now: datetime, lease: timedelta) -> Email | None:
    with db.unit_of_work() as uow:
        email = uow.emails.next_due(now)
        if email is not None and not email.claim(now, lease):
            log.warning("email_failed", email_id=email.id, template=email.template,
                        attempts=email.attempts, error=email.last_error)
    return email


def _send(db, ports: Ports, email: Email) -> None:
    claim = email.claimed_until
    try:
        where = ports.mailer.send(email)
    except Exception as exc:  # any transport failure is retried with backoff
        error = f"{type(exc).__name__}: {exc}"
        stored = _finish(db, ports, email.id, claim,
                         lambda found: found.mark_failed_attempt(error, ports.clock()))
        if stored:  # the error's text may name the recipient: the log gets its type only
            log.warning("email_not_sent", email_id=email.id, template=email.template,
                        attempts=stored.attempts, status=stored.status,
                        error=type(exc).__name__)
        return
    if _finish(db, ports, email.id, claim, lambda found: found.mark_sent(ports.clock())):
        log.info("email_sent", email_id=email.id, template=email.template,
                 event_id=email.event_id, via=where)


def _finish(db, ports: Ports, email_id: str, claim: datetime,
            record: Callable[[Email], None]) -> Email | None:
    """Record the send's outcome; while the database is away (a restart), try again as long
    as the claim lasts: giving up would let the lease pass and the email go twice."""
    delay = RECORD_RETRY_FIRST_SECONDS
    while True:
        try:
            return _record(db, email_id, claim, record)
        except ServiceUnavailable:
            if ports.clock() + timedelta(seconds=delay) >= claim:
                raise
            log.warning("email_record_retried", email_id=email_id, in_seconds=delay)
            ports.sleep(delay)
            delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)


def _record(db, email_id: str, claim: datetime,
            record: Callable[[Email], None]) -> Email | None:
    """The outcome in its own commit, unless our lease passed and another sender took the
    email over: the outcome is then that sender's to record."""
    with db.unit_of_work() as uow:
        email = uow.emails.locked(email_id)
        if not email.holds_claim(claim):
            log.warning("email_claim_lost", email_id=email_id, template=email.template)
            return None
        record(email)
        return email
