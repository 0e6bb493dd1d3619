"""An organisation's users as seed 004 manages them (issue 15): civility, last and first name
making the display name, the list's filters, a user's status and open sessions, and who may
be deactivated."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.common import Actor
from contracts.common.errors import Conflict

NAME_PARTS = ("civility", "first_name", "last_name", "phone")

STATUS_LABELS = {"active": "Actif", "provisional": "Actif, mot de passe provisoire à changer",
                 "deactivated": "Désactivé"}
RIGHT_LABELS = {"enter_hours": "Saisie des heures",
                "certify_certificates": "Certification des certificats de réalisation",
                "payments": "Règlements", "documents": "Documents",
                "users": "Administration des utilisateurs"}
"""The rights as the administrator ticks them (seeds 002 and 004)."""


def display_name(last_name: str, first_name: str) -> str:
    """« DUBOIS Michelle »: the family name in capitals first, as everywhere in Jalon."""
    return f"{last_name.strip().upper()} {first_name.strip()}"


def name_fields(wanted: dict, current_last: str | None = None,
                current_first: str | None = None) -> dict:
    """The name parts wanted, stripped, with the display `name` they make when both names are
    known (a change of one keeps the other)."""
    fields = {part: (value.strip() if isinstance(value, str) else value)
              for part, value in wanted.items() if part in NAME_PARTS and value is not None}
    last = fields.get("last_name", current_last)
    first = fields.get("first_name", current_first)
    if ("last_name" in fields or "first_name" in fields) and last and first:
        fields["name"] = display_name(last, first)
    return fields


@dataclass(frozen=True)
class UserFilter:
    """Parts of the fields, whatever the case; None: no filter."""

    name: str | None = None
    first_name: str | None = None
    login: str | None = None
    email: str | None = None

    @classmethod
    def of(cls, query: dict) -> "UserFilter":
        def part(key):
            value = (query.get(key) or "").strip()
            return value.lower() or None
        return cls(part("name"), part("first_name"), part("login"), part("email"))

    def matches(self, user) -> bool:
        """The rule the repository's query follows (the fakes use it)."""
        def has(value, wanted):
            return wanted is None or wanted in (value or "").lower()
        return ((has(user.last_name, self.name) or has(user.name, self.name))
                and has(user.first_name, self.first_name) and has(user.identifier, self.login)
                and has(user.email, self.email))


def status(user) -> str:
    if not user.active:
        return "deactivated"
    return "provisional" if user.must_personalise else "active"


def open_sessions(found: list, now: datetime, idle_minutes: int | None) -> list:
    """The sessions among `found` still usable now (not revoked, neither limit passed),
    most recently started first."""
    def usable(session) -> bool:
        idle_over = (idle_minutes is not None and session.last_seen_at is not None
                     and now >= session.last_seen_at + timedelta(minutes=idle_minutes))
        return session.revoked_at is None and now < session.expires_at and not idle_over
    return sorted((s for s in found if usable(s)), key=lambda s: s.created_at, reverse=True)


def check_may_deactivate(actor: Actor, user) -> None:
    """Nobody deactivates their own account (the last administrator is checked apart)."""
    if actor.user_id == user.id:
        raise Conflict("own_account", "Vous ne pouvez pas désactiver votre propre compte.")
