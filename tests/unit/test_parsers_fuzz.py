"""Every parser of what users upload or import, fed arbitrary and mutated bytes: the answer is
a refusal with a stable code (InvalidInput, a 422 at the gateway) or a result, never another
exception (which the gateway would turn into a 5xx)."""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.common.errors import InvalidInput
from services.certification import adapters as hours_template
from services.documents import domain as documents
from services.dossiers import adapters as dossiers_sheet
from services.dossiers import handlers as dossiers_handlers
from services.payments.handlers import _parse_row as parse_payment_row
from tests.support.documents import category, image_bytes, pdf_bytes

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

SAMPLES = {
    "pdf": pdf_bytes(),
    "png": image_bytes("PNG"),
    "jpeg": image_bytes("JPEG"),
    "xlsx": hours_template.write_template("month", []),
    "csv": ("N° dossier;SIRET;Bénéficiaire;E-mail bénéficiaire;Formation;Session\n"
            "16/1/2;73282932000074;LEROY Paul;p@example.org;Soudure;01/09/2026 au 30/06/2027\n"
            ).encode(),
}


@st.composite
def mutated(draw, sample: bytes) -> bytes:
    """A valid file with a few bytes changed, cut short or extended: deep parser paths."""
    content = bytearray(sample)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(content) - 1))
        content[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(len(content) // 2, len(content)))
    return bytes(content[:cut]) + draw(st.binary(max_size=16))


def arbitrary_or_mutated(*names: str):
    prefixes = st.sampled_from([b"", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff",
                                b"PK\x03\x04"])
    raw = st.builds(lambda prefix, tail: prefix + tail, prefixes, st.binary(max_size=512))
    return st.one_of(raw, *(mutated(SAMPLES[name]) for name in names))


def refused_or_read(parse, content) -> None:
    try:
        parse(content)
    except InvalidInput as refusal:
        assert refusal.code and refusal.message


@FUZZ
@given(arbitrary_or_mutated("pdf", "png", "jpeg"))
def test_document_uploads(content):
    refused_or_read(lambda c: documents.inspect_upload(category(), base64.b64encode(c).decode()),
                    content)


@FUZZ
@given(arbitrary_or_mutated("xlsx", "csv"))
def test_dossiers_spreadsheet(content):
    refused_or_read(dossiers_sheet.read_spreadsheet, content)


@FUZZ
@given(arbitrary_or_mutated("xlsx"))
def test_filled_hours_template(content):
    refused_or_read(hours_template.read_filled, content)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                       children, max_size=6),
    max_leaves=20)


def rows_like(fields: list[str]):
    """JSON objects with the contract's field names and arbitrary values."""
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=8), JSON, max_size=12)


@FUZZ
@given(JSON | rows_like(["number", "siret", "beneficiary", "employer", "training_title",
                         "session_start", "session_end", "forecast", "commission_date"]))
def test_dossier_import_rows(row):
    """A JSON batch row is reported as an error row, never raised."""
    dossier, problems = dossiers_handlers.check_row(row)
    assert (dossier is None) == bool(problems)
    assert all(problem.code for problem in problems)


@FUZZ
@given(JSON | rows_like(["number", "date", "organisation_id", "advance", "lines"]))
def test_payment_import_rows(row):
    parsed = parse_payment_row(row)
    assert parsed is not None


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_samples_themselves_are_read(name):
    """The mutations start from files each parser accepts."""
    parse = {"pdf": lambda c: documents.inspect_upload(category(), base64.b64encode(c).decode()),
             "png": lambda c: documents.inspect_upload(category(), base64.b64encode(c).decode()),
             "jpeg": lambda c: documents.inspect_upload(category(), base64.b64encode(c).decode()),
             "xlsx": hours_template.read_filled,
             "csv": dossiers_sheet.read_spreadsheet}[name]
    parse(SAMPLES[name])
