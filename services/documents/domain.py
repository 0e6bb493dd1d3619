"""Documents' rules: what a stored file is, who may see it, how a certificate is worded.

Pure: no Nameko, no SQLAlchemy, no I/O. The clock and ids are passed in.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from contracts.common import Actor, Role
from contracts.events import CertifiedV1
from servicekit.formatting import date_fr, datetime_fr, hours_fr, month_fr

COMPLETION_CERTIFICATE = "completion_certificate"
PDF = "application/pdf"
ACTION_NATURE = "Action de formation"
"""The certificate's "Nature de l'action": the Ministry's model offers action de formation,
bilan de compétences, VAE, apprentissage; every dossier funded here is a training action."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Document:
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

    def replace_content(self, sha256: str, size: int, now: datetime) -> None:
        """A month certified again after a reopening: the certificate shows the latest hours."""
        self.sha256, self.size, self.created_at = sha256, size, now


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


def certificate_context(data: CertifiedV1) -> dict:
    """Everything the certificate template prints, already formatted in French."""
    return {
        "organisation_name": data.organisation_name,
        # The legal representative's name is not in CertifiedV1 yet: the template prints the
        # line with the organisation's name alone until the event carries it.
        "legal_representative": None,
        "beneficiary_name": data.beneficiary.name,
        "employer_name": data.employer.name if data.employer else None,
        "dossier_number": data.dossier_number,
        "training_title": data.training_title,
        "action_nature": ACTION_NATURE,
        "session_start": date_fr(data.session_start),
        "session_end": date_fr(data.session_end),
        "month_label": month_fr(data.month),
        "training_hours": hours_fr(data.hours.training),
        "internship_hours": hours_fr(data.hours.internship),
        "absence_hours": hours_fr(data.hours.absence),
        "certified_at": datetime_fr(data.certified_at),
        "certified_by": data.certified_by,
        "method": data.method,
    }


def new_certificate(document_id: str, data: CertifiedV1, sha256: str, size: int,
                    now: datetime) -> Document:
    return Document(
        id=document_id, category=COMPLETION_CERTIFICATE, label=certificate_label(data.month),
        filename=certificate_filename(data.dossier_number, data.month), content_type=PDF,
        size=size, sha256=sha256, created_at=now, funder_id=data.funder_id,
        dossier_id=data.dossier_id, month=data.month, organisation_id=data.organisation_id,
        beneficiary_id=data.beneficiary.id,
        employer_id=data.employer.id if data.employer else None,
    )


def can_see(actor: Actor, document: Document) -> bool:
    """Funder staff: their funder's; organisation users: their organisation's;
    beneficiary and employer: the documents of their own dossiers."""
    if actor.funder_id != document.funder_id:
        return False
    if actor.is_funder_staff:
        return True
    if actor.role == Role.organisation_user:
        return actor.organisation_id is not None and actor.organisation_id == document.organisation_id
    if actor.role == Role.beneficiary:
        return actor.party_id is not None and actor.party_id == document.beneficiary_id
    if actor.role == Role.employer:
        return actor.party_id is not None and actor.party_id == document.employer_id
    return False


def visible(actor: Actor, documents: list[Document]) -> list[Document]:
    return [document for document in documents if can_see(actor, document)]
