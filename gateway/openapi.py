"""The OpenAPI 3.1 document, generated from the routes' RouteSpecs (read at /docs: pages.py).

Schemas come from pydantic (request bodies in validation mode, replies in serialization mode)
through one TypeAdapter.json_schemas call, so a model used both ways gets one component, or
two ("-Input"/"-Output") only where the shapes really differ. Nothing is written by hand.
"""
from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter

from contracts.http import Problem
from gateway.errors import PROBLEM_JSON, TITLES
from gateway.examples import example_of
from gateway.http import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_PATTERN
from gateway.routes import FILE_PART, MAX_UPLOAD_BYTES, RouteSpec, form_model, routes_of

REF_TEMPLATE = "#/components/schemas/{model}"
API_TITLE = "Jalon API"
API_VERSION = "1.0.0"
API_DESCRIPTION = (
    "Certificats de réalisation, paiements et documents des financeurs de la formation.\n\n"
    "Authentification : `Authorization: Bearer <jeton>` (POST /auth/login). Toute réponse "
    "porte `X-Correlation-Id` (repris de la requête s'il est fourni). Les erreurs sont des "
    "`application/problem+json` (RFC 9457) avec un `code` stable.\n\n"
    "Réessayer sans risque : les actions qui le disent acceptent l'en-tête `Idempotency-Key` ; "
    "renvoyer la même requête avec la même clé rend la première réponse sans refaire l'action. "
    "Une réponse 503 (service, base de données ou messagerie momentanément injoignable) porte "
    "`Retry-After` (secondes) : réessayez après ce délai, avec la même clé."
)
IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
    "description": (
        "Clé d'idempotence (brouillon IETF « The Idempotency-Key HTTP Header Field ») : "
        "1 à 255 caractères ASCII visibles, un UUID par exemple. Réessayer la même requête "
        "avec la même clé est sans risque : l'action n'est faite qu'une fois et la première "
        "réponse est rendue de nouveau (pendant 48 h). La même clé pour une autre requête : "
        "422 `idempotency_key_reused`."),
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
}
_CORRELATION_HEADER = {"X-Correlation-Id": {"$ref": "#/components/headers/CorrelationId"}}


def _schema_inputs(specs: list[RouteSpec]) -> list[tuple[Any, str, TypeAdapter]]:
    inputs: list[tuple[Any, str, TypeAdapter]] = [("problem", "serialization",
                                                   TypeAdapter(Problem))]
    for spec in specs:
        if spec.body is not None:
            inputs.append(((spec.name, "body"), "validation", TypeAdapter(spec.body)))
        if spec.upload is not None:
            inputs.append(((spec.name, "form"), "validation",
                           TypeAdapter(form_model(spec.upload))))
        if spec.query is not None:
            inputs.append(((spec.name, "query"), "validation", TypeAdapter(spec.query)))
        if spec.response is not None:
            inputs.append(((spec.name, spec.status), "serialization",
                           TypeAdapter(spec.response)))
        for status, (_, model) in spec.responses.items():
            inputs.append(((spec.name, status), "serialization", TypeAdapter(model)))
    return inputs


def _non_null(schema: dict) -> dict:
    """An optional query parameter is absent, never null: drop the null branch."""
    branches = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if len(branches) == 1 and len(schema.get("anyOf", ())) == 2:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**branches[0], **rest}
    return schema


def _parameter(name: str, where: str, schema: dict, required: bool, defs: dict) -> dict:
    schema = {k: v for k, v in _non_null(schema).items() if k != "title"}
    parameter = {"name": name, "in": where, "required": required, "schema": schema,
                 "example": example_of(schema, defs, name)}
    if "description" in schema:
        parameter["description"] = schema["description"]
    return parameter


def _parameters(spec: RouteSpec, query_schema: dict | None, defs: dict) -> list[dict]:
    parameters = []
    if spec.path_model is not None:
        properties = spec.path_model.model_json_schema()["properties"]
        parameters += [_parameter(name, "path", properties[name], True, defs)
                       for name in spec.parameters]
    if query_schema is not None:
        resolved = defs[query_schema["$ref"].rsplit("/", 1)[-1]]
        required = set(resolved.get("required", ()))
        parameters += [_parameter(name, "query", schema, name in required, defs)
                       for name, schema in resolved["properties"].items()]
    if spec.idempotency_key:
        parameters.append(IDEMPOTENCY_PARAMETER)
    return parameters


def _problem_statuses(spec: RouteSpec) -> list[int]:
    statuses = []
    if spec.auth:
        statuses += [401, 403]
    if spec.body is not None:
        statuses += [400, 413]
    if spec.upload is not None:
        statuses += [413, 415]
    if spec.input_model is not None or spec.path_model is not None or spec.query is not None:
        statuses.append(422)
    return statuses


def _problem_response(description: str, problem_ref: dict) -> dict:
    return {"description": description, "headers": _CORRELATION_HEADER,
            "content": {PROBLEM_JSON: {"schema": problem_ref}}}


def _json(schema: dict, defs: dict) -> dict:
    """A JSON media type: its schema and a whole example (gateway/examples.py)."""
    return {"application/json": {"schema": schema, "example": example_of(schema, defs)}}


def _success_response(spec: RouteSpec, schema: dict | None, defs: dict) -> dict:
    response: dict[str, Any] = {"description": "Succès", "headers": dict(_CORRELATION_HEADER)}
    if spec.media_type != "application/json":
        response["content"] = {spec.media_type: {"schema": {"type": "string",
                                                            "format": "binary"}}}
    elif schema is not None:
        response["content"] = _json(schema, defs)
    elif spec.status == 204:
        response["description"] = "Succès, sans contenu"
    return response


def _responses(spec: RouteSpec, schemas: dict, defs: dict) -> dict:
    problem_ref = schemas["problem"]
    responses = {str(spec.status): _success_response(
        spec, schemas.get((spec.name, spec.status)), defs)}
    for status, (description, _) in spec.responses.items():
        responses[str(status)] = {"description": description, "headers": _CORRELATION_HEADER,
                                  "content": _json(schemas[(spec.name, status)], defs)}
    for status in _problem_statuses(spec):
        responses.setdefault(str(status), _problem_response(TITLES[status], problem_ref))
    responses["default"] = _problem_response("Autre erreur (404, 409, 503…)", problem_ref)
    return responses


def _form_field(schema: dict) -> dict:
    """A form field is absent or text, never null."""
    return {k: v for k, v in _non_null(schema).items() if k != "title"}


_FILE_SCHEMA = {"type": "string", "format": "binary",
                "contentMediaType": "application/octet-stream",
                "description": f"le fichier ({MAX_UPLOAD_BYTES // 2**20} Mio au plus)"}


def _multipart_body(form_schema: dict, defs: dict) -> dict:
    """multipart/form-data: the `file` part (any bytes) beside the form model's fields."""
    form = defs[form_schema["$ref"].rsplit("/", 1)[-1]]
    schema = {
        "type": "object",
        "properties": {FILE_PART: _FILE_SCHEMA, **{
            name: _form_field(field) for name, field in form.get("properties", {}).items()}},
        "required": [FILE_PART, *form.get("required", ())],
        "additionalProperties": False,
    }
    if form.get("description"):
        schema["description"] = form["description"]
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


def _operation(spec: RouteSpec, schemas: dict, defs: dict) -> dict:
    operation: dict[str, Any] = {"operationId": spec.name, "summary": spec.summary,
                                 "tags": list(spec.tags)}
    if spec.description:
        operation["description"] = spec.description
    parameters = _parameters(spec, schemas.get((spec.name, "query")), defs)
    if parameters:
        operation["parameters"] = parameters
    if spec.body is not None:
        operation["requestBody"] = {"required": True,
                                    "content": _json(schemas[(spec.name, "body")], defs)}
    if spec.upload is not None:
        operation["requestBody"] = _multipart_body(schemas[(spec.name, "form")], defs)
    operation["responses"] = _responses(spec, schemas, defs)
    operation["security"] = [{"bearerAuth": []}] if spec.auth else []
    if spec.roles:
        operation["x-roles"] = sorted(role.value for role in spec.roles)
    return operation


@functools.cache
def build(service_cls: type) -> dict:
    """The OpenAPI 3.1 document of a service class's routes (built once per class)."""
    specs = routes_of(service_cls)
    by_key_and_mode, top = TypeAdapter.json_schemas(_schema_inputs(specs),
                                                    ref_template=REF_TEMPLATE)
    schemas = {key: schema for (key, _mode), schema in by_key_and_mode.items()}
    defs = top.get("$defs", {})
    paths: dict[str, dict] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas, defs)
    return {
        "openapi": "3.1.0",
        "info": {"title": API_TITLE, "version": API_VERSION, "description": API_DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "headers": {"CorrelationId": {
                "description": "Identifiant de corrélation de la requête (journaux, support)",
                "schema": {"type": "string"}}},
        },
    }

