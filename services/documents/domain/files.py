"""What an uploaded file must be (checked on its bytes, never its name), and where stored
bytes live. pypdf and Pillow only read bytes already in memory: no I/O here."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath

from contracts.common.errors import InvalidInput
from services.documents.domain.categories import JPEG, PDF, PNG, Category, size_fr
from services.documents.domain.signed import check_signed_certificate

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def blob_path(files_dir: PurePath, sha256: str) -> PurePath:
    """Content-addressed location: <files_dir>/<sha[:2]>/<sha>. Only a hash reaches a path."""
    if not _SHA256.match(sha256):
        raise ValueError("not a sha256 hex digest")
    return files_dir / sha256[:2] / sha256


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


SIGNED_CERTIFICATE = "signed_certificate"
_READABLE_CHECKS = {PDF: check_pdf, PNG: check_image, JPEG: check_image}


def inspect_upload(category: Category, content_base64: str) -> Inspected:
    """Every check on the bytes, in order: base64, size, real type, type allowed, readable,
    and a signed certificate's PDF signed or scanned."""
    content = decode_base64(content_base64, category.max_size)
    category.check_size(len(content))
    content_type = sniff_content_type(content)
    category.check_content_type(content_type)
    _READABLE_CHECKS[content_type](content)
    if category.code == SIGNED_CERTIFICATE and content_type == PDF:
        check_signed_certificate(content)
    return Inspected(content, content_type, len(content), sha256_of(content))


def display_filename(name: str) -> str:
    """The name shown and offered on download: no directory part, never used as a path."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    return base[:200] or "document"


def default_label(filename: str) -> str:
    return PurePosixPath(display_filename(filename)).stem or "document"
