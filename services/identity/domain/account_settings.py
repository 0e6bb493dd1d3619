"""How a funder runs its organisations' accounts (issue 15): who creates them (its staff, as
seed 000's Transitions Pro, or the organisation itself, as seed 003's OPCO), which password
rules apply (each seed's set is built in), and self-service sign-ups with their activation
code. Pure: the clock and the random come in."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from contracts.common.errors import Conflict, InvalidInput, NotFound
from services.identity.domain.common_passwords import is_common
from services.identity.domain.passwords import (PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH,
                                                PASSWORD_SPECIALS)

BY_FUNDER, SELF_SERVICE = "by_funder", "self_service"
ACCOUNT_CREATION = (BY_FUNDER, SELF_SERVICE)


# --- password rule sets -----------------------------------------------------------------------

@dataclass(frozen=True)
class PasswordRules:
    """One built-in rule set: `checks` are (what is missing, in French; predicate)."""
    name: str
    text: str  # what the user reads where the password is chosen
    min_length: int
    max_length: int
    checks: tuple[tuple[str, Callable[[str], bool]], ...] = field(default=())

    def problems(self, password: str) -> list[str]:
        """What the password lacks, in French; empty when it follows the rules. The common
        passwords are refused by every set."""
        problems = []
        if len(password) < self.min_length:
            problems.append(f"au moins {self.min_length} caractères")
        if len(password) > self.max_length:
            problems.append(f"au plus {self.max_length} caractères")
        problems += [missing for missing, holds in self.checks if not holds(password)]
        if not problems and is_common(password):
            problems.append("un mot de passe moins courant (celui-ci figure parmi les plus "
                            "utilisés)")
        return problems

    def check(self, password: str) -> None:
        problems = self.problems(password)
        if problems:
            raise InvalidInput("weak_password",
                               "Le mot de passe doit contenir " + ", ".join(problems)
                               + ". Règles : " + self.text,
                               {"missing": problems, "rules": self.text})

    def check_new(self, password: str, confirmation: str) -> None:
        if password != confirmation:
            raise InvalidInput("password_mismatch",
                               "La confirmation ne correspond pas au nouveau mot de passe.")
        self.check(password)


def _has_upper(password: str) -> bool:
    return any(ch.isupper() for ch in password)


def _has_lower(password: str) -> bool:
    return any(ch.islower() for ch in password)


_SPECIALS_000 = " ".join(sorted(PASSWORD_SPECIALS, key="_!@#$%&*()-+={}[]\\;<>,.?/".index))
# Seed 004: « uniquement des chiffres, des lettres ou les caractères suivant: &@_.,:!?% +*=-/ »
# (the space is one of them). Letters are read as the unaccented ones.
ALLOWED_004 = frozenset("&@_.,:!?% +*=-/")


def _only_allowed_004(password: str) -> bool:
    return all((ch.isascii() and ch.isalnum()) or ch in ALLOWED_004 for ch in password)


PASSWORD_RULE_SETS: dict[str, PasswordRules] = {
    # Seed 000 (Transitions Pro), Jalon's rules until issue 15.
    "transitions_pro": PasswordRules(
        "transitions_pro",
        f"au moins {PASSWORD_MIN_LENGTH} caractères, dont au moins une majuscule et au moins un "
        f"caractère spécial parmi {_SPECIALS_000}.",
        PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH,
        (("au moins une majuscule", _has_upper),
         (f"au moins un caractère spécial parmi {_SPECIALS_000}",
          lambda p: any(ch in PASSWORD_SPECIALS for ch in p)))),
    # Seed 003 (OPCO): « entre 8 et 12 caractères dont une majuscule, une minuscule, un
    # caractère spécial ou un chiffre ».
    "opco": PasswordRules(
        "opco",
        "entre 8 et 12 caractères, dont une majuscule, une minuscule, et un chiffre ou un "
        "caractère spécial.",
        8, 12,
        (("au moins une majuscule", _has_upper), ("au moins une minuscule", _has_lower),
         ("au moins un chiffre ou un caractère spécial",
          lambda p: any(not ch.isalpha() for ch in p)))),
    # Seed 004 (Action Apprentissage) names the allowed characters only; the length floor
    # is Jalon's.
    "apprentissage": PasswordRules(
        "apprentissage",
        f"au moins {PASSWORD_MIN_LENGTH} caractères, uniquement des chiffres, des lettres "
        "non accentuées ou les caractères suivants : & @ _ . , : ! ? % + * = - / et l'espace.",
        PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH,
        (("uniquement des chiffres, des lettres non accentuées ou les caractères "
          "& @ _ . , : ! ? % + * = - / et l'espace", _only_allowed_004),)),
}
DEFAULT_PASSWORD_RULES = "transitions_pro"


def password_rules(name: str | None) -> PasswordRules:
    return PASSWORD_RULE_SETS[name or DEFAULT_PASSWORD_RULES]


# --- a funder's account settings ---------------------------------------------------------------

class AccountSettings:
    """Absent row = today's behaviour: accounts made by the funder, seed 000's rules."""

    def __init__(self, funder_id: str, account_creation: str = BY_FUNDER,
                 password_rules: str = DEFAULT_PASSWORD_RULES,
                 require_known_siret: bool = False, updated_at: datetime | None = None,
                 updated_by: str | None = None):
        self.funder_id = funder_id
        self.account_creation = account_creation
        self.password_rules = password_rules
        self.require_known_siret = require_known_siret
        self.updated_at = updated_at
        self.updated_by = updated_by

    @property
    def rules(self) -> PasswordRules:
        return password_rules(self.password_rules)

    @property
    def self_service(self) -> bool:
        return self.account_creation == SELF_SERVICE

    def change(self, changes: dict, now: datetime, by: str) -> list[str]:
        """Apply the given settings; the names that changed. A new rule set applies at each
        account's next password change: passwords chosen before keep working."""
        if changes.get("account_creation", self.account_creation) not in ACCOUNT_CREATION:
            raise InvalidInput("unknown_account_creation", "Mode de création de compte inconnu.")
        if changes.get("password_rules", self.password_rules) not in PASSWORD_RULE_SETS:
            raise InvalidInput("unknown_password_rules", "Jeu de règles de mot de passe inconnu.",
                               {"known": sorted(PASSWORD_RULE_SETS)})
        changed = sorted(name for name, value in changes.items()
                         if value is not None and getattr(self, name) != value)
        for name in changed:
            setattr(self, name, changes[name])
        if changed:
            self.updated_at, self.updated_by = now, by
        return changed


# --- self-service sign-up ---------------------------------------------------------------------

PENDING, ACTIVE, SUSPENDED = "pending", "active", "suspended"
SIGNUP_STATUS_LABELS = {PENDING: "En attente d'activation", ACTIVE: "Actif",
                        SUSPENDED: "Suspendu"}
MAX_CODE_ATTEMPTS = 5
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed from an email
CODE_LENGTH = 8


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Signup:
    """An organisation's request for an account; the organisation and its first user exist
    from the activation on (until then the SIRET stays free for its real owner)."""

    def __init__(self, id: str, funder_id: str, siret: str, organisation_name: str,
                 civility: str, last_name: str, first_name: str, email: str,
                 phone: str | None, created_at: datetime, code_hash: str,
                 code_expires_at: datetime, ip: str | None = None):
        self.id = id
        self.funder_id = funder_id
        self.siret = siret
        self.organisation_name = organisation_name
        self.civility = civility
        self.last_name = last_name
        self.first_name = first_name
        self.email = email
        self.phone = phone
        self.created_at = created_at
        self.code_hash = code_hash
        self.code_expires_at = code_expires_at
        self.code_attempts = 0
        self.status = PENDING
        self.ip = ip
        self.organisation_id: str | None = None
        self.user_id: str | None = None
        self.activated_at: datetime | None = None
        self.suspended_at: datetime | None = None

    @property
    def holder_name(self) -> str:
        """« Alice DURAND », as emails greet people."""
        return f"{self.first_name} {self.last_name.upper()}"

    def check_code(self, code: str, now: datetime) -> bool:
        """True when the code is this sign-up's and still valid; each wrong try counts, and
        after MAX_CODE_ATTEMPTS the code is dead (a new sign-up sends a new one)."""
        if self.status != PENDING or now >= self.code_expires_at \
                or self.code_attempts >= MAX_CODE_ATTEMPTS:
            return False
        if secrets.compare_digest(self.code_hash, hash_code(code)):
            return True
        self.code_attempts += 1
        return False

    def activate(self, organisation_id: str, user_id: str, now: datetime) -> None:
        self.status, self.activated_at = ACTIVE, now
        self.organisation_id, self.user_id = organisation_id, user_id
        self.code_hash = hash_code(secrets.token_hex(16))  # the code never works again

    def suspend(self, now: datetime) -> None:
        if self.status == SUSPENDED:
            raise Conflict("already_suspended", "Cette inscription est déjà suspendue.")
        self.status, self.suspended_at = SUSPENDED, now


def new_signup(id: str, funder_id: str, siret: str, organisation_name: str, holder: dict,
               now: datetime, code_ttl: timedelta, ip: str | None = None) -> tuple[str, Signup]:
    """(the activation code, shown only in the email; the sign-up, which keeps its hash)."""
    code = new_code()
    return code, Signup(id, funder_id, siret, organisation_name, holder["civility"],
                        holder["last_name"], holder["first_name"], holder["email"].strip().lower(),
                        holder.get("phone"), now, hash_code(code), now + code_ttl, ip)


def signup_closed() -> InvalidInput:
    """The same refusal for an unknown funder code and a funder whose staff create accounts:
    a sign-up form tells an outsider nothing about which codes exist."""
    return InvalidInput("signup_closed",
                        "L'inscription en ligne n'est pas ouverte pour ce financeur.")


def invalid_activation() -> InvalidInput:
    return InvalidInput("invalid_activation_code",
                        "Ce code d'activation est incorrect ou a expiré. Recommencez "
                        "l'inscription pour en recevoir un nouveau.")


def unknown_siret() -> InvalidInput:
    return InvalidInput("unknown_siret",
                        "Ce SIRET n'est pas connu du financeur : vérifiez-le ou contactez-le.")


def signup_not_found() -> NotFound:
    return NotFound("signup_not_found", "Inscription introuvable.")
