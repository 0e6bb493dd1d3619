"""Examples of the OpenAPI document, composed from the schemas themselves (issue 17).

A property's own `examples` (pydantic `Field(examples=[...])`) or a model's (`json_schema_extra
= {"examples": [...]}`) come first; otherwise its enum's first value, its default, or a value
its type and format make plausible. So each request and answer shows a whole example that stays
true to the contracts as they change, and the writers of a contract give examples only where a
plausible value says too little (a dossier number, a SIRET).
"""
from __future__ import annotations

from typing import Any

_BY_FORMAT = {"date": "2026-10-01", "date-time": "2026-10-02T09:30:00Z",
              "email": "claire.martin@exemple.fr", "uuid": "7d9f1c2e-4b5a-4c3d-9e8f-1a2b3c4d5e6f",
              "uri": "https://jalon.exemple.fr/", "binary": "<fichier>",
              "decimal": "70.00", "time": "09:30:00"}
_ID = "9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"
_MAX_DEPTH = 8


def example_of(schema: dict, defs: dict, name: str = "", depth: int = 0) -> Any:
    """An example value of `schema` (a property's `name` helps: an `..._id` is an id)."""
    if depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        return example_of({**target, **{k: v for k, v in schema.items() if k != "$ref"}},
                          defs, name, depth + 1)
    for key in ("examples", "example"):
        if key in schema:
            return schema[key][0] if key == "examples" else schema[key]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("default") is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = [s for s in schema.get(key, ()) if s.get("type") != "null"]
        if branches:
            return example_of(branches[0], defs, name, depth + 1)
    return _by_type(schema, defs, name, depth)


def _by_type(schema: dict, defs: dict, name: str, depth: int) -> Any:
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {key: example_of(value, defs, key, depth + 1)
                for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        item = example_of(schema.get("items", {}), defs, name, depth + 1)
        return [] if item is None else [item]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return schema.get("minimum", 1) or 1
    if kind == "string":
        if schema.get("format") in _BY_FORMAT:
            return _BY_FORMAT[schema["format"]]
        if name == "id" or name.endswith("_id"):
            return _ID
        return "…"
    return None
