"""Certified hours as the ceiling of what payments pay (issue 14).

The rule: a line paying certified hours covers the months of its period, each of which must be
locked for payment; the payable hours of a month are its certified training and internship
hours (absences are not paid). A line's hours are spread over its months in order, each month
taking what is left of its payable hours before the next one takes any, and the line is
refused when they do not fit. Earlier lines are spread the same way, in the order they were
recorded: what a month has left is its payable hours minus what earlier lines put on it.
Advances need no certification and take nothing from any month."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from contracts.common.errors import Conflict
from contracts.common.formatting import hours_fr, month_fr
from services.payments.domain.locks import MonthLock
from services.payments.domain.payments import ADVANCE, LineInput, Problem

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PaidLine:
    """What an earlier line paid: its dossier, months (in order) and hours."""

    dossier_id: str
    months: tuple[str, ...]
    hours: Decimal


def payable_hours(lock: MonthLock) -> Decimal:
    return lock.training_hours + lock.internship_hours


class HoursRefused(Exception):
    """Some lines pay hours that are not certified, or more than are left to pay (raised in
    the unit of work, so that nothing is written)."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0].code)
        self.problems = problems

    def as_conflict(self) -> Conflict:
        """What the caller gets: the first problem's code, every problem in details."""
        first = self.problems[0]
        return Conflict(first.code, first.message,
                        {"line": first.line, "problems": [p.as_dict() for p in self.problems]})


def check_certified(lines: Sequence[LineInput], locks: Iterable[MonthLock],
                    earlier: Iterable[PaidLine]) -> list[Problem]:
    """The problems of the lines paying certified hours, given the months locked now and the
    lines recorded before (in recording order)."""
    locks = list(locks)
    certified = {(lock.dossier_id, lock.month): payable_hours(lock)
                 for lock in locks if lock.locked}
    # A month unlocked, to be certified again, keeps what earlier lines paid on it.
    left = {(lock.dossier_id, lock.month): payable_hours(lock) for lock in locks}
    for paid in earlier:
        _spread(left, paid.dossier_id, paid.months, paid.hours)
    problems = []
    for index, line in enumerate(lines):
        if line.kind == ADVANCE:
            continue
        problem = _line_problem(index, line, certified, left)
        if problem is None:
            _spread(left, line.dossier_id, tuple(line.months()), line.hours_paid)
        else:
            problems.append(problem)
    return problems


def _line_problem(index: int, line: LineInput, certified: dict, left: dict) -> Problem | None:
    months = line.months()
    where = f"lines.{index}"
    missing = [month for month in months if (line.dossier_id, month) not in certified]
    if missing:
        return Problem(f"{where}.period_start", "month_not_certified",
                       f"Mois non certifié ({month_fr(missing[0])}) : ses heures ne peuvent pas "
                       "encore être payées ; enregistrez une avance si besoin.",
                       index, {"month": missing[0]})
    total = sum((certified[(line.dossier_id, month)] for month in months), ZERO)
    available = sum((left[(line.dossier_id, month)] for month in months), ZERO)
    if line.hours_paid <= available:
        return None
    return Problem(f"{where}.hours_paid", "hours_exceed_certified",
                   f"{hours_fr(line.hours_paid)} demandées pour {month_fr(months[0])}"
                   f"{' et les mois suivants' if len(months) > 1 else ''} : "
                   f"{hours_fr(total)} certifiées, dont {hours_fr(total - available)} déjà "
                   "payées.", index,
                   {"month": months[0], "months": months, "certified": str(total),
                    "already_paid": str(total - available), "asked": str(line.hours_paid)})


def _spread(left: dict, dossier_id: str, months: tuple[str, ...], hours: Decimal) -> None:
    """Put `hours` on the months in order, each taking what it has left."""
    for month in months:
        key = (dossier_id, month)
        if key not in left:
            continue  # never certified: paid before payments checked certification
        taken = min(left[key], hours)
        left[key] -= taken
        hours -= taken
