"""Categories: the kinds of document and their upload rules (who, which types, how large,
which fields). Global ones are seeded by the migration; funder staff add their funder's own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from contracts.common import Actor
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"
"""The content types a category may accept (contracts.documents.ContentType's values)."""

GLOBAL = "*"
"""funder_id of the categories every funder has (seeded by the migration)."""


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


def new_category(funder_id: str, request, taken_codes: set[str], now: datetime) -> Category:
    """A funder's own category (`request`: a contracts.documents.NewCategory); its code may
    not shadow a global one or another of its own."""
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


def categories_matching(categories: list[Category], query: str | None) -> set[str]:
    """Codes of the categories whose label contains the query (the code itself is searched
    in the documents' table)."""
    text = (query or "").strip().lower()
    return {category.code for category in categories if text and text in category.label.lower()}
