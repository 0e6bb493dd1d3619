"""RPC between services: timeouts, unknown services, and business errors that keep their class."""
from __future__ import annotations

import time

import eventlet
import pytest
from nameko.rpc import rpc

from contracts.common.errors import Conflict, NotFound, ServiceUnavailable
from servicekit.rpc import RpcClient

SLOW_SECONDS = 3
TIMEOUT = 1


class Callee:
    name = "kit_rpc_callee"

    @rpc
    def slow(self):
        eventlet.sleep(SLOW_SECONDS)
        return "too late"

    @rpc
    def echo(self, value):
        return value

    @rpc
    def refuse(self):
        raise Conflict("already_certified", "Ce mois est déjà certifié.", {"month": "2026-02"})


class Caller:
    name = "kit_rpc_caller"
    callee = RpcClient("kit_rpc_callee", timeout=TIMEOUT)
    nobody = RpcClient("kit_rpc_nobody", timeout=TIMEOUT)

    @rpc
    def call_slow(self):
        return self.callee.slow()

    @rpc
    def call_echo(self, value):
        return self.callee.echo(value)

    @rpc
    def call_refuse(self):
        return self.callee.refuse()

    @rpc
    def call_nobody(self):
        return self.nobody.anything()

    @rpc
    def timed_slow(self):
        """The timeout as the calling service sees it (no standalone proxy in between)."""
        started = time.monotonic()
        try:
            self.callee.slow()
        except ServiceUnavailable as exc:
            return {"code": exc.code, "elapsed": time.monotonic() - started}
        return {"code": None, "elapsed": time.monotonic() - started}


@pytest.fixture
def services(service_env, container_factory):
    container_factory(Callee)
    container_factory(Caller)


def test_slow_callee_times_out_as_service_unavailable(services, rpc):
    assert rpc.kit_rpc_caller.call_echo({"a": [1, "é"]}) == {"a": [1, "é"]}
    with pytest.raises(ServiceUnavailable) as caught:
        rpc.kit_rpc_caller.call_slow()
    assert caught.value.code == "rpc_timeout"
    assert caught.value.details["call"] == "kit_rpc_callee.slow"
    outcome = rpc.kit_rpc_caller.timed_slow()
    assert outcome["code"] == "rpc_timeout"
    assert outcome["elapsed"] < SLOW_SECONDS - 1  # gave up near TIMEOUT, not after the callee
    # The late replies are dropped; the caller's next call gets its own answer.
    assert rpc.kit_rpc_caller.call_echo("next") == "next"


def test_unknown_service_is_unavailable(services, rpc):
    with pytest.raises(ServiceUnavailable) as caught:
        rpc.kit_rpc_caller.call_nobody()
    assert caught.value.code == "service_unavailable"


def test_remote_business_error_keeps_its_class(services, rpc):
    with pytest.raises(Conflict) as caught:
        rpc.kit_rpc_caller.call_refuse()
    assert caught.value.code == "already_certified"
    assert caught.value.message == "Ce mois est déjà certifié."
    assert caught.value.details == {"month": "2026-02"}
    with pytest.raises(Conflict):  # and straight from the callee too
        rpc.kit_rpc_callee.refuse()
    assert not isinstance(caught.value, NotFound)
