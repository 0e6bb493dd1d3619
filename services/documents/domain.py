"""Documents' rules: categories, what an upload must be, who may see or change a document,
how its status reads, how a certificate is worded.

Pure: no Nameko, no SQLAlchemy, no I/O (pypdf and Pillow only read bytes already in memory).
The clock and ids are passed in.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath, PurePosixPath

from contracts.common import FUNDER_ROLES, Actor, Role
from contracts.documents import JPEG, PNG, NewCategory, NewUpload
from contracts.events import (CertifiedV1, DocumentCheckedV1, DocumentRejectedV1,
                             DocumentUploadedV1)
from contracts.common.access import require_funder_staff
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.common.formatting import PARIS, date_fr, month_fr

COMPLETION_CERTIFICATE = "completion_certificate"
PDF = "application/pdf"
"""The certificate's "Nature de l'action": the Ministry's model offers action de formation,
bilan de compétences, VAE, apprentissage; every dossier funded here is a training action."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


GENERATED, DEPOSITED, CHECKED, REJECTED = "generated", "deposited", "checked", "rejected"
DEPOSITED_BY_FUNDER = "deposited_by_funder"
"""Shown, not stored: a document in status deposited whose uploader is funder staff."""


@dataclass
class Document:
    """A stored file's metadata (mapped by models.start_mappers; `version` is the optimistic
    lock, so a check and a delete of the same document at once cannot both win)."""

    id: str
    category: str
    label: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    funder_id: str
    dossier_id: str | None = None
    month: str | None = None
    organisation_id: str | None = None
    beneficiary_id: str | None = None
    employer_id: str | None = None
    status: str = GENERATED
    period_start: date | None = None
    period_end: date | None = None
    dossier_number: str | None = None
    beneficiary_name: str | None = None
    uploaded_by: str | None = None
    uploaded_by_role: str | None = None
    uploaded_by_email: str | None = None
    uploader_organisation_id: str | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    verification_reference: str | None = None
    version: int | None = None

    def replace_content(self, sha256: str, size: int, now: datetime) -> None:
        """A month certified again after a reopening: the certificate shows the latest hours."""
        self.sha256, self.size, self.created_at = sha256, size, now

    @property
    def generated(self) -> bool:
        return self.status == GENERATED

    @property
    def by_funder(self) -> bool:
        return self.uploaded_by_role in {role.value for role in FUNDER_ROLES}

    def rename(self, label: str) -> None:
        self.label = label

    def recategorise(self, actor: Actor, category: "Category") -> None:
        """To a category the uploader may use, whose rules the document already meets."""
        check_replaceable(self)
        category.check_may_upload(actor)
        category.check_content_type(self.content_type)
        category.check_size(self.size)
        category.check_fields(self.dossier_id is not None, self.label, self.period_start,
                              self.period_end)
        self.category = category.code

    def replace(self, upload: "Inspected", filename: str, now: datetime) -> None:
        """New content, checked like an upload; a rejected document is deposited again."""
        check_replaceable(self)
        self.sha256, self.size, self.content_type = upload.sha256, upload.size, upload.content_type
        self.filename, self.created_at = display_filename(filename), now
        self.status = DEPOSITED
        self.reviewed_at = self.reviewed_by = self.reason_code = self.reason_text = None

    def check(self, actor: Actor, now: datetime) -> None:
        self._check_reviewable(actor)
        if self.status == CHECKED:
            raise Conflict("document_already_checked", "Ce document est déjà contrôlé.",
                           {"document_id": self.id})
        self.status, self.reviewed_at, self.reviewed_by = CHECKED, now, actor.user_id
        self.reason_code = self.reason_text = None

    def reject(self, actor: Actor, reason_code: str, reason_text: str | None,
               now: datetime) -> None:
        self._check_reviewable(actor)
        self.status, self.reviewed_at, self.reviewed_by = REJECTED, now, actor.user_id
        self.reason_code = reason_code
        self.reason_text = (reason_text or "").strip() or REASON_LABELS[reason_code]

    def _check_reviewable(self, actor: Actor) -> None:
        require_funder_staff(actor)
        if self.generated:
            raise Conflict("document_generated",
                           "Un document produit par le système n'est pas à contrôler.",
                           {"document_id": self.id})


REASON_LABELS = {
    "illegible": "document illisible",
    "incomplete": "document incomplet",
    "expired": "document périmé",
    "wrong_document": "ce n'est pas le document attendu",
    "other": "autre motif",
}
"""What "Non conforme : ..." says when funder staff gave a reason code but no text."""


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def blob_path(files_dir: PurePath, sha256: str) -> PurePath:
    """Content-addressed location: <files_dir>/<sha[:2]>/<sha>. Only a hash reaches a path."""
    if not _SHA256.match(sha256):
        raise ValueError("not a sha256 hex digest")
    return files_dir / sha256[:2] / sha256


def safe_name_part(text: str) -> str:
    """Anything a user or funder typed, reduced to letters, digits, '-' and '_'."""
    return _UNSAFE.sub("-", text).strip("-_") or "document"


def certificate_filename(dossier_number: str, month: str) -> str:
    return f"certificat-realisation-{safe_name_part(dossier_number)}-{month}.pdf"


def certificate_label(month: str) -> str:
    return f"Certificat de réalisation – {month_fr(month)}"


def new_certificate(document_id: str, data: CertifiedV1, sha256: str, size: int,
                    now: datetime) -> Document:
    return Document(
        id=document_id, category=COMPLETION_CERTIFICATE, label=certificate_label(data.month),
        filename=certificate_filename(data.dossier_number, data.month), content_type=PDF,
        size=size, sha256=sha256, created_at=now, funder_id=data.funder_id,
        dossier_id=data.dossier_id, month=data.month, organisation_id=data.organisation_id,
        beneficiary_id=data.beneficiary.id,
        employer_id=data.employer.id if data.employer else None,
        dossier_number=data.dossier_number, beneficiary_name=data.beneficiary.name,
    )




# ---- who sees what --------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """The documents an actor may see: always one funder's, narrowed by organisation or party.
    `nothing`: the actor's role needs an organisation or party it does not have."""

    funder_id: str
    field: str | None = None
    value: str | None = None
    nothing: bool = False

    def narrowing(self) -> dict[str, str]:
        return {self.field: self.value} if self.field else {}

    def allows(self, document: Document) -> bool:
        if self.nothing or document.funder_id != self.funder_id:
            return False
        return all(getattr(document, name) == value for name, value in self.narrowing().items())


_NARROWED_BY = {
    Role.organisation_user: ("organisation_id", "organisation_id"),
    Role.beneficiary: ("beneficiary_id", "party_id"),
    Role.employer: ("employer_id", "party_id"),
}


def scope_for(actor: Actor) -> Scope:
    """Funder staff: their funder's documents; an organisation user: its organisation's; a
    beneficiary: theirs; an employer: its employees' (the documents naming it)."""
    if actor.is_funder_staff:
        return Scope(actor.funder_id)
    document_field, actor_field = _NARROWED_BY.get(actor.role, (None, None))
    value = getattr(actor, actor_field) if actor_field else None
    if not value:
        return Scope(actor.funder_id, nothing=True)
    return Scope(actor.funder_id, document_field, value)


def can_see(actor: Actor, document: Document) -> bool:
    return scope_for(actor).allows(document)


def visible(actor: Actor, documents: list[Document]) -> list[Document]:
    return [document for document in documents if can_see(actor, document)]


def document_not_found(document_id: str) -> NotFound:
    return NotFound("document_not_found", "Document introuvable.", {"document_id": document_id})


def seen_by(actor: Actor, document: Document | None, document_id: str) -> Document:
    """The document if the actor may see it; NotFound otherwise, even if it exists."""
    if document is None or not can_see(actor, document):
        raise document_not_found(document_id)
    return document


def is_owner(actor: Actor, document: Document) -> bool:
    """Who deposited it acts on it: funder staff for their funder's deposits, an organisation's
    users for their organisation's, a beneficiary or employer for their own. Nobody owns a
    generated document."""
    if document.generated or not can_see(actor, document):
        return False
    if actor.is_funder_staff:
        return document.by_funder
    if actor.role == Role.organisation_user:
        return (document.uploaded_by_role == Role.organisation_user.value
                and document.uploader_organisation_id == actor.organisation_id)
    return document.uploaded_by == actor.user_id


def check_owner(actor: Actor, document: Document) -> None:
    if not is_owner(actor, document):
        raise Forbidden("not_owner", "Seul le déposant peut modifier ou supprimer ce document.",
                        {"document_id": document.id})


def document_checked() -> Conflict:
    return Conflict("document_checked",
                    "Ce document a été contrôlé par le financeur : il ne peut plus être "
                    "supprimé, remplacé ni changé de catégorie.")


def check_replaceable(document: Document) -> None:
    """What the funder checked stays as it was checked (renaming it is harmless)."""
    if document.status == CHECKED:
        raise document_checked()


def check_deletable(actor: Actor, document: Document) -> None:
    check_owner(actor, document)
    if document.status == CHECKED:
        raise document_checked()


# ---- status as users read it ----------------------------------------------------------------

def status_of(document: Document, viewer: Actor) -> tuple[str, str]:
    """(stable code, French label) of the document as `viewer` reads it."""
    if document.status == CHECKED:
        return CHECKED, f"Contrôlé le {date_fr(document.reviewed_at.astimezone(PARIS))}"
    if document.status == REJECTED:
        return REJECTED, f"Non conforme : {document.reason_text}"
    if document.status == DEPOSITED:
        if document.by_funder:
            return DEPOSITED_BY_FUNDER, "Inscrit par votre AT Pro"
        return DEPOSITED, "Déposé par vous" if is_owner(viewer, document) else "Déposé"
    return GENERATED, "Produit automatiquement"


# ---- categories -----------------------------------------------------------------------------

GLOBAL = "*"
"""funder_id of the categories every funder has (seeded by the migration)."""
UPLOAD_ROLES = frozenset(role.value for role in Role)


@dataclass
class Category:
    """A kind of document and its upload rules. Global ones (funder_id GLOBAL) are seeded;
    funder staff add their funder's own."""

    code: str
    funder_id: str
    label: str
    instructions: str
    upload_roles: list[str]
    content_types: list[str]
    max_size: int
    requires_dossier: bool = False
    requires_label: bool = False
    requires_period: bool = False
    system: bool = False
    created_at: datetime | None = None

    def may_upload(self, actor: Actor) -> bool:
        return not self.system and actor.role.value in self.upload_roles

    def check_may_upload(self, actor: Actor) -> None:
        if not self.may_upload(actor):
            raise Forbidden("category_not_allowed",
                            f"Vous ne pouvez pas déposer de document « {self.label} ».",
                            {"category": self.code})

    def check_size(self, size: int) -> None:
        if size > self.max_size:
            raise InvalidInput("file_too_large",
                               f"Le fichier dépasse la taille maximale de {size_fr(self.max_size)}.",
                               {"max_size": self.max_size, "size": size})

    def check_content_type(self, content_type: str) -> None:
        if content_type not in self.content_types:
            allowed = ", ".join(TYPE_NAMES[t] for t in self.content_types)
            raise InvalidInput("type_not_allowed",
                               f"Ce type de fichier n'est pas accepté pour « {self.label} » "
                               f"(acceptés : {allowed}).",
                               {"content_type": content_type, "allowed": self.content_types})

    def check_fields(self, has_dossier: bool, label: str | None, period_start: date | None,
                     period_end: date | None) -> None:
        missing = [name for name, needed, given in (
            ("dossier_id", self.requires_dossier, has_dossier),
            ("label", self.requires_label, bool(label)),
            ("period_start", self.requires_period, period_start is not None),
            ("period_end", self.requires_period, period_end is not None),
        ) if needed and not given]
        if missing:
            raise InvalidInput("missing_fields",
                               f"Informations manquantes pour « {self.label} » : "
                               f"{', '.join(FIELD_NAMES[name] for name in missing)}.",
                               {"missing": missing})


TYPE_NAMES = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG"}
FIELD_NAMES = {"dossier_id": "le dossier", "label": "le libellé",
               "period_start": "le début de la période", "period_end": "la fin de la période"}


def size_fr(size: int) -> str:
    """10485760 -> "10 Mo"; 2097152 -> "2 Mo"; 500000 -> "488 Ko"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} Mo".replace(".", ",")
    return f"{max(1, round(size / 1024))} Ko"


def new_category(funder_id: str, request: NewCategory, taken_codes: set[str],
                 now: datetime) -> Category:
    """A funder's own category; its code may not shadow a global one or another of its own."""
    if request.code in taken_codes:
        raise Conflict("category_exists", "Une catégorie porte déjà ce code.",
                       {"code": request.code})
    return Category(
        code=request.code, funder_id=funder_id, label=request.label,
        instructions=request.instructions,
        upload_roles=sorted({role.value for role in request.upload_roles}),
        content_types=sorted({kind.value for kind in request.content_types}),
        max_size=request.max_size, requires_dossier=request.requires_dossier,
        requires_label=request.requires_label, requires_period=request.requires_period,
        created_at=now)


def category_not_found(code: str) -> NotFound:
    return NotFound("category_not_found", "Catégorie inconnue.", {"category": code})


# ---- what an upload must be -----------------------------------------------------------------

_MAGIC = ((b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))
PDF_HEADER_WINDOW = 1024
"""Readers accept "%PDF-" anywhere in the first KB (some producers put bytes before it)."""
MAX_IMAGE_PIXELS = 50_000_000
"""A small file may declare a huge image (decompression bomb): refused before decoding."""


@dataclass(frozen=True)
class Inspected:
    """Bytes that passed every check: safe to store."""

    content: bytes
    content_type: str
    size: int
    sha256: str


def decode_base64(text: str, max_size: int) -> bytes:
    # Too large is known from the text's length alone: do not decode megabytes to refuse them.
    if len(text) // 4 * 3 > max_size + 2:
        raise InvalidInput("file_too_large",
                           f"Le fichier dépasse la taille maximale de {size_fr(max_size)}.",
                           {"max_size": max_size})
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_base64",
                           "Le contenu du fichier n'est pas un base64 valide.") from None


def sniff_content_type(content: bytes) -> str:
    """The real type, from the bytes (never from the name)."""
    if b"%PDF-" in content[:PDF_HEADER_WINDOW]:
        return PDF
    for magic, content_type in _MAGIC:
        if content.startswith(magic):
            return content_type
    raise InvalidInput("unsupported_file_type",
                       "Type de fichier non reconnu : seuls les PDF, PNG et JPEG sont acceptés.")


def check_pdf(content: bytes) -> None:
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(content), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ValueError("password protected")
            if len(reader.pages) < 1:
                raise ValueError("no page")
            reader.pages[0].mediabox  # noqa: B018  the first page must be readable
            risky = active_content(reader)
    except Exception:  # pypdf raises many kinds on broken files: any of them means unreadable
        raise InvalidInput("unreadable_pdf",
                           "Le PDF est illisible (fichier endommagé ou protégé par un mot de "
                           "passe).") from None
    if risky:
        raise InvalidInput(
            "pdf_active_content",
            "Ce PDF contient du contenu actif (JavaScript, lancement d'un programme, fichier "
            "joint ou formulaire XFA), refusé pour la sécurité de tous. Ouvrez-le et "
            "imprimez-le vers « Microsoft Print to PDF » (ou « Enregistrer au format PDF »), "
            "puis déposez le PDF simple obtenu.", {"found": sorted(risky)})


# PDF names that make a reader run code, launch a program, carry files or submit data.
# Refused, not neutralised: stripping them from a signed PDF would break its signature, and a
# refusal leaves nothing half-safe in the store.
ACTIVE_PDF_NAMES = frozenset({
    "/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/EmbeddedFile", "/EF", "/XFA",
    "/RichMedia", "/SubmitForm", "/ImportData", "/GoToE",
})
MAX_PDF_OBJECTS = 200_000


def active_content(reader) -> set[str]:
    """Every active-content name reachable from the trailer, as keys or as values (an action's
    /S), in objects compressed in object streams too: pypdf parses names, so an escaped
    `/J#61vaScript` reads as `/JavaScript`. Stream data (page drawings) is not decoded."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack = [reader.trailer]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            if len(seen) > MAX_PDF_OBJECTS:
                raise ValueError("too many objects")
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            found.update(key for key in item if key in ACTIVE_PDF_NAMES)
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)
        elif isinstance(item, NameObject) and item in ACTIVE_PDF_NAMES:
            found.add(str(item))
    return found


def check_image(content: bytes) -> None:
    from PIL import Image

    unreadable = InvalidInput("unreadable_image", "L'image est illisible (fichier endommagé).")
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise InvalidInput("image_too_large",
                                   "L'image est trop grande (nombre de pixels).",
                                   {"width": width, "height": height})
            image.verify()  # structure and checksums
        with Image.open(io.BytesIO(content)) as image:
            image.load()  # verify() does not decode the pixels: a truncated file fails here
    except InvalidInput:
        raise
    except Exception:  # Pillow raises many kinds on broken files
        raise unreadable from None


_READABLE_CHECKS = {PDF: check_pdf, PNG: check_image, JPEG: check_image}


def inspect_upload(category: Category, content_base64: str) -> Inspected:
    """Every check on the bytes, in order: base64, size, real type, type allowed, readable."""
    content = decode_base64(content_base64, category.max_size)
    category.check_size(len(content))
    content_type = sniff_content_type(content)
    category.check_content_type(content_type)
    _READABLE_CHECKS[content_type](content)
    return Inspected(content, content_type, len(content), sha256_of(content))


def display_filename(name: str) -> str:
    """The name shown and offered on download: no directory part, never used as a path."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    return base[:200] or "document"


def default_label(filename: str) -> str:
    return PurePosixPath(display_filename(filename)).stem or "document"


# ---- uploads --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DossierFacts:
    """What dossiers.get_dossier told about the dossier an upload is for."""

    id: str
    number: str
    funder_id: str
    organisation_id: str
    beneficiary_id: str
    beneficiary_name: str
    employer_id: str | None = None


@dataclass(frozen=True)
class Owners:
    """Whose the document is: the fields every scope is computed from."""

    organisation_id: str | None = None
    beneficiary_id: str | None = None
    employer_id: str | None = None


def owners_of(actor: Actor, request: NewUpload, dossier: DossierFacts | None) -> Owners:
    """A dossier's document belongs to its organisation, beneficiary and employer. Without a
    dossier: to the uploader (or, for funder staff, to the organisation they name). A wrong
    organisation id from funder staff cannot leak: the document keeps their funder's id."""
    if request.organisation_id and not actor.is_funder_staff \
            and request.organisation_id != actor.organisation_id:
        raise Forbidden("organisation_not_allowed",
                        "Vous ne pouvez déposer que pour votre propre organisme.")
    if dossier is not None:
        return Owners(dossier.organisation_id, dossier.beneficiary_id, dossier.employer_id)
    if actor.is_funder_staff:
        return Owners(organisation_id=request.organisation_id)
    return Owners(
        organisation_id=actor.organisation_id if actor.role == Role.organisation_user else None,
        beneficiary_id=actor.party_id if actor.role == Role.beneficiary else None,
        employer_id=actor.party_id if actor.role == Role.employer else None,
    )


def check_upload_request(actor: Actor, category: Category, request: NewUpload) -> None:
    """The rules that need no bytes: checked first, so a refused upload costs nothing."""
    category.check_may_upload(actor)
    category.check_fields(request.dossier_id is not None, request.label, request.period_start,
                          request.period_end)


def new_upload(document_id: str, actor: Actor, request: NewUpload, category: Category,
               upload: Inspected, dossier: DossierFacts | None, now: datetime) -> Document:
    owners = owners_of(actor, request, dossier)
    return Document(
        id=document_id, category=category.code,
        label=request.label or default_label(request.filename),
        filename=display_filename(request.filename), content_type=upload.content_type,
        size=upload.size, sha256=upload.sha256, created_at=now, funder_id=actor.funder_id,
        dossier_id=dossier.id if dossier else None,
        organisation_id=owners.organisation_id, beneficiary_id=owners.beneficiary_id,
        employer_id=owners.employer_id, status=DEPOSITED,
        period_start=request.period_start, period_end=request.period_end,
        dossier_number=dossier.number if dossier else None,
        beneficiary_name=dossier.beneficiary_name if dossier else None,
        uploaded_by=actor.user_id, uploaded_by_role=actor.role.value,
        uploaded_by_email=actor.email,
        uploader_organisation_id=actor.organisation_id if actor.role == Role.organisation_user
        else None,
    )


def uploaded_event(document: Document, by: Actor | None = None) -> DocumentUploadedV1:
    """A deposit (or a new file for it, `by` whoever replaced it): it awaits the funder's
    check again. Its metadata only, never its content."""
    return DocumentUploadedV1(
        document_id=document.id, category=document.category, funder_id=document.funder_id,
        organisation_id=document.organisation_id, dossier_id=document.dossier_id,
        uploaded_by=by.user_id if by else document.uploaded_by, uploaded_at=document.created_at)


# ---- review events --------------------------------------------------------------------------

def _reviewed_fields(document: Document, category_label: str) -> dict:
    return dict(
        document_id=document.id, category=document.category, category_label=category_label,
        label=document.label, funder_id=document.funder_id,
        organisation_id=document.organisation_id, dossier_id=document.dossier_id,
        dossier_number=document.dossier_number, owner_user_id=document.uploaded_by,
        owner_email=document.uploaded_by_email,
    )


def checked_event(document: Document, category_label: str) -> DocumentCheckedV1:
    return DocumentCheckedV1(**_reviewed_fields(document, category_label),
                             checked_at=document.reviewed_at, checked_by=document.reviewed_by)


def rejected_event(document: Document, category_label: str) -> DocumentRejectedV1:
    return DocumentRejectedV1(**_reviewed_fields(document, category_label),
                              rejected_at=document.reviewed_at, rejected_by=document.reviewed_by,
                              reason_code=document.reason_code, reason_text=document.reason_text)


# ---- listing --------------------------------------------------------------------------------



def categories_matching(categories: list[Category], query: str | None) -> set[str]:
    """Codes of the categories whose label contains the query (the code itself is searched
    in the documents' table)."""
    text = (query or "").strip().lower()
    return {category.code for category in categories if text and text in category.label.lower()}


@dataclass
class Group:
    category: str
    category_label: str
    documents: list[Document] = field(default_factory=list)


def by_category(documents: list[Document], labels: dict[str, str]) -> list[Group]:
    """The documents of a dossier, one group per category, groups in label order."""
    groups: dict[str, Group] = {}
    for document in documents:
        code = document.category
        groups.setdefault(code, Group(code, labels.get(code, code))).documents.append(document)
    return sorted(groups.values(), key=lambda group: group.category_label.lower())
