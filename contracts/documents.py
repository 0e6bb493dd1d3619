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


CategoryCode = Annotated[str, Field(min_length=2, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")]
Filename = Annotated[str, Field(min_length=1, max_length=200)]
Label = Annotated[str, Field(min_length=1, max_length=300)]


class NewCategory(Shape):
    """A category funder staff add for their funder, without a code change."""

    code: CategoryCode
    label: str = Field(min_length=1, max_length=100)
    instructions: str = Field("", max_length=2000, description="shown to the user, in French")
    upload_roles: list[Role] = Field(min_length=1)
    content_types: list[ContentType] = Field(min_length=1)
    max_size: int = Field(gt=0, le=MAX_UPLOAD_BYTES, description="bytes")
    requires_dossier: bool = False
    requires_label: bool = False
    requires_period: bool = False


class Category(Shape):
    code: str
    funder_id: Id | None = Field(None, description="None: a category of every funder")
    label: str
    instructions: str
    upload_roles: list[Role]
    content_types: list[ContentType]
    max_size: int
    requires_dossier: bool
    requires_label: bool
    requires_period: bool
    system: bool = Field(description="written by the system only (generated documents)")
    may_upload: bool = Field(False, description="the caller may upload in this category")


class NewUpload(Shape):
    category: CategoryCode
    filename: Filename
    content_base64: str = Field(min_length=1)
    label: Label | None = None
    dossier_id: Id | None = None
    organisation_id: Id | None = Field(
        None, description="funder staff only: the organisation a document without dossier is for")
    period_start: date | None = None
    period_end: date | None = None

    @model_validator(mode="after")
    def _period_in_order(self):
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class Replacement(Shape):
    filename: Filename
    content_base64: str = Field(min_length=1)


class DocumentChange(Shape):
    label: Label | None = None
    category: CategoryCode | None = None


class Rejection(Shape):
    reason_code: ReasonCode
    reason_text: str | None = Field(None, max_length=500,
                                    description="free text; the reason's name when empty")


class UploadReceipt(Shape):
    """The organisation's proof of deposit."""

    document_id: Id
    sha256: str
    received_at: datetime
    category: str
    filename: str
    size: int
    content_type: str
    label: str
    dossier_id: Id | None = None


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
    category_label: str | None = None
    status: str = Field("generated", description="generated, deposited, deposited_by_funder, "
                                                 "checked, rejected")
    status_label: str | None = Field(None, description="as the caller reads it, in French")
    reason_code: str | None = None
    reason_text: str | None = None
    reviewed_at: datetime | None = None
    period_start: date | None = None
    period_end: date | None = None
    dossier_number: str | None = None
    beneficiary_name: str | None = None
    uploaded_by: Id | None = None
    uploaded_by_role: str | None = None
    verification_reference: str | None = None
    hours_reference: str | None = Field(None, description="a final certificate's: the "
                                                          "version of the hours it prints")
    superseded: bool = Field(False, description="a final certificate whose month the funder "
                                                "reopened: it no longer stands for the hours")
    superseded_at: datetime | None = None
    superseded_reason: str | None = None
    can_modify: bool = Field(False, description="the caller may rename, recategorise, replace")
    can_delete: bool = False


class DocumentContent(Shape):
    document: Document
    content_base64: str


class CategoryGroup(Shape):
    category: str
    category_label: str
    documents: list[Document]
