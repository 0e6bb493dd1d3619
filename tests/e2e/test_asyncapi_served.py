"""The stack's gateway serves /asyncapi.json, valid AsyncAPI 3.0, naming the stack's broker
(without its credentials), and /asyncapi, its readable page."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import requests

from contracts.public import PUBLIC_EVENTS

pytestmark = pytest.mark.e2e

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "asyncapi-3.0.0.json"


def test_the_served_document_is_valid_and_names_the_stacks_broker(stack, stack_amqp_uri):
    response = requests.get(stack.base_url + "/asyncapi.json", timeout=30)
    assert response.status_code == 200
    document = response.json()
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [error.message for error in validator.iter_errors(document)] == []
    broker = urlsplit(stack_amqp_uri)
    assert document["servers"]["rabbitmq"]["host"] == f"{broker.hostname}:{broker.port}"
    assert broker.password not in response.text
    assert set(document["channels"]) == {spec.key for spec in PUBLIC_EVENTS.values()}


def test_the_readable_page(stack):
    response = requests.get(stack.base_url + "/asyncapi", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(
        "text/html")
    assert "certification.month_certified.v1" in response.text
