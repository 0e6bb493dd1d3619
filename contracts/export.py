"""The public event contracts, written out for other funders' systems.

    python -m contracts.export DIR [--broker amqps://broker.example.org:5671/jalon]

Writes, for every public event version (contracts/public.py), a JSON Schema (2020-12) of the
whole message as it travels, `<service>.<event>.v<version>.schema.json`: the CloudEvents
envelope with `type`, `source` and `schemaversion` pinned and `data` the payload's schema; and
`asyncapi.json`, the AsyncAPI 3.0 document the gateway serves at /asyncapi.json: one channel
per event version on the topic exchange `jalon.integration`, and what a funder's subscriber
receives there. `--broker` names the server in it (without it, the document names none).

The internal events (contracts/events.py) are not exported: they are Jalon's own, free to
change; other systems subscribe to the public ones only.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

from contracts.envelope import Envelope, cloud_type
from contracts.public import INTEGRATION_EXCHANGE, PUBLIC_EVENTS, PublicSpec

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
SERVER = "rabbitmq"

# What a subscriber needs to know of each envelope attribute (contracts/envelope.py).
ENVELOPE_FIELDS = {
    "specversion": "the CloudEvents version: 1.0",
    "id": "the event's unique id: a redelivered or replayed event has the same id, so a "
          "subscriber handles each id once",
    "source": "jalon/<service>, the service the event comes from",
    "type": "fr.jalon.<service>.<event>: the event, whatever its version",
    "subject": "what the event is about in Jalon (e.g. a dossier and its month)",
    "time": "when the event occurred in Jalon (UTC)",
    "datacontenttype": "the type of `data`: application/json",
    "schemaversion": "the version of `data`'s schema, as in the routing key's `v<N>`",
    "correlationid": "the request in Jalon that caused the event (quote it to Jalon's support)",
}


def public_specs() -> list[PublicSpec]:
    return sorted(PUBLIC_EVENTS.values(), key=lambda spec: spec.key)


def schema_filename(spec: PublicSpec) -> str:
    return f"{spec.key}.schema.json"


def message_schema(spec: PublicSpec, ref_template: str) -> tuple[dict, dict]:
    """The whole message's schema (the envelope with this event's identity pinned and its
    payload as `data`, referred to by `ref_template`), and the schemas it refers to."""
    payload = spec.model.model_json_schema(ref_template=ref_template, mode="serialization")
    referred = payload.pop("$defs", {})
    referred[spec.model.__name__] = payload
    schema = Envelope.model_json_schema(mode="serialization")
    schema.pop("$defs", None)
    props = schema["properties"]
    for name, description in ENVELOPE_FIELDS.items():
        props[name] = {**props[name], "description": description}
    props["type"] = {**props["type"], "const": cloud_type(spec.service, spec.name)}
    props["source"] = {**props["source"], "const": f"jalon/{spec.service}"}
    props["schemaversion"] = {**props["schemaversion"], "const": spec.version}
    props["data"] = {"$ref": ref_template.format(model=spec.model.__name__)}
    schema["required"] = list(props)  # every attribute travels, `null` when it has no value
    schema.update(title=f"{cloud_type(spec.service, spec.name)} v{spec.version}",
                  description=(spec.model.__doc__ or "").strip())
    return schema, referred


def envelope_schema(spec: PublicSpec) -> dict:
    """The standalone JSON Schema of one event version's messages."""
    schema, referred = message_schema(spec, "#/$defs/{model}")
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": f"urn:jalon:public-events:{spec.key}",
            **schema, "$defs": referred}


def broker_address(url: str) -> tuple[str, str, str]:
    """(protocol, host[:port], vhost) of an AMQP URI; its credentials are left out."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.port:
        host += f":{parts.port}"
    return parts.scheme or "amqp", host, unquote(parts.path[1:]) or "/"


def asyncapi_document(broker_url: str | None = None) -> dict:
    """The AsyncAPI 3.0 document of the public events, naming the broker of `broker_url`."""
    vhost = broker_address(broker_url)[2] if broker_url else None
    channels, operations, messages, schemas = {}, {}, {}, {}
    for spec in public_specs():
        envelope, referred = message_schema(spec, "#/components/schemas/{model}")
        schemas.update(referred)
        schemas[f"{spec.model.__name__}Message"] = envelope
        messages[spec.key] = _message(spec, f"#/components/schemas/{spec.model.__name__}Message")
        channels[spec.key] = _channel(spec, vhost, with_server=broker_url is not None)
        operations[f"receive.{spec.key}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{spec.key}"},
            "summary": f"Receive {spec.key} on your funder's queue (manual acks).",
            "messages": [{"$ref": f"#/channels/{spec.key}/messages/{spec.key}"}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        }
    document = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Jalon public events",
            "version": "1",
            "description": (
                "The events other funders' systems may subscribe to. Each travels on the topic "
                f"exchange `{INTEGRATION_EXCHANGE}` under the routing key "
                "`<funder_id>.<service>.<event>.v<version>`, as a CloudEvents 1.0 envelope "
                "(structured JSON). Your broker user reads your funder's queues "
                "`integration.<funder_id>.live` (bound to `<funder_id>.#`) and "
                "`integration.<funder_id>.replay` only. Delivery is at least once: handle each "
                "envelope `id` once. A version changes only by a new channel beside the old."),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
    if broker_url:
        protocol, host, vhost = broker_address(broker_url)
        document["servers"] = {SERVER: {
            "host": host, "protocol": protocol, "protocolVersion": "0.9.1",
            "description": f"Jalon's RabbitMQ broker, virtual host `{vhost}`."}}
    return document


def _message(spec: PublicSpec, payload_ref: str) -> dict:
    return {
        "name": spec.key,
        "title": cloud_type(spec.service, spec.name),
        "summary": (spec.model.__doc__ or "").strip().split("\n\n")[0],
        "contentType": "application/json",
        "payload": {"$ref": payload_ref},
        "bindings": {"amqp": {"messageType": cloud_type(spec.service, spec.name),
                              "bindingVersion": AMQP_BINDING_VERSION}},
    }


def _channel(spec: PublicSpec, vhost: str | None, with_server: bool) -> dict:
    exchange = {"name": INTEGRATION_EXCHANGE, "type": "topic", "durable": True,
                "autoDelete": False}
    if vhost:
        exchange["vhost"] = vhost
    channel = {
        "address": f"{{funder_id}}.{spec.key}",
        "title": f"{spec.key} (version {spec.version})",
        "description": f"Routing key `<funder_id>.{spec.key}` on the topic exchange "
                       f"`{INTEGRATION_EXCHANGE}`.",
        "parameters": {"funder_id": {
            "description": "Jalon's id of the funder the event belongs to: yours."}},
        "messages": {spec.key: {"$ref": f"#/components/messages/{spec.key}"}},
        "bindings": {"amqp": {"is": "routingKey", "exchange": exchange,
                              "bindingVersion": AMQP_BINDING_VERSION}},
    }
    if with_server:
        channel["servers"] = [{"$ref": f"#/servers/{SERVER}"}]
    return channel


def export(directory: Path, broker_url: str | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = [_write(directory / schema_filename(spec), envelope_schema(spec))
               for spec in public_specs()]
    written.append(_write(directory / "asyncapi.json", asyncapi_document(broker_url)))
    return written


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--broker", help="the broker's public AMQP URI (credentials ignored)")
    args = parser.parse_args()
    for path in export(args.directory, args.broker):
        print(path)  # CLI output: the files written


if __name__ == "__main__":
    main()
