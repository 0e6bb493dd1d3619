"""The CAPTCHA check of the password-reset request, behind one pluggable verifier.

A module of its own because it does network I/O (neither domain.py, which is pure, nor
service.py, which holds entrypoints only). Settings (servicekit.config.IdentitySettings):

    JALON_CAPTCHA_PROVIDER=none       no check (development and tests; the default)
    JALON_CAPTCHA_PROVIDER=hcaptcha   POST to https://api.hcaptcha.com/siteverify
    JALON_CAPTCHA_PROVIDER=recaptcha  POST to https://www.google.com/recaptcha/api/siteverify
    JALON_CAPTCHA_SECRET              the provider's secret key (required unless none)
    JALON_CAPTCHA_VERIFY_URL          another siteverify URL (a proxy, a test server)

Both providers take the same form (secret, response, remoteip) and answer JSON with
`success`. The requests call is green under `nameko run` (eventlet monkey-patches sockets).
"""
from __future__ import annotations

import requests

from servicekit.config import IdentitySettings
from contracts.common.errors import InvalidInput, ServiceUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

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
