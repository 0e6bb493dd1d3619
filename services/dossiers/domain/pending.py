"""« Actions en attente » (seed 001): the months of a dossier's session, up to the current
month, that still await the organisation, and the dossiers counted for a dashboard.

Certification owns the certificates; dossiers keeps only what its events said of each
dossier-month (certified, or reopened since), so that a list of dossiers shows its pending
months without a call per dossier.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from contracts.common.formatting import PARIS, month_fr
from services.dossiers.domain.dossiers import ACTION_TYPE_LABELS, STATUS_LABELS

AWAITING_ENTRY = "awaiting_entry"
PENDING_LABELS = {AWAITING_ENTRY: "En attente de saisie par l'organisme"}


class MonthCertification:
    """A dossier's month as certification last told it: certified, or not (reopened).
    Events may arrive out of order: one older than what is known changes nothing."""

    def __init__(self, dossier_id: str, month: str, certified: bool, changed_at: datetime):
        self.dossier_id = dossier_id
        self.month = month
        self.certified = certified
        self.changed_at = changed_at

    def record(self, certified: bool, at: datetime) -> None:
        if at >= self.changed_at:
            self.certified, self.changed_at = certified, at


@dataclass(frozen=True)
class PendingMonth:
    month: str
    status: str = AWAITING_ENTRY

    @property
    def month_label(self) -> str:
        return month_fr(self.month)

    @property
    def status_label(self) -> str:
        return PENDING_LABELS[self.status]


def local_today(now: datetime) -> date:
    """The day it is for the users (Paris): a month starts at midnight there."""
    return now.astimezone(PARIS).date()


def months_between(start: date, end: date) -> list[str]:
    """"YYYY-MM" of every month from start's to end's, both included (none if end < start)."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def pending_months(session_start: date, session_end: date, today: date,
                   certified: Iterable[str]) -> list[PendingMonth]:
    """The session's months begun by `today` that are not certified, oldest first."""
    done = set(certified)
    return [PendingMonth(month)
            for month in months_between(session_start, min(session_end, today))
            if month not in done]


@dataclass(frozen=True)
class Count:
    code: str
    label: str
    count: int


def counts(found: dict[str, int], labels: dict[str, str]) -> list[Count]:
    """Every known code with its count (0 included, so a diagram keeps its slices), then any
    other code found."""
    codes = list(labels) + sorted(code for code in found if code not in labels)
    return [Count(code, labels.get(code, code), found.get(code, 0)) for code in codes]


def status_counts(found: dict[str, int]) -> list[Count]:
    return counts(found, STATUS_LABELS)


def action_type_counts(found: dict[str, int]) -> list[Count]:
    return counts(found, ACTION_TYPE_LABELS)
