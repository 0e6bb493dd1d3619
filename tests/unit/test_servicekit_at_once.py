"""servicekit.rpc.at_once: independent calls made together, failures in call order."""
from __future__ import annotations

import eventlet
import pytest

from servicekit.rpc import at_once


def slow(value, seconds: float, log: list):
    def call():
        log.append(("start", value))
        eventlet.sleep(seconds)
        log.append(("end", value))
        return value
    return call


def test_the_calls_run_together_and_their_results_keep_the_order_given():
    log: list = []
    assert at_once(slow("dossier", 0.02, log), slow("profile", 0.01, log)) == [
        "dossier", "profile"]
    assert log == [("start", "dossier"), ("start", "profile"), ("end", "profile"),
                   ("end", "dossier")]


def test_the_first_failure_in_call_order_is_raised_once_every_call_has_ended():
    log: list = []

    def refused(message: str, seconds: float):
        def call():
            eventlet.sleep(seconds)
            raise LookupError(message)
        return call

    with pytest.raises(LookupError, match="dossier refused"):
        at_once(refused("dossier refused", 0.02), refused("profile refused", 0.0),
                slow("late", 0.03, log))
    assert log[-1] == ("end", "late")
