"""Export the event contracts for other funders' systems: `python -m contracts.export DIR`.

Writes, for every registered event, `<service>.<event>.v<version>.schema.json`: a JSON Schema
(2020-12) of the whole message as it travels (the CloudEvents envelope with `type`, `source`
and `schemaversion` pinned, and `data` the payload's schema); and `asyncapi.json`, an AsyncAPI
3.0 document with one channel per event version (topic exchange `<service>.events`, routing
key the event name for version 1, `<event>.v<version>` for later ones: each version has its
own) and the operations Jalon performs on them.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from contracts.envelope import Envelope, cloud_type
from contracts.events import REGISTRY, EventSpec

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_VERSION = "3.0.0"


def event_key(spec: EventSpec) -> str:
    return f"{spec.service}.{spec.name}.v{spec.version}"


def schema_filename(spec: EventSpec) -> str:
    return f"{event_key(spec)}.schema.json"


def exchange_name(service: str) -> str:
    """Nameko's event exchange of a service (nameko.events.get_event_exchange)."""
    return f"{service}.events"


def envelope_schema(spec: EventSpec) -> dict:
    """The envelope's schema with this event's identity pinned and its payload as `data`."""
    payload = spec.model.model_json_schema(ref_template="#/$defs/{model}", mode="serialization")
    defs = payload.pop("$defs", {})
    defs[spec.model.__name__] = payload
    schema = Envelope.model_json_schema(mode="serialization")
    schema.pop("$defs", None)
    props = schema["properties"]
    props["type"] = {**props["type"], "const": cloud_type(spec.service, spec.name)}
    props["source"] = {**props["source"], "const": f"jalon/{spec.service}"}
    props["schemaversion"] = {**props["schemaversion"], "const": spec.version}
    props["data"] = {"$ref": f"#/$defs/{spec.model.__name__}"}
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:jalon:events:{event_key(spec)}",
        **schema,
        "title": f"{cloud_type(spec.service, spec.name)} v{spec.version}",
        "description": (spec.model.__doc__ or "").strip(),
        "$defs": defs,
    }


def asyncapi_document(specs: list[EventSpec]) -> dict:
    channels, operations, messages = {}, {}, {}
    for spec in specs:
        key = event_key(spec)
        channel_id = f"{spec.service}.{spec.routing_key}"
        messages[key] = {
            "name": key,
            "title": cloud_type(spec.service, spec.name),
            "summary": (spec.model.__doc__ or "").strip(),
            "contentType": "application/json",
            # The file written beside this one: subscribers validate whole messages with it.
            "payload": {"$ref": schema_filename(spec)},
        }
        channels[channel_id] = {
            "address": spec.routing_key,
            "description": f"Routing key `{spec.routing_key}` on the topic exchange "
                           f"`{exchange_name(spec.service)}`.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": exchange_name(spec.service), "type": "topic",
                             "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.3.0",
            }},
        }
        operations[f"publish.{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"{spec.service} publishes {spec.name} (outbox, publisher confirms).",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{key}"}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Jalon events",
            "version": "1",
            "description": "Events Jalon publishes on RabbitMQ. Every message is a CloudEvents "
                           "1.0 envelope (structured JSON); bind a queue of yours to the "
                           "exchange with the routing key. Delivery is at least once: "
                           "deduplicate on the envelope's `id`.",
        },
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {"host": "localhost:5672", "protocol": "amqp",
                                 "description": "The deployment's broker."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    specs = sorted(REGISTRY.values(), key=event_key)
    written = []
    for spec in specs:
        written.append(_write(directory / schema_filename(spec), envelope_schema(spec)))
    written.append(_write(directory / "asyncapi.json", asyncapi_document(specs)))
    return written


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    for path in export(args.directory):
        print(path)  # CLI output: the files written


if __name__ == "__main__":
    main()
