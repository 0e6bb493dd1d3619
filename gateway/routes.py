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

A route that takes a file declares `upload=Model` instead of `body=`: the request is then
multipart/form-data with one `file` part (read up to MAX_UPLOAD_BYTES, 413 beyond) and the
model's other fields as form fields. The gateway fills the model's `filename` and
`content_base64` from the file part and validates the whole model, so `call.payload` is
exactly the RPC payload, as for a JSON body.

A state-changing route whose service method is @replayable declares `idempotency_key=True`:
it takes an optional Idempotency-Key header (gateway.http), documented on the route.
"""
from __future__ import annotations

import base64
import functools
import inspect
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from contracts import documents
from contracts.common import Id, Role
from contracts.events import Month
from gateway.auth import (authenticate, bearer_token, request_ip, require_role,
                          require_unrestricted)
from gateway.errors import HttpProblem, validation_errors
from gateway.http import GatewayHttp, json_response, note_actor, problem_response
from servicekit.context import CORRELATION_HEADER

MAX_BODY_BYTES = 1024 * 1024
# Files cross RPC as base64 (4/3 of their size): 20 MiB stays far below RabbitMQ's message
# limit. Each category of document may set a lower limit, checked by the documents service.
MAX_UPLOAD_BYTES = documents.MAX_UPLOAD_BYTES
# The form fields' share of an upload request. Also werkzeug's max_form_memory_size, which
# its multipart decoder applies to its read buffer (64 KiB chunks), file parts included: keep
# it well above that.
MAX_FORM_FIELDS_BYTES = 256 * 1024
FILE_PART = "file"
# The upload model's fields the gateway fills from the file part.
FILE_FIELDS = ("filename", "content_base64")
_PLACEHOLDER = re.compile(r"{([a-z_][a-z0-9_]*)}")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The type of every path parameter, by name: one rule for every route.
# An asset's name is any text: the reader's allow-list answers 404 for all but its own files.
PATH_PARAMETER_TYPES: dict[str, Any] = {"month": Month, "reference": Id, "asset": str}


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
    upload: type[BaseModel] | None = None
    idempotency_key: bool = False

    @property
    def parameters(self) -> list[str]:
        return path_parameters(self.path)

    @property
    def input_model(self) -> type[BaseModel] | None:
        """What the request carries: a JSON body, or the RPC payload an upload builds."""
        return self.body or self.upload


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
        return request_ip(self.request)


def route(method: str, path: str, *, summary: str, tags: list[str],
          body: type[BaseModel] | None = None, response: Any = None, status: int = 200,
          roles: Collection[Role] | None = None, auth: bool = True,
          query: type[BaseModel] | None = None, media_type: str = "application/json",
          responses: dict[int, tuple[str, Any]] | None = None,
          upload: type[BaseModel] | None = None, idempotency_key: bool = False) -> Callable:
    """Declare an HTTP route; see the module docstring."""
    if body is not None and upload is not None:
        raise ValueError("a route takes a JSON body or an upload, not both")
    if idempotency_key and method not in STATE_CHANGING:
        raise ValueError("only a state-changing route takes an Idempotency-Key")
    if upload is not None:
        _check_upload_model(upload)

    def decorate(handler: Callable) -> Callable:
        spec = RouteSpec(
            method=method, path=path, name=handler.__name__, summary=summary, tags=tuple(tags),
            description=inspect.cleandoc(handler.__doc__ or "") or None, body=body,
            response=response, status=status, roles=frozenset(roles) if roles else None,
            auth=auth, query=query, media_type=media_type, responses=dict(responses or {}),
            path_model=_path_model(handler.__name__, path), upload=upload,
            idempotency_key=idempotency_key)

        def endpoint(self, request, **path_values):
            return dispatch(self, spec, handler, request, path_values)

        endpoint.__name__ = handler.__name__
        endpoint.__qualname__ = handler.__qualname__
        endpoint.__doc__ = handler.__doc__
        endpoint.route_spec = spec
        return GatewayHttp.decorator(method, werkzeug_path(path), route=path,
                                     idempotency_key=idempotency_key)(endpoint)
    return decorate


def routes_of(service_cls: type) -> list[RouteSpec]:
    """The routes of a service class, in declaration order."""
    specs = []
    for klass in reversed(service_cls.__mro__):
        specs.extend(getattr(value, "route_spec") for value in vars(klass).values()
                     if hasattr(value, "route_spec"))
    return specs


def _check_upload_model(model: type[BaseModel]) -> None:
    missing = [name for name in FILE_FIELDS if name not in model.model_fields]
    if missing:
        raise ValueError(f"{model.__name__} cannot carry an upload: no field {missing}")


@functools.cache
def form_model(model: type[BaseModel]) -> type[BaseModel]:
    """The form fields of an upload model (all but the file's), as a model of their own: the
    OpenAPI document describes them with it."""
    fields = {name: (info.annotation, info) for name, info in model.model_fields.items()
              if name not in FILE_FIELDS}
    return create_model(f"{model.__name__}Form", __config__=ConfigDict(extra="forbid"),
                        __doc__=model.__doc__, **fields)


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
            note_actor(request, call.actor["user_id"])
            require_unrestricted(call.actor, spec.path)
            require_role(call.actor, spec.roles)
        values = _validated(spec.path_model, path_values, "invalid_path",
                            "L'adresse contient une valeur invalide.")
        call.query = _validated(spec.query, _query_values(spec.query, request), "invalid_query",
                                "Les paramètres de recherche sont invalides.")
        call.body = _validated(spec.input_model, _body(spec, request), "invalid_body",
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


def _too_large() -> HttpProblem:
    return HttpProblem(413, "payload_too_large", "Le contenu envoyé est trop volumineux.")


def _body(spec: RouteSpec, request: Request) -> Any:
    if spec.upload is not None:
        return _upload_body(spec.upload, request)
    if spec.body is not None:
        return _json_body(request)
    return None


def _json_body(request: Request) -> Any:
    request.max_content_length = MAX_BODY_BYTES
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _too_large() from None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise HttpProblem(400, "invalid_json",
                          "Le corps de la requête doit être un document JSON valide.") from None


def _upload_body(model: type[BaseModel], request: Request) -> dict:
    """The RPC payload of a multipart upload: its declared form fields (an empty field is an
    absent one, as browsers send them), the file's name and its bytes in base64."""
    if request.mimetype != "multipart/form-data":
        raise HttpProblem(415, "unsupported_media_type",
                          "Envoyez le fichier en multipart/form-data (partie « file »).")
    request.max_content_length = MAX_UPLOAD_BYTES + MAX_FORM_FIELDS_BYTES
    request.max_form_memory_size = MAX_FORM_FIELDS_BYTES
    request.max_form_parts = 2 * len(model.model_fields) + 10
    try:
        fields = {name: request.form[name] for name in form_model(model).model_fields
                  if request.form.get(name, "") != ""}
        upload = request.files.get(FILE_PART)
        content = None if upload is None else upload.stream.read(MAX_UPLOAD_BYTES + 1)
    except RequestEntityTooLarge:
        raise _too_large() from None
    if upload is None:
        raise HttpProblem(422, "invalid_body", "Le fichier à envoyer manque (partie « file »).",
                          [{"type": "missing", "loc": [FILE_PART], "msg": "Field required"}])
    if len(content) > MAX_UPLOAD_BYTES:
        raise _too_large()
    return {**fields, "filename": upload.filename or "",
            "content_base64": base64.b64encode(content).decode("ascii")}


def _render(spec: RouteSpec, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status=204)
    return json_response(result, spec.status)
