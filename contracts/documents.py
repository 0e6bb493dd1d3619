"""documents RPC shapes: stored files, their categories, uploads and the funder's review."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

from pydantic import Field, model_validator

from contracts.common import Id, Role, Shape

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
"""No category may allow more: files cross RPC as base64 (see docs/architecture.md)."""


class ContentType(str, Enum):
    pdf = PDF
    png = PNG
    jpeg = JPEG


class ReasonCode(str, Enum):
    illegible = "illegible"
    incomplete = "incomplete"
    expired = "expired"
    wrong_document = "wrong_document"
    other = "other"


CategoryCode = Annotated[str, Field(min_length=2, max_length=50, pattern=r"^[a-z][a-z0-9_]*$",
                                    description="the category's code (GET /document-categories)",
                                    examples=["signed_certificate"])]
Filename = Annotated[str, Field(min_length=1, max_length=200,
                                description="the file's name, as deposited",
                                examples=["certificat-octobre-2026.pdf"])]
LABEL = "« Libellé document »: what the document is, as lists show it"
Label = Annotated[str, Field(min_length=1, max_length=300, description=LABEL,
                             examples=["Certificat signé octobre 2026"])]
UPLOAD_ROLES = "the roles that may upload in it"
CONTENT_TYPES = "the file types it accepts"
REQUIRES_DOSSIER = "an upload must name its dossier"
REQUIRES_LABEL = "an upload must give a label (« Libellé »)"
REQUIRES_PERIOD = "an upload must give its period (start and end days)"
SHA256_EXAMPLE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
INSTRUCTIONS = ["Déposez un extrait KBIS de moins de 3 mois, complet et lisible."]


class NewCategory(Shape):
    """A category funder staff add for their funder, without a code change."""

    code: CategoryCode = Field(examples=["training_agreement"])
    label: str = Field(min_length=1, max_length=100, description="its name, as users read it",
                       examples=["Convention de formation"])
    instructions: str = Field("", max_length=2000, description="shown to the user, in French",
                              examples=["Déposez la convention de formation signée."])
    upload_roles: list[Role] = Field(min_length=1, description=UPLOAD_ROLES)
    content_types: list[ContentType] = Field(min_length=1, description=CONTENT_TYPES)
    max_size: int = Field(gt=0, le=MAX_UPLOAD_BYTES, description="bytes")
    requires_dossier: bool = Field(False, description=REQUIRES_DOSSIER)
    requires_label: bool = Field(False, description=REQUIRES_LABEL)
    requires_period: bool = Field(False, description=REQUIRES_PERIOD)


class Category(Shape):
    code: str = Field(description="stable code", examples=["kbis"])
    funder_id: Id | None = Field(None, description="None: a category of every funder")
    label: str = Field(description="its name, as users read it", examples=["Extrait KBIS"])
    instructions: str = Field(description="shown to the user, in French", examples=INSTRUCTIONS)
    upload_roles: list[Role] = Field(description=UPLOAD_ROLES)
    content_types: list[ContentType] = Field(description=CONTENT_TYPES)
    max_size: int = Field(description="the largest file it accepts, in bytes")
    requires_dossier: bool = Field(description=REQUIRES_DOSSIER)
    requires_label: bool = Field(description=REQUIRES_LABEL)
    requires_period: bool = Field(description=REQUIRES_PERIOD)
    system: bool = Field(description="written by the system only (generated documents)")
    may_upload: bool = Field(False, description="the caller may upload in this category")


class NewUpload(Shape):
    category: CategoryCode
    filename: Filename
    content_base64: str = Field(min_length=1)
    label: Label | None = Field(None, description=LABEL + "; the file's name when absent")
    dossier_id: Id | None = Field(None, description="the dossier it belongs to")
    organisation_id: Id | None = Field(
        None, description="funder staff only: the organisation a document without dossier is for")
    period_start: date | None = Field(None, description="the first day of the period it covers")
    period_end: date | None = Field(None, description="the last day of the period it covers")

    @model_validator(mode="after")
    def _period_in_order(self):
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class Replacement(Shape):
    filename: Filename
    content_base64: str = Field(min_length=1)


class DocumentChange(Shape):
    label: Label | None = Field(None, description="the new label; absent: unchanged",
                                examples=["Certificat signé octobre 2026"])
    category: CategoryCode | None = Field(None, description="the new category's code; absent: "
                                                            "unchanged",
                                          examples=["attendance_sheet"])


class Rejection(Shape):
    reason_code: ReasonCode = Field(description="why it is « non conforme »")
    reason_text: str | None = Field(None, max_length=500,
                                    description="free text; the reason's name when empty",
                                    examples=["Le KBIS date de plus de 3 mois."])


class UploadReceipt(Shape):
    """The organisation's proof of deposit."""

    document_id: Id = Field(description="the document stored")
    sha256: str = Field(description="the file's SHA-256 fingerprint (hex)",
                        examples=[SHA256_EXAMPLE])
    received_at: datetime = Field(description="when it was received")
    category: str = Field(description="its category's code", examples=["signed_certificate"])
    filename: str = Field(description="the file's name", examples=["certificat-octobre-2026.pdf"])
    size: int = Field(description="bytes")
    content_type: str = Field(description="the file's type, as found in its content",
                              examples=["application/pdf"])
    label: str = Field(description=LABEL, examples=["Certificat signé octobre 2026"])
    dossier_id: Id | None = Field(None, description="the dossier it belongs to")


class Document(Shape):
    id: Id = Field(description="the document")
    category: str = Field(description="its category's code", examples=["signed_certificate"])
    label: str = Field(description=LABEL, examples=["Certificat signé octobre 2026"])
    filename: str = Field(description="the file's name", examples=["certificat-octobre-2026.pdf"])
    content_type: str = Field(description="the file's type", examples=["application/pdf"])
    size: int = Field(description="bytes")
    sha256: str = Field(description="the file's SHA-256 fingerprint (hex)",
                        examples=[SHA256_EXAMPLE])
    dossier_id: Id | None = Field(None, description="the dossier it belongs to")
    month: str | None = Field(None, description="the month a document Jalon produced (a "
                                                "certificate, an attendance sheet) is for: "
                                                "YYYY-MM",
                              examples=["2026-10"])
    organisation_id: Id | None = Field(None, description="the organisation it is for")
    created_at: datetime = Field(description="« Date »: when it was deposited or produced")
    category_label: str | None = Field(None, description="« Catégorie », as users read it",
                                       examples=["Certificat de réalisation signé"])
    status: str = Field("generated", description="generated, deposited, deposited_by_funder, "
                                                 "checked, rejected")
    status_label: str | None = Field(None, description="as the caller reads it, in French",
                                     examples=["Contrôlé le 02/11/2026"])
    reason_code: str | None = Field(None, description="rejected: why (stable code)",
                                    examples=["illegible"])
    reason_text: str | None = Field(None, description="rejected: why, in French",
                                    examples=["Le KBIS date de plus de 3 mois."])
    reviewed_at: datetime | None = Field(None, description="when the funder checked or "
                                                           "rejected it")
    period_start: date | None = Field(None, description="the first day of the period it covers")
    period_end: date | None = Field(None, description="the last day of the period it covers")
    dossier_number: str | None = Field(None, description="« N° dossier »",
                                       examples=["20X000703"])
    beneficiary_name: str | None = Field(None, description="the dossier's beneficiary",
                                         examples=["DUBOIS Michelle"])
    uploaded_by: Id | None = Field(None, description="the user who deposited or issued it; "
                                                     "null: produced by Jalon on its own",
                                   examples=["0c9b8a7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"])
    uploaded_by_role: str | None = Field(None, description="their role (stable code)",
                                         examples=["organisation_user"])
    verification_reference: str | None = Field(
        None, description="a produced certificate's reference, printed on it: anyone checks it "
                          "at /verifications/{reference}", examples=["JAL-K7Q2MZXB4TRA"])
    hours_reference: str | None = Field(None, description="a final certificate's: the "
                                                          "version of the hours it prints",
                                    examples=["3F9A0C"])
    superseded: bool = Field(False, description="a final certificate whose month the funder "
                                                "reopened: it no longer stands for the hours")
    superseded_at: datetime | None = Field(None, description="when the month was reopened")
    superseded_reason: str | None = Field(
        None, description="the funder's motif of the reopening",
        examples=["Heures d'absence du 12 octobre oubliées : merci de corriger."])
    can_modify: bool = Field(False, description="the caller may rename, recategorise, replace")
    can_delete: bool = Field(False, description="the caller may delete it (their own deposit, "
                                                "not checked yet)")


class DocumentContent(Shape):
    document: Document
    content_base64: str


class CategoryGroup(Shape):
    category: str = Field(description="the category's code", examples=["signed_certificate"])
    category_label: str = Field(description="« Catégorie », as users read it",
                                examples=["Certificat de réalisation signé"])
    documents: list[Document] = Field(description="the dossier's documents of this category")
