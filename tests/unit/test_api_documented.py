"""Issue 17: the API reads without its code. Every operation says what it does beyond its
summary, every property of every schema says what it holds, and every request and answer
shows a whole example in which no value is a mere placeholder (gateway/examples.py composes
them from the contracts' `examples`, enums, defaults, formats and ids)."""
from __future__ import annotations

import json

import pytest

from gateway import openapi
from gateway.examples import example_of
from gateway.service import GatewayService

PLACEHOLDER = "…"


@pytest.fixture(scope="module")
def document() -> dict:
    return openapi.build(GatewayService)


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_is_described(document):
    bare = [name for name, operation in operations(document)
            if len(operation.get("description", "").strip()) < 20]
    assert not bare, f"{len(bare)} operations without a description (the route's docstring): {bare}"


def test_every_property_is_described(document):
    bare = [f"{schema_name}.{name}"
            for schema_name, schema in document["components"]["schemas"].items()
            for name, prop in schema.get("properties", {}).items()
            if not prop.get("description")]
    assert not bare, (f"{len(bare)} properties without a description (Field(description=...)): "
                      f"{bare}")


def test_every_property_has_a_telling_example(document):
    defs = document["components"]["schemas"]
    vague = [f"{schema_name}.{name}" for schema_name, schema in defs.items()
             for name, prop in schema.get("properties", {}).items()
             if example_of(prop, defs, name) == PLACEHOLDER]
    assert not vague, (f"{len(vague)} text properties without an example "
                       f"(Field(examples=[...])): {vague}")


def test_every_request_and_answer_shows_an_example(document):
    missing = []
    for name, operation in operations(document):
        bodies = [operation.get("requestBody", {}).get("content", {})]
        bodies += [response.get("content", {}) for status, response
                   in operation["responses"].items() if status.startswith("2")]
        for content in bodies:
            media = content.get("application/json")
            if media is not None and "example" not in media:
                missing.append(name)
        for parameter in operation.get("parameters", ()):
            if "example" not in parameter and parameter["in"] != "header":
                missing.append(f"{name} {parameter['name']}")
    assert not missing, missing


def test_a_composed_example_is_a_whole_object_of_the_contract(document):
    created = document["paths"]["/dossiers"]["post"]
    example = created["requestBody"]["content"]["application/json"]["example"]
    assert {"number", "organisation_id", "beneficiary_id", "session_start"} <= set(example)
    assert PLACEHOLDER not in json.dumps(example, ensure_ascii=False)
