"""`python -m contracts.export DIR`: JSON Schemas of whole messages and an AsyncAPI 3 document."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from contracts.envelope import new_envelope
from contracts.events import REGISTRY, CertifiedV1, MonthHours, Party

ROOT = Path(__file__).resolve().parents[2]
# Other tests register throw-away events in this process; the export (a fresh process) knows
# only the contracts' own.
CONTRACT_EVENTS = [s for s in REGISTRY.values() if s.model.__module__.startswith("contracts.")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("contracts")
    subprocess.run([sys.executable, "-m", "contracts.export", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    return out


def certified_envelope() -> dict:
    beneficiary = Party(id="b1", name="DUBOIS Michelle", email="michelle.dubois@example.org")
    payload = CertifiedV1(
        certificate_id="c1", dossier_id="d1", dossier_number="20X000703", funder_id="f1",
        organisation_id="o1", organisation_name="Formations du Rhin",
        beneficiary=beneficiary, employer=None, training_title="CAP Boulanger",
        session_start=date(2026, 1, 5), session_end=date(2026, 9, 30), month="2026-02",
        hours=MonthHours(training=Decimal("147.00"), internship=Decimal("0"),
                         absence=Decimal("3.50")),
        method=1, certified_by="u1", certified_at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    envelope = new_envelope("certification", "certified", 1, payload, subject="d1/2026-02")
    return json.loads(envelope.model_dump_json())


def validator(exported: Path, filename: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((exported / filename).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_one_schema_per_registered_event(exported):
    names = sorted(p.name for p in exported.glob("*.schema.json"))
    expected = sorted(f"{s.service}.{s.name}.v{s.version}.schema.json" for s in CONTRACT_EVENTS)
    assert names == expected


def test_certified_envelope_validates_against_exported_schema(exported):
    check = validator(exported, "certification.certified.v1.schema.json")
    check.validate(certified_envelope())


@pytest.mark.parametrize("change", [
    lambda m: m["data"].pop("dossier_id"),
    lambda m: m.update(type="fr.jalon.payments.month_locked"),
    lambda m: m.update(schemaversion=2),
    lambda m: m["data"].update(unexpected="field"),
    lambda m: m.pop("id"),
])
def test_schema_rejects_what_subscribers_must_not_accept(exported, change):
    check = validator(exported, "certification.certified.v1.schema.json")
    message = certified_envelope()
    change(message)
    assert list(check.iter_errors(message))


def test_asyncapi_lists_every_event_channel(exported):
    doc = json.loads((exported / "asyncapi.json").read_text())
    assert doc["asyncapi"].startswith("3.")
    for spec in CONTRACT_EVENTS:
        channel = doc["channels"][f"{spec.service}.{spec.name}"]
        assert channel["address"] == spec.name
        assert channel["bindings"]["amqp"]["exchange"]["name"] == f"{spec.service}.events"
        assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"
        [message_ref] = channel["messages"].values()
        message_id = message_ref["$ref"].rsplit("/", 1)[-1]
        payload_file = doc["components"]["messages"][message_id]["payload"]["$ref"]
        assert (exported / payload_file).is_file()
    sent = {op["channel"]["$ref"] for op in doc["operations"].values() if op["action"] == "send"}
    assert sent == {f"#/channels/{key}" for key in doc["channels"]}
