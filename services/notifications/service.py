"""notifications: outgoing emails from events and from direct RPC (Nameko entrypoints)."""
from __future__ import annotations

import uuid

from nameko.rpc import rpc
from sqlalchemy import select

from contracts.common import Actor
from contracts.notifications import DirectEmail
from contracts.notifications import Email as EmailShape
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from contracts.common.errors import InvalidInput
from servicekit.events import idempotent, subscribe
from servicekit.logging import get_logger
from servicekit.validation import parse
from services.notifications import domain
from services.notifications.delivery import EmailDelivery, Templates
from services.notifications.domain import Email
from services.notifications.models import metadata, start_mappers

log = get_logger(__name__)
templates = Templates()


def _shape(email: Email) -> dict:
    return EmailShape(
        id=email.id, to=email.recipient, subject=email.subject, template=email.template,
        status=email.status, attempts=email.attempts, created_at=email.created_at,
        sent_at=email.sent_at, event_id=email.event_id,
    ).model_dump(mode="json")


class NotificationsService(ServiceBase):
    name = "notifications"
    db = Database(metadata, start_mappers)
    delivery = EmailDelivery()

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        self._queue(uow, event, domain.certified_emails(event.data))

    @subscribe("certification", "hours_contested")
    @idempotent
    def on_hours_contested(self, uow, event):
        planned = domain.contested_emails(event.data)
        if not planned:
            log.info("contest_without_address", event_id=event.id,
                     dossier_id=event.data.dossier_id)
            return
        self._queue(uow, event, planned)

    @subscribe("documents", "document_checked")
    @idempotent
    def on_document_checked(self, uow, event):
        self._queue_review_emails(uow, event, domain.document_checked_emails(event.data))

    @subscribe("documents", "document_rejected")
    @idempotent
    def on_document_rejected(self, uow, event):
        self._queue_review_emails(uow, event, domain.document_rejected_emails(event.data))

    def _queue_review_emails(self, uow, event, planned: list) -> None:
        if not planned:
            # The uploader's account had no email: nobody to tell, and nothing to retry.
            log.info("document_owner_without_email", event_id=event.id,
                     document_id=event.data.document_id, owner=event.data.owner_user_id)
            return
        self._queue(uow, event, planned)

    def _queue(self, uow, event, planned: list) -> None:
        now = utcnow()
        for one in planned:
            rendered = templates.render(one.template, one.context)
            uow.session.add(domain.new_email(str(uuid.uuid4()), one, rendered, now,
                                             event_id=event.id, funder_id=event.data.funder_id))
        self.delivery.queued()

    @rpc
    def send_direct_email(self, payload):
        request = parse(DirectEmail, payload)
        if request.template not in domain.DIRECT_TEMPLATES:
            raise InvalidInput("unknown_template", "Modèle d'e-mail inconnu.",
                               {"template": request.template})
        planned = domain.Planned(str(request.to), request.template, dict(request.context))
        rendered = templates.render(planned.template, planned.context)
        email = domain.new_email(str(uuid.uuid4()), planned, rendered, utcnow())
        with self.db.unit_of_work() as uow:
            uow.session.add(email)
        self.delivery.queued()
        log.info("direct_email_queued", email_id=email.id, template=email.template)
        return {"id": email.id}

    @rpc
    def list_emails(self, actor, event_id=None):
        who = parse(Actor, actor)
        domain.check_can_list(who)
        query = select(Email).where(Email.funder_id == who.funder_id)
        if event_id is not None:
            query = query.where(Email.event_id == str(event_id))
        with self.db.read() as session:
            found = session.scalars(query.order_by(Email.created_at)).all()
            return [_shape(email) for email in found]
