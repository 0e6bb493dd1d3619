"""documents: uploads by category, the funder's review, stored and generated files
(Nameko entrypoints: parse, call one use case of handlers.py, reply)."""
from __future__ import annotations

from eventlet import tpool
from nameko.rpc import rpc

from contracts.common import Actor, Right
from contracts.common.access import require_funder_staff, require_right
from contracts.documents import DocumentChange, NewCategory, Rejection, Replacement
from contracts.ops import MonthEndQuery
from contracts.pdfs import (AttendanceSheetRequest, CertificateFacts, CreditNoteProFormaRequest,
                            RemittanceAdviceRequest)
from servicekit.access import acting
from servicekit.base import ServiceBase
from servicekit.caller import CallingService
from servicekit.db import Database, concurrent_change_is_conflict, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse
from services.documents import domain, handlers
from services.documents.adapters import FileStore, PdfRenderer
from services.documents.models import metadata, repositories, start_mappers

CONCURRENT_CHANGE = ("Ce document vient d'être modifié par quelqu'un d'autre : "
                     "rechargez la page et réessayez.")


def _managing_documents(actor: dict) -> Actor:
    """The caller of a change to deposits: an organisation's user needs the documents right.
    Checked before the payload is read: a caller without it is refused whatever they send."""
    who = acting(actor)
    require_right(who, Right.documents, domain.MISSING_DOCUMENTS)
    return who


def _concurrent_change():
    """Another call changed the same document or category first: the loser gets a Conflict."""
    return concurrent_change_is_conflict(CONCURRENT_CHANGE)


class DocumentsService(ServiceBase):
    name = "documents"
    db = Database(metadata, start_mappers, repositories)
    renderer = PdfRenderer()
    files = FileStore()
    relay = OutboxRelay()
    dossiers = RpcClient("dossiers")
    calling_service = CallingService()

    @property
    def ports(self) -> handlers.Ports:
        return handlers.Ports(files=self.files, renderer=self.renderer, dossiers=self.dossiers,
                              clock=utcnow, offload=tpool.execute)

    def render_certificate(self, event):
        return handlers.render_certificate(self.db, self.ports, event.data)

    # Taken off the queue two at a time (one rendering, one ready): a burst waits in the
    # queue, where a second documents process can take its share, rather than here.
    @subscribe("certification", "certified", prefetch=2)
    @idempotent(prepare=render_certificate)
    def on_certified(self, uow, event, rendered):
        handlers.file_certificate(uow, self.ports, event.data, rendered)

    @subscribe("certification", "certificate_reopened")
    @idempotent
    def on_certificate_reopened(self, uow, event):
        handlers.supersede_certificate(uow, event.data)

    @rpc
    def certificates_produced(self, query):
        """For the ops command line (jalon month-end): counts, no actor."""
        return handlers.certificates_produced(self.db, parse(MonthEndQuery, query))

    # ---- categories and uploads (issue 3) -------------------------------------------------

    @rpc
    def list_categories(self, actor):
        return handlers.list_categories(self.db, acting(actor))

    @rpc
    def create_category(self, actor, payload):
        who = acting(actor)
        require_funder_staff(who)  # before the payload: others are refused whatever they send
        request = parse(NewCategory, payload)
        with _concurrent_change():
            return handlers.create_category(self.db, self.ports, who, request)

    @rpc
    @replayable
    def upload(self, actor, payload):
        return handlers.upload(self.db, self.ports, acting(actor), payload)

    @rpc
    def list_documents(self, actor, dossier_id=None, query=None):
        return handlers.list_documents(self.db, acting(actor), dossier_id, query)

    @rpc
    def documents_by_category(self, actor, dossier_id):
        return handlers.documents_by_category(self.db, acting(actor), dossier_id)

    @rpc
    def get_document(self, actor, document_id):
        return handlers.get_document(self.db, acting(actor), document_id)

    @rpc
    def update_document(self, actor, document_id, payload):
        who, change = _managing_documents(actor), parse(DocumentChange, payload)
        with _concurrent_change():
            return handlers.update_document(self.db, who, document_id, change)

    @rpc
    def replace_document(self, actor, document_id, payload):
        who, replacement = _managing_documents(actor), parse(Replacement, payload)
        with _concurrent_change():
            return handlers.replace_document(self.db, self.ports, who, document_id, replacement)

    @rpc
    def delete_document(self, actor, document_id):
        who = _managing_documents(actor)
        with _concurrent_change():
            handlers.delete_document(self.db, who, document_id)

    @rpc
    def check_document(self, actor, document_id):
        who = acting(actor)
        with _concurrent_change():
            return handlers.check_document(self.db, self.ports, who, document_id)

    @rpc
    def reject_document(self, actor, document_id, payload):
        who, rejection = acting(actor), parse(Rejection, payload)
        with _concurrent_change():
            return handlers.reject_document(self.db, self.ports, who, document_id, rejection)

    @rpc
    def get_document_content(self, actor, document_id):
        return handlers.get_document_content(self.db, self.ports, acting(actor), document_id)

    # ---- generated PDFs: certificate, attendance sheet, remittance advice, pro forma -------

    @rpc
    def render_certificate_draft(self, actor, request):
        who, facts = acting(actor), parse(CertificateFacts, request)
        return handlers.render_certificate_draft(self.db, self.ports, who, facts)

    @rpc
    def render_attendance_sheet(self, actor, request):
        who, sheet = acting(actor), parse(AttendanceSheetRequest, request)
        with _concurrent_change():
            return handlers.render_attendance_sheet(self.db, self.ports, who, sheet)

    @rpc
    def render_remittance_advice(self, actor, request):
        who, advice = acting(actor), parse(RemittanceAdviceRequest, request)
        with _concurrent_change():
            return handlers.render_remittance_advice(self.db, self.ports, who, advice,
                                                     self.calling_service)

    @rpc
    def render_credit_note_pro_forma(self, actor, request):
        who, pro_forma = acting(actor), parse(CreditNoteProFormaRequest, request)
        with _concurrent_change():
            return handlers.render_credit_note_pro_forma(self.db, self.ports, who, pro_forma,
                                                         self.calling_service)

    @rpc
    def verify_certificate(self, reference):
        return handlers.verify_certificate(self.db, reference)
