"""Password rules and hashing. Hashing (argon2id) lives beside the rules: pure CPU work with
no I/O, and every credential decision stays in one place. The service runs the hasher in a
native thread (adapters.ThreadedPasswords) so that a burst of logins does not starve the AMQP
heartbeats."""
from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts.common.errors import InvalidInput
from services.identity.domain.common_passwords import is_common


# From the organisations' tutorial: "Au moins un caractère spécial suivant".
PASSWORD_SPECIALS = frozenset("_!@#$%&*()-+={}[]\\;<>,.?/")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024


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
