"""payments' I/O besides its database (models.py) and the RPC clients of handlers.Ports: the
Excel export's workbook. The remittance advice is rendered by the documents service and emails
are sent by notifications, both reached over RPC.

The export (a job: handlers.run_export) writes the search's rows page by page into an openpyxl
write-only workbook (rows go to a temporary file as they come: memory stays constant whatever
the number of payments); the saved file is then attached to the job. Same rows and grouping as
the screen: a month row with its total, a date row with its total, then the date's lines,
dossier by dossier; a grand total last.

Only payment lines have an amount in « Montant »; the month, date and grand totals sit in their
own « Sous-total » column, so Excel's SUM (or the status bar's sum, or a pivot table) over
« Montant » gives the true total, filtered or not. Excel's outline groups were the other way:
they need a row dimension per row, which a write-only sheet holds until it is saved (memory
would grow with the rows). Lines and date rows carry their date: the header's filter on « Date »
picks a year, a month or a day (Excel groups dates in its filter).
"""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from contracts.common.formatting import month_fr

PAGE_SIZE = 1000
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# French formats as Excel reads them; a French Excel prints "10 503,34 €" and "20/09/2019".
AMOUNT_FORMAT = '#,##0.00\\ "€"'
HOURS_FORMAT = "#,##0.00"
DATE_FORMAT = "DD/MM/YYYY"
COLUMNS = (  # header, width
    ("Mois", 16), ("Date", 12), ("N° dossier", 16), ("Nom", 22), ("Prénom", 18),
    ("Formation", 34), ("N° règlement", 14), ("Heures payées", 14), ("Période du", 12),
    ("Période au", 12), ("Montant", 16), ("Sous-total", 16), ("Avance", 8), ("Pointé", 8),
)
SUBTOTAL_COLUMN = [header for header, _ in COLUMNS].index("Sous-total")
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


@dataclass
class _Tally:
    lines: int = 0
    amount: Decimal = Decimal("0.00")


def write_workbook(pages: Iterable[dict], path: str) -> int:
    """Write the grouped rows of `pages` into an xlsx at `path`; returns the payment lines
    written. Typed cells: dates are dates, amounts and hours Decimals with French formats."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Règlements")
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, header, font=_BOLD) for header, _ in COLUMNS])
    tally = _Tally()
    last_row = 1
    try:
        for last_row, cells in enumerate(_grouped_rows(sheet, pages, tally), start=2):
            sheet.append(cells)
    except BaseException:  # cancelled or failed midway
        _discard(sheet)
        raise
    # the grand total stays outside the filter: sorting or filtering leaves it last
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last_row}"
    sheet.append(_summary_row(sheet, [("Total général", None)], tally.amount, _GROUP_FILL))
    book.save(path)
    return tally.lines


def _discard(sheet) -> None:
    """The rows written so far sit in openpyxl's own temporary file, which only a save or the
    process's exit removes: closed and removed now."""
    sheet.close()
    sheet._writer.cleanup()


def _grouped_rows(sheet, pages: Iterable[dict], tally: _Tally) -> Iterator[list]:
    """Month row, date row, then the date's lines, page after page; counts into `tally`."""
    month = day = None
    for page in pages:
        for row in page["rows"]:
            row_day = date.fromisoformat(row["payment_date"])
            row_month = row_day.strftime("%Y-%m")
            if row_month != month:
                month, day = row_month, None
                yield _summary_row(sheet, [(month_fr(month), None)],
                                   Decimal(page["month_totals"][month]), _GROUP_FILL)
            if row_day != day:
                day = row_day
                yield _summary_row(sheet, [(None, None), (day, DATE_FORMAT)],
                                   Decimal(page["date_totals"][day.isoformat()]))
            yield _line(sheet, row_day, row)
            tally.lines += 1
            tally.amount += Decimal(row["amount"])


def _cell(sheet, value, number_format: str | None = None, font=None, fill=None):
    cell = WriteOnlyCell(sheet, value=value)
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


def _summary_row(sheet, labels: list[tuple], subtotal: Decimal, fill=None) -> list:
    """A month, date or grand-total row: its (value, format) labels first, its amount in
    « Sous-total » only, never in « Montant »."""
    cells = [_cell(sheet, value, number_format, _BOLD, fill) for value, number_format in labels]
    cells += [_cell(sheet, None, fill=fill) for _ in range(len(labels), SUBTOTAL_COLUMN)]
    cells.append(_cell(sheet, subtotal, AMOUNT_FORMAT, _BOLD, fill))
    cells += [_cell(sheet, None, fill=fill) for _ in COLUMNS[SUBTOTAL_COLUMN + 1:]]
    return cells


def _line(sheet, day: date, row: dict) -> list:
    """A payment line; plain values where no format is needed (the write-only sheet then
    reuses one cell for them: cheaper per row)."""
    return [
        None,
        _cell(sheet, day, DATE_FORMAT),
        row["dossier_number"],
        row["beneficiary_name"],
        row["beneficiary_first_name"],
        row["training_title"],
        row["payment_number"],
        _cell(sheet, Decimal(row["hours_paid"]), HOURS_FORMAT),
        _cell(sheet, date.fromisoformat(row["period_start"]), DATE_FORMAT),
        _cell(sheet, date.fromisoformat(row["period_end"]), DATE_FORMAT),
        _cell(sheet, Decimal(row["amount"]), AMOUNT_FORMAT),
        None,
        "Oui" if row["advance"] else "Non",
        "Oui" if row["reconciled"] else "Non",
    ]


def file_name(search: dict) -> str:
    """The search in the name, ASCII only: reglements_2019-01-01_2019-12-31_DEMO-0001.xlsx;
    a lone bound says which it is (reglements_depuis-2019-01-01.xlsx)."""
    start, end = search.get("start"), search.get("end")
    parts = ["reglements"]
    if start and end:
        parts += [start, end]
    elif start or end:
        parts.append(f"depuis-{start}" if start else f"jusqu-au-{end}")
    if search.get("dossier_number"):
        parts.append(_ascii_slug(search["dossier_number"]))
    if search.get("payment_number"):
        parts.append(f"reglement-{_ascii_slug(search['payment_number'])}")
    return "_".join(parts) + ".xlsx"


def _ascii_slug(text: str) -> str:
    """Safe in a file name on any system: "16/0/5756" -> "16-0-5756", "Évry" -> "Evry"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9.]+", "-", ascii_text).strip("-.") or "x"


def workbook_file(pages: Iterable[dict]) -> tuple[bytes, int]:
    """The whole workbook, written in a temporary file deleted once read back: its bytes and
    the payment lines it holds."""
    with tempfile.TemporaryDirectory(prefix="jalon-export-") as work:
        path = os.path.join(work, "reglements.xlsx")
        lines = write_workbook(pages, path)
        with open(path, "rb") as saved:
            return saved.read(), lines
