"""Waiting for an effect that arrives a moment later (an event handled, an email delivered, a
process up): poll a predicate until it holds. Under eventlet's monkey patching (tests, bench)
time.sleep yields to the other green threads."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 30, interval: float = 0.1,
               message: str | None = None) -> T:
    """The predicate's first truthy value; TimeoutError (saying `message`, or the predicate's
    name) when it is still falsy after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:g} s: "
                               f"{message or getattr(predicate, '__name__', predicate)}")
        time.sleep(interval)
    return result
