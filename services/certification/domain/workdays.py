"""Working days in France (pure): Monday to Friday, French public holidays excluded.

The "Répartir 7h tous les jours" helper spreads hours on these days. No holiday library is
installed; the eleven national public holidays follow from fixed dates and Easter.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

# (month, day) of the fixed national holidays: 1 Jan, 1 May, 8 May, 14 Jul, 15 Aug, 1 Nov,
# 11 Nov, 25 Dec.
FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
# Days after Easter Sunday: Easter Monday, Ascension Thursday, Whit Monday.
EASTER_OFFSETS = (1, 39, 50)


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, "Meeus/Jones/Butcher")."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    return frozenset([date(year, m, d) for m, d in FIXED_HOLIDAYS]
                     + [easter + timedelta(days=n) for n in EASTER_OFFSETS])


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in french_public_holidays(day.year)
