"""documents' use cases: load through the repositories, ask the domain, store, publish, reply.

Each takes `db` (servicekit.db.DatabaseAccess, or tests.support.fakes.FakeDatabase), the
`Ports` it needs, the caller and the parsed request, so it runs the same under Nameko and in a
unit test. Who may call at all is checked before the payload is parsed: by the entrypoint, or
for an upload (whose right depends on the category) first thing in `upload`.
The mapping of domain objects to reply and event shapes (contracts) lives here too.
"""
from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Callable, Protocol

from contracts.common import Actor
from contracts.common.errors import NotFound
from contracts.common.formatting import paris_date
from contracts.documents import Category as CategoryShape
from contracts.documents import CategoryGroup, DocumentChange
from contracts.documents import Document as DocumentShape
from contracts.documents import (DocumentContent, NewCategory, NewUpload, Rejection,
                                 Replacement, UploadReceipt)
from contracts.events import (CertificateReopenedV1, CertifiedV1, DocumentCheckedV1,
                              DocumentRejectedV1, DocumentUploadedV1)
from contracts.ops import MonthEndQuery, ProducedCertificates
from contracts.pdfs import (AttendanceSheetRequest, CertificateFacts, CertificateVerification,
                            CreditNoteProFormaRequest, DossierFacts, OrganisationFacts,
                            PartyName, RemittanceAdviceRequest, RenderedPdf,
                            StoredAttendanceSheet)
from servicekit.logging import get_logger
from servicekit.validation import parse
from services.documents import domain
from services.documents.domain import Category, Document, pdfs

log = get_logger(__name__)

class FileStore(Protocol):
    def put(self, content: bytes) -> str: ...

    def get(self, sha256: str) -> bytes: ...


class Renderer(Protocol):
    def render(self, template_name: str, context: dict,
               images: dict[str, bytes] | None = None) -> bytes: ...


class Dossiers(Protocol):
    def get_dossier(self, actor: dict, dossier_id: str) -> dict: ...


@dataclass(frozen=True)
class Ports:
    files: FileStore
    renderer: Renderer
    dossiers: Dossiers
    clock: Callable[[], datetime]
    offload: Callable[..., Any]
    """Runs CPU work (pypdf, Pillow) off the event loop, as PDF rendering is: `offload(f, *args)`."""


# ---- views: domain objects as replies and events ------------------------------------------

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
        status=status, status_label=status_label, superseded=document.superseded,
        can_modify=owner,
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


def _labels(store, funder_id: str) -> dict[str, str]:
    return {category.code: category.label for category in store.categories.of_funder(funder_id)}


def _replies(store, viewer: Actor, documents: list[Document]) -> list[dict]:
    labels = _labels(store, viewer.funder_id)
    return [_shape(document, viewer, labels).model_dump(mode="json") for document in documents]


def _uploaded_event(document: Document, by: Actor | None = None) -> DocumentUploadedV1:
    """A deposit (or a new file for it, `by` whoever replaced it): it awaits the funder's
    check again. Its metadata only, never its content."""
    return DocumentUploadedV1(
        document_id=document.id, category=document.category, funder_id=document.funder_id,
        organisation_id=document.organisation_id, dossier_id=document.dossier_id,
        uploaded_by=by.user_id if by else document.uploaded_by, uploaded_at=document.created_at,
        label=document.label, dossier_number=document.dossier_number)


def _reviewed_fields(document: Document, category_label: str) -> dict:
    return dict(
        document_id=document.id, category=document.category, category_label=category_label,
        label=document.label, funder_id=document.funder_id,
        organisation_id=document.organisation_id, dossier_id=document.dossier_id,
        dossier_number=document.dossier_number, owner_user_id=document.uploaded_by,
        owner_email=document.uploaded_by_email,
    )


def _checked_event(document: Document, category_label: str) -> DocumentCheckedV1:
    return DocumentCheckedV1(**_reviewed_fields(document, category_label),
                             checked_at=document.reviewed_at, checked_by=document.reviewed_by)


def _rejected_event(document: Document, category_label: str) -> DocumentRejectedV1:
    return DocumentRejectedV1(**_reviewed_fields(document, category_label),
                              rejected_at=document.reviewed_at, rejected_by=document.reviewed_by,
                              reason_code=document.reason_code, reason_text=document.reason_text)


def facts_from_event(data: CertifiedV1) -> CertificateFacts:
    """The `certified` event as the certificate prints it."""
    return CertificateFacts(
        dossier=DossierFacts(
            dossier_id=data.dossier_id, dossier_number=data.dossier_number,
            funder_id=data.funder_id, organisation_id=data.organisation_id,
            beneficiary=_name_of(data.beneficiary), employer=_name_of(data.employer),
            training_title=data.training_title, session_start=data.session_start,
            session_end=data.session_end),
        organisation=OrganisationFacts(
            name=data.organisation_name, siret=data.organisation_siret,
            address=data.organisation_address,
            legal_representative=data.legal_representative),
        month=data.month, hours=data.hours, hours_reference=data.hours_reference,
        action_type=data.action_type)


def _name_of(party) -> PartyName | None:
    return PartyName(id=party.id, name=party.name) if party else None


def _dossier_facts(dossier: dict) -> domain.DossierFacts:
    employer = dossier.get("employer") or {}
    return domain.DossierFacts(
        id=dossier["id"], number=dossier["number"], funder_id=dossier["funder_id"],
        organisation_id=dossier["organisation_id"], beneficiary_id=dossier["beneficiary"]["id"],
        beneficiary_name=dossier["beneficiary"]["name"], employer_id=employer.get("id"))


# ---- loading ------------------------------------------------------------------------------

def _category_of(store, funder_id: str, code: str) -> Category:
    found = store.categories.get(funder_id, code)
    if found is None:
        raise domain.category_not_found(code)
    return found


def _visible(store, viewer: Actor, document_id) -> Document:
    return domain.seen_by(viewer, store.documents.get(str(document_id)), str(document_id))


def _owned(store, viewer: Actor, document_id) -> Document:
    document = _visible(store, viewer, document_id)
    domain.check_owner(viewer, document)
    return document


# ---- the certificate of a certified month -------------------------------------------------

@dataclass(frozen=True)
class RenderedCertificate:
    """A certified month's PDF, rendered and stored, waiting to be filed."""
    reference: str
    sha256: str
    size: int


def render_certificate(db, ports: Ports, data: CertifiedV1) -> RenderedCertificate:
    """Before the event's transaction: a render waits for the process's render slot and takes
    hundreds of milliseconds, a transaction open meanwhile would hold a connection (docs/
    performance.md). The reference is printed on the PDF, so it is chosen before the render;
    a month certified again gets a new one (paper copies of the old hours no longer verify as
    valid). The file is stored by its hash: one rendered for a duplicate event is harmless."""
    certification = pdfs.certification_of(
        data, pdfs.verification_reference(secrets.token_bytes(10)))
    facts = facts_from_event(data)
    with db.reading() as reading:
        letterhead = reading.documents.letterhead(facts.dossier.funder_id,
                                                  facts.dossier.organisation_id)
    pdf = _render_certificate(ports, letterhead, facts,
                              pdfs.certificate_issued_on(certification), certification)
    return RenderedCertificate(certification.reference, ports.files.put(pdf), len(pdf))


def file_certificate(uow, ports: Ports, data: CertifiedV1, rendered: RenderedCertificate) -> None:
    """In the event's own transaction (`uow`). After a reopening, the superseded certificate
    stays and the new one is filed beside it."""
    now = ports.clock()
    document = uow.documents.certificate(data.dossier_id, data.month)
    replaced = document is not None
    if replaced:
        document.replace_content(rendered.sha256, rendered.size, now)
    else:
        document = domain.new_certificate(str(uuid.uuid4()), data, rendered.sha256,
                                          rendered.size, now)
        uow.documents.add(document)
    document.verification_reference = rendered.reference
    document.hours_reference = data.hours_reference
    log.info("certificate_stored", dossier_id=data.dossier_id, month=data.month,
             sha256=rendered.sha256, replaced=replaced)


def supersede_certificate(uow, data: CertificateReopenedV1) -> None:
    """In the event's own transaction (`uow`): the reopened month's certificate stops
    verifying as valid; its reference answers superseded, with the reopening's date and
    reason."""
    document = uow.documents.certificate(data.dossier_id, data.month)
    if document is None:
        raise domain.certificate_not_filed_yet()
    document.supersede(data.reason, data.reopened_at)
    log.info("certificate_superseded", dossier_id=data.dossier_id, month=data.month,
             document_id=document.id)


def certificates_produced(db, query: MonthEndQuery) -> list[dict]:
    """Per funder and month, the current certificate PDFs (the ops' month-end view)."""
    with db.reading() as reading:
        rows = reading.documents.certificates_produced(query.funder_id, query.month)
    return [ProducedCertificates(**row).model_dump(mode="json") for row in rows]


# ---- categories and uploads (issue 3) -------------------------------------------------------

def list_categories(db, who: Actor) -> list[dict]:
    with db.reading() as reading:
        found = reading.categories.of_funder(who.funder_id)
    return [_category_shape(category, who) for category in found]


def create_category(db, ports: Ports, who: Actor, request: NewCategory) -> dict:
    with db.unit_of_work() as uow:
        taken = {category.code for category in uow.categories.of_funder(who.funder_id)}
        category = domain.new_category(who.funder_id, request, taken, ports.clock())
        uow.categories.add(category)
    log.info("category_created", code=category.code, funder_id=who.funder_id)
    return _category_shape(category, who)


def upload(db, ports: Ports, who: Actor, payload) -> dict:
    """Every check runs before anything is stored: a refused upload leaves no row, no file.
    The right first, judged on the category asked before the rest is read."""
    domain.check_deposit_right(who, payload.get("category") if isinstance(payload, dict)
                               else None)
    request = parse(NewUpload, payload)
    with db.reading() as reading:
        category = _category_of(reading, who.funder_id, request.category)
    domain.check_upload_request(who, category, request)
    inspected = ports.offload(domain.inspect_upload, category, request.content_base64)
    dossier = _dossier(ports, who, request.dossier_id)
    document = domain.new_upload(str(uuid.uuid4()), who, request, category, inspected,
                                 dossier, ports.clock())
    ports.files.put(inspected.content)
    with db.unit_of_work() as uow:
        uow.documents.add(document)
        uow.publish("document_uploaded", _uploaded_event(document), subject=document.id)
        receipt = _receipt(document)
        uow.keep_reply(receipt)  # a redelivery after commit answers it: no second row
    log.info("document_uploaded", document_id=document.id, category=document.category,
             sha256=document.sha256, size=document.size)
    return receipt


def _dossier(ports: Ports, who: Actor, dossier_id: str | None) -> domain.DossierFacts | None:
    """dossiers.get_dossier is the access check: it refuses a dossier the actor may not
    see (NotFound), and tells whose the document will be."""
    if dossier_id is None:
        return None
    facts = _dossier_facts(ports.dossiers.get_dossier(who.model_dump(mode="json"), dossier_id))
    if facts.funder_id != who.funder_id:  # never trust a reply across funders
        raise NotFound("dossier_not_found", "Dossier introuvable.", {"dossier_id": dossier_id})
    return facts


def list_documents(db, who: Actor, dossier_id=None, query: str | None = None) -> list[dict]:
    """A dossier's documents; or those matching `query` (dossier number, beneficiary name,
    category code or label, document label); with neither, those tied to no dossier and
    no beneficiary (what the Documents page opens on)."""
    searching = bool((query or "").strip())
    with db.reading() as reading:
        codes = domain.categories_matching(reading.categories.of_funder(who.funder_id), query)
        found = reading.documents.visible(
            domain.scope_for(who), dossier_id=None if dossier_id is None else str(dossier_id),
            query=query, category_codes=codes, unattached=dossier_id is None and not searching)
        return _replies(reading, who, found)


def documents_by_category(db, who: Actor, dossier_id) -> list[dict]:
    with db.reading() as reading:
        found = reading.documents.visible(domain.scope_for(who), dossier_id=str(dossier_id))
        labels = _labels(reading, who.funder_id)
    return [CategoryGroup(
        category=group.category, category_label=group.category_label,
        documents=[_shape(document, who, labels) for document in group.documents],
    ).model_dump(mode="json") for group in domain.by_category(found, labels)]


def get_document(db, who: Actor, document_id) -> dict:
    with db.reading() as reading:
        return _replies(reading, who, [_visible(reading, who, document_id)])[0]


def update_document(db, who: Actor, document_id, change: DocumentChange) -> dict:
    with db.unit_of_work() as uow:
        document = _owned(uow, who, document_id)
        if change.label is not None:
            document.rename(change.label)
        if change.category is not None and change.category != document.category:
            document.recategorise(who, _category_of(uow, document.funder_id, change.category))
        reply = _replies(uow, who, [document])[0]
    log.info("document_updated", document_id=document.id)
    return reply


def replace_document(db, ports: Ports, who: Actor, document_id,
                     replacement: Replacement) -> dict:
    with db.reading() as reading:
        document = _owned(reading, who, document_id)
        domain.check_replaceable(document)
        category = _category_of(reading, document.funder_id, document.category)
    inspected = ports.offload(domain.inspect_upload, category, replacement.content_base64)
    ports.files.put(inspected.content)
    with db.unit_of_work() as uow:
        document = _owned(uow, who, document_id)
        document.replace(inspected, replacement.filename, ports.clock())
        uow.publish("document_uploaded", _uploaded_event(document, who), subject=document.id)
    log.info("document_replaced", document_id=document.id, sha256=document.sha256)
    return _receipt(document)


def delete_document(db, who: Actor, document_id) -> None:
    """The row goes; the bytes stay (content-addressed: other documents may share them)."""
    with db.unit_of_work() as uow:
        document = _visible(uow, who, document_id)
        domain.check_deletable(who, document)
        uow.documents.remove(document)
    log.info("document_deleted", document_id=document.id)


def check_document(db, ports: Ports, who: Actor, document_id) -> dict:
    with db.unit_of_work() as uow:
        document = _visible(uow, who, document_id)
        document.check(who, ports.clock())
        label = _category_of(uow, document.funder_id, document.category).label
        uow.publish("document_checked", _checked_event(document, label), subject=document.id)
        return _replies(uow, who, [document])[0]


def reject_document(db, ports: Ports, who: Actor, document_id, rejection: Rejection) -> dict:
    with db.unit_of_work() as uow:
        document = _visible(uow, who, document_id)
        document.reject(who, rejection.reason_code.value, rejection.reason_text, ports.clock())
        label = _category_of(uow, document.funder_id, document.category).label
        uow.publish("document_rejected", _rejected_event(document, label), subject=document.id)
        return _replies(uow, who, [document])[0]


def get_document_content(db, ports: Ports, who: Actor, document_id) -> dict:
    with db.reading() as reading:
        document = _visible(reading, who, document_id)
        shape = _shape(document, who, _labels(reading, who.funder_id))
    content = ports.files.get(document.sha256)
    return DocumentContent(
        document=shape,
        content_base64=base64.b64encode(content).decode("ascii"),
    ).model_dump(mode="json")


# ---- generated PDFs: certificate, attendance sheet, remittance advice, pro forma -------

def render_certificate_draft(db, ports: Ports, who: Actor, facts: CertificateFacts) -> dict:
    """The draft certificate (method 1: printed, signed by hand, uploaded): rendered on
    demand and returned, never stored."""
    pdfs.check_may_render(who, facts.dossier.funder_id, facts.dossier.organisation_id)
    # A short read for the query only: no connection is held while weasyprint works.
    with db.reading() as reading:
        letterhead = reading.documents.letterhead(facts.dossier.funder_id,
                                                  facts.dossier.organisation_id)
    pdf = _render_certificate(ports, letterhead, facts, paris_date(ports.clock()))
    return RenderedPdf(filename=pdfs.draft_filename(facts.dossier.dossier_number, facts.month),
                       content_base64=base64.b64encode(pdf).decode("ascii")
                       ).model_dump(mode="json")


def render_attendance_sheet(db, ports: Ports, who: Actor, sheet: AttendanceSheetRequest) -> dict:
    """A dossier month's attendance sheet, stored (it replaces the month's previous one);
    warned when its total is not the month's certified (or entered) presence hours."""
    pdfs.check_may_render(who, sheet.dossier.funder_id, sheet.dossier.organisation_id)
    pdf = ports.renderer.render("attendance_sheet.html", pdfs.attendance_context(sheet))
    reply = _store_generated(db, ports, who, pdf, lambda sha256, now: pdfs.attendance_document(
        str(uuid.uuid4()), sheet, sha256, len(pdf), now))
    return StoredAttendanceSheet(
        document={**reply, "warnings": pdfs.attendance_warnings(sheet)},
        content_base64=base64.b64encode(pdf).decode("ascii")).model_dump(mode="json")


def render_remittance_advice(db, ports: Ports, who: Actor, advice: RemittanceAdviceRequest,
                             calling_service: str | None) -> dict:
    """A recorded payment's remittance advice, asked by payments only, stored (it replaces
    the payment's previous one); the payer's logo printed when the funder filed one."""
    pdfs.check_may_issue_from_payments(who, advice.funder_id, calling_service,
                                       pdfs.REMITTANCE_ADVICE)
    logo, images = _payer_logo(db, ports, advice.payer, advice.funder_id)
    pdf = ports.renderer.render("remittance_advice.html",
                                pdfs.remittance_context(advice, logo), images)
    return _store_generated(db, ports, who, pdf, lambda sha256, now: pdfs.remittance_document(
        str(uuid.uuid4()), advice, who, sha256, len(pdf), now))


def render_credit_note_pro_forma(db, ports: Ports, who: Actor,
                                 pro_forma: CreditNoteProFormaRequest,
                                 calling_service: str | None) -> dict:
    """A recorded credit note's pro forma (seed 004), asked by payments only, stored with the
    organisation (it replaces the note's previous one); the payer's logo printed when the
    funder filed one."""
    pdfs.check_may_issue_from_payments(who, pro_forma.funder_id, calling_service,
                                       pdfs.CREDIT_NOTE_PRO_FORMA)
    logo, images = _payer_logo(db, ports, pro_forma.payer, pro_forma.funder_id)
    pdf = ports.renderer.render("credit_note_pro_forma.html",
                                pdfs.pro_forma_context(pro_forma, logo), images)
    return _store_generated(db, ports, who, pdf, lambda sha256, now: pdfs.pro_forma_document(
        str(uuid.uuid4()), pro_forma, who, sha256, len(pdf), now))


def _payer_logo(db, ports: Ports, payer, funder_id: str
                ) -> tuple[str | None, dict[str, bytes] | None]:
    """The payer's logo (its sha256, and the image for the renderer) when its settings name
    one of the funder's own; (None, None) otherwise."""
    logo = None
    if payer is not None and payer.logo_document_id is not None:
        with db.reading() as reading:
            logo = pdfs.payer_logo(reading.documents.get(payer.logo_document_id), funder_id)
    if logo is None:
        return None, None
    return logo.sha256, {logo.sha256: ports.files.get(logo.sha256)}


def verify_certificate(db, reference) -> dict:
    """Anyone holding a paper copy checks its reference: no actor, and nothing told but
    whether it is genuine, which dossier, month and content (sha256) it stands for, and
    whether a reopening of the month superseded it (when, why)."""
    wanted = pdfs.normalise_reference(reference)
    document = None
    if wanted:
        with db.reading() as reading:
            document = reading.documents.certificate_by_reference(wanted)
    if document is None:
        return CertificateVerification(valid=False).model_dump(mode="json")
    return CertificateVerification(
        valid=not document.superseded, dossier_number=document.dossier_number,
        month=document.month, sha256=document.sha256, issued_at=document.created_at,
        superseded=document.superseded, superseded_at=document.superseded_at,
        superseded_reason=document.superseded_reason,
    ).model_dump(mode="json")


def _render_certificate(ports: Ports, letterhead: dict[str, Document], facts: CertificateFacts,
                        issued_on, certification: pdfs.Certification | None = None) -> bytes:
    """Draft (no `certification`) or final certificate, with the organisation's logo and
    stamp (`letterhead`, by category) when it has them."""
    images = {document.sha256: ports.files.get(document.sha256)
              for document in letterhead.values()}
    context = pdfs.certificate_context(
        facts, issued_on, certification,
        logo_sha256=letterhead[pdfs.LOGO].sha256 if pdfs.LOGO in letterhead else None,
        stamp_sha256=letterhead[pdfs.STAMP].sha256 if pdfs.STAMP in letterhead else None)
    return ports.renderer.render("certificate.html", context, images)


def _store_generated(db, ports: Ports, who: Actor, pdf: bytes, make) -> dict:
    """Store a generated PDF and reply its metadata as `who` reads it. A previous one with
    the same name in the same place (same dossier, month and category, or same payment)
    is replaced, not duplicated."""
    sha256, now = ports.files.put(pdf), ports.clock()
    document = make(sha256, now)
    with db.unit_of_work() as uow:
        existing = uow.documents.generated_in_place_of(document)
        if existing is not None:
            existing.replace_content(sha256, len(pdf), now)
            existing.label, document = document.label, existing
        else:
            uow.documents.add(document)
        reply = _replies(uow, who, [document])[0]
    log.info("pdf_generated", category=document.category, document_id=document.id,
             replaced=existing is not None)
    return reply
