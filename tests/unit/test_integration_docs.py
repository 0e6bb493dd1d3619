"""docs/integration.md, for other funders' developers, describes every public event version
and every field of its payload, as the contracts say them."""
from __future__ import annotations

from pathlib import Path

import pytest

from contracts.export import asyncapi_document
from gateway import asyncapi

DOC = (Path(__file__).resolve().parents[2] / "docs" / "integration.md").read_text()
EVENTS = asyncapi.readable(asyncapi_document())


@pytest.mark.parametrize("channel", EVENTS["channels"], ids=lambda c: c["key"])
def test_each_event_and_field_is_documented(channel):
    section = DOC.split(f"### `{channel['key']}`\n", 1)[1].split("\n### ", 1)[0]
    assert f"`<funder_id>.{channel['key']}`" in section
    for field in channel["fields"]:
        assert f"| `{field['name']}` |" in section, field["name"]
        assert f"| {field['description']} |" in section, field["name"]


def test_each_envelope_attribute_is_documented():
    for field in EVENTS["envelope"]:
        assert f"| `{field['name']}` |" in DOC and field["description"] in DOC, field["name"]
