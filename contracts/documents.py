"""documents RPC shapes: stored files and their metadata."""
from __future__ import annotations

from datetime import datetime

from contracts.common import Id, Shape


class Document(Shape):
    id: Id
    category: str
    label: str
    filename: str
    content_type: str
    size: int
    sha256: str
    dossier_id: Id | None = None
    month: str | None = None
    organisation_id: Id | None = None
    created_at: datetime


class DocumentContent(Shape):
    document: Document
    content_base64: str
