"""Two versions of one event live side by side: registered, published and read each with its
own model (contracts/events.py says how the versions travel). No broker, no database."""
from __future__ import annotations

import pytest

from contracts.envelope import new_envelope
from contracts.events import Payload, register, spec_for, spec_of
from servicekit.events import Subscription, Unprocessable, parse_event
from tests.support.fakes import FakeDatabase

SERVICE = "kit_versions_unit"


class ChimedV1(Payload):
    n: int


class ChimedV2(Payload):
    n: int
    tone: str


V1 = register(SERVICE, "chimed", 1, ChimedV1)
V2 = register(SERVICE, "chimed", 2, ChimedV2)


def envelope_of(data: Payload) -> dict:
    version = spec_of(SERVICE, "chimed", data).version
    return new_envelope(SERVICE, "chimed", version, data).model_dump(mode="json")


def test_both_versions_are_registered_each_with_its_model_and_routing_key():
    assert spec_for(SERVICE, "chimed") is V1 and spec_for(SERVICE, "chimed", 2) is V2
    assert (V1.model, V2.model) == (ChimedV1, ChimedV2)
    assert (V1.routing_key, V2.routing_key) == ("chimed", "chimed.v2")


def test_a_version_is_never_replaced():
    with pytest.raises(ValueError, match="already registered"):
        register(SERVICE, "chimed", 2, ChimedV1)
    assert spec_for(SERVICE, "chimed", 2).model is ChimedV2


def test_the_payload_class_says_which_version_is_published():
    assert spec_of(SERVICE, "chimed", ChimedV1(n=1)) is V1
    assert spec_of(SERVICE, "chimed", ChimedV2(n=1, tone="low")) is V2
    db = FakeDatabase(SERVICE)
    with db.unit_of_work() as uow:
        uow.publish("chimed", ChimedV1(n=1))
        uow.publish("chimed", ChimedV2(n=1, tone="low"))
    assert db.events("chimed") == [ChimedV1(n=1), ChimedV2(n=1, tone="low")]
    assert [envelope_of(e.data)["schemaversion"] for e in db.published] == [1, 2]


def test_a_payload_of_no_registered_version_is_refused():
    class ChimedV3(Payload):
        n: int

    with pytest.raises(TypeError, match="chimed expects ChimedV1 or ChimedV2, not ChimedV3"):
        spec_of(SERVICE, "chimed", ChimedV3(n=1))


@pytest.mark.parametrize("version, data", [(1, ChimedV1(n=1)), (2, ChimedV2(n=1, tone="low"))])
def test_each_consumer_reads_its_version_with_its_model(version, data):
    event = parse_event(SERVICE, "chimed", envelope_of(data), version)
    assert event.data == data and type(event.data) is type(data)


@pytest.mark.parametrize("reads, data", [(1, ChimedV2(n=1, tone="low")), (2, ChimedV1(n=1))])
def test_a_consumer_never_parses_another_version(reads, data):
    with pytest.raises(Unprocessable, match="unsupported event"):
        parse_event(SERVICE, "chimed", envelope_of(data), reads)


def test_each_consumer_queue_is_bound_to_the_routing_key_of_its_version():
    assert Subscription(SERVICE, "chimed").event_type == "chimed"
    assert Subscription(SERVICE, "chimed", version=2).event_type == "chimed.v2"
