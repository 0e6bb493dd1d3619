"""Bearer credentials: login sessions and API tokens; only their sha256 is kept."""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, time, timedelta, timezone

from contracts.common import ALL_RIGHTS, Actor, Role
from contracts.common.errors import Forbidden, InvalidInput, Unauthenticated
from services.identity.domain.accounts import API_ACTOR_PREFIX, UserAccount, new_id


class UserSession:
    """A login. Only the sha256 of its bearer token is kept: a database leak yields no token.
    `expires_at` is the absolute limit; `last_seen_at` measures the idle one."""

    # A session seen less than this ago is not written again: one write a minute at most.
    TOUCH_EVERY = timedelta(minutes=1)

    def __init__(self, token_hash: str, user_id: str, created_at: datetime,
                 expires_at: datetime, revoked_at: datetime | None = None,
                 id: str | None = None, last_seen_at: datetime | None = None):
        self.token_hash = token_hash
        self.id = id or new_id()
        self.user_id = user_id
        self.created_at = created_at
        self.expires_at = expires_at
        self.revoked_at = revoked_at
        self.last_seen_at = last_seen_at or created_at

    def check_usable(self, now: datetime, idle_minutes: int | None = None) -> None:
        if self.revoked_at is not None:
            raise invalid_token()
        idle_over = (idle_minutes is not None and self.last_seen_at is not None
                     and now >= self.last_seen_at + timedelta(minutes=idle_minutes))
        if now >= self.expires_at or idle_over:
            raise Unauthenticated("session_expired",
                                  "Votre session a expiré, veuillez vous reconnecter.")

    def needs_touch(self, now: datetime) -> bool:
        return self.last_seen_at is None or now - self.last_seen_at >= self.TOUCH_EVERY

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user: UserAccount, now: datetime, ttl_minutes: int) -> tuple[str, UserSession]:
    """A new bearer token (returned once, to the caller) and the session that stores its hash."""
    token = secrets.token_urlsafe(32)
    session = UserSession(hash_token(token), user.id, now, now + timedelta(minutes=ttl_minutes))
    return token, session


def invalid_token() -> Unauthenticated:
    return Unauthenticated("invalid_token", "Jeton d'authentification invalide.")


API_TOKEN_PREFIX = "jat_"



class ApiToken:
    def __init__(self, id: str, funder_id: str, organisation_id: str, name: str,
                 token_hash: str, rights: list[str], created_by: str, created_at: datetime,
                 expires_at: datetime):
        self.id = id
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.name = name
        self.token_hash = token_hash
        self.rights = list(rights)
        self.created_by = created_by
        self.created_at = created_at
        self.expires_at = expires_at
        self.revoked_at = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def as_actor(self) -> Actor:
        return Actor(user_id=API_ACTOR_PREFIX + self.id, role=Role.organisation_user,
                     name=f"jeton d'API « {self.name} »", funder_id=self.funder_id, organisation_id=self.organisation_id,
                     rights=list(self.rights))


def issue_api_token(actor: Actor, name: str, expires_on: date, rights: list[str] | None,
                    now: datetime) -> tuple[str, ApiToken]:
    """A token for the actor's organisation, valid through `expires_on` (at most one year),
    with at most the issuer's rights."""
    today = now.date()
    if expires_on < today or expires_on > _one_year_after(today):
        raise InvalidInput("invalid_expiry",
                           "La date d'expiration doit être comprise entre aujourd'hui et "
                           "dans un an.")
    granted = list(rights) if rights else [r for r in actor.rights if r in ALL_RIGHTS]
    if not set(granted) <= set(actor.rights):
        raise Forbidden("rights_exceeded",
                        "Vous ne pouvez pas accorder des droits que vous n'avez pas.")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.combine(expires_on + timedelta(days=1), time(), tzinfo=timezone.utc)
    return token, ApiToken(new_id(), actor.funder_id, actor.organisation_id, name,
                           hash_token(token), granted, actor.user_id, now, expires_at)


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
