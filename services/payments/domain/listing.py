"""The list of payments grouped as seed 000 shows it, and the keyset of its export pages."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import groupby
from typing import Iterable

from babel.dates import format_date

from contracts.common.formatting import LOCALE, amount_fr, month_fr


def date_label(day: date) -> str:
    """date(2019, 9, 20) -> "20 sept." (babel's abbreviated French month)."""
    return format_date(day, "dd MMM", locale=LOCALE)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def sort_key(row) -> tuple:
    """The list's order: most recent date first, then dossier, payment and line."""
    return (-row.payment_date.toordinal(), row.dossier_number, row.payment_number,
            getattr(row, "position", 0))


def encode_cursor(row) -> str:
    """The keyset of a row (date, dossier, payment, line), opaque to the caller."""
    raw = json.dumps([row.payment_date.isoformat(), row.dossier_number, row.payment_number,
                      row.position])
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii")


def decode_cursor(after: str | None) -> tuple | None:
    """encode_cursor's tuple back; ValueError for anything else."""
    if after is None:
        return None
    try:
        day, dossier_number, number, position = json.loads(
            base64.urlsafe_b64decode(str(after).encode("ascii")))
        return date.fromisoformat(day), str(dossier_number), str(number), int(position)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise ValueError("invalid cursor") from exc


@dataclass
class Totals:
    months: dict[str, Decimal] = field(default_factory=dict)
    dates: dict[date, Decimal] = field(default_factory=dict)

    def add(self, day: date, amount: Decimal) -> None:
        self.months[month_of(day)] = self.months.get(month_of(day), Decimal("0.00")) + amount
        self.dates[day] = self.dates.get(day, Decimal("0.00")) + amount


def totals_of(rows: Iterable) -> Totals:
    totals = Totals()
    for row in rows:
        totals.add(row.payment_date, row.amount)
    return totals


@dataclass(frozen=True)
class ExportPage:
    """A page the export job writes: rows in list order, as the database gives them (dates
    and Decimals), the totals of the months and dates they touch over the whole search (not
    only this page), and the next page's cursor (None after the last)."""

    rows: list
    totals: Totals
    next_after: str | None = None


def group_rows(rows: list, totals: Totals | None = None) -> list[dict]:
    """Rows (any objects with payment_date, dossier_id, dossier_number, amount) already in
    sort_key order -> months -> dates -> dossiers, with the totals per month and per date
    and their French labels ("septembre 2019", "10 503,34 €")."""
    totals = totals or totals_of(rows)
    months = []
    for month, in_month in groupby(rows, key=lambda r: month_of(r.payment_date)):
        dates = []
        for day, on_day in groupby(in_month, key=lambda r: r.payment_date):
            dossiers = [{"dossier_id": dossier_id, "dossier_number": number, "rows": list(rs)}
                        for (dossier_id, number), rs in groupby(
                            on_day, key=lambda r: (r.dossier_id, r.dossier_number))]
            total = totals.dates[day]
            dates.append({"payment_date": day, "label": date_label(day), "total": total,
                          "total_label": amount_fr(total), "dossiers": dossiers})
        total = totals.months[month]
        months.append({"month": month, "label": month_fr(month), "total": total,
                       "total_label": amount_fr(total), "dates": dates})
    return months
