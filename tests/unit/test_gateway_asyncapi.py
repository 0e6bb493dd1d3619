"""/asyncapi.json (AsyncAPI 3.0 of the public events, the broker from settings) and /asyncapi,
its readable page."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from contracts.public import PUBLIC_EVENTS
from gateway import asyncapi, pages
from servicekit import config

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "asyncapi-3.0.0.json"


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("JALON_AMQP_URI", "amqp://jalon:s3cret@rabbitmq:5672/jalon-prod")
    monkeypatch.delenv("JALON_AMQP_PUBLIC_URL", raising=False)
    return config.load()


def test_the_document_is_valid_asyncapi_3(settings):
    document = asyncapi.build(settings)
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [error.message for error in validator.iter_errors(document)] == []
    assert len(document["channels"]) == len(PUBLIC_EVENTS)


def test_the_server_is_the_services_broker_without_its_credentials(settings):
    document = asyncapi.build(settings)
    assert document["servers"]["rabbitmq"]["host"] == "rabbitmq:5672"
    assert "jalon-prod" in document["servers"]["rabbitmq"]["description"]
    assert "s3cret" not in json.dumps(document)


def test_the_public_url_setting_wins(monkeypatch, settings):
    monkeypatch.setenv("JALON_AMQP_PUBLIC_URL", "amqps://user:pw@broker.example.org:5671/jalon")
    document = asyncapi.build(config.load())
    server = document["servers"]["rabbitmq"]
    assert (server["host"], server["protocol"]) == ("broker.example.org:5671", "amqps")
    assert "pw@" not in json.dumps(document)
    exchange = document["channels"]["payments.payment_issued.v1"]["bindings"]["amqp"]["exchange"]
    assert exchange["vhost"] == "jalon"


def test_public_amqp_url_drops_the_credentials(settings):
    assert settings.public_amqp_url == "amqp://rabbitmq:5672/jalon-prod"


def page_html(settings) -> str:
    response = pages.asyncapi_page(asyncapi.readable(asyncapi.build(settings)),
                                   asyncapi.broker(settings))
    assert (response.status_code, response.mimetype) == (200, "text/html")
    return response.get_data(as_text=True)


def test_the_page_lists_every_event_with_its_fields_and_their_descriptions(settings):
    html = page_html(settings)
    assert '<html lang="fr">' in html and "Événements publics" in html
    for spec in PUBLIC_EVENTS.values():
        assert f'id="{spec.key}"' in html
    assert "<code>data.hours.training</code>" in html  # nested objects, flattened
    assert "<code>data.dossiers[].months</code>" in html
    assert "hours of presence in training" in html
    assert "<code>id</code>" in html and "handles each id once" in html
    assert "<code>amqp://rabbitmq:5672</code>" in html and "<code>jalon-prod</code>" in html


def test_every_field_on_the_page_is_described(settings):
    events = asyncapi.readable(asyncapi.build(settings))
    fields = events["envelope"] + [f for c in events["channels"] for f in c["fields"]]
    assert [f["name"] for f in fields if not f["description"]] == []


def test_the_page_is_offline_and_leaks_no_credentials(settings):
    html = page_html(settings)
    assert "http:" not in html and "https:" not in html and '="//' not in html
    assert "<script" not in html and "s3cret" not in html
