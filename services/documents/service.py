"""documents: stored files and the generated completion certificates (Nameko entrypoints)."""
from __future__ import annotations

import base64
import uuid

from nameko.rpc import rpc
from sqlalchemy import select

from contracts.common import Actor
from contracts.documents import Document as DocumentShape
from contracts.documents import DocumentContent
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.errors import NotFound
from servicekit.events import idempotent, subscribe
from servicekit.logging import get_logger
from servicekit.validation import parse
from services.documents import domain
from services.documents.adapters import FileStore, PdfRenderer
from services.documents.domain import COMPLETION_CERTIFICATE, Document
from services.documents.models import metadata, start_mappers

log = get_logger(__name__)

_SHAPE_FIELDS = tuple(DocumentShape.model_fields)


def _shape(document: Document) -> DocumentShape:
    return DocumentShape(**{name: getattr(document, name) for name in _SHAPE_FIELDS})


class DocumentsService(ServiceBase):
    name = "documents"
    db = Database(metadata, start_mappers)
    renderer = PdfRenderer()
    files = FileStore()

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        data = event.data
        pdf = self.renderer.render("certificate.html", domain.certificate_context(data))
        sha256 = self.files.put(pdf)
        now = utcnow()
        existing = uow.session.scalars(select(Document).filter_by(
            category=COMPLETION_CERTIFICATE, dossier_id=data.dossier_id, month=data.month,
        )).first()
        if existing:
            existing.replace_content(sha256, len(pdf), now)
        else:
            uow.session.add(domain.new_certificate(str(uuid.uuid4()), data, sha256, len(pdf), now))
        log.info("certificate_stored", dossier_id=data.dossier_id, month=data.month,
                 sha256=sha256, replaced=bool(existing))

    @rpc
    def list_documents(self, actor, dossier_id):
        who = parse(Actor, actor)
        with self.db.read() as session:
            found = session.scalars(select(Document).filter_by(dossier_id=str(dossier_id))
                                    .order_by(Document.created_at)).all()
            return [_shape(document).model_dump(mode="json") for document in domain.visible(who, list(found))]

    @rpc
    def get_document_content(self, actor, document_id):
        who = parse(Actor, actor)
        with self.db.read() as session:
            document = session.get(Document, str(document_id))
        if document is None or not domain.can_see(who, document):
            raise NotFound("document_not_found", "Document introuvable.",
                           {"document_id": str(document_id)})
        content = self.files.get(document.sha256)
        return DocumentContent(
            document=_shape(document),
            content_base64=base64.b64encode(content).decode("ascii"),
        ).model_dump(mode="json")
