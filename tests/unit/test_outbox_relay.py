"""servicekit.outbox's relay loop without a broker: a batch short of BATCH ends the pass (the
next commit wakes the loop), a full one is followed at once by the next."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from servicekit import outbox
from tests.support.outbox import outbox_relay, pending_row


def queue(relay, count: int) -> None:
    table = relay.database.metadata.tables["outbox"]
    with relay.database.engine.begin() as connection:
        connection.execute(insert(table), [pending_row("certified", timedelta(seconds=n))
                                           for n in range(count)])


def test_a_batch_short_of_full_ends_the_pass():
    relay, sent = outbox_relay("relay_test")
    queue(relay, 3)
    assert relay.work_once() == 0  # no second, empty transaction: the next commit wakes it
    assert len(sent) == 3


def test_a_full_batch_is_followed_at_once_by_the_next(monkeypatch):
    monkeypatch.setattr(outbox, "BATCH", 2)
    relay, sent = outbox_relay("relay_test")
    queue(relay, 3)
    assert relay.work_once() == 2  # the loop asks again at once
    assert relay.work_once() == 0
    assert len(sent) == 3
