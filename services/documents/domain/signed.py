"""What a deposited signed certificate must hold beyond the draft the service printed.

Checked here, at upload, because documents holds the bytes: a PDF that is neither signed
digitally nor carries a scanned page is the draft (or a copy of it) with nothing added, and
is refused before it is stored. Certification, which asked for the drafts, refuses at
certification a deposit whose sha256 is one of the month's drafts (a file kept from before
this check): see services/certification/domain/evidence.py."""
from __future__ import annotations

import io
import warnings

from contracts.common.errors import InvalidInput


def check_signed_certificate(content: bytes) -> None:
    """A digital signature (a /Sig field, or a /ByteRange) or a scanned page (an image with
    no text layer): else the unsigned draft as printed, refused."""
    if not (is_digitally_signed(content) or has_scanned_page(content)):
        raise InvalidInput(
            "signed_certificate_not_signed",
            "Ce PDF ne porte ni signature électronique ni page scannée : c'est le certificat "
            "non signé. Imprimez-le, signez-le et déposez son scan, ou déposez le PDF signé "
            "électroniquement.")


def is_digitally_signed(content: bytes) -> bool:
    # A signature dictionary's /ByteRange stays in clear (never in an object stream: it is
    # written after the file is laid out); a form's signature field is found by pypdf.
    if b"/ByteRange" in content:
        return True
    fields = _reader(content).get_fields() or {}
    return any(field.get("/FT") == "/Sig" for field in fields.values())


def has_scanned_page(content: bytes) -> bool:
    """A page that shows an image and has no text to extract: what a scanner produces."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return any(len(page.images) and not (page.extract_text() or "").strip()
                   for page in _reader(content).pages)


def _reader(content: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(content), strict=False)
