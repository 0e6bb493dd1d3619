"""identity rules: funders, organisations, user accounts and sessions, on plain classes.

No Nameko, no SQLAlchemy, no I/O; the clock is passed in. Password hashing (argon2id) lives
here too: it is pure CPU work with no I/O, and keeping it beside the password rules keeps every
credential decision in one place. The service runs the hasher in a native thread
(eventlet.tpool) so that a burst of logins does not starve the AMQP heartbeats.

Issue 4 adds the account lifecycle: provisional passwords and the first login (personalise,
then accept the privacy policy: the actor is "restricted" until then), single-use links
(identifier confirmation, password reset), failed-attempt limits, idle and absolute session
limits, users' rights, API tokens, the organisation profile with its certifier state, and the
audit trail.
"""
from __future__ import annotations

import hashlib
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

from contracts.common import ALL_RIGHTS, Actor, Right, Role
from contracts.common.access import require_unrestricted
from contracts.common.errors import (Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests,
                               Unauthenticated)
from services.identity.common_passwords import is_common

# The rights an organisation's first user gets: it manages the organisation's account.
ORGANISATION_ADMIN_RIGHTS = ALL_RIGHTS  # the first user of an organisation administers it

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
    if not problems and is_common(password):
        problems.append("un mot de passe moins courant (celui-ci figure parmi les plus utilisés)")
    return problems


def check_password(password: str) -> None:
    problems = password_problems(password)
    if problems:
        raise InvalidInput("weak_password",
                           "Le mot de passe doit contenir " + ", ".join(problems) + ".",
                           {"missing": problems})


def check_new_password(password: str, confirmation: str) -> None:
    """The two typings agree and the password follows the rules."""
    if password != confirmation:
        raise InvalidInput("password_mismatch",
                           "La confirmation ne correspond pas au nouveau mot de passe.")
    check_password(password)


def provisional_password() -> str:
    """16 random characters that pass the rules (an upper-case letter, a special one)."""
    alphabet = string.ascii_letters + string.digits
    chars = [secrets.choice(alphabet) for _ in range(14)]
    chars.append(secrets.choice(string.ascii_uppercase))
    chars.append(secrets.choice("_!@#$%&*-+=?"))
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


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


def party_identifiers(email: str, party_id: str) -> tuple[str, str]:
    """A beneficiary's or employer's account identifier: their email, or when another account
    holds it already, a variant made unique by their party id (they personalise it anyway)."""
    local = email.split("@", 1)[0]
    return normalise_identifier(email), normalise_identifier(f"{local}-{party_id[:8]}")


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

PROFILE_FIELDS = ("name", "email", "address", "postcode", "town", "phone", "mobile", "fax",
                  "declaration_number", "website", "legal_representative")


class Funder:
    def __init__(self, id: str, code: str, name: str):
        self.id = id
        self.code = code
        self.name = name


class Organisation:
    def __init__(self, id: str, funder_id: str, name: str, siret: str, email: str,
                 legal_representative: str | None, address: str | None, created_at: datetime,
                 **profile):
        self.id = id
        self.funder_id = funder_id
        self.name = name
        self.siret = siret
        self.email = email
        self.legal_representative = legal_representative
        self.address = address
        self.created_at = created_at
        for field in ("postcode", "town", "phone", "mobile", "fax", "declaration_number",
                      "website"):
            setattr(self, field, profile.get(field))
        self.certifier_requested = bool(profile.get("certifier_requested", False))

    def update_profile(self, changes: dict) -> list[str]:
        """Apply the given fields ("" clears an optional one); return the names that changed.
        The SIRET is not among them: it never changes."""
        if changes.get("siret") is not None:
            raise InvalidInput("siret_read_only", "Le numéro SIRET ne peut pas être modifié.")
        changed = []
        for field in PROFILE_FIELDS:
            if field not in changes or changes[field] is None:
                continue
            value = str(changes[field]).strip() or None
            if value is None and field in ("name", "email"):
                raise InvalidInput("required_field", "Ce champ est obligatoire.",
                                   {"field": field})
            if getattr(self, field) != value:
                setattr(self, field, value)
                changed.append(field)
        return changed


class UserAccount:
    def __init__(self, id: str, funder_id: str, role: str, identifier: str, name: str,
                 email: str, password_hash: str, created_at: datetime,
                 organisation_id: str | None = None, party_id: str | None = None,
                 rights: list[str] | None = None, active: bool = True,
                 must_personalise: bool = False, privacy_policy_version: str | None = None):
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
        self.must_personalise = must_personalise
        self.privacy_policy_version = privacy_policy_version
        self.pending_identifier = None
        self.pending_email = None
        self.failed_logins = 0
        self.locked_until = None
        self.password_changed_at = created_at

    @property
    def privacy_policy_pending(self) -> bool:
        return self.privacy_policy_version is None

    @property
    def never_used(self) -> bool:
        """Still on the provisional password of an account that never finished a first
        login (resent credentials do not make it so again): nobody chose a password for it,
        so an administrator corrects its address at once, before resending the credentials."""
        return bool(self.must_personalise) and self.privacy_policy_pending

    @property
    def restricted(self) -> bool:
        """First login not finished: only the account's own first-login actions are allowed."""
        return bool(self.must_personalise) or self.privacy_policy_pending

    def as_actor(self, session_id: str | None = None) -> Actor:
        return Actor(user_id=self.id, role=Role(self.role), funder_id=self.funder_id,
                     organisation_id=self.organisation_id, party_id=self.party_id,
                     rights=list(self.rights), email=self.email, restricted=self.restricted,
                     session_id=session_id)

    # --- login attempts

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def record_failure(self, now: datetime, limits: "LoginLimits") -> None:
        """Count a wrong password; at the limit, lock the account for a while."""
        self.failed_logins = (self.failed_logins or 0) + 1
        if self.failed_logins >= limits.max_failures:
            self.locked_until = now + timedelta(minutes=limits.lock_minutes)
            self.failed_logins = 0

    def record_success(self) -> None:
        self.failed_logins = 0
        self.locked_until = None

    # --- credentials

    def set_password(self, password_hash: str, now: datetime, provisional: bool = False) -> None:
        self.password_hash = password_hash
        self.password_changed_at = now
        self.must_personalise = provisional
        self.record_success()

    def accept_privacy_policy(self, version: str) -> None:
        if self.must_personalise:
            raise Conflict("personalise_first",
                           "Veuillez d'abord personnaliser votre identifiant et votre mot de "
                           "passe.")
        self.privacy_policy_version = version


@dataclass(frozen=True)
class LoginLimits:
    max_failures: int = 5
    lock_minutes: int = 15
    ip_max_failures: int = 20
    ip_window_minutes: int = 15


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


def invalid_credentials() -> Unauthenticated:
    # One error for unknown identifier, wrong password, inactive and locked account: no
    # enumeration.
    return Unauthenticated("invalid_credentials", "Identifiant ou mot de passe incorrect.")


def invalid_token() -> Unauthenticated:
    return Unauthenticated("invalid_token", "Jeton d'authentification invalide.")


def too_many_reset_requests() -> TooManyRequests:
    return TooManyRequests("too_many_reset_requests",
                           "Trop de demandes de réinitialisation depuis cette adresse. "
                           "Veuillez réessayer plus tard.")


def too_many_attempts() -> TooManyRequests:
    return TooManyRequests("too_many_attempts",
                           "Trop de tentatives de connexion. Veuillez réessayer plus tard.")


# --- single-use links -------------------------------------------------------------------------

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


# --- API tokens -----------------------------------------------------------------------------

API_TOKEN_PREFIX = "jat_"
API_ACTOR_PREFIX = "api-token:"


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
                     funder_id=self.funder_id, organisation_id=self.organisation_id,
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


# --- audit ----------------------------------------------------------------------------------

class AuditEvent:
    """Who did what, when (UTC), from where. `details` never holds a secret."""

    def __init__(self, id: str, at: datetime, funder_id: str | None, organisation_id: str | None,
                 user_id: str | None, action: str, target: str | None = None,
                 ip: str | None = None, details: dict | None = None):
        self.id = id
        self.at = at
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.user_id = user_id
        self.action = action
        self.target = target
        self.ip = ip
        self.details = dict(details or {})


def audit(now: datetime, action: str, user: UserAccount | None = None, actor: Actor | None = None,
          target: str | None = None, ip: str | None = None, **details) -> AuditEvent:
    """An audit row about `user` (the account concerned) done by `actor` (when not the user)."""
    who = actor.user_id if actor else (user.id if user else None)
    funder_id = actor.funder_id if actor else (user.funder_id if user else None)
    organisation_id = (user.organisation_id if user else None) or (
        actor.organisation_id if actor else None)
    return AuditEvent(new_id(), now, funder_id, organisation_id, who, action, target,
                      ip or (actor.ip if actor else None), details)


# --- organisation documents and the certifier -------------------------------------------------

PROFILE_CATEGORIES = ("kbis", "consent_letter", "logo", "stamp")


class OrganisationDocument:
    """The latest document of one category (kbis, consent_letter, logo, stamp) of an
    organisation, as the documents service's events told it."""

    def __init__(self, organisation_id: str, category: str, document_id: str, status: str,
                 updated_at: datetime, reason: str | None = None,
                 reviewed_at: datetime | None = None):
        self.organisation_id = organisation_id
        self.category = category
        self.document_id = document_id
        self.status = status
        self.reason = reason
        self.reviewed_at = reviewed_at
        self.updated_at = updated_at

    def uploaded(self, document_id: str, at: datetime) -> bool:
        """A new document replaces the previous one: back to "en attente de contrôle".
        Events come through separate queues: if its review came first, keep the review."""
        if document_id == self.document_id:
            return False
        self.document_id, self.status, self.reason, self.reviewed_at = document_id, "pending", \
            None, None
        self.updated_at = at
        return True

    def reviewed(self, document_id: str, status: str, at: datetime,
                 reason: str | None = None) -> bool:
        """Apply a check or rejection. The review of another document counts only when it is
        newer than what we know (its upload event may still be on its way); an older one is
        the review of a document since replaced and changes nothing."""
        if document_id != self.document_id and at <= self.updated_at:
            return False
        self.document_id = document_id
        self.status, self.reason, self.reviewed_at, self.updated_at = status, reason, at, at
        return True

    @property
    def status_label(self) -> str:
        return document_status_label(self.status, self.reviewed_at, self.reason)


def document_status_label(status: str, reviewed_at: datetime | None, reason: str | None) -> str:
    if status == "pending":
        return "En attente de contrôle"
    if status == "checked" and reviewed_at is not None:
        return f"Contrôlé le {reviewed_at.strftime('%d/%m/%Y')}"
    if status == "rejected":
        return f"Non conforme : {reason}" if reason else "Non conforme"
    return "Non déposé"


def certification_method(requested: bool, kbis_status: str, consent_status: str
                         ) -> tuple[int, str]:
    """Method 2 (fully electronic) only when the organisation asked to be a certifier AND
    the funder checked both its KBIS extract and its consent letter; otherwise method 1."""
    if not requested:
        return 1, ("Méthode 1 : l'organisme n'a pas demandé à être certificateur ; les "
                   "certificats de réalisation sont signés puis déposés.")
    missing = [label for label, status in (("l'extrait KBIS", kbis_status),
                                           ("la lettre de consentement", consent_status))
               if status != "checked"]
    if missing:
        return 1, ("Méthode 1 : en attente du contrôle par le financeur de "
                   + " et de ".join(missing) + ".")
    return 2, ("Méthode 2 : l'organisme est certificateur, son extrait KBIS et sa lettre de "
               "consentement ont été contrôlés ; les certificats sont entièrement "
               "électroniques.")


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


def user_not_found() -> NotFound:
    return NotFound("user_not_found", "Utilisateur introuvable.")


def require_person(actor: Actor) -> None:
    """Account actions need a person's session, not an API token."""
    if actor.user_id.startswith(API_ACTOR_PREFIX):
        raise Forbidden("person_only", "Cette action n'est pas possible avec un jeton d'API.")


def require_users_right(actor: Actor, organisation_id: str) -> None:
    """An unrestricted user of this organisation holding the users right (NotFound for
    another organisation's: even its existence must not leak)."""
    require_unrestricted(actor)
    if actor.role != Role.organisation_user or actor.organisation_id != organisation_id:
        if actor.is_funder_staff:
            raise Forbidden("users_right_required",
                            "Cette action est réservée aux administrateurs de l'organisme.")
        raise organisation_not_found()
    if Right.users.value not in actor.rights:
        raise Forbidden("users_right_required",
                        "Vous n'avez pas le droit d'administrer les utilisateurs.")


def can_list_users(actor: Actor, organisation: Organisation) -> bool:
    if actor.is_funder_staff:
        return organisation.funder_id == actor.funder_id
    return (actor.organisation_id == organisation.id and Right.users.value in actor.rights
            and not actor.restricted)


def require_funder_admin(actor: Actor) -> None:
    require_unrestricted(actor)
    if actor.role != Role.funder_admin:
        raise Forbidden("funder_admin_only",
                        "Cette action est réservée aux administrateurs du financeur.")


def check_administrators_remain(users: list[UserAccount]) -> None:
    """An organisation keeps at least one active user holding the users right."""
    if not any(u.active and Right.users.value in u.rights for u in users):
        raise Conflict("last_administrator",
                       "L'organisme doit garder au moins un utilisateur actif avec le droit "
                       "d'administrer les utilisateurs.")
