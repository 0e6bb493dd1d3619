"""notifications RPC shapes: emails sent and their delivery state."""
from __future__ import annotations

from datetime import datetime

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
