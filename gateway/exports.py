"""The payments export: an Excel workbook written page by page, streamed to the HTTP caller.

RPC cannot stream, so payments answers pages (`payments.export_rows(actor, search, after,
limit)`: rows in list order, the totals of the months and dates they touch, a cursor). The
gateway writes each page into an openpyxl write-only workbook (rows go to a temporary file
as they come: memory stays constant whatever the number of payments), then streams that file
in chunks and deletes it. Same rows and grouping as the screen: a month row with its total,
a date row with its total, then the date's lines, dossier by dossier.
"""
from __future__ import annotations

import os
import tempfile
from datetime import date
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from contracts.common.formatting import month_fr

PAGE_SIZE = 1000
CHUNK = 64 * 1024
# French formats as Excel reads them; a French Excel prints "10 503,34 €" and "20/09/2019".
AMOUNT_FORMAT = '#,##0.00\\ "€"'
HOURS_FORMAT = "#,##0.00"
DATE_FORMAT = "DD/MM/YYYY"
COLUMNS = (  # header, width
    ("Mois", 16), ("Date", 12), ("N° dossier", 16), ("Nom", 22), ("Prénom", 18),
    ("Formation", 34), ("N° règlement", 14), ("Heures payées", 14), ("Période du", 12),
    ("Période au", 12), ("Montant", 16), ("Avance", 8), ("Pointé", 8),
)
_BOLD = Font(bold=True)
_GROUP_FILL = PatternFill("solid", fgColor="DDE7F3")


def pages_of(fetch: Callable[[str | None], dict]) -> Iterator[dict]:
    """Every page, following the cursor: fetch(after) -> an ExportPage dict."""
    after = None
    while True:
        page = fetch(after)
        yield page
        after = page.get("next_after")
        if not after:
            return


def write_workbook(pages: Iterable[dict], path: str) -> int:
    """Write the grouped rows of `pages` into an xlsx at `path`; returns the payment lines
    written. Typed cells: dates are dates, amounts and hours Decimals with French formats."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Règlements")
    for index, (_, width) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, header, font=_BOLD) for header, _ in COLUMNS])
    month = day = None
    lines = 0
    for page in pages:
        for row in page["rows"]:
            row_day = date.fromisoformat(row["payment_date"])
            row_month = row_day.strftime("%Y-%m")
            if row_month != month:
                month, day = row_month, None
                sheet.append(_month_row(sheet, month, Decimal(page["month_totals"][month])))
            if row_day != day:
                day = row_day
                sheet.append(_date_row(sheet, day,
                                       Decimal(page["date_totals"][day.isoformat()])))
            sheet.append(_line(sheet, row))
            lines += 1
    book.save(path)
    return lines


def _cell(sheet, value, number_format: str | None = None, font=None, fill=None):
    cell = WriteOnlyCell(sheet, value=value)
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


def _month_row(sheet, month: str, total: Decimal) -> list:
    cells = [_cell(sheet, month_fr(month), font=_BOLD, fill=_GROUP_FILL)]
    cells += [_cell(sheet, None, fill=_GROUP_FILL) for _ in COLUMNS[1:-3]]
    cells += [_cell(sheet, total, AMOUNT_FORMAT, _BOLD, _GROUP_FILL)]
    return cells


def _date_row(sheet, day: date, total: Decimal) -> list:
    cells = [_cell(sheet, None), _cell(sheet, day, DATE_FORMAT, _BOLD)]
    cells += [_cell(sheet, None) for _ in COLUMNS[2:-3]]
    cells += [_cell(sheet, total, AMOUNT_FORMAT, _BOLD)]
    return cells


def _line(sheet, row: dict) -> list:
    return [
        _cell(sheet, None),
        _cell(sheet, date.fromisoformat(row["payment_date"]), DATE_FORMAT),
        _cell(sheet, row["dossier_number"]),
        _cell(sheet, row["beneficiary_name"]),
        _cell(sheet, row["beneficiary_first_name"]),
        _cell(sheet, row["training_title"]),
        _cell(sheet, row["payment_number"]),
        _cell(sheet, Decimal(row["hours_paid"]), HOURS_FORMAT),
        _cell(sheet, date.fromisoformat(row["period_start"]), DATE_FORMAT),
        _cell(sheet, date.fromisoformat(row["period_end"]), DATE_FORMAT),
        _cell(sheet, Decimal(row["amount"]), AMOUNT_FORMAT),
        _cell(sheet, "Oui" if row["advance"] else "Non"),
        _cell(sheet, "Oui" if row["reconciled"] else "Non"),
    ]


def export_to_file(fetch: Callable[[str | None], dict]) -> str:
    """The whole export in a temporary file (the caller streams and deletes it)."""
    handle, path = tempfile.mkstemp(prefix="jalon-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_workbook(pages_of(fetch), path)
    except BaseException:
        os.unlink(path)
        raise
    return path


def stream_file(path: str) -> Iterator[bytes]:
    """The file in chunks, deleted once sent (or when the client goes away)."""
    try:
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)
