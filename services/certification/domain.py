"""Monthly completion certificates ("certificats de réalisation"): the rules, pure Python.

One certificate per dossier and month. A month with no stored row has a computed status
(not available yet, or awaiting entry); a row exists from the first hours entry on.
The clock is always passed in (`now`, timezone-aware UTC).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from servicekit.errors import Conflict, Forbidden, InvalidInput

# Users live in France: a month opens on its first day in Paris, not in UTC.
LOCAL_TIME = ZoneInfo("Europe/Paris")

NOT_AVAILABLE = "not_available"
AWAITING_ENTRY = "awaiting_entry"
HOURS_ENTERED = "hours_entered"
CERTIFIED = "certified"

STATUS_LABELS = {
    NOT_AVAILABLE: "La saisie n'est pas disponible",
    AWAITING_ENTRY: "En attente de saisie par l'organisme",
    HOURS_ENTERED: "Heures saisies, en attente de certification",
    CERTIFIED: "Certifié par l'organisme",
}

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
        self.method: int | None = None
        self.certified_by: str | None = None
        self.certified_at: datetime | None = None
        self.certified_from_ip: str | None = None
        self.locked_for_payment = False
        self.created_at = now
        self.updated_at = now

    @classmethod
    def open(cls, dossier_id: str, month: str, funder_id: str, organisation_id: str,
             now: datetime) -> "Certificate":
        return cls(str(uuid.uuid4()), dossier_id, month, funder_id, organisation_id, now)

    @property
    def hours(self) -> Hours:
        return Hours(self.training_hours, self.internship_hours, self.absence_hours)

    def enter_hours(self, hours: Hours, session: Session, now: datetime) -> None:
        """Record (or correct) the month's totals, until the month is certified."""
        if not is_open(self.month, session, now):
            raise month_not_available(self.month)
        self._ensure_not_locked()
        self._ensure_not_certified()
        self.training_hours = hours.training
        self.internship_hours = hours.internship
        self.absence_hours = hours.absence
        self.status = HOURS_ENTERED
        self.updated_at = now

    def certify(self, user_id: str, ip: str | None, now: datetime,
                method: int = METHOD_SIGNED_PDF) -> None:
        """The organisation vouches for the entered hours; who, when and from where is kept."""
        self._ensure_not_certified()
        if self.status != HOURS_ENTERED:
            raise hours_not_entered()
        self.status = CERTIFIED
        self.method = method
        self.certified_by = user_id
        self.certified_at = now
        self.certified_from_ip = ip
        self.updated_at = now

    def lock_for_payment(self, now: datetime) -> bool:
        """Payments locked the month; False when it already was (nothing changes)."""
        if self.locked_for_payment:
            return False
        self.locked_for_payment = True
        self.updated_at = now
        return True

    def _ensure_not_locked(self) -> None:
        if self.locked_for_payment:
            raise Conflict("month_locked",
                           "Ce mois est verrouillé pour le paiement : les heures ne peuvent "
                           "plus être modifiées.", {"month": self.month})

    def _ensure_not_certified(self) -> None:
        if self.status == CERTIFIED:
            raise Conflict("certificate_already_certified",
                           "Le certificat de réalisation de ce mois est déjà certifié : les "
                           "heures ne peuvent plus être modifiées.", {"month": self.month})


def certify(certificate: Certificate | None, attest: bool, user_id: str, ip: str | None,
            now: datetime) -> Certificate:
    """Certify a month; `certificate` is None when no hours were ever entered for it."""
    if not attest:
        raise InvalidInput("attestation_required",
                           'Vous devez cocher "Je certifie la saisie des heures"')
    if certificate is None:
        raise hours_not_entered()
    certificate.certify(user_id, ip, now)
    return certificate


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
        return certificate.status
    return AWAITING_ENTRY if is_open(month, session, now) else NOT_AVAILABLE


def ensure_may_change(role: str, actor_organisation_id: str | None,
                      dossier_organisation_id: str) -> None:
    """Only a user of the dossier's training organisation enters and certifies hours."""
    if role != CHANGING_ROLE or actor_organisation_id != dossier_organisation_id:
        raise Forbidden("not_allowed",
                        "Seul l'organisme de formation du dossier peut saisir et certifier "
                        "les heures.")
