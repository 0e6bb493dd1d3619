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

import datetime
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from contracts.common.formatting import month_fr
from servicekit.spreadsheets import never_a_formula
from services.payments.domain.listing import ExportPage, month_of

# export_page's largest: each page is a query that sorts the rows left (docs/performance.md)
PAGE_SIZE = 5000
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


def pages_of(fetch: Callable[[str | None], ExportPage]) -> Iterator[ExportPage]:
    """Every page, following the cursor: fetch(after) -> a page."""
    after = None
    while True:
        page = fetch(after)
        yield page
        after = page.next_after
        if not after:
            return


@dataclass
class _Tally:
    lines: int = 0
    amount: Decimal = Decimal("0.00")


def write_workbook(pages: Iterable[ExportPage], path: str) -> int:
    """Write the grouped rows of `pages` into an xlsx at `path`; returns the payment lines
    written. Typed cells: dates are dates, amounts and hours Decimals with French formats."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Règlements")
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    _cells_as_given(sheet)
    cells = _Cells(sheet)
    sheet.append(cells.header())
    tally = _Tally()
    last_row = 1
    try:
        for last_row, row in enumerate(_grouped_rows(cells, pages, tally), start=2):
            sheet.append(row)
    except BaseException:  # cancelled or failed midway
        _discard(sheet)
        raise
    # the grand total stays outside the filter: sorting or filtering leaves it last
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{last_row}"
    sheet.append(cells.grand_total(tally.amount))
    book.save(path)
    return tally.lines


def _discard(sheet) -> None:
    """The rows written so far sit in openpyxl's own temporary file, which only a save or the
    process's exit removes: closed and removed now."""
    sheet.close()
    sheet._writer.cleanup()


def _cells_as_given(sheet) -> None:
    """openpyxl's write-only append takes a cell in a row only through the ValueError that
    assigning it as a value raises (a repr and an exception per cell, then a new cell for the
    next value): a third of what the export cost beyond a bare openpyxl loop
    (docs/performance.md). This sheet's rows are all _Cells' own, each made for its column
    (None: an empty one), and are handed over as they are, texts as texts."""
    def cells_of_row(cells, row_index):
        for cell in cells:
            if cell is not None:
                cell.row = row_index
                yield never_a_formula(cell)

    sheet._values_to_row = cells_of_row


def _grouped_rows(cells: _Cells, pages: Iterable[ExportPage], tally: _Tally) -> Iterator[list]:
    """Month row, date row, then the date's lines, page after page; counts into `tally`.
    Rows come in list order: a new date is all that can start a new month."""
    month = day = None
    for page in pages:
        totals = page.totals
        for row in page.rows:
            if row.payment_date != day:
                day = row.payment_date
                if month_of(day) != month:
                    month = month_of(day)
                    yield cells.month(month_fr(month), totals.months[month])
                yield cells.date(day, totals.dates[day])
            yield cells.line(row)
            tally.lines += 1
            tally.amount += row.amount


class _Cells:
    """Every cell of the sheet, each made once for its column and given a new value for every
    row: a row is a list of these, one per column (None: left empty).

    A write-only sheet writes a row out when it is appended (that is what keeps memory flat),
    so the same cell objects carry every row's values; a cell made and styled per value was
    most of what the export cost beyond a bare openpyxl loop (docs/performance.md)."""

    def __init__(self, sheet):
        self._sheet = sheet
        headers = [header for header, _ in COLUMNS]
        line_formats = {"Date": DATE_FORMAT, "Heures payées": HOURS_FORMAT,
                        "Période du": DATE_FORMAT, "Période au": DATE_FORMAT,
                        "Montant": AMOUNT_FORMAT}
        # a line: « Mois » and « Sous-total » empty, the others in COLUMNS' order
        self._line = [None if header in ("Mois", "Sous-total") else
                      self._cell(column, number_format=line_formats.get(header))
                      for column, header in enumerate(headers, start=1)]
        self._line_values = [cell for cell in self._line if cell is not None]
        # month and grand-total rows: filled across, their label bold
        self._group = [self._cell(1, font=_BOLD, fill=_GROUP_FILL)] + [
            self._cell(column, fill=_GROUP_FILL) for column in range(2, len(COLUMNS) + 1)]
        self._group[SUBTOTAL_COLUMN] = self._cell(SUBTOTAL_COLUMN + 1,
                                                  number_format=AMOUNT_FORMAT, font=_BOLD,
                                                  fill=_GROUP_FILL)
        # a date row: « Mois » empty but bold as in the month row, the date, its total
        self._date = [self._cell(1, font=_BOLD), self._cell(2, number_format=DATE_FORMAT,
                                                            font=_BOLD)]
        self._date += [None] * (SUBTOTAL_COLUMN - 2) + [
            self._cell(SUBTOTAL_COLUMN + 1, number_format=AMOUNT_FORMAT, font=_BOLD)]
        self._header = [self._cell(column, font=_BOLD)
                        for column in range(1, len(COLUMNS) + 1)]
        for cell, header in zip(self._header, headers):
            cell.value = header

    def _cell(self, column: int, number_format=None, font=None, fill=None):
        cell = WriteOnlyCell(self._sheet)
        cell.column = column
        if number_format:
            cell.number_format = number_format
        if font:
            cell.font = font
        if fill:
            cell.fill = fill
        return cell

    def header(self) -> list:
        return self._header

    def month(self, label: str, subtotal: Decimal) -> list:
        """A month row: its name in « Mois », its total in « Sous-total » only."""
        return self._group_row(label, subtotal)

    def grand_total(self, total: Decimal) -> list:
        return self._group_row("Total général", total)

    def _group_row(self, label: str, subtotal: Decimal) -> list:
        self._group[0].value = label
        self._group[SUBTOTAL_COLUMN].value = subtotal
        return self._group

    def date(self, day: datetime.date, subtotal: Decimal) -> list:
        """A date row: the date in « Date », its total in « Sous-total » only, never in
        « Montant »."""
        self._date[1].value = day
        self._date[SUBTOTAL_COLUMN].value = subtotal
        return self._date

    def line(self, row) -> list:
        """A payment line (a row of the export's page), its amount in « Montant »."""
        for cell, value in zip(self._line_values, (
                row.payment_date, row.dossier_number, row.beneficiary_name,
                row.beneficiary_first_name, row.training_title, row.payment_number,
                row.hours_paid, row.period_start, row.period_end, row.amount,
                "Oui" if row.advance else "Non", "Oui" if row.reconciled else "Non")):
            cell.value = value
        return self._line


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
