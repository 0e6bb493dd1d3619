"""Single-use links sent by email: identifier and email confirmation, email change
cancellation, password reset. Only their hashes are kept."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.common.errors import Conflict, InvalidInput
from services.identity.domain.accounts import UserAccount
from services.identity.domain.sessions import hash_token


IDENTIFIER_CHANGE = "identifier_change"
PASSWORD_RESET = "password_reset"
EMAIL_CHANGE = "email_change"                 # sent to the new address: confirms it
EMAIL_CHANGE_CANCEL = "email_change_cancel"   # sent to the old address: voids the change


class OneTimeToken:
    """A link sent by email (identifier or email confirmation, email change cancellation,
    password reset); only its hash is kept. `session_id` is the session that asked for the
    change: the one kept when the change ends the account's other sessions."""

    def __init__(self, token_hash: str, user_id: str, purpose: str, created_at: datetime,
                 expires_at: datetime, new_identifier: str | None = None,
                 new_email: str | None = None, session_id: str | None = None):
        self.token_hash = token_hash
        self.user_id = user_id
        self.purpose = purpose
        self.created_at = created_at
        self.expires_at = expires_at
        self.new_identifier = new_identifier
        self.new_email = new_email
        self.session_id = session_id
        self.used_at = None

    def use(self, purpose: str, now: datetime) -> None:
        if self.purpose != purpose or self.used_at is not None or now >= self.expires_at:
            raise invalid_link()
        self.used_at = now


def new_link(user: UserAccount, purpose: str, now: datetime, ttl: timedelta,
             **change) -> tuple[str, OneTimeToken]:
    """`change`: new_identifier or new_email, and the asking session_id."""
    token = secrets.token_urlsafe(32)
    return token, OneTimeToken(hash_token(token), user.id, purpose, now, now + ttl, **change)


def same_email(first: str, second: str) -> bool:
    """Addresses compared as mail servers in practice deliver them: whatever the case."""
    return first.strip().lower() == second.strip().lower()


@dataclass(frozen=True)
class EmailChange:
    """A requested email change: the two links to email (their tokens are never stored) and
    whether another account of the funder already uses the new address."""
    old_email: str
    new_email: str
    taken: bool
    confirm_token: str
    cancel_token: str
    links: tuple[OneTimeToken, OneTimeToken]


def start_email_change(user: UserAccount, new_email: str, now: datetime, ttl: timedelta,
                       session_id: str | None, taken: bool) -> EmailChange | None:
    """Put the new address on hold; None when it is the current one. A taken address is
    held like any other, so that the requester's answer tells nothing; it can never be
    confirmed (its owner gets no link, and the confirmation checks again)."""
    if same_email(new_email, user.email):
        return None
    user.pending_email = new_email
    confirm_token, confirm = new_link(user, EMAIL_CHANGE, now, ttl, new_email=new_email,
                                      session_id=session_id)
    cancel_token, cancel = new_link(user, EMAIL_CHANGE_CANCEL, now, ttl, new_email=new_email)
    return EmailChange(user.email, new_email, taken, confirm_token, cancel_token,
                       (confirm, cancel))


def current_password_required() -> InvalidInput:
    return InvalidInput("current_password_required",
                        "Saisissez votre mot de passe actuel pour changer votre adresse "
                        "e-mail.")


def email_taken() -> Conflict:
    return Conflict("email_taken",
                    "Cette adresse e-mail est déjà celle d'un autre compte : elle n'a pas "
                    "été enregistrée.")


def invalid_link() -> InvalidInput:
    return InvalidInput("invalid_link",
                        "Ce lien n'est plus valable : il a expiré ou a déjà été utilisé.")
