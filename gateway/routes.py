"""Routes declared once, with their pydantic models: the entrypoint and the OpenAPI entry.

    @route("PUT", "/dossiers/{dossier_id}/certificates/{month}/hours", body=HoursEntry,
           response=Certificate, roles=ORGANISATION, summary="...", tags=["certificats"])
    def enter_hours(self, call, dossier_id, month):
        return self.certification.enter_hours(call.actor, dossier_id, month, call.payload)

The decorator registers Nameko's HTTP entrypoint (`{x}` becomes werkzeug's `<x>`) and hangs a
RouteSpec on the method, from which gateway.openapi builds the document. Before the handler
runs, the request is authenticated (unless auth=False), the declared roles are checked, and
the path, query string and body are validated against their types: the handler receives
clean values only. Its result becomes JSON (or 204 when None); every failure a problem.
"""
from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ValidationError, create_model
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from contracts.common import Id, Role
from contracts.events import Month
from gateway.auth import authenticate, bearer_token, client_ip, require_role
from gateway.errors import HttpProblem, validation_errors
from gateway.http import GatewayHttp, json_response, problem_response
from servicekit.context import CORRELATION_HEADER

MAX_BODY_BYTES = 1024 * 1024
_PLACEHOLDER = re.compile(r"{([a-z_][a-z0-9_]*)}")

# The type of every path parameter, by name: one rule for every route.
PATH_PARAMETER_TYPES: dict[str, Any] = {"month": Month}


def path_parameter_type(name: str) -> Any:
    if name in PATH_PARAMETER_TYPES:
        return PATH_PARAMETER_TYPES[name]
    if name.endswith("_id"):
        return Id
    raise ValueError(f"no type declared for path parameter {name!r}")


def werkzeug_path(path: str) -> str:
    """"/dossiers/{dossier_id}" -> "/dossiers/<dossier_id>"."""
    return _PLACEHOLDER.sub(r"<\1>", path)


def path_parameters(path: str) -> list[str]:
    return _PLACEHOLDER.findall(path)


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    name: str
    summary: str
    tags: tuple[str, ...]
    description: str | None = None
    body: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    roles: frozenset[Role] | None = None
    auth: bool = True
    query: type[BaseModel] | None = None
    media_type: str = "application/json"
    responses: dict[int, tuple[str, Any]] = field(default_factory=dict)
    path_model: type[BaseModel] | None = None

    @property
    def parameters(self) -> list[str]:
        return path_parameters(self.path)


@dataclass
class Call:
    """What a handler gets besides its path values: who calls, and the validated input."""

    request: Request
    actor: dict | None = None
    body: BaseModel | None = None
    query: BaseModel | None = None

    @property
    def payload(self) -> dict | None:
        """The body as plain JSON data, normalised by its model (e.g. "147,00" -> "147.00")."""
        return None if self.body is None else self.body.model_dump(mode="json")

    @property
    def token(self) -> str:
        return bearer_token(self.request)

    @property
    def ip(self) -> str | None:
        return client_ip(self.request)


def route(method: str, path: str, *, summary: str, tags: list[str],
          body: type[BaseModel] | None = None, response: Any = None, status: int = 200,
          roles: Collection[Role] | None = None, auth: bool = True,
          query: type[BaseModel] | None = None, media_type: str = "application/json",
          responses: dict[int, tuple[str, Any]] | None = None) -> Callable:
    """Declare an HTTP route; see the module docstring."""
    def decorate(handler: Callable) -> Callable:
        spec = RouteSpec(
            method=method, path=path, name=handler.__name__, summary=summary, tags=tuple(tags),
            description=(handler.__doc__ or "").strip() or None, body=body, response=response,
            status=status, roles=frozenset(roles) if roles else None, auth=auth, query=query,
            media_type=media_type, responses=dict(responses or {}),
            path_model=_path_model(handler.__name__, path))

        def endpoint(self, request, **path_values):
            return dispatch(self, spec, handler, request, path_values)

        endpoint.__name__ = handler.__name__
        endpoint.__qualname__ = handler.__qualname__
        endpoint.__doc__ = handler.__doc__
        endpoint.route_spec = spec
        return GatewayHttp.decorator(method, werkzeug_path(path))(endpoint)
    return decorate


def routes_of(service_cls: type) -> list[RouteSpec]:
    """The routes of a service class, in declaration order."""
    specs = []
    for klass in reversed(service_cls.__mro__):
        specs.extend(getattr(value, "route_spec") for value in vars(klass).values()
                     if hasattr(value, "route_spec"))
    return specs


def _path_model(name: str, path: str) -> type[BaseModel] | None:
    names = path_parameters(path)
    if not names:
        return None
    fields = {param: (path_parameter_type(param), ...) for param in names}
    return create_model(f"{name}_path", **fields)


# ---- per request -----------------------------------------------------------------------

def dispatch(service, spec: RouteSpec, handler: Callable, request: Request,
             path_values: dict) -> Response:
    try:
        call = Call(request)
        if spec.auth:
            call.actor = authenticate(service.identity, request)
            require_role(call.actor, spec.roles)
        values = _validated(spec.path_model, path_values, "invalid_path",
                            "L'adresse contient une valeur invalide.")
        call.query = _validated(spec.query, _query_values(spec.query, request), "invalid_query",
                                "Les paramètres de recherche sont invalides.")
        call.body = _validated(spec.body, _json_body(spec, request), "invalid_body",
                               "Les données envoyées sont invalides.")
        response = _render(spec, handler(service, call, **_as_kwargs(values)))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a problem response
        response = problem_response(exc, request)
    response.headers[CORRELATION_HEADER] = service.context
    return response


def _validated(model: type[BaseModel] | None, data: Any, code: str, detail: str):
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HttpProblem(422, code, detail, validation_errors(exc)) from None


def _as_kwargs(values: BaseModel | None) -> dict:
    return {} if values is None else dict(values)


def _query_values(model: type[BaseModel] | None, request: Request) -> dict:
    """Declared parameters only (first value of each): unknown ones are ignored."""
    if model is None:
        return {}
    return {name: request.args[name] for name in model.model_fields if name in request.args}


def _json_body(spec: RouteSpec, request: Request) -> Any:
    if spec.body is None:
        return None
    request.max_content_length = MAX_BODY_BYTES
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise HttpProblem(413, "payload_too_large", "Le contenu envoyé est trop volumineux.") \
            from None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise HttpProblem(400, "invalid_json",
                          "Le corps de la requête doit être un document JSON valide.") from None


def _render(spec: RouteSpec, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status=204)
    return json_response(result, spec.status)
