"""The Excel export written page by page (gateway.exports): grouping, typed cells, formats."""
from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal

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


def test_the_workbook_reads_back_typed_grouped_and_formatted(tmp_path):
    path = tmp_path / "r.xlsx"
    exports.write_workbook(PAGES, str(path))
    sheet = load_workbook(path).active
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["F"].width == 34
    values = [[cell.value for cell in r] for r in sheet.iter_rows()]
    assert values[0][:3] == ["Mois", "Date", "N° dossier"]
    assert values[1][0] == "septembre 2019" and values[1][10] == 10503.34
    assert values[2][1] == datetime(2019, 9, 20) and values[2][10] == 6370
    line = sheet[4]
    assert line[2].value == "16/0/5756" and line[6].value == "113"
    assert line[7].value == 35.5 and line[7].number_format == exports.HOURS_FORMAT
    assert line[10].value == 3567.2 and line[10].number_format == exports.AMOUNT_FORMAT
    assert line[8].value == datetime(2019, 8, 1) and line[8].is_date
    assert line[8].number_format == exports.DATE_FORMAT
    assert [r[0] for r in values if r[0]] == ["Mois", "septembre 2019", "août 2019"]
    # the month rows' totals equal the sum of their lines, to the cent
    lines = [r for r in values[1:] if r[2] is not None]
    assert sum(Decimal(str(r[10])) for r in lines) == Decimal("15928.27")
    assert values[-1][11:] == ["Oui", "Non"] and values[-4][12] == "Oui"


def test_the_streamed_file_is_deleted_once_sent(tmp_path):
    path = exports.export_to_file(lambda after: PAGES[1])
    data = b"".join(exports.stream_file(path))
    assert data[:2] == b"PK"
    assert not os.path.exists(path)


def test_demo_has_a_year_of_contiguous_payments_with_exact_amounts():
    from datetime import date as day
    from tools import demo

    payments = demo.demo_payments("d-past", "o-demo", day(2026, 11, 22))
    assert len(payments) == 12 and payments[0]["advance"] and not payments[1]["advance"]
    assert len({p["number"] for p in payments}) == 12
    lines = [p["lines"][0] for p in payments]
    assert lines[0]["period_start"] == "2025-10-01" and lines[-1]["period_end"] == "2026-09-30"
    for earlier, later in zip(lines, lines[1:]):
        assert day.fromisoformat(later["period_start"]).toordinal() == \
            day.fromisoformat(earlier["period_end"]).toordinal() + 1
    assert all(Decimal(line["amount"]) == (Decimal(line["hours_paid"]) * Decimal("14.76"))
               .quantize(Decimal("0.01")) for line in lines)
