"""identity's I/O other than its database: its settings, the CAPTCHA provider, password
hashing off the eventlet hub, the emails it asks notifications to send, and work left for
after an RPC's reply."""
from __future__ import annotations

import os
from dataclasses import dataclass

import requests
from eventlet import tpool
from nameko.extensions import DependencyProvider

from contracts.common.errors import InvalidInput, ServiceUnavailable
from services.identity.domain import Passwords
from servicekit.logging import get_logger

log = get_logger(__name__)


# --- settings ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdentitySettings:
    """What the identity service's security rules are tuned with (issue 4).

    JALON_SESSION_IDLE_MINUTES (30): a session unused this long ends; the absolute limit is
        JALON_TOKEN_TTL_MINUTES (default 60) from the login, whatever the activity.
    JALON_LOGIN_MAX_FAILURES (5) failed logins in a row lock the account for
        JALON_LOGIN_LOCK_MINUTES (15); the locked account answers like a wrong password.
    JALON_IP_MAX_FAILURES (20) failed logins from one address within JALON_IP_WINDOW_MINUTES
        (15) answer TooManyRequests("too_many_attempts") until the window slides past them.
    JALON_RESET_MAX_PER_ADDRESS (5) password-reset requests from one address within
        JALON_IP_WINDOW_MINUTES answer TooManyRequests("too_many_reset_requests"), whatever
        the identifiers asked (so the limit tells nothing about accounts).
    JALON_RESET_TTL_MINUTES (60): life of a password-reset link; JALON_CONFIRM_TTL_HOURS (48):
        of an identifier-confirmation link. Both links are single-use.
    JALON_CAPTCHA_PROVIDER: none (development, tests), hcaptcha or recaptcha; with
        JALON_CAPTCHA_SECRET (the provider's secret key) and optionally
        JALON_CAPTCHA_VERIFY_URL (default: the provider's siteverify URL).
    JALON_PRIVACY_POLICY_VERSION (2026-01): the version users must accept.
    JALON_SIGNUP_CODE_TTL_MINUTES (15): life of a self-service sign-up's activation code
        (issue 15); the sign-up form's CAPTCHA is the one above. JALON_SIGNUP_MAX_PER_ADDRESS
        (5) sign-ups from one address within JALON_IP_WINDOW_MINUTES answer
        TooManyRequests("too_many_signups").
    JALON_KNOWN_SIRETS_FILE (none): the SIRET directory's file (see SiretDirectory).
    """

    session_idle_minutes: int = 30
    login_max_failures: int = 5
    login_lock_minutes: int = 15
    ip_max_failures: int = 20
    ip_window_minutes: int = 15
    reset_max_per_address: int = 5
    reset_ttl_minutes: int = 60
    confirm_ttl_hours: int = 48
    captcha_provider: str = "none"
    captcha_secret: str = ""
    captcha_verify_url: str = ""
    privacy_policy_version: str = "2026-01"
    signup_code_ttl_minutes: int = 15
    signup_max_per_address: int = 5
    known_sirets_file: str = ""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"JALON_{name}", default)


def load_settings() -> IdentitySettings:
    return IdentitySettings(
        session_idle_minutes=int(_env("SESSION_IDLE_MINUTES", "30")),
        login_max_failures=int(_env("LOGIN_MAX_FAILURES", "5")),
        login_lock_minutes=int(_env("LOGIN_LOCK_MINUTES", "15")),
        ip_max_failures=int(_env("IP_MAX_FAILURES", "20")),
        ip_window_minutes=int(_env("IP_WINDOW_MINUTES", "15")),
        reset_max_per_address=int(_env("RESET_MAX_PER_ADDRESS", "5")),
        reset_ttl_minutes=int(_env("RESET_TTL_MINUTES", "60")),
        confirm_ttl_hours=int(_env("CONFIRM_TTL_HOURS", "48")),
        captcha_provider=_env("CAPTCHA_PROVIDER", "none").strip().lower(),
        captcha_secret=_env("CAPTCHA_SECRET", ""),
        captcha_verify_url=_env("CAPTCHA_VERIFY_URL", ""),
        privacy_policy_version=_env("PRIVACY_POLICY_VERSION", "2026-01"),
        signup_code_ttl_minutes=int(_env("SIGNUP_CODE_TTL_MINUTES", "15")),
        signup_max_per_address=int(_env("SIGNUP_MAX_PER_ADDRESS", "5")),
        known_sirets_file=_env("KNOWN_SIRETS_FILE", ""),
    )


# --- the CAPTCHA of the password-reset request ------------------------------------------------
# JALON_CAPTCHA_PROVIDER=none: no check; hcaptcha or recaptcha: both take the same form (secret,
# response, remoteip) and answer JSON with `success`. The requests call is green under
# `nameko run` (eventlet monkey-patches sockets).

VERIFY_URLS = {
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
}
TIMEOUT_SECONDS = 5


class CaptchaVerifier:
    def __init__(self, settings: IdentitySettings):
        self.provider = settings.captcha_provider
        if self.provider != "none" and self.provider not in VERIFY_URLS:
            raise ValueError(f"unknown JALON_CAPTCHA_PROVIDER {self.provider!r}")
        self.secret = settings.captcha_secret
        self.url = settings.captcha_verify_url or VERIFY_URLS.get(self.provider, "")

    def check(self, token: str | None, ip: str | None) -> None:
        """Return when the token is accepted; InvalidInput("captcha_failed") otherwise."""
        if self.provider == "none":
            return
        if not token or not self._provider_accepts(token, ip):
            raise InvalidInput("captcha_failed",
                               "La vérification anti-robot a échoué, veuillez réessayer.")

    def _provider_accepts(self, token: str, ip: str | None) -> bool:
        form = {"secret": self.secret, "response": token}
        if ip:
            form["remoteip"] = ip
        try:
            reply = requests.post(self.url, data=form, timeout=TIMEOUT_SECONDS)
            reply.raise_for_status()
            answer = reply.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("captcha_provider_unreachable", provider=self.provider, error=str(exc))
            raise ServiceUnavailable("captcha_unavailable",
                                     "La vérification anti-robot est indisponible, veuillez "
                                     "réessayer.") from None
        if not answer.get("success"):
            log.info("captcha_refused", provider=self.provider,
                     errors=answer.get("error-codes"))
        return bool(answer.get("success"))


def check_captcha(settings: IdentitySettings, token: str | None, ip: str | None) -> None:
    """The verifier is made per check: a misconfigured provider fails the reset requests
    only, not every call of the service."""
    CaptchaVerifier(settings).check(token, ip)


# --- the SIRET directory of sign-ups (issue 15) ------------------------------------------------

class SiretDirectory:
    """Whether a funder knows a SIRET, for the funders whose sign-ups require a known one.

    The default reads JALON_KNOWN_SIRETS_FILE: one SIRET a line, alone (known to every
    funder) or as `<funder code>;<siret>`; blank lines and `#` comments are skipped. The file
    is read at each sign-up (a new export applies without a restart). Without the file no
    SIRET is known: a funder requiring known SIRETs then takes no sign-up, rather than any.
    A funder with its own register (an API) replaces this class: `known(funder_code, siret)`.
    """

    def __init__(self, path: str):
        self.path = path

    def known(self, funder_code: str, siret: str) -> bool:
        if not self.path:
            return False
        try:
            with open(self.path, encoding="utf-8") as lines:
                for line in lines:
                    line = line.split("#", 1)[0].strip().replace(" ", "")
                    code, _, number = line.rpartition(";")
                    if number == siret and code in ("", funder_code):
                        return True
        except OSError as exc:
            log.error("siret_directory_unreadable", path=self.path, error=str(exc))
        return False


# --- passwords and emails ---------------------------------------------------------------------

class ThreadedPasswords:
    """argon2 takes tens of milliseconds of CPU: run it off the eventlet hub (it releases
    the GIL), so heartbeats and other workers keep going during a burst of logins."""

    def __init__(self, passwords: Passwords):
        self._passwords = passwords

    def hash(self, password: str) -> str:
        return tpool.execute(self._passwords.hash, password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        return tpool.execute(self._passwords.verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._passwords.needs_rehash(password_hash)


class DirectEmails:
    """Emails carrying a secret, through notifications.send_direct_email."""

    def __init__(self, notifications):
        self._notifications = notifications

    def send(self, to: str, template: str, **context) -> bool:
        """Queue one; False (logged) when notifications failed."""
        try:
            self._notifications.send_direct_email({"to": to, "template": template,
                                                   "context": context})
        except Exception as exc:  # any failure: the caller reports it, the account stays
            log.error("direct_email_failed", template=template, error=str(exc))
            return False
        return True


# --- after the reply --------------------------------------------------------------------------

class AfterReply(DependencyProvider):
    """Work an RPC leaves for after its reply has gone: `self.after_reply(function, *args)`.

    Nameko sends a worker's reply, then tears the worker down; the queued calls run at
    teardown, in the worker's green thread, so the caller never waits for them. identity uses
    it for what must not show in a request's duration (a password reset's link and email: a
    known identifier must answer as fast as an unknown one).
    """

    def setup(self) -> None:
        self._queued = {}

    def get_dependency(self, worker_ctx):
        queued = self._queued[worker_ctx] = []
        return lambda function, *args: queued.append((function, args))

    def worker_teardown(self, worker_ctx) -> None:
        for function, args in self._queued.pop(worker_ctx, ()):
            try:
                function(*args)
            except Exception:  # the reply is gone: log, never raise into Nameko's teardown
                log.exception("after_reply_failed", call=function.__name__)
