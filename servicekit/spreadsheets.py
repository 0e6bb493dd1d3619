"""Opening an uploaded xlsx safely, the same way for every service that reads one; writing
texts as texts in the workbooks the services make.

An xlsx is a zip: its members' declared sizes are summed before openpyxl inflates anything,
so a small upload cannot expand into gigabytes (a "zip bomb"); openpyxl parses the XML with
defusedxml (a dependency: openpyxl uses it when installed), so a DTD or an entity is refused
(`unsafe_xml`) rather than expanded; whatever openpyxl or zipfile raise on a file that is not a
workbook, while opening it or later while its rows are read, becomes the caller's own
InvalidInput.
"""
from __future__ import annotations

import contextlib
import io
import zipfile
from typing import Callable, Iterator

from defusedxml import DefusedXmlException

from contracts.common.errors import InvalidInput

MAX_UNZIPPED_BYTES = 100 * 1024 * 1024


def first_sheet_rows(content: bytes, not_a_workbook: Callable[[], InvalidInput],
                     max_columns: int | None = None) -> Iterator[tuple]:
    """The first sheet's rows as value tuples (openpyxl read-only)."""
    from openpyxl import load_workbook  # heavy: only when an xlsx comes

    with _refusals(not_a_workbook):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise InvalidInput("file_too_large", "Le fichier décompressé est trop volumineux.",
                                   {"max_unzipped_bytes": MAX_UNZIPPED_BYTES})
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    if not workbook.worksheets:
        raise not_a_workbook()
    return _rows(workbook.worksheets[0].iter_rows(values_only=True, max_col=max_columns),
                 not_a_workbook)


def _rows(rows: Iterator[tuple], not_a_workbook: Callable[[], InvalidInput]) -> Iterator[tuple]:
    """Read-only worksheets parse lazily: a broken sheet fails while its rows are read."""
    with _refusals(not_a_workbook):
        yield from rows


@contextlib.contextmanager
def _refusals(not_a_workbook: Callable[[], InvalidInput]) -> Iterator[None]:
    try:
        yield
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile/expat raise many kinds
        if not _unsafe(exc):
            raise not_a_workbook() from None
        raise InvalidInput("unsafe_xml", "Le classeur contient des déclarations XML (DTD ou "
                           "entités) refusées : enregistrez-le de nouveau depuis Excel ou "
                           "LibreOffice au format .xlsx.") from None


def _unsafe(exc: BaseException | None) -> bool:
    """defusedxml refused the XML, maybe wrapped by openpyxl in a ValueError."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def never_a_formula(cell):
    """A text that starts with "=" stays that text: openpyxl would store it as a formula, which
    Excel runs when the file is opened (a beneficiary named '=HYPERLINK("http://…";"…")' in a
    funder's export: formula injection). No workbook of ours holds a formula."""
    if cell.data_type == "f":
        cell.data_type = "s"
    return cell
