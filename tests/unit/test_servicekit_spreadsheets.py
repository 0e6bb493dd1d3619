"""servicekit.spreadsheets: one guarded way to open an uploaded xlsx, for every reader."""
from __future__ import annotations

import io
import zipfile

import pytest

from contracts.common.errors import InvalidInput
from services.certification import adapters as hours_template
from services.dossiers import adapters as dossiers_sheet
from servicekit import spreadsheets


def workbook() -> bytes:
    """A real xlsx (the hours template) that inflates to some tens of kilobytes."""
    return hours_template.write_template("month", [])


@pytest.mark.parametrize("read", [hours_template.read_filled, dossiers_sheet.read_spreadsheet])
def test_an_xlsx_inflating_beyond_the_limit_is_refused_before_reading(read, monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(InvalidInput) as refused:
        read(workbook())
    assert refused.value.code == "file_too_large"


def test_a_broken_workbook_is_the_callers_own_refusal():
    def mine() -> InvalidInput:
        return InvalidInput("not_mine", "pas un classeur")

    with pytest.raises(InvalidInput) as refused:
        spreadsheets.first_sheet_rows(b"PK\x03\x04 not really a zip", mine)
    assert refused.value.code == "not_mine"
    header = next(spreadsheets.first_sheet_rows(workbook(), mine))
    assert header[0]


def with_entity(content: bytes, member_suffix: str) -> bytes:
    """The same workbook whose member `member_suffix` starts with a DTD declaring an entity
    (the first step of a "billion laughs" or an external-entity read)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith(member_suffix):
                root = data[1:data.index(b" ")]
                data = b'<!DOCTYPE %s [<!ENTITY jalon "boom">]>%s' % (root, data)
            target.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("member", ["sheet1.xml", "workbook.xml", "styles.xml"])
@pytest.mark.parametrize("read", [hours_template.read_filled, dossiers_sheet.read_spreadsheet])
def test_an_xlsx_with_a_dtd_or_entity_is_refused_as_unsafe(read, member):
    with pytest.raises(InvalidInput) as refused:
        read(with_entity(workbook(), member))
    assert refused.value.code == "unsafe_xml"
