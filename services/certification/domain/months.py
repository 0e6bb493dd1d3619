"""The dossier's training session and its months, as users in France count them (pure)."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from contracts.common.errors import InvalidInput
from contracts.common.formatting import month_fr

# Users live in France: a month opens on its first day in Paris, not in UTC.
LOCAL_TIME = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Session:
    """The dossier's training session, which bounds its certificates' months."""

    start: date
    end: date

    def months(self) -> list[str]:
        """Every month the session touches, in order, as 'YYYY-MM'."""
        months = []
        year, month = self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return months

    def includes(self, month: str) -> bool:
        return month_key(self.start) <= month <= month_key(self.end)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def check_attendance_days(days: list[date], month: str, session: Session) -> None:
    """An attendance sheet lists days of its month that lie within the session."""
    outside = sorted(d.isoformat() for d in days
                     if d.strftime("%Y-%m") != month or not session.start <= d <= session.end)
    if outside:
        raise InvalidInput("day_outside_session",
                           "Des jours sont hors du mois ou de la session de formation.",
                           {"days": outside})


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL_TIME).date()


def local_noon(day: date) -> datetime:
    """An instant of that day in France: the rules taking `now` judge that day."""
    return datetime.combine(day, time(12), LOCAL_TIME)


def is_open(month: str, session: Session, now: datetime) -> bool:
    """Hours may be entered once the month has started and while it lies in the session."""
    return session.includes(month) and first_day(month) <= local_today(now)


def month_days(month: str) -> list[date]:
    start = first_day(month)
    return [start + timedelta(days=n)
            for n in range(calendar.monthrange(start.year, start.month)[1])]


def session_days(month: str, session: Session) -> list[date]:
    """The month's days that lie within the session."""
    return [d for d in month_days(month) if session.start <= d <= session.end]


def period_label(month: str) -> str:
    """"2020-09" -> "Septembre 2020", as the dashboard's "Période" column prints it."""
    label = month_fr(month)
    return label[:1].upper() + label[1:]
