"""The password-reset CAPTCHA through a provider's siteverify API, played by a small local
HTTP server (same form and JSON answer as hCaptcha and reCAPTCHA)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from services.identity.adapters import CaptchaVerifier, IdentitySettings
from contracts.common.errors import InvalidInput, ServiceUnavailable
from tests.support.integration import bootstrap

SECRET = "0x-test-secret"


class Siteverify(BaseHTTPRequestHandler):
    """Answers like a provider; the forms it received are on its server (`forms`)."""

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        self.server.forms.append(form)
        ok = form.get("secret") == SECRET and form.get("response") == "human"
        body = json.dumps({"success": ok, **({} if ok else {"error-codes": ["bad"]})}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def siteverify():
    """The provider's server; `forms`: what it received."""
    server = HTTPServer(("127.0.0.1", 0), Siteverify)  # a free port
    server.forms = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def provider(siteverify) -> str:
    return f"http://127.0.0.1:{siteverify.server_address[1]}/siteverify"


def test_verifier_calls_the_provider(provider, siteverify):
    verifier = CaptchaVerifier(IdentitySettings(captcha_provider="hcaptcha",
                                                captcha_secret=SECRET,
                                                captcha_verify_url=provider))
    verifier.check("human", "203.0.113.7")
    assert siteverify.forms == [{"secret": SECRET, "response": "human",
                                 "remoteip": "203.0.113.7"}]
    for token in ("robot", None, ""):
        with pytest.raises(InvalidInput) as raised:
            verifier.check(token, None)
        assert raised.value.code == "captcha_failed"
    assert len(siteverify.forms) == 2  # no token: no call


def test_none_checks_nothing_and_an_unreachable_provider_is_unavailable():
    CaptchaVerifier(IdentitySettings()).check(None, None)
    down = CaptchaVerifier(IdentitySettings(captcha_provider="recaptcha", captcha_secret="s",
                                            captcha_verify_url="http://127.0.0.1:9/x"))
    with pytest.raises(ServiceUnavailable):
        down.check("human", None)
    with pytest.raises(ValueError):
        CaptchaVerifier(IdentitySettings(captcha_provider="nope"))


def test_password_reset_checks_the_captcha(provider, identity, rpc, monkeypatch, mail,
                                           siteverify):
    bootstrap(rpc)
    monkeypatch.setenv("JALON_CAPTCHA_PROVIDER", "recaptcha")
    monkeypatch.setenv("JALON_CAPTCHA_SECRET", SECRET)
    monkeypatch.setenv("JALON_CAPTCHA_VERIFY_URL", provider)
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.request_password_reset({"identifier": "admin-tpro-ge",
                                             "captcha_token": "robot"}, "203.0.113.7")
    assert raised.value.code == "captcha_failed" and mail.emails("password_reset") == []
    rpc.identity.request_password_reset({"identifier": "admin-tpro-ge",
                                         "captcha_token": "human"}, "203.0.113.7")
    assert len(mail.arrived("password_reset", to="admin-tpro-ge@example.org")) == 1
    assert siteverify.forms[-1]["remoteip"] == "203.0.113.7"
