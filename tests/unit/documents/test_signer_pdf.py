"""The final certificate names its signer: name and role, never an id (method 2: also since
when the organisation certifies electronically, and the IP consent)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.documents.adapters import PdfRenderer
from services.documents.domain import pdfs
from tests.support.documents import certified, pdf_text
from tests.unit.documents.test_pdfs_render import render_certificate

NAMED = {"certified_by_name": "Claire Martin", "certified_by_role": "organisation_user"}
CERTIFIER_SINCE = datetime(2021, 2, 4, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    renderer = PdfRenderer()
    renderer.setup()
    return renderer


def test_method_1_certificate_names_the_signer_and_role(renderer):
    text = pdf_text(render_certificate(renderer, certified(method=1, **NAMED), final=True))
    assert "par Claire Martin (organisme de formation)." in text
    assert "user-42" not in text


def test_method_2_certificate_prints_the_certifier_date_and_the_ip_consent(renderer):
    data = certified(method=2, certifier_since=CERTIFIER_SINCE, ip_use_accepted=True, **NAMED)
    text = pdf_text(render_certificate(renderer, data, final=True))
    assert "Certifié par Claire Martin (organisme de formation), le 02/10/2026" in text
    assert "Organisme certificateur depuis le 04/02/2021." in text
    assert "Le certificateur a accepté que son adresse IP soit utilisée." in text
    assert "user-42" not in text


def test_a_signature_recorded_before_names_were_kept_shows_the_id():
    certification = pdfs.certification_of(certified(method=1), "JAL-AAAQEAYEAUDA")
    assert certification.signer == "user-42"
