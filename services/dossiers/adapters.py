"""dossiers' I/O: reading a funder's spreadsheet (xlsx or CSV) into import rows.

Bytes in, rows out (openpyxl reads from memory, through servicekit.spreadsheets' guards); the
columns and cells are read by domain.sheets. CSV with semicolons (French Excel) or commas,
UTF-8 with or without BOM. Whatever stops the whole file (not a spreadsheet, too big, too
many rows, a required column missing) is an InvalidInput with a stable code.
"""
from __future__ import annotations

import csv
import io
from typing import Iterator

from eventlet import tpool

from contracts.common.errors import InvalidInput
from contracts.dossiers import MAX_IMPORT_ROWS
from services.dossiers.domain import sheets
from services.dossiers.domain.sheets import SheetRow, not_a_spreadsheet
from servicekit.spreadsheets import first_sheet_rows

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_COLUMNS = 50


def read_spreadsheet(content: bytes) -> tuple[dict[str, str], list[SheetRow]]:
    """(field -> heading as written in the file, the non-empty data rows)."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidInput("file_too_large", "Le fichier dépasse 5 Mo.",
                           {"max_bytes": MAX_FILE_BYTES})
    if not content.strip(b"\xef\xbb\xbf \t\r\n"):
        raise InvalidInput("empty_spreadsheet", "Le fichier ne contient aucune ligne.")
    table = (first_sheet_rows(content, not_a_spreadsheet, MAX_COLUMNS)
             if content[:4] == b"PK\x03\x04" else _csv_rows(content))
    header = next(table, None)
    if header is None:
        raise InvalidInput("empty_spreadsheet", "Le fichier ne contient aucune ligne.")
    columns = sheets.columns(header)
    rows = []
    for line, cells in enumerate(table, start=2):
        if sheets.is_blank(cells):
            continue
        if len(rows) == MAX_IMPORT_ROWS:
            raise InvalidInput("too_many_rows",
                               f"Le fichier dépasse {MAX_IMPORT_ROWS} lignes de dossiers : "
                               "découpez-le en plusieurs fichiers.",
                               {"max_rows": MAX_IMPORT_ROWS})
        rows.append(sheets.sheet_row(line, columns, cells))
    return sheets.headings(header, columns), rows


def read_spreadsheet_in_thread(content: bytes) -> tuple[dict[str, str], list[SheetRow]]:
    """openpyxl is CPU-bound: read in a native thread so that the service keeps answering."""
    return tpool.execute(read_spreadsheet, content)


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    if b"\x00" in content[:4096]:  # binary: a PDF, an image, an old .xls...
        raise not_a_spreadsheet()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("invalid_encoding",
                           "Le fichier CSV doit être enregistré en UTF-8 (« CSV UTF-8 » dans "
                           "Excel).") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise not_a_spreadsheet()
    try:
        return iter(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))
    except csv.Error:
        raise not_a_spreadsheet() from None
