"""Method 2: the verification code emailed to the organisation's user, and its limits."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from contracts.common.errors import Conflict, InvalidInput, TooManyRequests
from services.certification.domain.certificate import (HOURS_ENTERED, Certificate,
                                                       hours_not_entered, require_attestation)
from services.certification.domain.settings import FunderSettings

METHOD_ELECTRONIC = 2
MAX_CODE_ATTEMPTS = 3  # then the code is spent: a new one must be sent


class CertificationCode:
    """The one live code of a dossier month (mapped). Only its salted hash is kept; sending a
    new one replaces it, so the previous one stops working."""

    def __init__(self, dossier_id: str, month: str, user_id: str, salt: str, code_hash: str,
                 expires_at: datetime, now: datetime):
        self.dossier_id = dossier_id
        self.month = month
        self.user_id = user_id
        self.salt = salt
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.attempts = 0
        self.used_at: datetime | None = None
        self.created_at = now

    def renew(self, user_id: str, salt: str, code_hash: str, expires_at: datetime,
              now: datetime) -> None:
        self.user_id, self.salt, self.code_hash = user_id, salt, code_hash
        self.expires_at, self.attempts, self.used_at, self.created_at = expires_at, 0, None, now

    def check(self, code: str, user_id: str, now: datetime) -> InvalidInput | Conflict | None:
        """None when the code is right (it is then spent); else the error to raise once the
        counted attempt is committed."""
        if self.used_at is not None or self.attempts >= MAX_CODE_ATTEMPTS:
            return Conflict("code_spent", "Ce code n'est plus valable : demandez un nouveau "
                                          "code de vérification.")
        if now >= self.expires_at:
            return Conflict("code_expired", "Ce code a expiré : demandez un nouveau code de "
                                            "vérification.")
        if user_id != self.user_id:
            return Conflict("code_of_another_user", "Ce code a été envoyé à un autre "
                                                    "utilisateur : demandez votre propre code.")
        if not hmac.compare_digest(hash_code(self.salt, code), self.code_hash):
            self.attempts += 1
            left = MAX_CODE_ATTEMPTS - self.attempts
            return InvalidInput("wrong_code",
                                f"Code de vérification incorrect : encore {left} essai"
                                f"{'s' if left > 1 else ''}." if left else
                                "Code de vérification incorrect : demandez un nouveau code.",
                                {"attempts_left": left})
        self.used_at = now
        return None


def hash_code(salt: str, code: str) -> str:
    # A short code cannot resist an offline search; the hash keeps it out of dumps and logs,
    # the expiry and the attempt limit are what protect it.
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def new_code(length: int, randbelow=secrets.randbelow) -> str:
    return f"{randbelow(10 ** length):0{length}d}"


def issue_code(existing: CertificationCode | None, dossier_id: str, month: str, user_id: str,
               settings: FunderSettings, now: datetime,
               randbelow=secrets.randbelow) -> tuple[CertificationCode, str]:
    """A fresh code per the funder's settings (length, lifetime); the previous one dies."""
    code, salt = new_code(settings.code_length, randbelow), secrets.token_hex(16)
    expires_at = now + timedelta(minutes=settings.code_lifetime_minutes)
    if existing is None:
        return CertificationCode(dossier_id, month, user_id, salt, hash_code(salt, code),
                                 expires_at, now), code
    existing.renew(user_id, salt, hash_code(salt, code), expires_at, now)
    return existing, code


def require_ip_consent(accept_ip: bool) -> None:
    """Method 2: the user's consent to the use of their IP address (seed 002)."""
    if not accept_ip:
        raise InvalidInput("ip_consent_required",
                           'Vous devez cocher "J\'accepte que mon adresse IP soit utilisée"')


def ensure_code_requestable(certificate: Certificate | None, attest: bool) -> Certificate:
    require_attestation(attest)
    if certificate is None or certificate.status != HOURS_ENTERED:
        raise hours_not_entered()
    return certificate


# At most a few codes an hour.
CODE_REQUESTS_PER_HOUR = 5
CODE_REQUEST_WINDOW = timedelta(hours=1)


def ensure_code_request_allowed(recent: list[datetime], now: datetime) -> None:
    """Each request emails a code and gives 3 new attempts: a user may ask for at most
    CODE_REQUESTS_PER_HOUR codes for one month in any hour. `recent`: their earlier requests
    of that month."""
    within = sorted(at for at in recent if at > now - CODE_REQUEST_WINDOW)
    if len(within) < CODE_REQUESTS_PER_HOUR:
        return
    wait = within[-CODE_REQUESTS_PER_HOUR] + CODE_REQUEST_WINDOW - now
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    raise TooManyRequests("too_many_code_requests",
                          f"Trop de codes demandés pour ce mois : réessayez dans {minutes} "
                          f"minute{'s' if minutes > 1 else ''}.",
                          {"retry_after_minutes": minutes})


class CodeRequest:
    """One method-2 code request (mapped), counted by the hourly limit."""

    def __init__(self, id: str, user_id: str, dossier_id: str, month: str,
                 requested_at: datetime):
        self.id = id
        self.user_id = user_id
        self.dossier_id = dossier_id
        self.month = month
        self.requested_at = requested_at
