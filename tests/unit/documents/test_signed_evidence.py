"""A signed certificate must hold more than the draft the service printed: a digital
signature or a scanned page (services/documents/domain/signed.py)."""
from __future__ import annotations

import base64
import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from contracts.common.errors import InvalidInput
from services.documents import domain
from tests.support.documents import b64, category, image_bytes, pdf_bytes
from tools.demo import scanned_pdf

SIGNED = category("signed_certificate", requires_dossier=True, requires_period=True)
KBIS = category("kbis")


def draft_pdf() -> bytes:
    """Like the draft certification asks documents for: text, and the organisation's logo."""
    from weasyprint import HTML

    logo = base64.b64encode(image_bytes()).decode()
    return HTML(string=f'<img src="data:image/png;base64,{logo}"><p>Certificat de réalisation '
                       f'— PROJET</p>').write_pdf()


def signature_field_pdf(with_byte_range: bool) -> bytes:
    """A PDF with a signature form field (and its /ByteRange when signed in clear)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    value = DictionaryObject({NameObject("/Type"): NameObject("/Sig")})
    if with_byte_range:
        value[NameObject("/ByteRange")] = ArrayObject([NumberObject(0)] * 4)
    field = DictionaryObject({NameObject("/FT"): NameObject("/Sig"),
                              NameObject("/T"): TextStringObject("Signature1"),
                              NameObject("/V"): writer._add_object(value)})
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([writer._add_object(field)])})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("content", [draft_pdf(), pdf_bytes(2)], ids=["draft", "blank"])
def test_a_pdf_neither_signed_nor_scanned_is_refused_as_signed_certificate(content):
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(SIGNED, b64(content))
    assert refused.value.code == "signed_certificate_not_signed"
    assert "signature électronique" in refused.value.message


@pytest.mark.parametrize("content", [
    scanned_pdf(), signature_field_pdf(with_byte_range=False),
    signature_field_pdf(with_byte_range=True)], ids=["scan", "sig-field", "byte-range"])
def test_a_scan_or_a_digitally_signed_pdf_is_accepted(content):
    assert domain.inspect_upload(SIGNED, b64(content)).size == len(content)


def test_the_draft_with_its_logo_is_not_a_scanned_page():
    assert not domain.has_scanned_page(draft_pdf())
    assert domain.has_scanned_page(scanned_pdf())


def test_other_categories_and_images_are_not_checked_for_a_signature():
    assert domain.inspect_upload(KBIS, b64(draft_pdf())).content_type == domain.PDF
    photo = image_bytes("JPEG")
    assert domain.inspect_upload(SIGNED, b64(photo)).content_type == domain.JPEG
