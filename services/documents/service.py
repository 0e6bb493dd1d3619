"""documents: uploads by category, the funder's review, stored and generated files
(Nameko entrypoints)."""
from __future__ import annotations

import base64
import contextlib
import secrets
import uuid
from dataclasses import fields

from eventlet import tpool
from nameko.rpc import rpc
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.common import Actor, Right
from contracts.documents import Category as CategoryShape
from contracts.documents import CategoryGroup, DocumentChange
from contracts.documents import Document as DocumentShape
from contracts.documents import (DocumentContent, NewCategory, NewUpload, Rejection,
                                 Replacement, UploadReceipt)
from contracts.pdfs import (AttendanceSheetRequest, CertificateFacts, CertificateVerification,
                            RemittanceAdviceRequest, RenderedPdf)
from servicekit.access import acting
from contracts.common.access import require_funder_staff, require_right
from servicekit.base import ServiceBase
from servicekit.db import Database, concurrent_change_is_conflict, like_pattern, utcnow
from contracts.common.errors import NotFound
from servicekit.events import idempotent, subscribe
from servicekit.idempotency import replayable
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse
from services.documents import domain, models, pdfs
from services.documents.adapters import FileStore, PdfRenderer, letterhead_images
from services.documents.domain import COMPLETION_CERTIFICATE, Category, Document
from services.documents.models import metadata, start_mappers

log = get_logger(__name__)

CONCURRENT_CHANGE = ("Ce document vient d'être modifié par quelqu'un d'autre : "
                     "rechargez la page et réessayez.")

MISSING_DOCUMENTS = ("Vous n'avez pas le droit de gérer les documents : demandez-le à "
                     "l'administrateur de votre organisme.")

_COPIED = tuple(name for name in DocumentShape.model_fields
                if name in {f.name for f in fields(Document)} and name != "status")
_CATEGORY_COPIED = tuple(name for name in CategoryShape.model_fields
                         if name not in ("funder_id", "may_upload"))


def _shape(document: Document, viewer: Actor, labels: dict[str, str]) -> DocumentShape:
    """The document as `viewer` reads it: status label, and whether they may change it."""
    status, status_label = domain.status_of(document, viewer)
    owner = domain.is_owner(viewer, document)
    return DocumentShape(
        **{name: getattr(document, name) for name in _COPIED},
        category_label=labels.get(document.category, document.category),
        status=status, status_label=status_label, can_modify=owner,
        can_delete=owner and document.status != domain.CHECKED)


def _category_shape(category: Category, viewer: Actor) -> dict:
    return CategoryShape(
        **{name: getattr(category, name) for name in _CATEGORY_COPIED},
        funder_id=None if category.funder_id == domain.GLOBAL else category.funder_id,
        may_upload=category.may_upload(viewer)).model_dump(mode="json")


def _receipt(document: Document) -> dict:
    return UploadReceipt(
        document_id=document.id, sha256=document.sha256, received_at=document.created_at,
        category=document.category, filename=document.filename, size=document.size,
        content_type=document.content_type, label=document.label,
        dossier_id=document.dossier_id).model_dump(mode="json")


def _labels(session: Session, funder_id: str) -> dict[str, str]:
    return {category.code: category.label
            for category in models.categories_of(session, funder_id)}


def _replies(session: Session, viewer: Actor, documents: list[Document]) -> list[dict]:
    labels = _labels(session, viewer.funder_id)
    return [_shape(document, viewer, labels).model_dump(mode="json") for document in documents]


def _category_of(session: Session, funder_id: str, code: str) -> Category:
    found = models.category(session, funder_id, code)
    if found is None:
        raise domain.category_not_found(code)
    return found


def _visible(session: Session, viewer: Actor, document_id) -> Document:
    return domain.seen_by(viewer, session.get(Document, str(document_id)), str(document_id))


def _owned(session: Session, viewer: Actor, document_id) -> Document:
    document = _visible(session, viewer, document_id)
    domain.check_owner(viewer, document)
    return document


def _with_documents_right(actor: dict) -> Actor:
    """The caller of a change to deposits: an organisation's user needs the documents right."""
    who = acting(actor)
    require_right(who, Right.documents, MISSING_DOCUMENTS)
    return who


def _publish_uploaded(uow, document: Document, by: Actor | None = None) -> None:
    """In the deposit's own transaction: identity follows KBIS, consent letter, logo, stamp."""
    uow.publish("document_uploaded", domain.uploaded_event(document, by), subject=document.id)


def _dossier_facts(dossier: dict) -> domain.DossierFacts:
    employer = dossier.get("employer") or {}
    return domain.DossierFacts(
        id=dossier["id"], number=dossier["number"], funder_id=dossier["funder_id"],
        organisation_id=dossier["organisation_id"], beneficiary_id=dossier["beneficiary"]["id"],
        beneficiary_name=dossier["beneficiary"]["name"], employer_id=employer.get("id"))




class DocumentsService(ServiceBase):
    name = "documents"
    db = Database(metadata, start_mappers)
    renderer = PdfRenderer()
    files = FileStore()
    relay = OutboxRelay()
    dossiers = RpcClient("dossiers")

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        data = event.data
        # The reference is printed on the PDF, so it is chosen before the render; a month
        # certified again gets a new one (paper copies of the old hours no longer verify).
        certification = pdfs.certification_of(
            data, pdfs.verification_reference(secrets.token_bytes(10)))
        pdf = self._render_certificate(pdfs.facts_from_event(data),
                                       pdfs.certificate_issued_on(certification), certification,
                                       uow.session)
        sha256 = self.files.put(pdf)
        now = utcnow()
        document = uow.session.scalars(select(Document).filter_by(
            category=COMPLETION_CERTIFICATE, dossier_id=data.dossier_id, month=data.month,
        )).first()
        replaced = document is not None
        if replaced:
            document.replace_content(sha256, len(pdf), now)
        else:
            document = domain.new_certificate(str(uuid.uuid4()), data, sha256, len(pdf), now)
            uow.session.add(document)
        document.verification_reference = certification.reference
        log.info("certificate_stored", dossier_id=data.dossier_id, month=data.month,
                 sha256=sha256, replaced=replaced)

    # ---- categories and uploads (issue 3) -------------------------------------------------

    @rpc
    def list_categories(self, actor):
        who = acting(actor)
        with self.db.read() as session:
            found = models.categories_of(session, who.funder_id)
        return [_category_shape(category, who) for category in found]

    @rpc
    def create_category(self, actor, payload):
        who = acting(actor)
        require_funder_staff(who)
        request = parse(NewCategory, payload)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            taken = {category.code for category in models.categories_of(uow.session, who.funder_id)}
            category = domain.new_category(who.funder_id, request, taken, utcnow())
            uow.session.add(category)
        log.info("category_created", code=category.code, funder_id=who.funder_id)
        return _category_shape(category, who)

    @rpc
    @replayable
    def upload(self, actor, payload):
        """Every check runs before anything is stored: a refused upload leaves no row, no file."""
        who = _with_documents_right(actor)
        request = parse(NewUpload, payload)
        with self.db.read() as session:
            category = _category_of(session, who.funder_id, request.category)
        domain.check_upload_request(who, category, request)
        # pypdf and Pillow are CPU work: off the event loop, as PDF rendering is.
        inspected = tpool.execute(domain.inspect_upload, category, request.content_base64)
        dossier = self._dossier(who, request.dossier_id)
        document = domain.new_upload(str(uuid.uuid4()), who, request, category, inspected,
                                     dossier, utcnow())
        self.files.put(inspected.content)
        with self.db.unit_of_work() as uow:
            uow.session.add(document)
            _publish_uploaded(uow, document)
            receipt = _receipt(document)
            uow.keep_reply(receipt)  # a redelivery after commit answers it: no second row
        log.info("document_uploaded", document_id=document.id, category=document.category,
                 sha256=document.sha256, size=document.size)
        return receipt

    def _dossier(self, who: Actor, dossier_id: str | None) -> domain.DossierFacts | None:
        """dossiers.get_dossier is the access check: it refuses a dossier the actor may not
        see (NotFound), and tells whose the document will be."""
        if dossier_id is None:
            return None
        facts = _dossier_facts(self.dossiers.get_dossier(who.model_dump(mode="json"), dossier_id))
        if facts.funder_id != who.funder_id:  # never trust a reply across funders
            raise NotFound("dossier_not_found", "Dossier introuvable.", {"dossier_id": dossier_id})
        return facts

    @rpc
    def list_documents(self, actor, dossier_id=None, query=None):
        """A dossier's documents; or those matching `query` (dossier number, beneficiary name,
        category code or label, document label); with neither, those tied to no dossier and
        no beneficiary (what the Documents page opens on)."""
        who = acting(actor)
        pattern = like_pattern(query)
        with self.db.read() as session:
            codes = domain.categories_matching(models.categories_of(session, who.funder_id),
                                               query)
            found = models.visible_documents(
                session, domain.scope_for(who),
                dossier_id=None if dossier_id is None else str(dossier_id), pattern=pattern,
                category_codes=codes, unattached=dossier_id is None and pattern is None)
            return _replies(session, who, found)

    @rpc
    def documents_by_category(self, actor, dossier_id):
        who = acting(actor)
        with self.db.read() as session:
            found = models.visible_documents(session, domain.scope_for(who),
                                             dossier_id=str(dossier_id))
            labels = _labels(session, who.funder_id)
        return [CategoryGroup(
            category=group.category, category_label=group.category_label,
            documents=[_shape(document, who, labels) for document in group.documents],
        ).model_dump(mode="json") for group in domain.by_category(found, labels)]

    @rpc
    def get_document(self, actor, document_id):
        who = acting(actor)
        with self.db.read() as session:
            return _replies(session, who, [_visible(session, who, document_id)])[0]

    @rpc
    def update_document(self, actor, document_id, payload):
        who, change = _with_documents_right(actor), parse(DocumentChange, payload)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            document = _owned(uow.session, who, document_id)
            if change.label is not None:
                document.rename(change.label)
            if change.category is not None and change.category != document.category:
                document.recategorise(who, _category_of(uow.session, document.funder_id,
                                                        change.category))
            reply = _replies(uow.session, who, [document])[0]
        log.info("document_updated", document_id=document.id)
        return reply

    @rpc
    def replace_document(self, actor, document_id, payload):
        who, replacement = _with_documents_right(actor), parse(Replacement, payload)
        with self.db.read() as session:
            document = _owned(session, who, document_id)
            domain.check_replaceable(document)
            category = _category_of(session, document.funder_id, document.category)
        inspected = tpool.execute(domain.inspect_upload, category, replacement.content_base64)
        self.files.put(inspected.content)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            document = _owned(uow.session, who, document_id)
            document.replace(inspected, replacement.filename, utcnow())
            _publish_uploaded(uow, document, who)
        log.info("document_replaced", document_id=document.id, sha256=document.sha256)
        return _receipt(document)

    @rpc
    def delete_document(self, actor, document_id):
        """The row goes; the bytes stay (content-addressed: other documents may share them)."""
        who = _with_documents_right(actor)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            document = _visible(uow.session, who, document_id)
            domain.check_deletable(who, document)
            uow.session.delete(document)
        log.info("document_deleted", document_id=document.id)

    @rpc
    def check_document(self, actor, document_id):
        who = acting(actor)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            document = _visible(uow.session, who, document_id)
            document.check(who, utcnow())
            label = _category_of(uow.session, document.funder_id, document.category).label
            uow.publish("document_checked", domain.checked_event(document, label),
                        subject=document.id)
            return _replies(uow.session, who, [document])[0]

    @rpc
    def reject_document(self, actor, document_id, payload):
        who, rejection = acting(actor), parse(Rejection, payload)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            document = _visible(uow.session, who, document_id)
            document.reject(who, rejection.reason_code.value, rejection.reason_text, utcnow())
            label = _category_of(uow.session, document.funder_id, document.category).label
            uow.publish("document_rejected", domain.rejected_event(document, label),
                        subject=document.id)
            return _replies(uow.session, who, [document])[0]

    @rpc
    def get_document_content(self, actor, document_id):
        who = acting(actor)
        with self.db.read() as session:
            document = _visible(session, who, document_id)
            shape = _shape(document, who, _labels(session, who.funder_id))
        content = self.files.get(document.sha256)
        return DocumentContent(
            document=shape,
            content_base64=base64.b64encode(content).decode("ascii"),
        ).model_dump(mode="json")

    # ---- generated PDFs: certificate (draft and final), attendance sheet, remittance advice --

    @rpc
    def render_certificate_draft(self, actor, request):
        """The draft certificate (method 1: printed, signed by hand, uploaded): rendered on
        demand and returned, never stored."""
        who, facts = acting(actor), parse(CertificateFacts, request)
        pdfs.check_may_render(who, facts.dossier.funder_id, facts.dossier.organisation_id)
        pdf = self._render_certificate(facts, pdfs.paris_today(utcnow()))
        return RenderedPdf(filename=pdfs.draft_filename(facts.dossier.dossier_number, facts.month),
                           content_base64=base64.b64encode(pdf).decode("ascii")
                           ).model_dump(mode="json")

    @rpc
    def render_attendance_sheet(self, actor, request):
        """A dossier month's attendance sheet, stored (it replaces the month's previous one)."""
        who, sheet = acting(actor), parse(AttendanceSheetRequest, request)
        pdfs.check_may_render(who, sheet.dossier.funder_id, sheet.dossier.organisation_id)
        pdf = self.renderer.render("attendance_sheet.html", pdfs.attendance_context(sheet))
        reply = self._store_generated(who, pdf, lambda sha256, now: pdfs.attendance_document(
            str(uuid.uuid4()), sheet, sha256, len(pdf), now))
        return DocumentContent(document=reply, content_base64=base64.b64encode(pdf).decode(
            "ascii")).model_dump(mode="json")

    @rpc
    def render_remittance_advice(self, actor, request):
        """A payment's remittance advice, stored (it replaces the payment's previous one)."""
        who, advice = acting(actor), parse(RemittanceAdviceRequest, request)
        pdfs.check_may_issue_remittance(who, advice.funder_id)
        pdf = self.renderer.render("remittance_advice.html", pdfs.remittance_context(advice))
        return self._store_generated(who, pdf, lambda sha256, now: pdfs.remittance_document(
            str(uuid.uuid4()), advice, sha256, len(pdf), now))

    @rpc
    def verify_certificate(self, reference):
        """Anyone holding a paper copy checks its reference: no actor, and nothing told but
        whether it is genuine and which dossier, month and content (sha256) it stands for."""
        wanted = pdfs.normalise_reference(reference)
        with self.db.read() as session:
            document = session.scalars(select(Document).filter_by(
                verification_reference=wanted, category=COMPLETION_CERTIFICATE)).first() \
                if wanted else None
        if document is None:
            return CertificateVerification(valid=False).model_dump(mode="json")
        return CertificateVerification(
            valid=True, dossier_number=document.dossier_number, month=document.month,
            sha256=document.sha256, issued_at=document.created_at).model_dump(mode="json")

    def _render_certificate(self, facts: CertificateFacts, issued_on,
                            certification: pdfs.Certification | None = None,
                            session: Session | None = None) -> bytes:
        """Draft (no `certification`) or final certificate, with the organisation's logo and
        stamp when it has them. `session`: the caller's transaction; without one, a short read
        for the query only, so no connection is held while weasyprint works."""
        with contextlib.nullcontext(session) if session else self.db.read() as db:
            found = letterhead_images(db, facts.dossier.funder_id, facts.dossier.organisation_id)
        images = {document.sha256: self.files.get(document.sha256) for document in found.values()}
        context = pdfs.certificate_context(
            facts, issued_on, certification,
            logo_sha256=found[pdfs.LOGO].sha256 if pdfs.LOGO in found else None,
            stamp_sha256=found[pdfs.STAMP].sha256 if pdfs.STAMP in found else None)
        return self.renderer.render("certificate.html", context, images)

    def _store_generated(self, who: Actor, pdf: bytes, make) -> dict:
        """Store a generated PDF and reply its metadata as `who` reads it. A previous one with
        the same name in the same place (same dossier, month and category, or same payment)
        is replaced, not duplicated."""
        sha256, now = self.files.put(pdf), utcnow()
        document = make(sha256, now)
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            existing = uow.session.scalars(select(Document).filter_by(
                category=document.category, funder_id=document.funder_id,
                dossier_id=document.dossier_id, month=document.month,
                filename=document.filename, status=domain.GENERATED)).first()
            if existing is not None:
                existing.replace_content(sha256, len(pdf), now)
                existing.label, document = document.label, existing
            else:
                uow.session.add(document)
            uow.session.flush()
            reply = _replies(uow.session, who, [document])[0]
        log.info("pdf_generated", category=document.category, document_id=document.id,
                 replaced=existing is not None)
        return reply
