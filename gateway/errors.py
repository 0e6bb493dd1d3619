"""Every failure becomes an RFC 9457 problem (application/problem+json) with a stable code.

ONE table (REMOTE_ERRORS) says which HTTP status each kind of remote error gets, and the code
of those that carry none; errors born in the gateway itself (bad JSON, invalid body, unknown
route) are HttpProblem raised with their status. Anything else is a bug: 500
"internal_error", logged, never detailed to the client. Every 503 says when to try again
(Retry-After): the service, its database or the broker is expected back within seconds, and
a retry with the same Idempotency-Key is safe.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus

from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from pydantic import ValidationError

from contracts.common import errors as kit
from servicekit.logging import get_logger
from servicekit.rpc import BROKER_ERRORS

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

# Remote error class -> HTTP status, and the problem's code when the error has none of its own.
# The order matters only for subclasses (first match wins).
REMOTE_ERRORS: tuple[tuple[type[Exception], int, str | None], ...] = (
    (kit.InvalidInput, 422, None),
    (kit.Unauthenticated, 401, None),
    (kit.Forbidden, 403, None),
    (kit.NotFound, 404, None),
    (kit.Conflict, 409, None),
    (kit.TooManyRequests, 429, None),
    (kit.ServiceUnavailable, 503, None),
    (UnknownService, 503, "service_unavailable"),
    (RpcTimeout, 503, "service_unavailable"),
    *((kind, 503, "broker_unavailable") for kind in BROKER_ERRORS),
)
RETRY_AFTER_SECONDS = 5

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    413: "Contenu trop volumineux",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    500: "Erreur interne",
    502: "Erreur d'un service",
    503: "Service indisponible",
}

# Details of these statuses stay server-side: they name internal calls, not user mistakes.
_PRIVATE_DETAILS = frozenset({500, 502, 503})
# The 503s of one service out of reach (servicekit/rpc.py), not of the broker or a database.
SERVICE_DOWN_CODES = frozenset({"rpc_timeout", "service_unavailable"})


@dataclass
class HttpProblem(Exception):
    """A problem the gateway itself detects (before or instead of calling a service)."""

    status: int
    code: str
    detail: str
    errors: list[dict] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def validation_errors(exc: ValidationError) -> list[dict]:
    """pydantic errors without the input (it may be a password) nor URLs."""
    return exc.errors(include_url=False, include_context=False, include_input=False)


def status_for(exc: Exception) -> int | None:
    return _remote_kind(exc)[0]


def error_code(exc: Exception) -> str | None:
    """The stable code of a remote error: its own, else the table's."""
    _, code = _remote_kind(exc)
    return code or getattr(exc, "code", None)


def _remote_kind(exc: Exception) -> tuple[int | None, str | None]:
    for kind, status, code in REMOTE_ERRORS:
        if isinstance(exc, kind):
            return status, code
    return None, None


def retry_after(status: int) -> dict[str, str]:
    """The headers a response of this status gets: when to try again, for a 503."""
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}


def problem_body(status: int, code: str, detail: str, correlation_id: str,
                 instance: str | None = None, errors: list | None = None,
                 details: dict | None = None) -> dict:
    body = {
        "type": f"urn:jalon:problem:{code}",
        "title": TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "correlation_id": correlation_id,
    }
    optional = {"instance": instance, "errors": errors, "details": details}
    body.update({key: value for key, value in optional.items() if value})
    return body


def problem_for(exc: Exception, correlation_id: str, instance: str | None = None
                ) -> tuple[dict, dict[str, str]]:
    """(problem body, extra headers) for any exception."""
    if isinstance(exc, HttpProblem):
        body = problem_body(exc.status, exc.code, exc.detail, correlation_id, instance,
                            exc.errors)
        return body, {**retry_after(exc.status), **exc.headers}
    status = status_for(exc)
    if status is not None:
        return _remote_problem(exc, status, correlation_id, instance)
    if isinstance(exc, RemoteError):
        log.error("remote_error", exc_type=exc.exc_type, value=exc.value)
        return problem_body(502, "upstream_error", "Un service a rencontré une erreur.",
                            correlation_id, instance), {}
    log.exception("gateway_error", exc_info=exc)
    return problem_body(500, "internal_error", "Une erreur interne est survenue.",
                        correlation_id, instance), {}


def _remote_problem(exc: Exception, status: int, correlation_id: str, instance: str | None
                    ) -> tuple[dict, dict[str, str]]:
    code = error_code(exc) or "service_unavailable"
    # Only our own errors' messages are for users (a broker error's text is not).
    detail = (exc.message if isinstance(exc, kit.JalonError) else None) or \
        "Le service est indisponible, veuillez réessayer."
    details = dict(getattr(exc, "details", None) or {})
    errors = details.pop("errors", None)
    if not isinstance(errors, list):
        errors = None
    if status in _PRIVATE_DETAILS:
        log.warning("service_unavailable", error=str(exc), details=details)
        details, errors = _public_503_details(code, details), None
    body = problem_body(status, code, detail, correlation_id, instance, errors, details)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else retry_after(status)
    return body, headers


def _public_503_details(code: str, details: dict) -> dict:
    """Which service is down, when one is (its name only, never the method called): the
    routes of the others still answer."""
    call = details.get("call")
    if code in SERVICE_DOWN_CODES and isinstance(call, str):
        return {"service": call.split(".")[0]}
    return {}
