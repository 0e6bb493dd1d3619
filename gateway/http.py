"""Nameko's HTTP entrypoint, made to answer problem+json for everything it refuses.

Nameko's WsgiApp answers an unknown route or a wrong method with werkzeug's HTML page and an
entrypoint failure with a text 500. GatewayServer swaps in a WSGI app that answers problems,
picks the correlation id once per request (handed to the worker as its context data, so logs,
RPC headers and the X-Correlation-Id response header all carry the same id) and adds the
headers every response gets. It also writes the one access line of each request
(`http_request`, with the correlation id, the route template and the actor when known) and
counts it in the metrics; eventlet's own access line, which has no correlation id, is off.

A route declared with `idempotency_key=True` also hands its worker the request's
Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field"), or a fresh one when the
client sent none: the service it calls stores its reply under that key
(servicekit.idempotency), so a client's retry and a broker's redelivery both get the first
answer.
"""
from __future__ import annotations

import base64
import hashlib
import re
import time
import unicodedata
import uuid
from types import SimpleNamespace
from urllib.parse import quote

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pydantic_core import to_json
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from servicekit.context import CORRELATION_HEADER, IDEMPOTENCY_KEY, correlation_id
from servicekit.logging import get_logger
from servicekit.metrics import observe_http
from gateway.auth import request_ip
from gateway.errors import PROBLEM_JSON, HttpProblem, problem_for, retry_after

log = get_logger(__name__)

_CORRELATION_ENVIRON = "jalon.correlation_id"
_ACTOR_ENVIRON = "jalon.user_id"
# The route of a request that matched none: one label for them all, never the raw path.
UNMATCHED = "unmatched"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# 1 to 255 visible ASCII characters (a UUID is the usual choice).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,255}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
_COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def request_correlation_id(request: Request) -> str:
    """The client's X-Correlation-Id when sane, else a fresh one; the same for the request's
    whole life."""
    environ = request.environ
    if _CORRELATION_ENVIRON not in environ:
        environ[_CORRELATION_ENVIRON] = correlation_id(SimpleNamespace(args=(request,), data={}))
    return environ[_CORRELATION_ENVIRON]


def note_actor(request: Request, user_id: str) -> None:
    """Who the request authenticated as, for its access line."""
    request.environ[_ACTOR_ENVIRON] = user_id


def log_request(request: Request, route: str, status: int, seconds: float) -> None:
    """The request's one access line, and its count and latency in the metrics."""
    observe_http(route, request.method, status, seconds)
    log.info("http_request", method=request.method, route=route, path=request.path,
             status=status, duration_ms=round(seconds * 1000, 1),
             correlation_id=request_correlation_id(request), ip=request_ip(request),
             user_id=request.environ.get(_ACTOR_ENVIRON))


def request_idempotency_key(request: Request) -> str:
    """The client's Idempotency-Key, or a fresh one per request. The draft's form is a
    structured-field string ("…"): its quotes are dropped, so both forms name the same key."""
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return uuid.uuid4().hex
    if len(value) > 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _IDEMPOTENCY_KEY.match(value):
        raise HttpProblem(422, "invalid_idempotency_key",
                          "L'en-tête Idempotency-Key doit compter de 1 à 255 caractères ASCII "
                          "visibles (un UUID par exemple).")
    return value


def json_response(data, status: int = 200) -> Response:
    return Response(to_json(data), status=status, mimetype="application/json")


def problem_response(exc: Exception, request: Request) -> Response:
    body, headers = problem_for(exc, request_correlation_id(request), request.path)
    return Response(to_json(body), status=body["status"], headers=headers,
                    content_type=PROBLEM_JSON)


def _routing_problem(exc: HTTPException) -> HttpProblem:
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        return HttpProblem(405, "method_not_allowed", "Méthode non autorisée pour cette adresse.",
                           headers={"Allow": allowed})
    if exc.code == 404:
        return HttpProblem(404, "route_not_found", "Cette adresse n'existe pas.")
    return HttpProblem(exc.code or 400, "bad_request", "Requête invalide.")


class GatewayWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        route = UNMATCHED
        try:
            provider, values = adapter.match()
            route = provider.route
            request.path_values = values
            response = provider.handle_request(request)
        except RequestRedirect as exc:  # e.g. merged slashes: a redirect is no problem
            response = exc.get_response(environ)
        except HTTPException as exc:
            response = problem_response(_routing_problem(exc), request)
        for name, value in {CORRELATION_HEADER: request_correlation_id(request),
                            **_COMMON_HEADERS, **retry_after(response.status_code)}.items():
            response.headers.setdefault(name, value)
        log_request(request, route, response.status_code, time.perf_counter() - started)
        return response(environ, start_response)


class GatewayServer(WebServer):
    def get_wsgi_app(self):
        return GatewayWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, **options):
        server = super().get_wsgi_server(sock, wsgi_app, **options)
        server.log_output = False  # GatewayWsgiApp writes the access line, correlation id and all
        return server

    def context_data_from_headers(self, request):
        data = {"correlation_id": request_correlation_id(request)}
        if IDEMPOTENCY_KEY in request.environ:
            data[IDEMPOTENCY_KEY] = request.environ[IDEMPOTENCY_KEY]
        return data


class GatewayHttp(HttpRequestHandler):
    """The gateway's HTTP entrypoint: its own server, problems instead of text errors."""

    server = GatewayServer()

    def __init__(self, method, url, idempotency_key: bool = False, route: str | None = None,
                 **kwargs):
        self.idempotency_key = idempotency_key
        self.route = route or url  # the template the access line and the metrics name
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        try:
            if self.idempotency_key:
                request.environ[IDEMPOTENCY_KEY] = request_idempotency_key(request)
            return super().handle_request(request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a problem response
            return problem_response(exc, request)

    def response_from_exception(self, exc):
        # Nameko's version has no request at hand: re-raise for handle_request above.
        raise exc


# ---- file downloads --------------------------------------------------------------------

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_media_type(value: str) -> str:
    value = (value or "").strip().lower()
    return value if _MEDIA_TYPE.match(value) else "application/octet-stream"


def content_disposition(filename: str) -> str:
    """RFC 6266 attachment: an ASCII fallback `filename` and the exact UTF-8 `filename*`."""
    name = "".join(ch for ch in filename if unicodedata.category(ch)[0] != "C")
    name = name.replace("/", "_").replace("\\", "_").strip(" .")[:200] or "document"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE_ASCII.sub("_", ascii_name).strip(" .") or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(filename: str, content_type: str, content_base64: str,
                  sha256: str | None = None) -> Response:
    """The file itself, as an attachment with a safe name, and its SHA-256 (computed here
    when the service did not give it)."""
    data = base64.b64decode(content_base64, validate=True)
    return Response(data, status=200, content_type=safe_media_type(content_type),
                    headers={"Content-Disposition": content_disposition(filename),
                             "X-Content-SHA256": sha256 or hashlib.sha256(data).hexdigest()})


def download_response(document_content: dict) -> Response:
    """documents.get_document_content's reply -> the file itself, with its hash."""
    document = document_content["document"]
    return file_response(document["filename"], document["content_type"],
                         document_content["content_base64"], document["sha256"])


def rendered_response(rendered: dict) -> Response:
    """A PDF rendered on demand (contracts.pdfs.RenderedPdf) -> the file, hashed here."""
    return file_response(rendered["filename"], rendered["content_type"],
                         rendered["content_base64"])
