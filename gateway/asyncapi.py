"""/asyncapi.json and its readable page /asyncapi (issue 17): the contracts of the public events
(contracts.export), naming the deployment's broker as other funders' systems reach it."""
from __future__ import annotations

import json

from contracts.export import asyncapi_document, broker_address
from servicekit.config import Settings


def build(settings: Settings) -> dict:
    """The AsyncAPI 3.0 document; the broker's address comes without its credentials."""
    return asyncapi_document(settings.public_amqp_url)


def broker(settings: Settings) -> dict:
    protocol, host, vhost = broker_address(settings.public_amqp_url)
    return {"protocol": protocol, "host": host, "vhost": vhost}


def readable(document: dict) -> dict:
    """What the page shows: the envelope's fields once, then each channel with its message's
    `data` fields (nested objects flattened as `hours.training`, lists as `dossiers[].months`)."""
    channels = []
    envelope = {}
    for key, channel in document["channels"].items():
        [message_ref] = channel["messages"].values()
        message = _resolve(document, message_ref["$ref"])
        envelope = _resolve(document, message["payload"]["$ref"])
        payload = _resolve(document, envelope["properties"]["data"]["$ref"])
        channels.append({
            "key": key, "address": channel["address"], "type": message["title"],
            "summary": message["summary"], "fields": _fields(document, payload)})
    common = [field for field in _fields(document, envelope, nested=False)
              if field["name"] not in ("type", "source", "schemaversion", "data")]
    return {"envelope": common, "channels": channels}


def _resolve(document: dict, ref: str) -> dict:
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _fields(document: dict, schema: dict, prefix: str = "", nested: bool = True) -> list[dict]:
    rows = []
    required = set(schema.get("required", ()))
    for name, field in schema.get("properties", {}).items():
        rows.append({"name": prefix + name, "type": _type_of(field),
                     "required": name in required, "description": field.get("description", "")})
        inner = _object_of(document, field) if nested else None
        if inner is not None:
            suffix = "[]." if field.get("type") == "array" else "."
            rows.extend(_fields(document, inner, prefix + name + suffix))
    return rows


def _object_of(document: dict, field: dict) -> dict | None:
    """The schema of the object a field holds (directly or as a list's items), if any."""
    ref = field.get("$ref") or field.get("items", {}).get("$ref")
    return _resolve(document, ref) if ref else None


def _type_of(field: dict) -> str:
    if "const" in field:
        return json.dumps(field["const"], ensure_ascii=False)
    if "enum" in field:
        return " | ".join(json.dumps(value, ensure_ascii=False) for value in field["enum"])
    if "anyOf" in field:
        return " ou ".join(_type_of(branch) for branch in field["anyOf"])
    if "$ref" in field:
        return "objet"
    if field.get("type") == "array":
        return f"liste de {_type_of(field.get('items', {}))}"
    return field.get("format") or field.get("type", "")
