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

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Protocol

from contracts.common import Actor, Role
from contracts.common.errors import NotFound, ServiceUnavailable
from contracts.common.formatting import (PARIS, date_fr, datetime_fr, hours_fr, month_fr,
                                         person_name_fr)
from contracts.events import (CertifiedV1, DocumentCheckedV1, DocumentRejectedV1,
                              DocumentReviewed, HoursContestedV1)
from contracts.notifications import DirectEmail
from contracts.notifications import Email as EmailShape
from contracts.notifications import Notification as NotificationShape
from contracts.notifications import (AlertSettingsChange, NotificationObject,
                                     NotificationQuery, UnreadCount)
from contracts.ops import EmailBacklog
from servicekit.db import concurrent_change_is_conflict
from servicekit.logging import bound, get_logger
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
    """Says "this worker queued emails": the delivery loop is woken once its transaction is
    done."""
    correlation_id: str | None = None
    """The worker's correlation id, kept with the emails it queues: their sending logs it."""


class Event(Protocol):
    id: str
    data: object


# ---- emails an event causes ---------------------------------------------------------------

def notify_certified(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, domain.certified_notices(event.data, month_fr(event.data.month)))
    data: CertifiedV1 = event.data
    persons = {"certified_beneficiary": (domain.PARTY, data.beneficiary.id)}
    if data.employer:
        persons["certified_employer"] = (domain.PARTY, data.employer.id)
    _queue(uow, ports, event, _wanted_now(uow, _certified_emails(data), persons))


def notify_hours_contested(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, domain.contested_notices(
        event.data, month_fr(event.data.month), _party_label(event.data.party)))
    planned = _contested_emails(event.data)
    if not planned:
        log.info("contest_without_address", event_id=event.id, dossier_id=event.data.dossier_id)
        return
    _queue(uow, ports, event, planned)


def notify_document_checked(uow, ports: Ports, event: Event) -> None:
    data: DocumentCheckedV1 = event.data
    _notify(uow, ports, event, [domain.document_notice(data, checked=True)])
    context = {**_review_context(data), "checked_on": date_fr(data.checked_at.astimezone(PARIS))}
    _queue_review_email(uow, ports, event, "document_checked", context)


def notify_document_rejected(uow, ports: Ports, event: Event) -> None:
    data: DocumentRejectedV1 = event.data
    _notify(uow, ports, event, [domain.document_notice(data, checked=False)])
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
    _queue(uow, ports, event, _wanted_now(uow, [Planned(data.owner_email, template, context)],
                                          {template: (domain.USER, data.owner_user_id)}))


def _queue(uow, ports: Ports, event: Event, planned: list[Planned]) -> None:
    now = ports.clock()
    funder = uow.funders.get(event.data.funder_id)
    signed = {"funder_name": funder.name if funder else None}
    for one in planned:
        # Signed by the funder; an alert says where its recipient chooses their alerts.
        rendered = ports.templates.render(one.template, {
            **one.context, **signed, "alert": domain.is_alert(one.template)})
        uow.emails.add(domain.new_email(str(uuid.uuid4()), one, rendered, now,
                                        event_id=event.id, funder_id=event.data.funder_id,
                                        correlation_id=ports.correlation_id,
                                        month=getattr(event.data, "month", None)))
    ports.queued()


def _certified_context(data: CertifiedV1) -> dict:
    return {
        "organisation_name": data.organisation_name,
        "beneficiary_name": data.beneficiary.name,
        "employer_name": data.employer.name if data.employer else None,
        "dossier_number": data.dossier_number,
        "dossier_id": data.dossier_id, "month": data.month,  # the link to the month
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
               "dossier_id": data.dossier_id, "month": data.month,
               "party_label": _party_label(data.party),
               "party_name": person_name_fr(data.party_name)
               if data.party == Role.beneficiary else data.party_name, "reason": data.reason,
               "contested_at": datetime_fr(data.contested_at)}
    recipients = dict.fromkeys(str(address) for address in (
        data.organisation_email, data.funder_notification_email) if address)
    return [Planned(address, "hours_contested", context) for address in recipients]


def _party_label(party: str) -> str:
    """Who validated or contested a month's hours, as a sentence names them."""
    return "le bénéficiaire" if party == Role.beneficiary else "l'employeur"


def _review_context(data: DocumentReviewed) -> dict:
    return {"label": data.label, "category_label": data.category_label,
            "dossier_number": data.dossier_number, "document_id": data.document_id}


# ---- funders, who name and sign the emails (issue 16) --------------------------------------

def record_funder(uow, data) -> None:
    """identity's funder_bootstrapped: the funder's name, for the emails sent on its behalf."""
    if uow.funders.get(data.funder_id) is None:
        uow.funders.add(domain.Funder(data.funder_id, data.name))


# ---- calls -------------------------------------------------------------------------------

def send_direct_email(db, ports: Ports, request: DirectEmail) -> dict:
    planned = domain.direct_email(str(request.to), request.template, dict(request.context))
    rendered = ports.templates.render(planned.template, planned.context)
    email = domain.new_email(str(uuid.uuid4()), planned, rendered, ports.clock(),
                             correlation_id=ports.correlation_id)
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


def resend_email(db, ports: Ports, actor: Actor, email_id: str) -> dict:
    """Funder staff send one of their funder's emails again (a failed one, or one its
    recipient says never came): a new email, queued now; another funder's is not found."""
    domain.check_can_list(actor)
    return _resend(db, ports, str(email_id), actor.funder_id, by=actor.user_id)


def resend_email_as_ops(db, ports: Ports, email_id: str) -> dict:
    """The ops team sends any funder's email again (jalon emails resend): no actor."""
    return _resend(db, ports, str(email_id), None, by="ops")


def _resend(db, ports: Ports, email_id: str, funder_id: str | None, by: str) -> dict:
    """A copy of the email, queued now; `funder_id`: the only funder whose emails may be
    resent (None: any)."""
    with db.unit_of_work() as uow:
        original = uow.emails.get(email_id)
        if original is None or funder_id is not None and original.funder_id != funder_id:
            raise NotFound("email_not_found", "E-mail introuvable.", {"email_id": email_id})
        copy = domain.resent(original, str(uuid.uuid4()), ports.clock(), ports.correlation_id)
        uow.emails.add(copy)
    ports.queued()
    log.info("email_resent", email_id=copy.id, resent_from=original.id, by=by)
    return _shape(copy)


def email_backlog(db, funder_id: str | None = None) -> list[dict]:
    """Per funder and month, the emails not sent yet and the oldest of them (the ops'
    month-end view)."""
    with db.reading() as reading:
        rows = reading.emails.backlog(funder_id)
    return [EmailBacklog(**row).model_dump(mode="json") for row in rows]


def _shape(email: Email) -> dict:
    delivery = domain.delivery_of(email)
    return EmailShape(
        id=email.id, to=email.recipient, subject=email.subject, template=email.template,
        status=email.status, attempts=email.attempts, created_at=email.created_at,
        sent_at=email.sent_at, event_id=email.event_id, delivery=delivery,
        delivery_label=domain.DELIVERY_LABELS[delivery], last_error=email.last_error,
        next_attempt_at=email.next_attempt_at if delivery == domain.RETRYING else None,
        resent_from=email.resent_from,
    ).model_dump(mode="json")


# ---- delivery ----------------------------------------------------------------------------

def deliver_next(db, ports: Ports, lease: timedelta) -> int:
    """Claim one due email, send it, record the outcome; return how many were claimed."""
    email = _claim_next(db, ports.clock(), lease)
    if email is None:
        return 0
    with bound(correlation_id=email.correlation_id):  # the lines of the request that queued it
        if email.status == SENDING:
            _send(db, ports, email)
        else:
            log.warning("email_failed", email_id=email.id, template=email.template,
                        attempts=email.attempts, error=email.last_error)
    return 1


def _claim_next(db, now: datetime, lease: timedelta) -> Email | None:
    """The next due email, claimed (status sending), or failed if its retries are spent."""
    with db.unit_of_work() as uow:
        email = uow.emails.next_due(now)
        if email is not None:
            email.claim(now, lease)
    return email


def _send(db, ports: Ports, email: Email) -> None:
    claim = email.claimed_until
    try:
        where = ports.mailer.send(email)
    except Exception as exc:  # any transport failure is retried with backoff
        error = f"{type(exc).__name__}: {exc}"
        stored = _finish(db, ports, email, claim,
                         lambda outcome: outcome.mark_failed_attempt(error, ports.clock()))
        if stored:  # the error's text may name the recipient: the log gets its type only
            log.warning("email_not_sent", email_id=email.id, template=email.template,
                        attempts=stored.attempts, status=stored.status,
                        error=type(exc).__name__)
        return
    if _finish(db, ports, email, claim, lambda outcome: outcome.mark_sent(ports.clock())):
        log.info("email_sent", email_id=email.id, template=email.template,
                 event_id=email.event_id, via=where)


def _finish(db, ports: Ports, email: Email, claim: datetime,
            record: Callable[[Email], None]) -> Email | None:
    """Record the send's outcome; while the database is away (a restart), try again as long
    as the claim lasts: giving up would let the lease pass and the email go twice."""
    delay = RECORD_RETRY_FIRST_SECONDS
    while True:
        try:
            return _record(db, email, claim, record)
        except ServiceUnavailable:
            if ports.clock() + timedelta(seconds=delay) >= claim:
                raise
            log.warning("email_record_retried", email_id=email.id, in_seconds=delay)
            ports.sleep(delay)
            delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)


def _record(db, email: Email, claim: datetime,
            record: Callable[[Email], None]) -> Email | None:
    """The outcome in its own commit, unless our lease passed and another sender took the
    email over: the outcome is then that sender's to record. While our claim holds, the row
    is the email as we claimed it: the outcome is worked out on a copy of that (a retried
    record starts again from it) and written on condition that the claim still holds."""
    outcome = dataclasses.replace(email)
    record(outcome)
    with db.unit_of_work() as uow:
        if not uow.emails.record_outcome(email, outcome, claim):
            log.warning("email_claim_lost", email_id=email.id, template=email.template)
            return None
    return outcome


# ---- the notification centre (issue 16) --------------------------------------------------
READ_RACE = "Cette notification vient d'être marquée comme lue : rechargez la page."

def _notify(uow, ports: Ports, event: Event, notices: list[domain.Notice]) -> None:
    """Store the event's notifications, in the transaction that records the event; those
    without an email of their own are emailed to each person who sees them and wants that
    kind at once."""
    now = ports.clock()
    for notice in notices:
        uow.notifications.add(domain.new_notification(
            str(uuid.uuid4()), notice, event.data.funder_id, now, event_id=event.id))
    planned = [planned for notice in notices if notice.kind in domain.PERSON_EMAIL_KINDS
               for planned in _person_emails(uow, notice)]
    if planned:
        _queue(uow, ports, event, planned)


def _person_emails(uow, notice: domain.Notice) -> list[Planned]:
    kind = domain.ALERT_KIND_OF_TEMPLATE[notice.kind]
    context = {"title": notice.title, "text": notice.text, "link": notice.link}
    return [Planned(person.email, "notification", context)
            for person in uow.alert_settings.persons_of(notice.audience_type, notice.audience_id)
            if domain.sees(person, notice) and domain.frequency_of(
                uow.alert_settings.of_person(person.user_id), kind) == domain.IMMEDIATE]


def list_notifications(db, actor: Actor, query: NotificationQuery) -> list[dict]:
    audiences = domain.audiences_of(actor)
    with db.reading() as reading:
        found = reading.notifications.of_person(audiences, actor.user_id, query.unread,
                                                query.limit, query.offset)
    return [_notification_shape(notification, read_at) for notification, read_at in found]


def count_unread_notifications(db, actor: Actor) -> dict:
    audiences = domain.audiences_of(actor)
    with db.reading() as reading:
        unread = reading.notifications.unread_count(audiences, actor.user_id)
    return UnreadCount(unread=unread).model_dump(mode="json")


def mark_notification_read(db, ports: Ports, actor: Actor, notification_id: str) -> dict:
    """Marking twice keeps the first mark. Another person's notification is not found (404),
    not forbidden: its existence is not theirs to learn."""
    audiences = domain.audiences_of(actor)
    with concurrent_change_is_conflict(READ_RACE), db.unit_of_work() as uow:
        notification = uow.notifications.seen_one(audiences, notification_id)
        if notification is None:
            raise NotFound("notification_not_found", "Notification introuvable.",
                           {"notification_id": notification_id})
        read = uow.notifications.read_mark(notification.id, actor.user_id)
        if read is None:
            read = domain.NotificationRead(notification.id, actor.user_id, ports.clock())
            uow.notifications.mark_read(read)
        return _notification_shape(notification, read.read_at)


def mark_all_notifications_read(db, ports: Ports, actor: Actor) -> dict:
    audiences = domain.audiences_of(actor)
    with concurrent_change_is_conflict(READ_RACE), db.unit_of_work() as uow:
        now = ports.clock()
        for notification_id in uow.notifications.unread_ids(audiences, actor.user_id):
            uow.notifications.mark_read(domain.NotificationRead(notification_id, actor.user_id,
                                                                now))
    return UnreadCount(unread=0).model_dump(mode="json")


def _notification_shape(notification: domain.Notification, read_at: datetime | None) -> dict:
    return NotificationShape(
        id=notification.id, kind=notification.kind, title=notification.title,
        text=notification.text, created_at=notification.created_at, read_at=read_at,
        object=NotificationObject(type=notification.object_type, id=notification.object_id,
                                  link=notification.link)).model_dump(mode="json")


# ---- alert settings (issue 16) -----------------------------------------------------------

def _wanted_now(uow, planned: list[Planned], persons: dict[str, tuple[str, str]]
                ) -> list[Planned]:
    """The emails to send at once: a person who chose the digest or no email for that kind
    gets none now (their notification stays; the digest lists it). `persons`: whom each
    template's email is for, as the event names them (a party or a user)."""
    asked = {}  # template -> (audience type, id, kind) of the person whose choice counts
    for one in planned:
        kind, person = domain.ALERT_KIND_OF_TEMPLATE.get(one.template), persons.get(one.template)
        if kind and person:
            asked[one.template] = (*person, kind)
    chosen = uow.alert_settings.frequencies(list(asked.values()))  # one read for them all
    return [one for one in planned if one.template not in asked
            or (chosen.get(asked[one.template]) or domain.default_frequency(
                asked[one.template][2])) == domain.IMMEDIATE]


def get_alert_settings(db, actor: Actor) -> list[dict]:
    domain.check_alert_settings_reader(actor)
    with db.reading() as reading:
        settings = reading.alert_settings.of_person(actor.user_id)
    return domain.alert_settings_view(settings, actor.role)


def update_alert_settings(db, ports: Ports, actor: Actor, change: AlertSettingsChange
                          ) -> list[dict]:
    """Also records who the person is (party, organisation, email) as of now: the events
    name them so, and the digest is sent to that address."""
    person = domain.alert_person(actor, ports.clock())
    for choice in change.settings:
        domain.check_alert_choice(choice.kind, choice.frequency, actor.role)
    with db.unit_of_work() as uow:
        uow.alert_settings.save_person(person)
        for choice in change.settings:
            if choice.kind in domain.ALERT_KINDS:
                uow.alert_settings.save(domain.AlertSetting(actor.user_id, choice.kind,
                                                            choice.frequency))
        settings = uow.alert_settings.of_person(actor.user_id)
    log.info("alert_settings_changed", user_id=actor.user_id,
             settings={choice.kind: choice.frequency for choice in change.settings})
    return domain.alert_settings_view(settings, actor.role)


# ---- the daily digest (issue 16) ---------------------------------------------------------

def send_daily_digests(db, ports: Ports, day: date | None = None) -> dict:
    """Queue the day's digest of each person who chose one; safe on several replicas at
    once: each digest is claimed by inserting its (person, day) row, in the transaction that
    queues its email, so a second run (or replica) finds it taken and skips it."""
    day = day or ports.clock().astimezone(PARIS).date()
    with db.reading() as reading:
        persons = reading.alert_settings.digest_persons()
    queued = sum(_send_digest(db, ports, person, day) for person in persons)
    log.info("daily_digests_queued", day=day.isoformat(), persons=len(persons), queued=queued)
    return {"day": day.isoformat(), "queued": queued}


def _send_digest(db, ports: Ports, person: domain.AlertPerson, day: date) -> int:
    now = ports.clock()
    with db.reading() as reading:  # most persons have nothing waiting: no claim row for them
        if not _digest_waiting(reading, person, day, now):
            return 0
    with db.unit_of_work() as uow:
        if not uow.digests.claim(domain.Digest(person.user_id, day, now)):
            return 0  # another run has it
        waiting = _digest_waiting(uow, person, day, now)
        funder = uow.funders.get(person.funder_id)
        context = {"day_label": date_fr(day), "count": len(waiting),
                   "funder_name": funder.name if funder else None,
                   "items": [{"title": n.title, "text": n.text, "link": n.link}
                             for n in waiting]}
        planned = Planned(person.email, "daily_digest", context)
        email = domain.new_email(str(uuid.uuid4()), planned,
                                 ports.templates.render("daily_digest", context), now,
                                 funder_id=person.funder_id,
                                 correlation_id=ports.correlation_id)
        uow.emails.add(email)
        uow.digests.record(person.user_id, day, len(waiting))
    ports.queued()
    return 1


def _digest_waiting(uow, person: domain.AlertPerson, day: date, now: datetime
                    ) -> list[domain.Notification]:
    """The person's unread notifications of their digest's kinds since their last digest."""
    previous = uow.digests.previous(person.user_id, day)
    since = previous.created_at if previous else now - timedelta(days=1)
    kinds = domain.digest_kinds(uow.alert_settings.of_person(person.user_id))
    return uow.notifications.for_digest(domain.audiences_of(person.as_actor()),
                                        person.user_id, kinds, since, now)


def notify_payment_issued(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, [domain.payment_notice(event.data)])


def notify_bank_details_changed(uow, ports: Ports, event: Event) -> None:
    notice = domain.bank_details_notice(event.data)
    _notify(uow, ports, event, [notice] if notice else [])


def notify_certifier_status_changed(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, [domain.certifier_notice(event.data)])


def notify_month_to_certify(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, [domain.month_to_certify_notice(event.data,
                                                               month_fr(event.data.month))])


def notify_certificate_reopened(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, [domain.reopened_notice(event.data, month_fr(event.data.month))])


def notify_hours_validated(uow, ports: Ports, event: Event) -> None:
    _notify(uow, ports, event, domain.validated_notices(
        event.data, month_fr(event.data.month), _party_label(event.data.party)))


def follow_account(uow, ports: Ports, event: Event) -> None:
    """identity's account_changed: the persons' copy follows the account (the digest's
    address, the rights that say what they see); the person gets a security notice, by email
    too for a password changed or the account deactivated."""
    data = event.data
    person = domain.person_of_account(data, uow.alert_settings.person(data.user_id))
    if person is not None:
        uow.alert_settings.save_person(person)
    _notify(uow, ports, event, domain.account_notices(data))
    template = domain.ACCOUNT_EMAILS.get(data.change)
    if template and data.email:
        _queue(uow, ports, event, [Planned(data.email, template, {
            "name": data.name, "changed_at": datetime_fr(data.changed_at)})])
