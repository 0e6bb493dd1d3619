"""The gateway's liveness and readiness: the broker only, never the services."""
from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError as KombuOperationalError

from gateway import health
from gateway.errors import HttpProblem, problem_for
from gateway.routes import routes_of
from gateway.service import GatewayService


class FakePublisher:
    def __init__(self, error: Exception | None = None):
        self.error = error
        self.published: list[tuple[dict, dict]] = []

    def publish(self, payload, **options):
        if self.error:
            raise self.error
        self.published.append((payload, options))


def broker_check(publisher: FakePublisher) -> health.BrokerCheck:
    check = health.BrokerCheck()
    check.publisher = publisher
    return check


def test_ready_when_the_broker_confirms_a_message_nobody_consumes():
    publisher = FakePublisher()
    assert health.readiness(broker_check(publisher).reachable) == {"status": "ok"}
    [(payload, options)] = publisher.published
    assert payload == {} and options["exchange"] == ""
    assert options["routing_key"] == health.READINESS_ROUTING_KEY
    assert options["confirm_timeout"] == health.PROBE_TIMEOUT_SECONDS


@pytest.mark.parametrize("error", [KombuOperationalError("[Errno 111] Connection refused"),
                                   ConnectionResetError(104, "reset"), TimeoutError()])
def test_not_ready_without_the_broker_is_503_broker_unavailable(error):
    with pytest.raises(HttpProblem) as raised:
        health.readiness(broker_check(FakePublisher(error)).reachable)
    body, headers = problem_for(raised.value, "cid")
    assert (body["status"], body["code"]) == (503, "broker_unavailable")
    assert headers["Retry-After"] == "5"


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/health"])
def test_the_probes_need_no_session(path):
    [spec] = [spec for spec in routes_of(GatewayService) if spec.path == path]
    assert (spec.method, spec.auth) == ("GET", False)
