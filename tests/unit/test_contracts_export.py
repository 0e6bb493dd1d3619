"""`python -m contracts.export DIR`: JSON Schemas of the public events' whole messages and the
AsyncAPI 3 document (the one /asyncapi.json serves)."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from contracts.envelope import new_envelope
from contracts.export import asyncapi_document, broker_address
from contracts.public import PUBLIC_EVENTS, CertifiedHours, MonthCertifiedV1

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_SCHEMA = ROOT / "tests" / "schemas" / "asyncapi-3.0.0.json"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("contracts")
    subprocess.run([sys.executable, "-m", "contracts.export", str(out), "--broker",
                    "amqp://jalon:s3cret@broker.example.org:5672/jalon"], cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    return out


def month_certified_envelope() -> dict:
    payload = MonthCertifiedV1(
        dossier_id="d1", dossier_number="20X000703", organisation_id="o1", certificate_id="c1",
        month="2026-02", hours=CertifiedHours(training=Decimal("147.00"),
                                              internship=Decimal("0"), absence=Decimal("3.50")),
        method=1, certified_at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    envelope = new_envelope("certification", "month_certified", 1, payload,
                            subject="d1/2026-02")
    return json.loads(envelope.model_dump_json())


def validator(exported: Path, filename: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((exported / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def asyncapi_errors(document: dict) -> list[str]:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    return [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(document)]


def test_one_schema_per_public_event_version(exported):
    names = sorted(p.name for p in exported.glob("*.schema.json"))
    assert names == sorted(f"{spec.key}.schema.json" for spec in PUBLIC_EVENTS.values())


def test_a_public_envelope_validates_against_its_exported_schema(exported):
    check = validator(exported, "certification.month_certified.v1.schema.json")
    check.validate(month_certified_envelope())


@pytest.mark.parametrize("change", [
    lambda m: m["data"].pop("dossier_id"),
    lambda m: m.update(type="fr.jalon.certification.hours_validated"),
    lambda m: m.update(schemaversion=2),
    lambda m: m["data"].update(beneficiary_email="michelle.dubois@example.org"),
    lambda m: m.pop("id"),
])
def test_schema_rejects_what_subscribers_must_not_accept(exported, change):
    check = validator(exported, "certification.month_certified.v1.schema.json")
    message = month_certified_envelope()
    change(message)
    assert list(check.iter_errors(message))


def test_the_exported_asyncapi_is_valid_and_names_the_broker_without_credentials(exported):
    text = (exported / "asyncapi.json").read_text()
    document = json.loads(text)
    assert asyncapi_errors(document) == []
    assert document["servers"]["rabbitmq"]["host"] == "broker.example.org:5672"
    assert "s3cret" not in text and "jalon:" not in text


def test_every_public_event_version_is_a_channel_a_subscriber_receives_on():
    document = asyncapi_document("amqps://broker.example.org:5671/jalon-prod")
    assert document["asyncapi"] == "3.0.0"
    for spec in PUBLIC_EVENTS.values():
        channel = document["channels"][spec.key]
        assert channel["address"] == f"{{funder_id}}.{spec.key}"
        assert set(channel["parameters"]) == {"funder_id"}
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert (exchange["name"], exchange["type"], exchange["vhost"]) == (
            "jalon.integration", "topic", "jalon-prod")
    actions = {op["action"] for op in document["operations"].values()}
    assert actions == {"receive"}
    received = {op["channel"]["$ref"] for op in document["operations"].values()}
    assert received == {f"#/channels/{key}" for key in document["channels"]}


def test_messages_carry_the_envelope_with_the_public_payload_described_field_by_field():
    document = asyncapi_document("amqp://127.0.0.1:5672/%2F")
    schemas = document["components"]["schemas"]
    message = document["components"]["messages"]["certification.month_certified.v1"]
    envelope = schemas[message["payload"]["$ref"].rsplit("/", 1)[-1]]
    assert envelope["properties"]["type"]["const"] == "fr.jalon.certification.month_certified"
    assert "once" in envelope["properties"]["id"]["description"]
    payload = schemas[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[-1]]
    for name in ("MonthCertifiedV1", "CertifiedHours", "PaymentIssuedV1", "PaidDossier"):
        for field, schema in schemas[name]["properties"].items():
            assert schema.get("description"), f"{name}.{field}"
    assert payload is schemas["MonthCertifiedV1"]
    assert document["servers"]["rabbitmq"]["description"].endswith("virtual host `/`.")


def test_without_a_broker_the_document_names_no_server_and_is_still_valid():
    document = asyncapi_document()
    assert "servers" not in document and asyncapi_errors(document) == []


def test_the_official_schema_does_refuse_a_wrong_document():
    document = asyncapi_document("amqp://127.0.0.1:5672/")
    next(iter(document["operations"].values()))["action"] = "publish"  # AsyncAPI 2's word
    assert asyncapi_errors(document)


@pytest.mark.parametrize("url, address", [
    ("amqp://guest:guest@127.0.0.1:5672/", ("amqp", "127.0.0.1:5672", "/")),
    ("amqp://u:p@rabbitmq/%2F", ("amqp", "rabbitmq", "/")),
    ("amqps://broker.example.org:5671/jalon%2Dprod", ("amqps", "broker.example.org:5671",
                                                      "jalon-prod")),
])
def test_broker_address(url, address):
    assert broker_address(url) == address
