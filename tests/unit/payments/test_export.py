"""The Excel export: its job (handlers.export_payments, run_export) and its workbook written
page by page (adapters): grouping, typed cells, formats."""
from __future__ import annotations

import io
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from contracts.common.errors import Forbidden
from servicekit.jobs import JobCancelled
from services.payments import adapters as exports
from services.payments import handlers
from services.payments.domain.listing import ExportPage, Totals
from tests.support.fakes import FakeClock
from tests.support.jobs import Crashed
from tests.support.payments import (a_dossier, a_payment, beneficiary, fake_ports,
                                    organisation_user, payments_database, staff)


def row(day: str, dossier: str, number: str, amount: str, **extra) -> SimpleNamespace:
    """A row as the export's query gives it: dates and Decimals."""
    return SimpleNamespace(**{
        "payment_id": f"p{number}", "payment_number": number,
        "payment_date": date.fromisoformat(day), "advance": False, "organisation_id": "o1",
        "dossier_id": dossier, "dossier_number": dossier, "beneficiary_name": "DUBOIS",
        "beneficiary_first_name": "Michelle", "training_title": "Soudure",
        "hours_paid": Decimal("35.50"), "period_start": date(2019, 8, 1),
        "period_end": date(2019, 8, 31), "amount": Decimal(amount), "reconciled": False,
        "remittance_document_id": None, **extra})


TOTALS = Totals(months={"2019-09": Decimal("10503.34"), "2019-08": Decimal("5424.93")},
                dates={date(2019, 9, 20): Decimal("6370.00"),
                       date(2019, 9, 3): Decimal("4133.34"),
                       date(2019, 8, 23): Decimal("5424.93")})
PAGES = [
    ExportPage([row("2019-09-20", "16/0/5756", "113", "3567.20"),
                row("2019-09-20", "17/0/5981", "114", "2802.80")], TOTALS, next_after="x"),
    ExportPage([row("2019-09-03", "18RCDI3114", "108", "4133.34", reconciled=True),
                row("2019-08-23", "16/0/5756", "107", "5424.93", advance=True)], TOTALS),
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


def cells_of(path) -> list:
    """Every cell's value and look, as Excel would show them."""
    return [[(cell.value, cell.number_format, cell.font.b, cell.fill.fgColor.rgb)
             for cell in r] for r in load_workbook(path).active.iter_rows()]


def test_rows_handed_over_as_cells_write_what_openpyxls_own_append_writes(tmp_path,
                                                                          monkeypatch):
    """The sheet takes its rows' styled cells as they are (a third of the export's overhead
    went into openpyxl refusing them as values first): same cells, same looks, same file."""
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    exports.write_workbook(PAGES, str(ours))
    monkeypatch.setattr(exports, "_cells_as_given", lambda sheet: None)
    exports.write_workbook(PAGES, str(theirs))
    assert cells_of(ours) == cells_of(theirs)
    assert len(cells_of(ours)) == 11 and cells_of(ours)[1][0][2:] == (True, "00DDE7F3")


def test_a_name_that_looks_like_a_formula_stays_a_text(tmp_path):
    """A funder opening its export must not run what an organisation typed (formula
    injection): every text is written as a text."""
    path = tmp_path / "r.xlsx"
    name = '=HYPERLINK("http://example.org/x";"Voir")'
    exports.write_workbook([ExportPage([row("2019-09-20", "=1+1", "113", "1.00",
                                            beneficiary_name=name)], TOTALS)], str(path))
    line = load_workbook(path).active[4]
    assert [(cell.value, cell.data_type) for cell in line[2:4]] == [("=1+1", "s"), (name, "s")]


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
    assert exports.write_workbook([ExportPage([], Totals())], str(path)) == 0
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


def test_the_workbook_file_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    content, lines = exports.workbook_file([PAGES[1]])
    assert content[:2] == b"PK" and lines == 2
    assert os.listdir(tmp_path) == []


def test_an_export_stopped_midway_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def pages():
        yield PAGES[0]
        raise JobCancelled("payments-j1")
    with pytest.raises(JobCancelled):
        exports.workbook_file(pages())
    assert os.listdir(tmp_path) == []


# ---- the export as a job ----------------------------------------------------------------------

def paid_database():
    dossier = a_dossier()
    return payments_database(payments=[
        a_payment(dossier, number, amount, date.fromisoformat(day))
        for number, day, amount in (("113", "2019-09-20", "3567.20"),
                                    ("114", "2019-09-20", "2802.80"),
                                    ("108", "2019-09-03", "4133.34"),
                                    ("107", "2019-08-23", "5424.93"))])


def test_the_export_job_counts_its_rows_and_attaches_the_workbook():
    db, search = paid_database(), {"start": "2019-08-01", "end": "2019-09-30"}
    jobs = db.repositories["jobs"]
    job = handlers.export_payments(db, organisation_user(), search)
    assert (job["kind"], job["status"], job["phases"]) == (
        "payments.export", "queued", [{"name": "rows", "done": 0, "total": 4}])
    done = jobs.run(job["id"], lambda step: handlers.run_export(db, step))
    assert done["phases"][0] == {"name": "rows", "done": 4, "total": 4}
    assert done["summary"] == {"rows": 4}
    content, name, media_type = jobs.jobs[job["id"]]["file"]
    assert (name, media_type) == ("reglements_2019-08-01_2019-09-30.xlsx", exports.CONTENT_TYPE)
    sheet = load_workbook(io.BytesIO(content)).active
    assert sorted(r[6] for r in sheet.iter_rows(values_only=True) if r[6] and r[6][0] != "N") \
        == ["107", "108", "113", "114"]


def test_the_same_search_is_the_same_export_until_a_payment_changes():
    db, search = paid_database(), {"dossier_number": "20X000703"}
    first = handlers.export_payments(db, organisation_user(), search)
    again = handlers.export_payments(db, organisation_user(), search)
    assert (again["id"], again["resubmitted"]) == (first["id"], True)
    payment_id = next(iter(db.repositories["payments"].stored))
    later = FakeClock()
    later.advance(minutes=5)
    handlers.reconcile_payment(db, fake_ports(clock=later), organisation_user(), payment_id,
                               {"reconciled": True})
    ticked = handlers.export_payments(db, organisation_user(), search)
    assert ticked["id"] != first["id"] and not ticked["resubmitted"]


def test_a_resumed_export_starts_over(monkeypatch):
    monkeypatch.setattr(exports, "PAGE_SIZE", 1)
    db = paid_database()
    jobs = db.repositories["jobs"]
    job = handlers.export_payments(db, staff(), {})
    with pytest.raises(Crashed):
        jobs.run(job["id"], lambda step: handlers.run_export(db, step), crash_after=2)
    assert jobs.jobs[job["id"]]["phases"][0]["done"] == 2
    done = jobs.run(job["id"], lambda step: handlers.run_export(db, step))
    assert (done["phases"][0]["done"], done["summary"]) == (4, {"rows": 4})


def test_the_export_is_refused_at_once_without_the_payments_right():
    db = paid_database()
    for refused in (beneficiary(), organisation_user(rights=["enter_hours"])):
        with pytest.raises(Forbidden):
            handlers.export_payments(db, refused, {})
    assert db.repositories["jobs"].jobs == {}


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
