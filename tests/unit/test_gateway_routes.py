"""Route declaration helpers, request reading and download headers (no server)."""
from __future__ import annotations

import base64
import io
import random
from datetime import date
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from contracts.certification import HoursEntry
from contracts.common import FrenchDecimal, Shape
from gateway import auth
from gateway.auth import authenticate, bearer_token, client_ip, request_ip, require_role
from gateway.errors import HttpProblem
from gateway.http import content_disposition, safe_media_type
from gateway.jobs import JOB_SERVICES
from gateway import routes
from gateway.routes import _upload_body, form_model, path_parameter_type, route, werkzeug_path
from servicekit import registry
from servicekit.jobs import JobEntrypoints


def request(headers=None, remote_addr="192.0.2.1") -> Request:
    environ = EnvironBuilder(headers=headers or {}).get_environ()
    environ["REMOTE_ADDR"] = remote_addr
    return Request(environ)


def test_path_translation():
    assert werkzeug_path("/dossiers/{dossier_id}/certificates/{month}/hours") == \
        "/dossiers/<dossier_id>/certificates/<month>/hours"
    assert werkzeug_path("/health") == "/health"


def test_path_parameters_have_types_by_name():
    month = TypeAdapter(path_parameter_type("month"))
    assert month.validate_python("2026-02") == "2026-02"
    for impossible in ("2026-13", "0000-01", "9999-12"):  # year 0 once answered 502
        with pytest.raises(ValidationError):
            month.validate_python(impossible)
    with pytest.raises(ValidationError):
        TypeAdapter(path_parameter_type("dossier_id")).validate_python("x" * 65)
    with pytest.raises(ValueError):
        path_parameter_type("page")


@pytest.mark.parametrize("typed, expected", [
    ("147,00", Decimal("147.00")), ("147.5", Decimal("147.5")), (" 3,5 ", Decimal("3.5")),
    ("1\u00a0234,50", Decimal("1234.50")), (7, Decimal(7)),
])
def test_french_decimal_input(typed, expected):
    assert TypeAdapter(FrenchDecimal).validate_python(typed) == expected


def test_hours_entry_accepts_french_input_and_keeps_its_rules():
    entry = HoursEntry.model_validate({"training_hours": "147,00", "internship_hours": 0,
                                       "absence_hours": "3,5"})
    assert entry.model_dump(mode="json") == {"training_hours": "147.00",
                                             "internship_hours": "0", "absence_hours": "3.5",
                                             "days": []}
    for bad in ("-1,00", "1,234", "1,2,3", "abc"):
        with pytest.raises(ValidationError):
            HoursEntry.model_validate({"training_hours": bad, "internship_hours": 0,
                                       "absence_hours": 0})


def test_bearer_token():
    assert bearer_token(request({"Authorization": "Bearer abc.DEF-123"})) == "abc.DEF-123"
    assert bearer_token(request({"Authorization": "bearer  tok"})) == "tok"
    for header, code in ((None, "missing_token"), ("Basic eA==", "invalid_token"),
                         ("Bearer ", "invalid_token"), ("Bearer a b", "invalid_token"),
                         ("Bearer " + "x" * 513, "invalid_token")):
        with pytest.raises(HttpProblem) as caught:
            bearer_token(request({"Authorization": header} if header else {}))
        assert (caught.value.status, caught.value.code) == (401, code)


def test_client_ip_trusts_only_the_forwarded_hops_of_our_proxies():
    chain = {"X-Forwarded-For": "198.51.100.66, 203.0.113.7, 10.0.0.1"}  # client-invented first
    assert client_ip(request(chain), trusted_proxies=0) == "192.0.2.1"
    assert client_ip(request(chain), trusted_proxies=1) == "10.0.0.1"
    assert client_ip(request(chain), trusted_proxies=2) == "203.0.113.7"
    assert client_ip(request({"X-Forwarded-For": "203.0.113.7"}), trusted_proxies=2) == \
        "203.0.113.7"
    assert client_ip(request({"X-Forwarded-For": "not-an-ip"}), trusted_proxies=1) == "192.0.2.1"
    assert client_ip(request(), trusted_proxies=1) == "192.0.2.1"


def test_the_client_address_is_worked_out_once_per_request(monkeypatch):
    seen = []
    monkeypatch.setattr(auth, "client_ip", lambda req: seen.append(req) or "198.51.100.9")
    one, other = request(), request()
    assert request_ip(one) == request_ip(one) == request_ip(other) == "198.51.100.9"
    assert seen == [one, other]


class Identity:
    def __init__(self):
        self.tokens: list[str] = []

    def authenticate(self, token):
        self.tokens.append(token)
        return {"user_id": "u1", "role": "organisation_user", "funder_id": "f1",
                "rights": ["enter_hours"], "restricted": False}


def test_the_actor_is_identitys_reply_with_the_request_address():
    identity = Identity()
    actor = authenticate(identity, request({"Authorization": "Bearer tok"}, "192.0.2.7"))
    assert identity.tokens == ["tok"]
    assert actor == {"user_id": "u1", "role": "organisation_user", "funder_id": "f1",
                     "rights": ["enter_hours"], "restricted": False, "ip": "192.0.2.7"}


def test_roles_are_checked_when_declared():
    require_role({"role": "funder_agent"}, None)
    require_role({"role": "funder_agent"}, {"funder_agent"})
    with pytest.raises(HttpProblem) as caught:
        require_role({"role": "beneficiary"}, {"funder_agent"})
    assert caught.value.status == 403


def test_content_disposition_is_safe_and_exact():
    assert content_disposition("certificat février.pdf") == (
        "attachment; filename=\"certificat fevrier.pdf\"; "
        "filename*=UTF-8''certificat%20f%C3%A9vrier.pdf")
    hostile = content_disposition('../../etc/"passwd"\r\nX-Evil: 1')
    assert "\r" not in hostile and "\n" not in hostile and '"passwd"' not in hostile
    assert content_disposition("") == "attachment; filename=\"document\"; filename*=UTF-8''document"


def test_media_types_are_sanitised():
    assert safe_media_type("application/pdf") == "application/pdf"
    assert safe_media_type("text/html\r\nX: y") == "application/octet-stream"
    assert safe_media_type("") == "application/octet-stream"


# ---- multipart uploads -----------------------------------------------------------------

class UploadPayload(Shape):
    """What an upload RPC takes: the gateway fills filename and content_base64."""

    category: str
    label: str | None = None
    period_start: date | None = None
    filename: str
    content_base64: str


def upload_request(data=None, content_type=None) -> Request:
    builder = EnvironBuilder(method="POST", data=data, content_type=content_type)
    return Request(builder.get_environ())


def test_an_upload_becomes_the_rpc_payload():
    body = _upload_body(UploadPayload, upload_request({
        "file": (io.BytesIO(b"%PDF-1.7 x"), "kbis février.pdf"), "category": "kbis",
        "label": "", "period_start": "2026-02-01", "unknown": "ignored"}))
    assert body == {"category": "kbis", "period_start": "2026-02-01",
                    "filename": "kbis février.pdf",
                    "content_base64": base64.b64encode(b"%PDF-1.7 x").decode()}
    assert UploadPayload.model_validate(body).label is None


def test_a_large_binary_upload_within_the_limit_is_read_whole():
    content = random.Random(7).randbytes(3 * 1024 * 1024) + b"\r\n--\r\n"
    body = _upload_body(UploadPayload, upload_request({
        "file": (io.BytesIO(content), "logo.png"), "category": "logo"}))
    assert base64.b64decode(body["content_base64"]) == content


def test_an_upload_without_its_file_or_not_multipart_is_refused():
    with pytest.raises(HttpProblem) as caught:
        _upload_body(UploadPayload, upload_request({"category": "kbis"}, "multipart/form-data"))
    assert (caught.value.status, caught.value.code) == (422, "invalid_body")
    assert caught.value.errors[0]["loc"] == ["file"]
    with pytest.raises(HttpProblem) as caught:
        _upload_body(UploadPayload, upload_request(b"{}", "application/json"))
    assert (caught.value.status, caught.value.code) == (415, "unsupported_media_type")


def test_an_upload_beyond_the_limit_is_413(monkeypatch):
    monkeypatch.setattr(routes, "MAX_UPLOAD_BYTES", 10)
    _upload_body(UploadPayload, upload_request({"file": (io.BytesIO(b"x" * 10), "a.txt"),
                                                "category": "c"}))
    with pytest.raises(HttpProblem) as caught:
        _upload_body(UploadPayload, upload_request({"file": (io.BytesIO(b"x" * 11), "a.txt"),
                                                    "category": "c"}))
    assert (caught.value.status, caught.value.code) == (413, "payload_too_large")
    with pytest.raises(HttpProblem) as caught:  # the whole request is too big to even parse
        _upload_body(UploadPayload, upload_request(
            {"file": (io.BytesIO(b"x" * 200_000), "a.txt"), "category": "c"}))
    assert caught.value.status == 413


def test_an_upload_model_must_have_the_file_fields_and_no_json_body():
    with pytest.raises(ValueError):
        route("POST", "/x", summary="x", tags=["x"], upload=HoursEntry)
    with pytest.raises(ValueError):
        route("POST", "/x", summary="x", tags=["x"], upload=UploadPayload, body=HoursEntry)
    assert list(form_model(UploadPayload).model_fields) == ["category", "label", "period_start"]


def test_the_gateway_asks_about_jobs_exactly_the_services_that_run_them():
    running = {name for name in registry.names()
               if issubclass(registry.service_class(name), JobEntrypoints)}
    assert set(JOB_SERVICES) == running
