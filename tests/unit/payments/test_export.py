"""The Excel export written page by page (gateway.exports): grouping, typed cells, formats."""
from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from gateway import exports


def row(day: str, dossier: str, number: str, amount: str, **extra) -> dict:
    return {"payment_id": f"p{number}", "payment_number": number, "payment_date": day,
            "advance": False, "organisation_id": "o1", "dossier_id": dossier,
            "dossier_number": dossier, "beneficiary_name": "DUBOIS",
            "beneficiary_first_name": "Michelle", "training_title": "Soudure",
            "hours_paid": "35.50", "period_start": "2019-08-01", "period_end": "2019-08-31",
            "amount": amount, "reconciled": False, "remittance_document_id": None, **extra}


TOTALS = {"month_totals": {"2019-09": "10503.34", "2019-08": "5424.93"},
          "date_totals": {"2019-09-20": "6370.00", "2019-09-03": "4133.34",
                          "2019-08-23": "5424.93"}}
PAGES = [
    {"rows": [row("2019-09-20", "16/0/5756", "113", "3567.20"),
              row("2019-09-20", "17/0/5981", "114", "2802.80")], **TOTALS, "next_after": "x"},
    {"rows": [row("2019-09-03", "18RCDI3114", "108", "4133.34", reconciled=True),
              row("2019-08-23", "16/0/5756", "107", "5424.93", advance=True)], **TOTALS,
     "next_after": None},
]


def test_pages_are_followed_to_the_last(tmp_path):
    asked = []

    def fetch(after):
        asked.append(after)
        return PAGES[len(asked) - 1]

    path = tmp_path / "r.xlsx"
    assert exports.write_workbook(exports.pages_of(fetch), str(path)) == 4
    assert asked == [None, "x"]


AMOUNT, SUBTOTAL = 10, 11  # « Montant », « Sous-total » (0-based)


def cents(value) -> Decimal:
    """A float read back from the sheet, to the cent."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_the_workbook_reads_back_typed_grouped_and_formatted(tmp_path):
    path = tmp_path / "r.xlsx"
    exports.write_workbook(PAGES, str(path))
    sheet = load_workbook(path).active
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["F"].width == 34
    values = [[cell.value for cell in r] for r in sheet.iter_rows()]
    assert values[0][:3] == ["Mois", "Date", "N° dossier"]
    assert values[0][AMOUNT:] == ["Montant", "Sous-total", "Avance", "Pointé"]
    line = sheet[4]
    assert line[2].value == "16/0/5756" and line[6].value == "113"
    assert line[7].value == 35.5 and line[7].number_format == exports.HOURS_FORMAT
    assert line[10].value == 3567.2 and line[10].number_format == exports.AMOUNT_FORMAT
    assert line[8].value == datetime(2019, 8, 1) and line[8].is_date
    assert line[8].number_format == exports.DATE_FORMAT
    assert values[-2][12:] == ["Oui", "Non"] and values[-5][13] == "Oui"


def test_subtotals_stay_out_of_the_amount_column(tmp_path):
    """Excel's SUM over « Montant » is the true total (it was tripled: issue 14)."""
    path = tmp_path / "r.xlsx"
    exports.write_workbook(PAGES, str(path))
    sheet = load_workbook(path).active
    values = [[cell.value for cell in r] for r in sheet.iter_rows(min_row=2)]
    *grouped, total = values
    column = [cents(r[AMOUNT]) for r in values if r[AMOUNT] is not None]
    assert sum(column) == cents(total[SUBTOTAL]) == Decimal("15928.27")
    assert total[0] == "Total général" and total[AMOUNT] is None
    subtotals = [(r[0], r[1], cents(r[SUBTOTAL])) for r in grouped if r[SUBTOTAL] is not None]
    assert subtotals == [
        ("septembre 2019", None, Decimal("10503.34")),
        (None, datetime(2019, 9, 20), Decimal("6370.00")),
        (None, datetime(2019, 9, 3), Decimal("4133.34")),
        ("août 2019", None, Decimal("5424.93")),
        (None, datetime(2019, 8, 23), Decimal("5424.93"))]
    assert all(r[AMOUNT] is None for r in grouped if r[SUBTOTAL] is not None)
    assert all(r[SUBTOTAL] is None for r in grouped if r[AMOUNT] is not None)
    assert sheet.cell(2, SUBTOTAL + 1).number_format == exports.AMOUNT_FORMAT


def test_the_filter_covers_the_header_and_grouped_rows_not_the_grand_total(tmp_path):
    path = tmp_path / "r.xlsx"
    exports.write_workbook(PAGES, str(path))
    book = load_workbook(path)
    sheet = book.active
    assert sheet.auto_filter.ref == f"A1:N{sheet.max_row - 1}"
    assert sheet.cell(sheet.max_row, 1).value == "Total général"


def test_an_empty_export_has_its_header_filter_and_a_zero_total(tmp_path):
    path = tmp_path / "r.xlsx"
    assert exports.write_workbook([{"rows": [], "month_totals": {}, "date_totals": {},
                                    "next_after": None}], str(path)) == 0
    sheet = load_workbook(path).active
    assert sheet.auto_filter.ref == "A1:N1"
    assert [sheet.cell(2, 1).value, sheet.cell(2, SUBTOTAL + 1).value] == ["Total général", 0]


@pytest.mark.parametrize("search, name", [
    ({"start": "2019-01-01", "end": "2019-12-31", "dossier_number": "DEMO-0001"},
     "reglements_2019-01-01_2019-12-31_DEMO-0001.xlsx"),
    ({}, "reglements.xlsx"),
    ({"start": "2019-01-01", "end": None}, "reglements_depuis-2019-01-01.xlsx"),
    ({"end": "2019-12-31"}, "reglements_jusqu-au-2019-12-31.xlsx"),
    ({"dossier_number": "16/0/5756", "payment_number": "Éte 113"},
     "reglements_16-0-5756_reglement-Ete-113.xlsx"),
])
def test_the_file_name_says_the_search_in_ascii(search, name):
    assert exports.file_name(search) == name
    assert exports.file_name(search).isascii()


def test_the_streamed_file_is_deleted_once_sent(tmp_path):
    path = exports.export_to_file(lambda after: PAGES[1])
    data = b"".join(exports.stream_file(path))
    assert data[:2] == b"PK"
    assert not os.path.exists(path)


def test_demo_has_a_year_of_contiguous_payments_with_exact_amounts():
    from datetime import date as day
    from tools import demo

    certified = {"2026-08": Decimal("147.00"), "2026-09": Decimal("154.00")}
    payments = demo.demo_payments("d-past", "o-demo", day(2026, 11, 22), certified)
    # Only certified months are paid as hours (issue 14), their certified hours.
    assert len(payments) == 12 and [p["advance"] for p in payments] == [True] * 10 + [False] * 2
    assert [p["lines"][0]["hours_paid"] for p in payments[-2:]] == ["147.00", "154.00"]
    assert len({p["number"] for p in payments}) == 12
    lines = [p["lines"][0] for p in payments]
    assert lines[0]["period_start"] == "2025-10-01" and lines[-1]["period_end"] == "2026-09-30"
    for earlier, later in zip(lines, lines[1:]):
        assert day.fromisoformat(later["period_start"]).toordinal() == \
            day.fromisoformat(earlier["period_end"]).toordinal() + 1
    assert all(Decimal(line["amount"]) == (Decimal(line["hours_paid"]) * Decimal("14.76"))
               .quantize(Decimal("0.01")) for line in lines)
