"""notifications RPC shapes: emails sent and their delivery state."""
from __future__ import annotations

from datetime import date, datetime

from pydantic import EmailStr, Field

from contracts.common import Id, Shape


class DirectEmail(Shape):
    """An email that carries a secret (code, reset link): sent by RPC, never through events."""

    to: EmailStr
    template: str = Field(min_length=1, max_length=100)
    context: dict[str, str | int | float | None] = {}


class Email(Shape):
    id: Id = Field(description="the email's id")
    to: str = Field(description="the recipient's address", examples=["claire.martin@exemple.fr"])
    subject: str = Field(description="the subject line",
                         examples=["Certificat de réalisation d'octobre 2026 – dossier "
                                   "20X000703"])
    template: str = Field(description="the template it was written from",
                          examples=["certified_beneficiary"])
    status: str = Field(description="pending, sending, sent, failed", examples=["sent"])
    attempts: int = Field(description="sends tried so far")
    created_at: datetime = Field(description="when it was written")
    sent_at: datetime | None = Field(None, description="when the mail server accepted it")
    event_id: str | None = Field(None, description="the event that caused it; None for a direct "
                                                   "email (code, reset link)")
    # Its delivery as funder staff read it (issue 16).
    delivery: str = Field("pending", description="pending, sending, retrying (a send failed, "
                                                 "another is planned), sent, failed")
    delivery_label: str = Field("", description="the same, in French")
    last_error: str | None = Field(None, description="the mail server's answer to the last "
                                                     "failed send",
                                   examples=["450 4.2.1 Mailbox temporarily unavailable"])
    next_attempt_at: datetime | None = Field(None, description="while retrying: the next send")
    resent_from: str | None = Field(None, description="the email this one sends again",
                                    examples=["3a8e5f1c-7b2d-4c6e-9f0a-1b2c3d4e5f6a"])


class EmailQuery(Shape):
    event_id: Id | None = Field(None, description="only the emails one event caused")


# ---- the notification centre (issue 16) ----

class NotificationQuery(Shape):
    unread: bool = Field(False, description="only the notifications not yet read")
    limit: int = Field(50, ge=1, le=100, description="notifications per page")
    offset: int = Field(0, ge=0, le=100_000, description="how many to skip, the most recent "
                                                          "first")


class NotificationObject(Shape):
    type: str = Field(description="certificate, document...", examples=["certificate"])
    id: str = Field(description="the object's id; a certificate's is dossier id/month",
                    examples=["9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f/2026-10"])
    link: str = Field(description="where the space shows it, e.g. "
                                  "/dossiers/{id}/certificates/{month}",
                      examples=["/dossiers/9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f/certificates/"
                                "2026-10"])


class Notification(Shape):
    id: Id = Field(description="the notification's id")
    kind: str = Field(description="what happened: certified_beneficiary, hours_contested, "
                                  "document_rejected, payment_issued...",
                      examples=["hours_contested"])
    title: str = Field(description="its title, in French",
                       examples=["Heures contestées – dossier 20X000703, octobre 2026"])
    text: str = Field(description="what happened, in French",
                      examples=["Le bénéficiaire (DUBOIS Michelle) conteste les heures "
                                "d'octobre 2026 : « Absente le 12 octobre »"])
    object: NotificationObject = Field(description="what it is about, and where to see it")
    created_at: datetime = Field(description="when it was made")
    read_at: datetime | None = Field(None, description="when the person read it; None: unread")


class UnreadCount(Shape):
    unread: int = Field(description="the person's notifications not yet read")


class AlertSetting(Shape):
    kind: str = Field(description="one of the kinds the person's role may receive: "
                                  "certified, document_checked, document_rejected, "
                                  "month_to_certify, hours_followup, payments, organisation, "
                                  "funder_followup; and security (locked)",
                      examples=["document_rejected"])
    label: str = Field(description="the kind, in French", examples=["Document non conforme"])
    frequency: str = Field(description="immediate, digest (the daily digest) or none",
                           examples=["immediate"])
    locked: bool = Field(description="security alerts: always immediate")


class AlertChoice(Shape):
    kind: str = Field(min_length=1, max_length=50, description="the alert kind to set",
                      examples=["document_rejected"])
    frequency: str = Field(pattern="^(immediate|digest|none)$",
                           description="immediate, digest (the daily digest) or none (no "
                                       "email, the notification stays)",
                           examples=["digest"])


class AlertSettingsChange(Shape):
    settings: list[AlertChoice] = Field(max_length=20, description="only the kinds given "
                                                                   "change")


class DigestDay(Shape):
    day: date
