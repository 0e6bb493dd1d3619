"""Hours entered for a month: totals, or the days and half-days they add up from, and the
entry form's proposals (reset, forecast calendar, 7 h a working day)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from contracts.common.errors import InvalidInput
from contracts.common.formatting import date_fr, hours_fr
from services.certification.domain.months import Session, month_key, session_days
from services.certification.domain.workdays import is_working_day

# Entry modes (funder setting): month totals, per day, per half-day (morning, afternoon).
MONTH_TOTALS, PER_DAY, PER_HALF_DAY = "month", "day", "half_day"
ENTRY_MODES = (MONTH_TOTALS, PER_DAY, PER_HALF_DAY)
WHOLE_DAY, MORNING, AFTERNOON = "day", "morning", "afternoon"
PERIODS_OF_MODE = {PER_DAY: (WHOLE_DAY,), PER_HALF_DAY: (MORNING, AFTERNOON)}
PERIOD_LIMIT = {WHOLE_DAY: Decimal(24), MORNING: Decimal(12), AFTERNOON: Decimal(12)}
SPREAD_HOURS = Decimal(7)  # "Répartir 7h tous les jours"

MAX_HOURS = Decimal("99999.99")  # Numeric(7, 2)

# A month's totals, as the entry form names them.
TOTALS = ("training_hours", "internship_hours", "absence_hours")
TOTAL_LABELS = {"training_hours": "heures de formation", "internship_hours": "heures de stage",
                "absence_hours": "heures d'absence"}


@dataclass(frozen=True)
class Hours:
    """A month's totals; each at least 0 with at most two decimals (Numeric(7, 2))."""

    training: Decimal
    internship: Decimal
    absence: Decimal

    @classmethod
    def of(cls, training, internship, absence) -> "Hours":
        return cls(_hours("training_hours", training), _hours("internship_hours", internship),
                   _hours("absence_hours", absence))


def _hours(field: str, value) -> Decimal:
    # Floats are refused: 0.1 + 0.2 is not an amount of hours anyone entered.
    if isinstance(value, (float, bool)):
        raise _invalid_hours(field)
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise _invalid_hours(field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_HOURS \
            or amount != amount.quantize(Decimal("0.01")):
        raise _invalid_hours(field)
    return amount.quantize(Decimal("0.01"))


def _invalid_hours(field: str) -> InvalidInput:
    return InvalidInput(
        "invalid_hours",
        "Les heures doivent être un nombre positif ou nul, avec au plus deux décimales.",
        {"field": field},
    )


def _zero() -> Decimal:
    return Decimal("0.00")


ZERO_HOURS = Hours(_zero(), _zero(), _zero())


# --- detailed entry (per day, per half-day) -----------------------------------------------

@dataclass(frozen=True)
class DayHours:
    """One line of a detailed entry: a day (or a half-day) and its three kinds of hours."""

    day: date
    period: str
    training: Decimal
    internship: Decimal
    absence: Decimal

    @property
    def total(self) -> Decimal:
        return self.training + self.internship + self.absence

    def as_dict(self) -> dict:
        return {"day": self.day.isoformat(), "period": self.period,
                "training_hours": str(self.training), "internship_hours": str(self.internship),
                "absence_hours": str(self.absence)}

    @classmethod
    def from_dict(cls, data: dict) -> "DayHours":
        return cls(date.fromisoformat(data["day"]), data["period"],
                   *Hours.of(data["training_hours"], data["internship_hours"],
                             data["absence_hours"]).__dict__.values())


@dataclass(frozen=True)
class Entry:
    """What the organisation entered for a month: the totals and, per the funder's mode, the
    detail they were computed from (empty for month totals)."""

    mode: str
    totals: Hours
    days: tuple[DayHours, ...] = ()


def ensure_in_session(month: str, session: Session) -> None:
    """Hours belong to a month of the dossier's training session."""
    if not session.includes(month):
        raise InvalidInput("month_outside_session",
                           f"Ce mois est hors de la session de formation (du "
                           f"{date_fr(session.start)} au {date_fr(session.end)}).",
                           {"month": month, "session_start": session.start.isoformat(),
                            "session_end": session.end.isoformat()})


def require_complete(mode: str, totals: dict[str, Decimal], days: list[DayHours]) -> None:
    """An entry replaces the whole month: every value of the funder's mode is given, none is
    silently reset to zero (a month without hours per day: the three totals at zero)."""
    if mode != MONTH_TOTALS:
        if not days and not totals:
            raise _detail_required(mode, {"fields": ["days"]})
        return
    if days:
        return  # the wrong kind of entry: build_entry says the funder wants no detail
    missing = [name for name in TOTALS if name not in totals]
    if missing:
        raise InvalidInput("hours_missing",
                           "La saisie remplace tout le mois, il manque : "
                           + ", ".join(TOTAL_LABELS[name] for name in missing)
                           + " (pour n'en changer qu'une partie, modifiez la saisie).",
                           {"fields": missing})


def patched(mode: str, stored: Entry | None, totals: dict[str, Decimal],
            days: list[DayHours]) -> tuple[dict[str, Decimal], list[DayHours]]:
    """A change of some values over the stored entry: the totals sent replace the stored
    ones, a day (or half-day) sent replaces the same stored day; the rest is kept."""
    if stored is None:
        return totals, days
    if mode == MONTH_TOTALS:
        kept = dict(zip(TOTALS, (stored.totals.training, stored.totals.internship,
                                 stored.totals.absence)))
        return {**kept, **totals}, days
    lines = {(d.day, d.period): d for d in stored.days} if stored.mode == mode else {}
    lines.update({(d.day, d.period): d for d in days})
    return totals, list(lines.values())


def build_entry(mode: str, month: str, session: Session, totals: Hours | None,
                days: list[DayHours]) -> Entry:
    """Check an entry against the funder's mode and the rules; totals come from the detail."""
    if mode == MONTH_TOTALS:
        if days:
            raise InvalidInput("detail_not_expected",
                               "Votre financeur demande le total des heures du mois, sans "
                               "détail par jour.")
        if totals is None:
            raise InvalidInput("totals_required", "Saisissez le total des heures du mois.")
        _check_month_total(totals, month, session)
        return Entry(mode, totals)
    if not days and totals is not None and totals != ZERO_HOURS:
        raise _detail_required(mode)
    _check_days(mode, month, session, days)
    computed = Hours(*(sum((getattr(d, kind) for d in days), _zero())
                       for kind in ("training", "internship", "absence")))
    if totals is not None and totals != computed:
        raise InvalidInput("totals_mismatch",
                           "Les totaux envoyés ne correspondent pas au détail des jours.",
                           {"expected": {k: str(v) for k, v in computed.__dict__.items()}})
    return Entry(mode, computed, tuple(sorted(days, key=lambda d: (d.day, d.period != MORNING))))


def _detail_required(mode: str, details: dict | None = None) -> InvalidInput:
    return InvalidInput("detail_required",
                        "Votre financeur demande le détail des heures par jour."
                        if mode == PER_DAY else "Votre financeur demande le détail des "
                        "heures par demi-journée (matin, après-midi).", details)


def _check_days(mode: str, month: str, session: Session, days: list[DayHours]) -> None:
    periods = PERIODS_OF_MODE[mode]
    wrong = sorted({d.period for d in days} - set(periods))
    if wrong:
        raise InvalidInput("period_not_expected",
                           "Votre financeur demande une saisie par jour." if mode == PER_DAY
                           else "Votre financeur demande une saisie par demi-journée "
                                "(matin, après-midi).", {"periods": wrong})
    allowed = set(session_days(month, session))
    outside = sorted({d.day.isoformat() for d in days if d.day not in allowed})
    if outside:
        raise InvalidInput("day_outside_session",
                           "Des heures sont saisies sur des jours hors du mois ou de la "
                           "session de formation.", {"days": outside})
    seen, twice = set(), set()
    for d in days:
        (twice if (d.day, d.period) in seen else seen).add((d.day, d.period))
    if twice:
        raise InvalidInput("duplicate_day", "Un même jour est saisi plusieurs fois.",
                           {"days": sorted(d.isoformat() for d, _ in twice)})
    over = sorted({d.day.isoformat() for d in days if d.total > PERIOD_LIMIT[d.period]})
    if over:
        raise InvalidInput("day_over_limit",
                           "Une journée ne peut pas dépasser 24 heures (une demi-journée, 12 "
                           "heures), présence et absence comprises.", {"days": over})


def _check_month_total(totals: Hours, month: str, session: Session) -> None:
    limit = PERIOD_LIMIT[WHOLE_DAY] * len(session_days(month, session))
    if totals.training + totals.internship + totals.absence > limit:
        raise InvalidInput("month_over_limit",
                           "Le total dépasse 24 heures par jour de la session dans le mois.",
                           {"limit": str(limit)})


# --- helpers of the entry form: reset, forecast calendar, 7 h a working day ---------------

@dataclass(frozen=True)
class PlannedHours:
    """One day of the dossier's forecast calendar."""

    day: date
    training: Decimal
    internship: Decimal


def planned_total(forecast: list[PlannedHours], month: str) -> Decimal | None:
    """Hours planned in the month (presence), None when the dossier has no forecast at all."""
    if not forecast:
        return None
    return sum((p.training + p.internship for p in forecast if month_key(p.day) == month),
               _zero())


def plan_warnings(totals: Hours | None, planned: Decimal | None) -> list[dict]:
    """A warning, never an error: presence plus absence above what the forecast planned."""
    if totals is None or planned is None:
        return []
    entered = totals.training + totals.internship + totals.absence
    if entered <= planned:
        return []
    return [{"code": "over_plan",
             "message": f"Les heures saisies (présence et absence : {hours_fr(entered)}) "
                        f"dépassent les heures prévues au calendrier prévisionnel "
                        f"({hours_fr(planned)}) : vérifiez que les absences sont bien "
                        f"déduites des heures de présence."}]


def zero_proposal(mode: str) -> Entry:
    """"Remise à zéro": every total at zero, no detail."""
    return Entry(mode, ZERO_HOURS)


def forecast_proposal(mode: str, month: str, session: Session,
                      forecast: list[PlannedHours]) -> Entry:
    """"Charger le calendrier": the forecast's planned hours as presence hours."""
    allowed = set(session_days(month, session))
    planned = [(p.day, p.training, p.internship) for p in forecast if p.day in allowed]
    return _proposal(mode, planned)


def spread_proposal(mode: str, month: str, session: Session) -> Entry:
    """"Répartir 7h tous les jours": 7 h of training on every working day of the month within
    the session (Monday to Friday, French public holidays excluded)."""
    days = [(d, SPREAD_HOURS, _zero()) for d in session_days(month, session)
            if is_working_day(d)]
    return _proposal(mode, days)


def _proposal(mode: str, planned: list[tuple[date, Decimal, Decimal]]) -> Entry:
    totals = Hours(sum((t for _, t, _ in planned), _zero()),
                   sum((i for _, _, i in planned), _zero()), _zero())
    if mode == MONTH_TOTALS:
        return Entry(mode, totals)
    if mode == PER_DAY:
        days = [DayHours(d, WHOLE_DAY, t, i, _zero()) for d, t, i in planned]
    else:  # half a day's hours in the morning, the rest in the afternoon
        days = []
        for d, t, i in planned:
            morning_t, morning_i = _half(t), _half(i)
            days += [DayHours(d, MORNING, morning_t, morning_i, _zero()),
                     DayHours(d, AFTERNOON, t - morning_t, i - morning_i, _zero())]
    return Entry(mode, totals, tuple(days))


def _half(value: Decimal) -> Decimal:
    return (value / 2).quantize(Decimal("0.01"))
