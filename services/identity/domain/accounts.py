"""Funders and user accounts: identifiers, the first login, failed-attempt limits, rights,
and the audit trail."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.common import ALL_RIGHTS, Actor, Right, Role
from contracts.common.access import require_unrestricted
from contracts.common.errors import (Conflict, Forbidden, NotFound, TooManyRequests,
                                     Unauthenticated)
from services.identity.domain.organisations import Organisation, organisation_not_found


# The rights an organisation's first user gets: it manages the organisation's account.
ORGANISATION_ADMIN_RIGHTS = ALL_RIGHTS  # the first user of an organisation administers it

API_ACTOR_PREFIX = "api-token:"  # the user_id of an API token's actor


def new_id() -> str:
    return str(uuid.uuid4())


def normalise_identifier(identifier: str) -> str:
    """Identifiers are unique whatever their case: stored and looked up lower-cased."""
    return identifier.strip().lower()


def party_identifiers(email: str, party_id: str) -> tuple[str, str]:
    """A beneficiary's or employer's account identifier: their email, or when another account
    holds it already, a variant made unique by their party id (they personalise it anyway)."""
    local = email.split("@", 1)[0]
    return normalise_identifier(email), normalise_identifier(f"{local}-{party_id[:8]}")


class Funder:
    def __init__(self, id: str, code: str, name: str):
        self.id = id
        self.code = code
        self.name = name


class UserAccount:
    def __init__(self, id: str, funder_id: str, role: str, identifier: str, name: str,
                 email: str, password_hash: str, created_at: datetime,
                 organisation_id: str | None = None, party_id: str | None = None,
                 rights: list[str] | None = None, active: bool = True,
                 must_personalise: bool = False, privacy_policy_version: str | None = None,
                 civility: str | None = None, first_name: str | None = None,
                 last_name: str | None = None, phone: str | None = None):
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
        # Seed 004 (issue 15): `name` is made of them when both names are known.
        self.civility = civility
        self.first_name = first_name
        self.last_name = last_name
        self.phone = phone

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
                     name=self.name, organisation_id=self.organisation_id, party_id=self.party_id,
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


def invalid_credentials() -> Unauthenticated:
    # One error for unknown identifier, wrong password, inactive and locked account: no
    # enumeration.
    return Unauthenticated("invalid_credentials", "Identifiant ou mot de passe incorrect.")


def too_many_reset_requests() -> TooManyRequests:
    return TooManyRequests("too_many_reset_requests",
                           "Trop de demandes de réinitialisation depuis cette adresse. "
                           "Veuillez réessayer plus tard.")


def too_many_attempts() -> TooManyRequests:
    return TooManyRequests("too_many_attempts",
                           "Trop de tentatives de connexion. Veuillez réessayer plus tard.")


# --- audit ----------------------------------------------------------------------------------

class AuditEvent:
    """Who did what, when (UTC), from where. `details` never holds a secret."""

    def __init__(self, id: str, at: datetime, funder_id: str | None, organisation_id: str | None,
                 user_id: str | None, action: str, target: str | None = None,
                 ip: str | None = None, details: dict | None = None, **named):
        self.id = id
        self.at = at
        self.funder_id = funder_id
        self.organisation_id = organisation_id
        self.user_id = user_id
        self.action = action
        self.target = target
        self.ip = ip
        self.details = dict(details or {})
        # Issue 15: the names, object and changes people read, and the seal of the chain
        # (domain/audit_trail.py); the repository fills what the caller did not give.
        for name in ("person_name", "person_role", "organisation_name", "object", "dossier_id",
                     "position", "previous_hash", "hash"):
            setattr(self, name, named.pop(name, None))
        self.changes = named.pop("changes", None) or []
        if named:
            raise TypeError(f"AuditEvent: unknown {sorted(named)}")


def audit(now: datetime, action: str, user: UserAccount | None = None, actor: Actor | None = None,
          target: str | None = None, ip: str | None = None, **details) -> AuditEvent:
    """An audit row about `user` (the account concerned) done by `actor` (when not the user)."""
    who = actor.user_id if actor else (user.id if user else None)
    funder_id = actor.funder_id if actor else (user.funder_id if user else None)
    organisation_id = (user.organisation_id if user else None) or (
        actor.organisation_id if actor else None)
    person = (actor.name, actor.role.value) if actor else (
        (user.name, user.role) if user else (None, None))
    return AuditEvent(new_id(), now, funder_id, organisation_id, who, action, target,
                      ip or (actor.ip if actor else None), details,
                      person_name=person[0], person_role=person[1])


def new_account(now: datetime, *, identifier: str, name: str, email: str,
                password_hash: str, role: Role, funder_id: str, provisional: bool,
                **extra) -> UserAccount:
    """A provisional account must personalise and accept the privacy policy; a bootstrapped
    administrator's chose its password already."""
    return UserAccount(id=new_id(), funder_id=funder_id, role=role.value,
                       identifier=identifier, name=name, email=email,
                       password_hash=password_hash, created_at=now,
                       must_personalise=provisional,
                       privacy_policy_version=None if provisional else "bootstrap", **extra)


# --- who may do what ------------------------------------------------------------------------

def user_not_found() -> NotFound:
    return NotFound("user_not_found", "Utilisateur introuvable.")


def require_own_account(actor: Actor, user: UserAccount | None) -> None:
    """The actor's own account, active, reached by a person (not an API token)."""
    require_person(actor)
    if user is None or user.funder_id != actor.funder_id or not user.active:
        raise user_not_found()


def require_of_funder(actor: Actor, user: UserAccount | None) -> None:
    if user is None or user.funder_id != actor.funder_id:
        raise user_not_found()


def require_manages(actor: Actor, user: UserAccount | None) -> None:
    """An organisation's user, for an administrator (users right) of that organisation."""
    if (user is None or user.organisation_id is None or user.funder_id != actor.funder_id
            or (not actor.is_funder_staff and actor.organisation_id != user.organisation_id)):
        raise user_not_found()
    require_users_right(actor, user.organisation_id)


def require_may_resend(actor: Actor, user: UserAccount | None) -> None:
    """Funder staff resend credentials to any account of their funder; an organisation
    administrator to its organisation's users; nobody to themself (the resend ends every
    session of the account, the asking one included: a person changes their own password)."""
    require_unrestricted(actor)
    if actor.is_funder_staff:
        require_of_funder(actor, user)
    else:
        require_manages(actor, user)
    if user.id == actor.user_id:
        raise Conflict("own_account", "Vous ne pouvez pas vous renvoyer vos propres "
                       "identifiants : changez votre mot de passe depuis votre compte.")


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


def login_refusal(user: UserAccount | None, matches: bool, now: datetime) -> str | None:
    """Why a login is refused (for the audit only: the caller always hears the same)."""
    if user is None:
        return "unknown_identifier"
    if user.is_locked(now):
        return "locked"
    if not matches:
        return "wrong_password"
    if not user.active:
        return "inactive"
    return None


def user_changes(before: dict, user: UserAccount, changes: dict):
    """The audit rows (action, details) of one update of a user: rights, (de)activation,
    other fields."""
    if sorted(before["rights"]) != sorted(user.rights):
        yield "rights_changed", {"before": before["rights"], "after": list(user.rights)}
    if before["active"] != user.active:
        yield ("user_activated" if user.active else "user_deactivated"), {}
    others = sorted(set(changes) & {"name", "email", "civility", "first_name", "last_name",
                                    "phone"})
    if others:
        yield "user_updated", {"changed": others}


def account_changes(before: dict, user: UserAccount) -> list[str]:
    """The account_changed events of one update of a user. A deactivation is the only one:
    the person no longer signs in to read of their rights or address."""
    if before["active"] and not user.active:
        return ["deactivated"]
    changed = ["reactivated"] if user.active and not before["active"] else []
    if sorted(before["rights"]) != sorted(user.rights):
        changed.append("rights_changed")
    if before["email"] != user.email:
        changed.append("email_changed")
    return changed
