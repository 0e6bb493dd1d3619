"""The kit's pure parts: event parsing, retry policy, errors, URLs, correlation ids."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from contracts.envelope import new_envelope
from contracts.events import Payload, register
from servicekit.context import correlation_id
from servicekit.db import driver_url
from contracts.common.errors import Conflict, InvalidInput, ServiceUnavailable
from servicekit.events import Unprocessable, is_retryable, parse_event


class TickedV1(Payload):
    n: int


register("kit_unit", "ticked", 1, TickedV1)


def body(**changes) -> dict:
    return {**new_envelope("kit_unit", "ticked", 1, TickedV1(n=1)).model_dump(mode="json"),
            **changes}


def test_parse_event_gives_the_typed_payload():
    event = parse_event("kit_unit", "ticked", body())
    assert event.data == TickedV1(n=1) and event.id == event.envelope.id


@pytest.mark.parametrize("broken, reason", [
    ({"data": {"n": "many"}}, "invalid payload"),
    ({"data": {"n": 1, "extra": True}}, "invalid payload"),
    ({"schemaversion": 2}, "unsupported event"),
    ({"type": "fr.jalon.kit_unit.other"}, "unsupported event"),
    ({"specversion": "0.3"}, "invalid envelope"),
])
def test_parse_event_refuses_what_can_never_succeed(broken, reason):
    with pytest.raises(Unprocessable, match=reason):
        parse_event("kit_unit", "ticked", body(**broken))


def test_parse_event_refuses_an_event_without_contract():
    with pytest.raises(Unprocessable, match="no contract"):
        parse_event("kit_unit", "unheard_of", body())


def test_only_technical_failures_are_retried():
    assert is_retryable(RuntimeError("database down"))
    assert is_retryable(ServiceUnavailable("rpc_timeout", "Le service ne répond pas."))
    assert not is_retryable(Conflict("already_certified", "Déjà certifié."))
    assert not is_retryable(InvalidInput("invalid_payload", "Données invalides."))


def test_errors_rebuild_from_their_args():
    # Nameko rebuilds a remote error as cls(*exc.args): nothing may be lost on the way.
    original = Conflict("month_locked", "Le mois est verrouillé.", {"month": "2026-02"})
    copy = Conflict(*original.args)
    assert (copy.code, copy.message, copy.details) == ("month_locked", "Le mois est verrouillé.",
                                                       {"month": "2026-02"})
    assert str(copy) == "month_locked: Le mois est verrouillé."


@pytest.mark.parametrize("url, expected", [
    ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
    ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
    ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_driver_url(url, expected):
    assert driver_url(url) == expected


def worker(data=None, headers=None):
    request = SimpleNamespace(headers=headers) if headers is not None else None
    return SimpleNamespace(data=data or {}, args=(request,) if request else ())


def test_correlation_id_kept_from_the_caller():
    ctx = worker({"correlation_id": "abc"})
    assert correlation_id(ctx) == "abc"


def test_correlation_id_from_a_sane_http_header_only():
    assert correlation_id(worker(headers={"X-Correlation-Id": "req-123"})) == "req-123"
    fresh = correlation_id(worker(headers={"X-Correlation-Id": "bad id; drop table"}))
    assert fresh != "bad id; drop table" and len(fresh) == 32


def test_correlation_id_is_chosen_once_per_worker():
    ctx = worker()
    first = correlation_id(ctx)
    assert correlation_id(ctx) == first == ctx.data["correlation_id"]
