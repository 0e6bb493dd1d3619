"""certification's I/O beyond its database: the hours template (xlsx, openpyxl), written for
the organisation to fill and read back.

Columns are found by their header, so a user may reorder them; the day and half-day columns
exist only when the funder asks for a detailed entry.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook

from contracts.common.errors import InvalidInput
from servicekit.spreadsheets import first_sheet_rows, never_a_formula
from services.certification.domain.entry import AFTERNOON, MORNING, PER_DAY, PER_HALF_DAY

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 5000
SHEET_TITLE = "Heures"

NUMBER, BENEFICIARY, TRAINING_TITLE, MONTH = "N° dossier", "Bénéficiaire", "Formation", "Mois"
DAY, PERIOD = "Jour", "Demi-journée"
TRAINING = "Heures de présence en formation"
INTERNSHIP = "Heures de présence en stage"
ABSENCE = "Heures d'absence"
HOUR_COLUMNS = (TRAINING, INTERNSHIP, ABSENCE)
PERIOD_LABELS = {MORNING: "Matin", AFTERNOON: "Après-midi"}
PERIOD_OF_LABEL = {label.lower(): period for period, label in PERIOD_LABELS.items()}


@dataclass(frozen=True)
class TemplateLine:
    dossier_number: str
    beneficiary: str
    training_title: str
    month: str
    day: date | None = None
    period: str | None = None


@dataclass(frozen=True)
class FilledRow:
    row: int
    dossier_number: str | None
    month: str | None
    day: object
    period: str | None
    training: object
    internship: object
    absence: object


def headers_for(mode: str) -> list[str]:
    detail = [DAY] if mode == PER_DAY else [DAY, PERIOD] if mode == PER_HALF_DAY else []
    return [NUMBER, BENEFICIARY, TRAINING_TITLE, MONTH, *detail, *HOUR_COLUMNS]


def write_template(mode: str, lines: list[TemplateLine]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    headers = headers_for(mode)
    sheet.append(headers)
    for line in lines:
        values = {NUMBER: line.dossier_number, BENEFICIARY: line.beneficiary,
                  TRAINING_TITLE: line.training_title, MONTH: line.month,
                  DAY: line.day.isoformat() if line.day else None,
                  PERIOD: PERIOD_LABELS.get(line.period)}
        sheet.append([values.get(name) for name in headers])
    for row in sheet.iter_rows():
        for cell in row:
            never_a_formula(cell)
    for column, header in zip(sheet.columns, headers):
        sheet.column_dimensions[column[0].column_letter].width = max(12, len(header) + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_filled(content: bytes) -> list[FilledRow]:
    """The non-empty rows of the first sheet; refused whole when it is no template."""
    rows = first_sheet_rows(content, lambda: _not_a_template(
        "Le fichier n'est pas un classeur Excel (.xlsx) lisible."))
    header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
    missing = [name for name in (NUMBER, MONTH, *HOUR_COLUMNS) if name not in header]
    if missing:
        raise _not_a_template("Il manque des colonnes du modèle : " + ", ".join(missing) + ".")
    index = {name: header.index(name) for name in header if name}
    filled = []
    for number, values in enumerate(rows, start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(filled) >= MAX_ROWS:
            raise _not_a_template(f"Le fichier dépasse {MAX_ROWS} lignes.")
        filled.append(_row(number, values, index))
    return filled


def _row(number: int, values: tuple, index: dict[str, int]) -> FilledRow:
    def cell(name):
        position = index.get(name)
        return values[position] if position is not None and position < len(values) else None

    period = cell(PERIOD)
    return FilledRow(row=number, dossier_number=_text(cell(NUMBER)), month=_month(cell(MONTH)),
                     day=_day(cell(DAY)),
                     period=PERIOD_OF_LABEL.get(str(period).strip().lower(), str(period))
                     if period not in (None, "") else None,
                     training=_hours(cell(TRAINING)), internship=_hours(cell(INTERNSHIP)),
                     absence=_hours(cell(ABSENCE)))


def _text(value) -> str | None:
    return None if value is None else str(value).strip() or None


def _month(value) -> str | None:
    if isinstance(value, (datetime, date)):  # Excel turned "2026-03" into a date
        return f"{value.year:04d}-{value.month:02d}"
    return _text(value)


def _day(value):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _text(value)


def _hours(value):
    """Empty is zero; Excel numbers become exact decimals; text ("147,00") is left to the
    contract's French decimal parsing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "0"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(Decimal(str(value)))
    return str(value).strip()


def _not_a_template(message: str) -> InvalidInput:
    return InvalidInput("invalid_template", message)
