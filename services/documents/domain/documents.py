"""Documents: a stored file's metadata, its review by the funder, what it is named, and how
a deposit or a generated certificate becomes one. The clock and ids are passed in."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from contracts.common import FUNDER_ROLES, Actor, Role
from contracts.common.access import require_funder_staff
from contracts.common.errors import Conflict, Forbidden, ServiceUnavailable
from contracts.common.formatting import month_fr
from services.documents.domain.categories import PDF, Category
from services.documents.domain.files import Inspected, default_label, display_filename

COMPLETION_CERTIFICATE = "completion_certificate"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

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
    hours_reference: str | None = None
    """A final certificate's: the version of the hours it prints, as the draft printed it."""
    superseded_at: datetime | None = None
    superseded_reason: str | None = None
    version: int | None = None

    def replace_content(self, sha256: str, size: int, now: datetime) -> None:
        """A month certified again after a reopening: the certificate shows the latest hours."""
        self.sha256, self.size, self.created_at = sha256, size, now

    def supersede(self, reason: str, when: datetime) -> None:
        """The funder reopened the certified month: this certificate no longer stands for its
        hours. Kept, with its reference, so that a paper copy verifies as superseded (when,
        why); the next certification files a new certificate. The first reopening's facts stay."""
        if self.superseded_at is None:
            self.superseded_at, self.superseded_reason = when, reason

    @property
    def superseded(self) -> bool:
        return self.superseded_at is not None

    @property
    def generated(self) -> bool:
        return self.status == GENERATED

    @property
    def by_funder(self) -> bool:
        return self.uploaded_by_role in {role.value for role in FUNDER_ROLES}

    def rename(self, label: str) -> None:
        self.label = label

    def recategorise(self, actor: Actor, category: Category) -> None:
        """To a category the uploader may use, whose rules the document already meets."""
        check_replaceable(self)
        category.check_may_upload(actor)
        category.check_content_type(self.content_type)
        category.check_size(self.size)
        category.check_fields(self.dossier_id is not None, self.label, self.period_start,
                              self.period_end)
        self.category = category.code

    def replace(self, upload: Inspected, filename: str, now: datetime) -> None:
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


def safe_name_part(text: str) -> str:
    """Anything a user or funder typed, reduced to letters, digits, '-' and '_'."""
    return _UNSAFE.sub("-", text).strip("-_") or "document"


def certificate_filename(dossier_number: str, month: str) -> str:
    return f"certificat-realisation-{safe_name_part(dossier_number)}-{month}.pdf"


def certificate_label(month: str) -> str:
    return f"Certificat de réalisation – {month_fr(month)}"


def new_certificate(document_id: str, data, sha256: str, size: int, now: datetime) -> Document:
    """The certificate of a `certified` event (`data`: a contracts.events.CertifiedV1)."""
    return Document(
        id=document_id, category=COMPLETION_CERTIFICATE, label=certificate_label(data.month),
        filename=certificate_filename(data.dossier_number, data.month), content_type=PDF,
        size=size, sha256=sha256, created_at=now, funder_id=data.funder_id,
        dossier_id=data.dossier_id, month=data.month, organisation_id=data.organisation_id,
        beneficiary_id=data.beneficiary.id,
        employer_id=data.employer.id if data.employer else None,
        dossier_number=data.dossier_number, beneficiary_name=data.beneficiary.name,
    )


def certificate_not_filed_yet() -> ServiceUnavailable:
    """A reopening handled before the `certified` it follows (events of different queues may
    overtake each other): retried later, then dead-lettered, visible, if it never comes."""
    return ServiceUnavailable("certificate_not_filed_yet",
                              "Le certificat de ce mois n'est pas encore enregistré.")


def document_checked() -> Conflict:
    return Conflict("document_checked",
                    "Ce document a été contrôlé par le financeur : il ne peut plus être "
                    "supprimé, remplacé ni changé de catégorie.")


def check_replaceable(document: Document) -> None:
    """What the funder checked stays as it was checked (renaming it is harmless)."""
    if document.status == CHECKED:
        raise document_checked()


# ---- deposits ---------------------------------------------------------------------------------

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


def owners_of(actor: Actor, request, dossier: DossierFacts | None) -> Owners:
    """A dossier's document belongs to its organisation, beneficiary and employer. Without a
    dossier: to the uploader (or, for funder staff, to the organisation they name). A wrong
    organisation id from funder staff cannot leak: the document keeps their funder's id.
    `request`: a contracts.documents.NewUpload, as for the functions below."""
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


def check_upload_request(actor: Actor, category: Category, request) -> None:
    """The rules that need no bytes: checked first, so a refused upload costs nothing."""
    category.check_may_upload(actor)
    category.check_fields(request.dossier_id is not None, request.label, request.period_start,
                          request.period_end)


def new_upload(document_id: str, actor: Actor, request, category: Category,
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


# ---- listing ----------------------------------------------------------------------------------

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
