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
    id: Id
    to: str
    subject: str
    template: str
    status: str = Field(description="pending, sending, sent, failed")
    attempts: int
    created_at: datetime
    sent_at: datetime | None = None
    event_id: str | None = None
    # Its delivery as funder staff read it (issue 16).
    delivery: str = Field("pending", description="pending, sending, retrying (a send failed, "
                                                 "another is planned), sent, failed")
    delivery_label: str = Field("", description="the same, in French")
    last_error: str | None = Field(None, description="the mail server's answer to the last "
                                                     "failed send")
    next_attempt_at: datetime | None = Field(None, description="while retrying: the next send")
    resent_from: str | None = Field(None, description="the email this one sends again")


class EmailQuery(Shape):
    event_id: Id | None = Field(None, description="only the emails one event caused")


# ---- the notification centre (issue 16) ----

class NotificationQuery(Shape):
    unread: bool = Field(False, description="only the notifications not yet read")
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


class NotificationObject(Shape):
    type: str = Field(description="certificate, document...")
    id: str
    link: str = Field(description="where the space shows it, e.g. "
                                  "/dossiers/{id}/certificates/{month}")


class Notification(Shape):
    id: Id
    kind: str
    title: str
    text: str
    object: NotificationObject
    created_at: datetime
    read_at: datetime | None = None


class UnreadCount(Shape):
    unread: int


class AlertSetting(Shape):
    kind: str = Field(description="certified, document_checked, document_rejected, security")
    label: str
    frequency: str = Field(description="immediate, digest (the daily digest) or none")
    locked: bool = Field(description="security alerts: always immediate")


class AlertChoice(Shape):
    kind: str = Field(min_length=1, max_length=50)
    frequency: str = Field(pattern="^(immediate|digest|none)$")


class AlertSettingsChange(Shape):
    settings: list[AlertChoice] = Field(max_length=20)


class DigestDay(Shape):
    day: date
