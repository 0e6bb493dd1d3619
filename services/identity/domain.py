"""identity rules: funders, organisations, user accounts and sessions, on plain classes.

No Nameko, no SQLAlchemy, no I/O; the clock is passed in. Password hashing (argon2id) lives
here too: it is pure CPU work with no I/O, and keeping it beside the password rules keeps every
credential decision in one place. The service runs the hasher in a native thread
(eventlet.tpool) so that a burst of logins does not starve the AMQP heartbeats.

The full account lifecycle (provisional password sent by email, first login, password reset,
rights management, API tokens) comes with a later issue; what is here is complete for what it
does: accounts are created with a chosen password and log in with it.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

from contracts.common import Actor, Role
from servicekit.errors import InvalidInput, NotFound, Unauthenticated

# The rights an organisation's first user gets: it manages the organisation's account.
ORGANISATION_ADMIN_RIGHTS = ("enter_hours", "certify", "payments", "documents", "users")

# From the organisations' tutorial: "Au moins un caractère spécial suivant".
PASSWORD_SPECIALS = frozenset("_!@#$%&*()-+={}[]\\;<>,.?/")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024


def new_id() -> str:
    return str(uuid.uuid4())


# --- rules on input -------------------------------------------------------------------------

def password_problems(password: str) -> list[str]:
    """What the password lacks, in French; empty when it follows the rules."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"au moins {PASSWORD_MIN_LENGTH} caractères")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"au plus {PASSWORD_MAX_LENGTH} caractères")
    if not any(ch.isupper() for ch in password):
        problems.append("au moins une majuscule")
    if not any(ch in PASSWORD_SPECIALS for ch in password):
        problems.append("au moins un caractère spécial parmi _ ! @ # $ % & * ( ) - + = { } [ ] "
                        "\\ ; < > , . ? /")
    return problems


def check_password(password: str) -> None:
    problems = password_problems(password)
    if problems:
        raise InvalidInput("weak_password",
                           "Le mot de passe doit contenir " + ", ".join(problems) + ".",
                           {"missing": problems})


def normalise_siret(raw: str) -> str:
    """14 digits with a valid check digit; spaces (as printed: 123 456 789 00012) are allowed."""
    try:
        return stdnum_siret.validate(raw)
    except StdnumError:
        raise InvalidInput("invalid_siret",
                           "Le numéro SIRET est invalide : il doit comporter 14 chiffres "
                           "et une clé de contrôle correcte.",
                           {"siret": raw}) from None


def normalise_identifier(identifier: str) -> str:
    """Identifiers are unique whatever their case: stored and looked up lower-cased."""
    return identifier.strip().lower()


# --- passwords ------------------------------------------------------------------------------

class Passwords:
    """argon2id hashing; a dummy hash is verified for unknown identifiers so that a login's
    duration does not tell whether the identifier exists."""

    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Pass None for an unknown account: the work is the same, the answer always False."""
        if password_hash is None:
            self._matches(self._dummy_hash, password)
            return False
        return self._matches(password_hash, password)

    def _matches(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)


# --- the records ----------------------------------------------------------------------------

class Funder:
    def __init__(self, id: str, code: str, name: str):
        self.id = id
        self.code = code
        self.name = name


class Organisation:
    def __init__(self, id: str, funder_id: str, name: str, siret: str, email: str,
                 legal_representative: str | None, address: str | None, created_at: datetime):
        self.id = id
        self.funder_id = funder_id
        self.name = name
        self.siret = siret
        self.email = email
        self.legal_representative = legal_representative
        self.address = address
        self.created_at = created_at


class UserAccount:
    def __init__(self, id: str, funder_id: str, role: str, identifier: str, name: str,
                 email: str, password_hash: str, created_at: datetime,
                 organisation_id: str | None = None, party_id: str | None = None,
                 rights: list[str] | None = None, active: bool = True):
        self.id = id
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.party_id = party_id
        self.role = role
        self.identifier = normalise_identifier(identifier)
        self.name = name
        self.email = email
        self.password_hash = password_hash
        self.active = active
        self.rights = list(rights or [])
        self.created_at = created_at

    def as_actor(self) -> Actor:
        return Actor(user_id=self.id, role=Role(self.role), funder_id=self.funder_id,
                     organisation_id=self.organisation_id, party_id=self.party_id,
                     rights=list(self.rights), email=self.email)


class UserSession:
    """A login. Only the sha256 of its bearer token is kept: a database leak yields no token."""

    def __init__(self, token_hash: str, user_id: str, created_at: datetime,
                 expires_at: datetime, revoked_at: datetime | None = None):
        self.token_hash = token_hash
        self.user_id = user_id
        self.created_at = created_at
        self.expires_at = expires_at
        self.revoked_at = revoked_at

    def check_usable(self, now: datetime) -> None:
        if self.revoked_at is not None:
            raise invalid_token()
        if now >= self.expires_at:
            raise Unauthenticated("session_expired",
                                  "Votre session a expiré, veuillez vous reconnecter.")

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


def invalid_credentials() -> Unauthenticated:
    # One error for unknown identifier, wrong password and inactive account: no enumeration.
    return Unauthenticated("invalid_credentials", "Identifiant ou mot de passe incorrect.")


def invalid_token() -> Unauthenticated:
    return Unauthenticated("invalid_token", "Jeton d'authentification invalide.")


# --- who may do what ------------------------------------------------------------------------


def can_see_organisation(actor: Actor, organisation: Organisation) -> bool:
    """Funder staff see their funder's organisations; an organisation's users see their own."""
    if organisation.funder_id != actor.funder_id:
        return False
    if actor.is_funder_staff:
        return True
    return actor.role == Role.organisation_user and actor.organisation_id == organisation.id


def organisation_not_found() -> NotFound:
    return NotFound("organisation_not_found", "Organisme de formation introuvable.")
