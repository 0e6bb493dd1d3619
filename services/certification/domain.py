"""Monthly completion certificates ("certificats de réalisation"): the rules, pure Python.

One certificate per dossier and month. A month with no stored row has a computed status
(not available yet, or awaiting entry); a row exists from the first hours entry on (or from
a payment that closed the month). The clock is always passed in (`now`, timezone-aware UTC).
Each funder's settings (FunderSettings) say how hours are entered and who validates them.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from contracts.common.errors import Conflict, Forbidden, InvalidInput, TooManyRequests
from contracts.common.formatting import hours_fr, month_fr
from services.certification.workdays import is_working_day

# Users live in France: a month opens on its first day in Paris, not in UTC.
LOCAL_TIME = ZoneInfo("Europe/Paris")

NOT_AVAILABLE = "not_available"
AWAITING_ENTRY = "awaiting_entry"
HOURS_ENTERED = "hours_entered"
CERTIFIED = "certified"
AWAITING_BENEFICIARY = "awaiting_beneficiary_validation"
AWAITING_EMPLOYER = "awaiting_employer_validation"
VALIDATED = "validated"
CLOSED_BY_PAYMENT = "closed_by_payment"
REOPENED = "reopened"
CONTESTED = "contested"

STATUS_LABELS = {
    NOT_AVAILABLE: "La saisie n'est pas disponible",
    AWAITING_ENTRY: "En attente de saisie par l'organisme",
    HOURS_ENTERED: "Heures saisies, en attente de certification",
    CERTIFIED: "Certifié par l'organisme",
    AWAITING_BENEFICIARY: "En attente de validation par le bénéficiaire",
    AWAITING_EMPLOYER: "En attente de validation par l'employeur",
    VALIDATED: "Heures validées",
    CLOSED_BY_PAYMENT: ("La saisie n'est plus disponible car des règlements ont été faits "
                        "dans la période"),
    REOPENED: "Rouvert par le financeur : en attente de saisie par l'organisme",
    # The seeds name no such status; the reply's label adds who contested and why.
    CONTESTED: "Heures contestées",
}
# The organisation may (re)enter hours in these; the certified ones wait for a reopening.
ENTERABLE = frozenset({AWAITING_ENTRY, HOURS_ENTERED, REOPENED})
CERTIFIED_STATES = frozenset({CERTIFIED, AWAITING_BENEFICIARY, AWAITING_EMPLOYER, VALIDATED,
                              CONTESTED})
# Funder staff transmit for payment only hours nobody waits to validate or contests.
TRANSMITTABLE = frozenset({CERTIFIED, VALIDATED})
# The parties who may have to validate a certification, in the order they do it.
BENEFICIARY, EMPLOYER = "beneficiary", "employer"
AWAITING_OF = {BENEFICIARY: AWAITING_BENEFICIARY, EMPLOYER: AWAITING_EMPLOYER}
PARTY_LABELS = {BENEFICIARY: "le bénéficiaire", EMPLOYER: "l'employeur"}
MAX_REASON = 1000
# What each role's dashboard counts as an action waiting for it.
PENDING_FOR_ROLE = {
    "organisation_user": frozenset({AWAITING_ENTRY, HOURS_ENTERED, REOPENED}),
    "beneficiary": frozenset({AWAITING_BENEFICIARY}),
    "employer": frozenset({AWAITING_EMPLOYER}),
}

# Entry modes (funder setting): month totals, per day, per half-day (morning, afternoon).
MONTH_TOTALS, PER_DAY, PER_HALF_DAY = "month", "day", "half_day"
ENTRY_MODES = (MONTH_TOTALS, PER_DAY, PER_HALF_DAY)
WHOLE_DAY, MORNING, AFTERNOON = "day", "morning", "afternoon"
PERIODS_OF_MODE = {PER_DAY: (WHOLE_DAY,), PER_HALF_DAY: (MORNING, AFTERNOON)}
PERIOD_LIMIT = {WHOLE_DAY: Decimal(24), MORNING: Decimal(12), AFTERNOON: Decimal(12)}
SPREAD_HOURS = Decimal(7)  # "Répartir 7h tous les jours"
CODE_LENGTHS = (4, 6)
CODE_LIFETIMES = (15, 10)

# Method 1: print the draft, sign it, upload the signed PDF. Only its status change exists
# for now: the signed-PDF upload (documents) and method 2 (4-digit code sent by email to a
# "certifier" organisation) come with a later issue.
METHOD_SIGNED_PDF = 1

MAX_HOURS = Decimal("99999.99")  # Numeric(7, 2)
CHANGING_ROLE = "organisation_user"


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


def is_open(month: str, session: Session, now: datetime) -> bool:
    """Hours may be entered once the month has started and while it lies in the session."""
    return session.includes(month) and first_day(month) <= local_today(now)


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


# --- funder settings ----------------------------------------------------------------------

class FunderSettings:
    """How a funder wants hours entered and certified (mapped; one row per funder once its
    administrator saved them). The defaults are what the seeds show."""

    def __init__(self, funder_id: str, entry_mode: str = MONTH_TOTALS, code_length: int = 4,
                 code_lifetime_minutes: int = 15, beneficiary_validation: bool = False,
                 employer_validation: bool = False, notify_funder: bool = False,
                 updated_by: str | None = None, updated_at: datetime | None = None,
                 funder_notification_email: str | None = None):
        self.funder_id = funder_id
        self.entry_mode = entry_mode
        self.code_length = code_length
        self.code_lifetime_minutes = code_lifetime_minutes
        self.beneficiary_validation = beneficiary_validation
        self.employer_validation = employer_validation
        self.notify_funder = notify_funder
        # Where the funder is emailed at certification (and of a contest) when notify_funder.
        self.funder_notification_email = funder_notification_email
        self.updated_by = updated_by
        self.updated_at = updated_at

    def change(self, values: dict, user_id: str, now: datetime) -> None:
        """Replace every setting at once (PUT); each value is checked against its choices."""
        _choice("entry_mode", values["entry_mode"], ENTRY_MODES)
        _choice("code_length", values["code_length"], CODE_LENGTHS)
        _choice("code_lifetime_minutes", values["code_lifetime_minutes"], CODE_LIFETIMES)
        email = (values.get("funder_notification_email") or "").strip() or None
        if values["notify_funder"] and not email:
            raise InvalidInput("funder_email_required",
                               "Indiquez l'adresse e-mail du financeur à prévenir à chaque "
                               "certification.", {"field": "funder_notification_email"})
        for name in ("entry_mode", "code_length", "code_lifetime_minutes",
                     "beneficiary_validation", "employer_validation", "notify_funder"):
            setattr(self, name, values[name])
        self.funder_notification_email = email
        self.updated_by = user_id
        self.updated_at = now

    @property
    def funder_email(self) -> str | None:
        """The address to email at certification and of a contest, if the funder wants it."""
        return self.funder_notification_email if self.notify_funder else None


def _choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise InvalidInput("invalid_setting", "Cette valeur n'est pas proposée pour ce réglage.",
                           {"field": name, "choices": list(choices)})


def ensure_funder_admin(role: str) -> None:
    if role != "funder_admin":
        raise Forbidden("funder_admin_only",
                        "Seul un administrateur du financeur peut modifier ces réglages.")


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


def month_days(month: str) -> list[date]:
    start = first_day(month)
    return [start + timedelta(days=n)
            for n in range(calendar.monthrange(start.year, start.month)[1])]


def session_days(month: str, session: Session) -> list[date]:
    """The month's days that lie within the session."""
    return [d for d in month_days(month) if session.start <= d <= session.end]


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
        raise InvalidInput("detail_required",
                           "Votre financeur demande le détail des heures par jour."
                           if mode == PER_DAY else "Votre financeur demande le détail des "
                           "heures par demi-journée (matin, après-midi).")
    _check_days(mode, month, session, days)
    computed = Hours(*(sum((getattr(d, kind) for d in days), _zero())
                       for kind in ("training", "internship", "absence")))
    if totals is not None and totals != computed:
        raise InvalidInput("totals_mismatch",
                           "Les totaux envoyés ne correspondent pas au détail des jours.",
                           {"expected": {k: str(v) for k, v in computed.__dict__.items()}})
    return Entry(mode, computed, tuple(sorted(days, key=lambda d: (d.day, d.period != MORNING))))


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


# --- the certificate -------------------------------------------------------------------

class Certificate:
    """A stored certificate (mapped by models.start_mappers; `version` is the optimistic lock)."""

    def __init__(self, id: str, dossier_id: str, month: str, funder_id: str,
                 organisation_id: str, now: datetime):
        self.id = id
        self.dossier_id = dossier_id
        self.month = month
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.status = AWAITING_ENTRY
        self.training_hours: Decimal | None = None
        self.internship_hours: Decimal | None = None
        self.absence_hours: Decimal | None = None
        self.entry_mode: str | None = None
        self.detail: list[dict] = []
        self.method: int | None = None
        self.certified_by: str | None = None
        self.certified_at: datetime | None = None
        self.certified_from_ip: str | None = None
        self.certified_document_sha256: str | None = None
        self.code_checked_at: datetime | None = None
        self.locked_for_payment = False
        self.reopen_reason: str | None = None
        self.reopened_by: str | None = None
        self.reopened_at: datetime | None = None
        self.closed_by_payment_id: str | None = None
        self.closed_by_payment_number: str | None = None
        self.closed_at: datetime | None = None
        # The current certification's cycle: the validations the funder required then (in
        # order), who validated or contested, the organisation's email (told of a contest),
        # and the funder's transmission for payment.
        self.validations: list[str] = []
        self.beneficiary_validated_by: str | None = None
        self.beneficiary_validated_at: datetime | None = None
        self.employer_validated_by: str | None = None
        self.employer_validated_at: datetime | None = None
        self.contested_party: str | None = None
        self.contest_reason: str | None = None
        self.contested_by: str | None = None
        self.contested_at: datetime | None = None
        self.organisation_email: str | None = None
        self.transmitted_by: str | None = None
        self.transmitted_at: datetime | None = None
        self.created_at = now
        self.updated_at = now

    @classmethod
    def open(cls, dossier_id: str, month: str, funder_id: str, organisation_id: str,
             now: datetime) -> "Certificate":
        return cls(str(uuid.uuid4()), dossier_id, month, funder_id, organisation_id, now)

    @property
    def hours(self) -> Hours:
        return Hours(self.training_hours, self.internship_hours, self.absence_hours)

    @property
    def has_hours(self) -> bool:
        return self.training_hours is not None

    @property
    def days(self) -> list[DayHours]:
        return [DayHours.from_dict(d) for d in self.detail or []]

    @property
    def display_status(self) -> str:
        """A payment in the period closes the month whatever its workflow status."""
        return CLOSED_BY_PAYMENT if self.closed_by_payment_id else self.status

    def enter_hours(self, entry: Hours | Entry, session: Session, now: datetime) -> None:
        """Record (or correct) the month's hours, until the month is certified."""
        if isinstance(entry, Hours):
            entry = Entry(MONTH_TOTALS, entry)
        if not is_open(self.month, session, now):
            raise month_not_available(self.month)
        self._ensure_enterable()
        self.training_hours = entry.totals.training
        self.internship_hours = entry.totals.internship
        self.absence_hours = entry.totals.absence
        self.entry_mode = entry.mode
        self.detail = [d.as_dict() for d in entry.days]
        self.status = HOURS_ENTERED
        self.updated_at = now

    def certify(self, user_id: str, ip: str | None, now: datetime,
                method: int = METHOD_SIGNED_PDF, validation: str | None = None,
                document_sha256: str | None = None,
                code_checked_at: datetime | None = None,
                validations: list[str] | tuple = (),
                organisation_email: str | None = None) -> None:
        """The organisation vouches for the entered hours; the evidence is kept: who, when,
        from where, how, the hash of what was certified and when the code was checked.
        `validations`: the parties who must validate, in order (validation_steps); or
        `validation`: the status awaiting the only one."""
        self._ensure_not_closed()
        self._ensure_not_certified()
        if self.status != HOURS_ENTERED:
            raise hours_not_entered()
        steps = list(validations) or [kind for kind, status in AWAITING_OF.items()
                                      if status == validation]
        self._new_cycle(steps, organisation_email)
        self.status = AWAITING_OF[steps[0]] if steps else CERTIFIED
        self.method = method
        self.certified_by = user_id
        self.certified_at = now
        self.certified_from_ip = ip
        self.certified_document_sha256 = document_sha256
        self.code_checked_at = code_checked_at
        self.updated_at = now

    def _new_cycle(self, steps: list[str], organisation_email: str | None) -> None:
        self.validations = steps
        self.beneficiary_validated_by = self.beneficiary_validated_at = None
        self.employer_validated_by = self.employer_validated_at = None
        self.contested_party = self.contest_reason = None
        self.contested_by = self.contested_at = None
        self.transmitted_by = self.transmitted_at = None
        self.organisation_email = organisation_email

    def validate(self, party: str, user_id: str, now: datetime) -> None:
        """The beneficiary (then the employer) validates the certified hours; the last
        validation required makes them validated."""
        self._ensure_awaiting(party)
        setattr(self, f"{party}_validated_by", user_id)
        setattr(self, f"{party}_validated_at", now)
        later = self.validations[self.validations.index(party) + 1:] \
            if party in self.validations else []
        self.status = AWAITING_OF[later[0]] if later else VALIDATED
        self.updated_at = now

    def contest(self, party: str, reason: str, user_id: str, now: datetime) -> None:
        """The party waited for contests the hours, with a reason: the month stays certified
        (nothing to transmit) until the funder reopens it for the organisation to correct."""
        self._ensure_awaiting(party)
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("reason_required", "Indiquez le motif de la contestation.")
        if len(reason) > MAX_REASON:
            raise InvalidInput("reason_too_long",
                               f"Le motif ne peut pas dépasser {MAX_REASON} caractères.")
        self.status = CONTESTED
        self.contested_party, self.contest_reason = party, reason
        self.contested_by, self.contested_at = user_id, now
        self.updated_at = now

    def _ensure_awaiting(self, party: str) -> None:
        self._ensure_not_closed()
        if self.status != AWAITING_OF[party]:
            raise Conflict("not_awaiting_validation",
                           f"Ces heures n'attendent pas de validation de "
                           f"{PARTY_LABELS[party]}.", {"month": self.month,
                                                       "status": self.status})

    def transmit(self, user_id: str, now: datetime) -> bool:
        """Funder staff transmit the certified (or validated) hours for payment. False when
        they already were (nothing changes)."""
        if self.transmitted_at is not None and self.status in TRANSMITTABLE:
            return False
        self._ensure_not_closed()
        if self.status not in TRANSMITTABLE:
            raise not_transmittable(self.month)
        self.transmitted_by, self.transmitted_at = user_id, now
        self.updated_at = now
        return True

    @property
    def status_label(self) -> str:
        """The French label; a contest says who contested and why."""
        status = self.display_status
        if status == CONTESTED:
            return (f"Heures contestées par {PARTY_LABELS[self.contested_party]} : "
                    f"{self.contest_reason}")
        return STATUS_LABELS[status]

    def reopen(self, reason: str, user_id: str, now: datetime) -> None:
        """The funder reopens a certified month for a new entry and certification."""
        self._ensure_not_closed()
        if self.status not in CERTIFIED_STATES:
            raise Conflict("not_certified",
                           "Seul un mois certifié peut être rouvert.", {"month": self.month})
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("reason_required", "Indiquez le motif de la réouverture.")
        self.status = REOPENED
        self.reopen_reason = reason
        self.reopened_by = user_id
        self.reopened_at = now
        self.transmitted_by = self.transmitted_at = None  # the next certification's hours
        # Payments' lock followed the certification being reopened; the next one locks again.
        self.locked_for_payment = False
        self.updated_at = now

    def close_by_payment(self, payment_id: str, payment_number: str, now: datetime) -> bool:
        """A payment covered the month: no more entry. False when it already was closed."""
        if self.closed_by_payment_id:
            return False
        self.closed_by_payment_id = payment_id
        self.closed_by_payment_number = payment_number
        self.closed_at = now
        self.updated_at = now
        return True

    def lock_for_payment(self, now: datetime) -> bool:
        """Payments locked the month; False when it already was, or when the certification it
        followed was reopened since (a late lock): nothing changes."""
        if self.locked_for_payment or self.status not in CERTIFIED_STATES:
            return False
        self.locked_for_payment = True
        self.updated_at = now
        return True

    def unlock_for_payment(self, reason: str, user_id: str, now: datetime) -> bool:
        """Payments unlocked the month: its hours may change again, so a certified month is
        reopened with the funder's reason. False when nothing changes (redelivery)."""
        if not self.locked_for_payment:
            return False
        self.locked_for_payment = False
        if self.status in CERTIFIED_STATES and not self.closed_by_payment_id:
            self.reopen(reason, user_id, now)
        self.updated_at = now
        return True

    def _ensure_enterable(self) -> None:
        self._ensure_not_closed()
        if self.locked_for_payment:
            raise Conflict("month_locked",
                           "Ce mois est verrouillé pour le paiement : les heures ne peuvent "
                           "plus être modifiées.", {"month": self.month})
        self._ensure_not_certified()

    def _ensure_not_closed(self) -> None:
        if self.closed_by_payment_id:
            raise Conflict("month_closed_by_payment", STATUS_LABELS[CLOSED_BY_PAYMENT] + ".",
                           {"month": self.month})

    def _ensure_not_certified(self) -> None:
        if self.status in CERTIFIED_STATES:
            raise Conflict("certificate_already_certified",
                           "Le certificat de réalisation de ce mois est déjà certifié : les "
                           "heures ne peuvent plus être modifiées.", {"month": self.month})


def validation_steps(settings: FunderSettings, has_employer: bool) -> list[str]:
    """Who validates a certification, in order: the beneficiary first (seeds 001 and 002
    invite the beneficiary to validate; the employer, "si concerné", comes after), then the
    employer when the dossier has one. Fixed at certification: a settings change later does
    not strand a month waiting."""
    steps = [BENEFICIARY] if settings.beneficiary_validation else []
    if settings.employer_validation and has_employer:
        steps.append(EMPLOYER)
    return steps


def first_validation(settings: FunderSettings, has_employer: bool) -> str | None:
    """The status a certification leads to: the first validation the funder requires."""
    steps = validation_steps(settings, has_employer)
    return AWAITING_OF[steps[0]] if steps else None


def not_transmittable(month: str) -> Conflict:
    return Conflict("not_transmittable",
                    "Seules des heures certifiées (et validées quand le financeur le demande) "
                    "peuvent être transmises pour paiement.", {"month": month})


def party_of(role: str, party_id: str | None, beneficiary_id: str,
             employer_id: str | None) -> str:
    """Which party of the dossier the caller is; only its own beneficiary or employer
    validates or contests its hours."""
    if role == BENEFICIARY and party_id and party_id == beneficiary_id:
        return BENEFICIARY
    if role == EMPLOYER and party_id and party_id == employer_id:
        return EMPLOYER
    raise Forbidden("not_a_party",
                    "Seuls le bénéficiaire et l'employeur du dossier peuvent valider ou "
                    "contester ses heures.")


# --- method 2 requests: at most a few codes an hour --------------------------------------

CODE_REQUESTS_PER_HOUR = 5
CODE_REQUEST_WINDOW = timedelta(hours=1)


def ensure_code_request_allowed(recent: list[datetime], now: datetime) -> None:
    """Each request emails a code and gives 3 new attempts: a user may ask for at most
    CODE_REQUESTS_PER_HOUR codes for one month in any hour. `recent`: their earlier requests
    of that month."""
    within = sorted(at for at in recent if at > now - CODE_REQUEST_WINDOW)
    if len(within) < CODE_REQUESTS_PER_HOUR:
        return
    wait = within[-CODE_REQUESTS_PER_HOUR] + CODE_REQUEST_WINDOW - now
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    raise TooManyRequests("too_many_code_requests",
                          f"Trop de codes demandés pour ce mois : réessayez dans {minutes} "
                          f"minute{'s' if minutes > 1 else ''}.",
                          {"retry_after_minutes": minutes})


class CodeRequest:
    """One method-2 code request (mapped), counted by the hourly limit."""

    def __init__(self, id: str, user_id: str, dossier_id: str, month: str,
                 requested_at: datetime):
        self.id = id
        self.user_id = user_id
        self.dossier_id = dossier_id
        self.month = month
        self.requested_at = requested_at


def certify(certificate: Certificate | None, attest: bool, user_id: str, ip: str | None,
            now: datetime, validation: str | None = None, **evidence) -> Certificate:
    """Certify a month; `certificate` is None when no hours were ever entered for it.
    `evidence`: method, document_sha256, code_checked_at (see Certificate.certify)."""
    require_attestation(attest)
    if certificate is None:
        raise hours_not_entered()
    certificate.certify(user_id, ip, now, validation=validation, **evidence)
    return certificate


def require_attestation(attest: bool) -> None:
    if not attest:
        raise InvalidInput("attestation_required",
                           'Vous devez cocher "Je certifie la saisie des heures"')


def with_hours(certificate: Certificate | None) -> Certificate:
    """The month's certificate, once hours were entered (its draft PDF needs them)."""
    if certificate is None or certificate.training_hours is None:
        raise hours_not_entered()
    return certificate


def hours_not_entered() -> Conflict:
    return Conflict("hours_not_entered",
                    "Les heures du mois doivent être saisies avant d'être certifiées.")


def month_not_available(month: str) -> Conflict:
    return Conflict("month_not_available",
                    "La saisie n'est pas disponible pour ce mois : il n'a pas commencé ou "
                    "n'appartient pas à la session de formation.", {"month": month})


def status_of(month: str, certificate: Certificate | None, session: Session,
              now: datetime) -> str:
    """A stored certificate's status, or the computed status of a month without one."""
    if certificate is not None:
        if certificate.status == AWAITING_ENTRY and not certificate.closed_by_payment_id \
                and not is_open(month, session, now):
            return NOT_AVAILABLE
        return certificate.display_status
    return AWAITING_ENTRY if is_open(month, session, now) else NOT_AVAILABLE


def status_label(status: str, certificate: Certificate | None) -> str:
    if certificate is not None and status == CONTESTED:
        return certificate.status_label
    return STATUS_LABELS[status]


def period_label(month: str) -> str:
    """"2020-09" -> "Septembre 2020", as the dashboard's "Période" column prints it."""
    label = month_fr(month)
    return label[:1].upper() + label[1:]


def pending_months(role: str, session: Session, stored: dict[str, Certificate],
                   now: datetime) -> list[tuple[str, str]]:
    """(month, status) of a dossier's months waiting for an action of this role."""
    waiting = PENDING_FOR_ROLE.get(role, frozenset())
    found = []
    for month in session.months():
        status = status_of(month, stored.get(month), session, now)
        if status in waiting:
            found.append((month, status))
    return found


def actions_label(count: int) -> str:
    return f"{count} action{'s' if count > 1 else ''} en attente"


CLOSED_DOSSIER = "closed"  # dossiers' status code of « Dossier clôturé »


def ensure_dossier_open(dossier_status: str) -> None:
    """A closed dossier's months take no more hours nor certification."""
    if dossier_status == CLOSED_DOSSIER:
        raise Conflict("dossier_closed", "Ce dossier est clôturé : les heures ne peuvent plus "
                                         "être saisies ni certifiées.")


def ensure_may_change(role: str, actor_organisation_id: str | None,
                      dossier_organisation_id: str) -> None:
    """Only a user of the dossier's training organisation enters and certifies hours."""
    if role != CHANGING_ROLE or actor_organisation_id != dossier_organisation_id:
        raise Forbidden("not_allowed",
                        "Seul l'organisme de formation du dossier peut saisir et certifier "
                        "les heures.")


def ensure_funder_staff_of(role: str, actor_funder_id: str, dossier_funder_id: str,
                           action: str = "rouvrir un mois") -> None:
    """Only the dossier's funder reopens a month, or transmits its hours for payment."""
    if role not in ("funder_agent", "funder_admin") or actor_funder_id != dossier_funder_id:
        raise Forbidden("funder_staff_only", f"Seul le financeur du dossier peut {action}.")


@dataclass
class RowReport:
    """One line of an uploaded template's report."""

    row: int
    dossier_number: str | None
    status: str = "ok"
    code: str | None = None
    message: str | None = None
    extra: dict = field(default_factory=dict)


# --- method 2: the emailed verification code ----------------------------------------------

METHOD_ELECTRONIC = 2
MAX_CODE_ATTEMPTS = 3  # then the code is spent: a new one must be sent


class CertificationCode:
    """The one live code of a dossier month (mapped). Only its salted hash is kept; sending a
    new one replaces it, so the previous one stops working."""

    def __init__(self, dossier_id: str, month: str, user_id: str, salt: str, code_hash: str,
                 expires_at: datetime, now: datetime):
        self.dossier_id = dossier_id
        self.month = month
        self.user_id = user_id
        self.salt = salt
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.attempts = 0
        self.used_at: datetime | None = None
        self.created_at = now

    def renew(self, user_id: str, salt: str, code_hash: str, expires_at: datetime,
              now: datetime) -> None:
        self.user_id, self.salt, self.code_hash = user_id, salt, code_hash
        self.expires_at, self.attempts, self.used_at, self.created_at = expires_at, 0, None, now

    def check(self, code: str, user_id: str, now: datetime) -> InvalidInput | Conflict | None:
        """None when the code is right (it is then spent); else the error to raise once the
        counted attempt is committed."""
        if self.used_at is not None or self.attempts >= MAX_CODE_ATTEMPTS:
            return Conflict("code_spent", "Ce code n'est plus valable : demandez un nouveau "
                                          "code de vérification.")
        if now >= self.expires_at:
            return Conflict("code_expired", "Ce code a expiré : demandez un nouveau code de "
                                            "vérification.")
        if user_id != self.user_id:
            return Conflict("code_of_another_user", "Ce code a été envoyé à un autre "
                                                    "utilisateur : demandez votre propre code.")
        if not hmac.compare_digest(hash_code(self.salt, code), self.code_hash):
            self.attempts += 1
            left = MAX_CODE_ATTEMPTS - self.attempts
            return InvalidInput("wrong_code",
                                f"Code de vérification incorrect : encore {left} essai"
                                f"{'s' if left > 1 else ''}." if left else
                                "Code de vérification incorrect : demandez un nouveau code.",
                                {"attempts_left": left})
        self.used_at = now
        return None


def hash_code(salt: str, code: str) -> str:
    # A short code cannot resist an offline search; the hash keeps it out of dumps and logs,
    # the expiry and the attempt limit are what protect it.
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def new_code(length: int, randbelow=secrets.randbelow) -> str:
    return f"{randbelow(10 ** length):0{length}d}"


def issue_code(existing: CertificationCode | None, dossier_id: str, month: str, user_id: str,
               settings: FunderSettings, now: datetime,
               randbelow=secrets.randbelow) -> tuple[CertificationCode, str]:
    """A fresh code per the funder's settings (length, lifetime); the previous one dies."""
    code, salt = new_code(settings.code_length, randbelow), secrets.token_hex(16)
    expires_at = now + timedelta(minutes=settings.code_lifetime_minutes)
    if existing is None:
        return CertificationCode(dossier_id, month, user_id, salt, hash_code(salt, code),
                                 expires_at, now), code
    existing.renew(user_id, salt, hash_code(salt, code), expires_at, now)
    return existing, code


def ensure_electronic_allowed(organisation_method: int | None, accept_ip: bool) -> None:
    """Method 2: a certifier organisation (KBIS and consent letter checked) and the user's
    consent to the use of their IP address."""
    if organisation_method != METHOD_ELECTRONIC:
        raise Conflict("electronic_certification_unavailable",
                       "La certification 100 % dématérialisée n'est possible qu'une fois votre "
                       "organisme déclaré certificateur et son KBIS et sa lettre de "
                       "consentement contrôlés par votre financeur : utilisez la "
                       "certification par impression, signature et dépôt du certificat.")
    if not accept_ip:
        raise InvalidInput("ip_consent_required",
                           'Vous devez cocher "J\'accepte que mon adresse IP soit utilisée"')


def ensure_code_requestable(certificate: Certificate | None, attest: bool) -> Certificate:
    require_attestation(attest)
    if certificate is None or certificate.status != HOURS_ENTERED:
        raise hours_not_entered()
    return certificate


class OrganisationMethod:
    """The certification method in force for an organisation, as identity last said it."""

    def __init__(self, organisation_id: str, funder_id: str, method: int, changed_at: datetime):
        self.organisation_id = organisation_id
        self.funder_id = funder_id
        self.method = method
        self.changed_at = changed_at

    def follow(self, method: int, changed_at: datetime) -> bool:
        """Apply a later change; an older one arriving late changes nothing."""
        if changed_at < self.changed_at:
            return False
        self.method, self.changed_at = method, changed_at
        return True


# --- method 1: the organisation's identity and the signed certificate --------------------

def check_letterhead(legal_representative: str | None, logo_status: str,
                     stamp_status: str) -> list[dict]:
    """Refuse when the legal representative's name or the logo is missing (the certificate
    prints them); a missing stamp only warns."""
    missing = [label for label, ok in (
        ("le nom du représentant légal", bool((legal_representative or "").strip())),
        ("le logo de l'organisme", logo_status not in ("missing", "rejected"))) if not ok]
    if missing:
        raise Conflict("identity_incomplete",
                       "Avant de certifier, complétez « Votre identité » : "
                       + " et ".join(missing) + ".", {"missing": missing})
    if stamp_status in ("missing", "rejected"):
        return [{"code": "stamp_missing",
                 "message": "Votre cachet n'est pas renseigné dans « Votre identité » : "
                            "la certification est valide, pensez à l'ajouter."}]
    return []


def signed_certificate_sha256(documents: list[dict], month: str) -> str:
    """The latest signed certificate PDF deposited for the month (method 1 requires it)."""
    candidates = [d for d in documents
                  if d.get("category") == "signed_certificate" and d.get("status") != "rejected"
                  and d.get("content_type") == "application/pdf" and _covers(d, month)]
    if not candidates:
        raise Conflict("signed_certificate_required",
                       "Joignez le certificat de réalisation signé (PDF) du mois avant de "
                       "certifier.", {"month": month})
    return max(candidates, key=lambda d: d["created_at"])["sha256"]


def _covers(document: dict, month: str) -> bool:
    if document.get("month"):
        return document["month"] == month
    start = document.get("period_start")
    return bool(start) and start[:7] <= month <= (document.get("period_end") or start)[:7]
