"""French formatting of what users read (hours, amounts, months, dates), for every template.

Pure (babel only). Babel's fr_FR groups thousands with a narrow no-break space (U+202F),
which some PDF fonts and mail clients lack; we print a plain no-break space (U+00A0)
instead: it reads like the funders' documents ("10 503,34 €") and never breaks a number
across two lines.
"""
from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal as _babel_decimal

from contracts.common import Role

LOCALE = "fr_FR"
PARIS = ZoneInfo("Europe/Paris")
NO_BREAK_SPACE = "\u00a0"
_NARROW_NO_BREAK_SPACE = "\u202f"


def paris_date(moment: datetime) -> date:
    """The day it is in France at that moment (due dates, dates printed)."""
    return moment.astimezone(PARIS).date()


def decimal_fr(value: Decimal | int | str) -> str:
    """Decimal(10503.34) -> "10 503,34" (two decimals, U+00A0 between thousands)."""
    text = _babel_decimal(Decimal(value), "#,##0.00", locale=LOCALE)
    return text.replace(_NARROW_NO_BREAK_SPACE, NO_BREAK_SPACE)


def hours_fr(value: Decimal | int | str) -> str:
    """Decimal(147) -> "147,00 h"."""
    return f"{decimal_fr(value)}{NO_BREAK_SPACE}h"


def amount_fr(value: Decimal | int | str) -> str:
    """Decimal(10503.34) -> "10 503,34 €"."""
    return f"{decimal_fr(value)}{NO_BREAK_SPACE}€"


def date_fr(value: date | datetime) -> str:
    """date(2026, 9, 1) -> "01/09/2026"."""
    return value.strftime("%d/%m/%Y")


def datetime_fr(value: datetime) -> str:
    """An aware UTC instant as read in France: "12/10/2026 à 16:05"."""
    local = value.astimezone(PARIS)
    return f"{date_fr(local)} à {local:%H:%M}"


@functools.lru_cache(maxsize=1024)  # babel takes 6 µs; a PDF or an email asks for a few months
def month_fr(month: str) -> str:
    """"2026-09" -> "septembre 2026"."""
    year, number = (int(part) for part in month.split("-"))
    return _babel_date(date(year, number, 1), "MMMM yyyy", locale=LOCALE)


_ELIDING = frozenset("aâàeéèêiîoôuûyh")


def of_fr(label: str) -> str:
    """"de" before a word, elided before a vowel: "octobre 2026" -> "d'octobre 2026",
    "septembre 2026" -> "de septembre 2026"."""
    return f"d'{label}" if label[:1].lower() in _ELIDING else f"de {label}"


def of_month_fr(month: str) -> str:
    """"2026-10" -> "d'octobre 2026", "2026-09" -> "de septembre 2026"."""
    return of_fr(month_fr(month))


def person_name_fr(name: str) -> str:
    """A person as letters address them, first name then family name: "DUBOIS Michelle"
    (the family name in capitals first, as registers hold it) -> "Michelle DUBOIS"."""
    words = name.split()
    family = 0
    while family < len(words) and _is_family_name(words[family]):
        family += 1
    if 0 < family < len(words):
        words = words[family:] + words[:family]
    return " ".join(words)


def _is_family_name(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def greeting_fr(person_name: str | None = None, organisation: bool = False) -> str:
    """An email's first line: "Bonjour Michelle DUBOIS," to a person, "Madame, Monsieur," to
    an organisation, "Bonjour," when the person's name is not known."""
    if organisation:
        return "Madame, Monsieur,"
    return f"Bonjour {person_name_fr(person_name)}," if person_name else "Bonjour,"


ROLE_LABELS = {
    Role.organisation_user: "organisme de formation",
    Role.funder_agent: "agent du financeur",
    Role.funder_admin: "administrateur du financeur",
    Role.beneficiary: "bénéficiaire",
    Role.employer: "employeur",
}


def signer_fr(user_id: str, name: str | None, role: str | None) -> str:
    """"Claire Martin (organisme de formation)"; the bare id only for a signature recorded
    before names were kept."""
    if not name:
        return user_id
    return f"{name} ({ROLE_LABELS[Role(role)]})" if role else name


def list_fr(items: list[str]) -> str:
    """"a, b et c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


JINJA_FILTERS = {
    "decimal_fr": decimal_fr,
    "hours_fr": hours_fr,
    "amount_fr": amount_fr,
    "date_fr": date_fr,
    "datetime_fr": datetime_fr,
    "month_fr": month_fr,
    "of_fr": of_fr,
    "of_month_fr": of_month_fr,
    "person_name_fr": person_name_fr,
    "greeting_fr": greeting_fr,
}
