"""integration's replays: a funder's staff asks for its events from a moment or after an
event, and receives them on its own replay queue, in order, bounded by what was logged when
asked, with observable progress that survives a failed batch."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.common import Actor
from contracts.common.errors import Forbidden, InvalidInput, NotFound
from contracts.integration import ReplayRequest
from services.integration import handlers
from tests.support.notifications import certified, validated
from tests.support.public_log import integration, received

AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1")
ADMIN_F2 = Actor(user_id="admin-2", role="funder_admin", funder_id="f2")
ORGANISATION = Actor(user_id="u", role="organisation_user", funder_id="f1", organisation_id="o1")


def logged(world, *funders: str) -> list[str]:
    """One public event per funder given, in that order; their ids."""
    ids = []
    for n, funder in enumerate(funders):
        data = certified(funder_id=funder, month=f"2026-{n % 12 + 1:02d}")
        with world.db.unit_of_work() as uow:
            event = received("certification", "certified", data)
            ids.append(handlers.translate(uow, world.ports, event))
    return ids


def since(world, **before) -> ReplayRequest:
    return ReplayRequest(since=world.clock() - timedelta(**before))


def send_all(world) -> int:
    turns = 0
    while handlers.send_replay_batch(world.db, world.ports):
        turns += 1
    return turns


def test_a_replay_sends_the_funders_events_in_order_once_each_on_its_own_queue():
    world = integration()
    ids = logged(world, "f1", "f2", "f1", "f1")
    world.clock.now = world.log.rows[0].occurred_at + timedelta(days=1)
    replay = handlers.start_replay(world.db, world.ports, AGENT, since(world, days=2))
    assert (replay["status"], replay["total"], replay["sent"]) == ("pending", 3, 0)
    assert replay["queue"] == "integration.f1.replay"
    send_all(world)
    assert [e["id"] for e in world.queues.received["integration.f1.replay"]] == [
        ids[0], ids[2], ids[3]]
    assert list(world.queues.received) == ["integration.f1.replay"]  # not f2's, not live
    done = handlers.get_replay(world.db, AGENT, replay["id"])
    assert (done["status"], done["sent"], done["total"]) == ("done", 3, 3)
    assert done["finished_at"] is not None


def test_after_an_event_the_replay_starts_with_the_next_one():
    world = integration()
    ids = logged(world, "f1", "f1", "f1")
    replay = handlers.start_replay(world.db, world.ports, AGENT,
                                   ReplayRequest(after_event_id=ids[0]))
    assert replay["total"] == 2
    send_all(world)
    assert [e["id"] for e in world.queues.received["integration.f1.replay"]] == ids[1:]


def test_a_replay_is_bounded_by_the_log_when_asked():
    world = integration()
    ids = logged(world, "f1")
    replay = handlers.start_replay(world.db, world.ports, AGENT,
                                   ReplayRequest(since=world.log.rows[0].occurred_at))
    later = logged(world, "f1")  # live traffic after the request: not replayed
    send_all(world)
    assert [e["id"] for e in world.queues.received["integration.f1.replay"]] == ids
    assert later[0] not in [e["id"] for e in world.queues.received["integration.f1.replay"]]
    assert handlers.get_replay(world.db, AGENT, replay["id"])["sent"] == 1


def test_progress_is_recorded_batch_by_batch(monkeypatch):
    monkeypatch.setattr(handlers, "REPLAY_BATCH", 2)
    world = integration()
    logged(world, *["f1"] * 5)
    replay = handlers.start_replay(world.db, world.ports, AGENT,
                                   ReplayRequest(since=world.log.rows[0].occurred_at))
    assert handlers.send_replay_batch(world.db, world.ports) == 2
    running = handlers.get_replay(world.db, AGENT, replay["id"])
    assert (running["status"], running["sent"], running["total"]) == ("running", 2, 5)
    assert send_all(world) == 2
    assert handlers.get_replay(world.db, AGENT, replay["id"])["sent"] == 5


def test_a_failed_batch_is_sent_again_and_counted_once():
    world = integration()
    logged(world, "f1", "f1")
    replay = handlers.start_replay(world.db, world.ports, AGENT,
                                   ReplayRequest(since=world.log.rows[0].occurred_at))
    world.queues.down = True
    with pytest.raises(ConnectionError):
        handlers.send_replay_batch(world.db, world.ports)
    assert handlers.get_replay(world.db, AGENT, replay["id"])["sent"] == 0
    world.queues.down = False
    send_all(world)
    assert len(world.queues.received["integration.f1.replay"]) == 2
    assert handlers.get_replay(world.db, AGENT, replay["id"])["sent"] == 2


def test_nothing_to_replay_is_done_at_once():
    world = integration()
    logged(world, "f2")
    replay = handlers.start_replay(world.db, world.ports, AGENT, since(world, days=1))
    assert (replay["status"], replay["total"]) == ("done", 0)
    assert handlers.send_replay_batch(world.db, world.ports) == 0


def test_a_replay_beyond_the_retention_is_refused():
    world = integration(retention_days=30)
    with pytest.raises(InvalidInput) as refused:
        handlers.start_replay(world.db, world.ports, AGENT, since(world, days=31))
    assert refused.value.code == "replay_beyond_retention"
    assert "30 jours" in refused.value.message


def test_an_unknown_or_other_funders_event_is_not_found():
    world = integration()
    [theirs] = logged(world, "f2")
    for event_id in ("nope", theirs):
        with pytest.raises(NotFound) as missing:
            handlers.start_replay(world.db, world.ports, AGENT,
                                  ReplayRequest(after_event_id=event_id))
        assert missing.value.code == "public_event_not_found"


def test_exactly_one_start_is_asked_for():
    for request in ({}, {"since": "2026-01-01T00:00:00Z", "after_event_id": "x"}):
        with pytest.raises(ValueError):
            ReplayRequest.model_validate(request)


def test_only_the_funders_staff_see_its_replays():
    world = integration()
    logged(world, "f1")
    replay = handlers.start_replay(world.db, world.ports, AGENT, since(world, days=1))
    assert [r["id"] for r in handlers.list_replays(world.db, AGENT)] == [replay["id"]]
    assert handlers.list_replays(world.db, ADMIN_F2) == []
    with pytest.raises(NotFound):
        handlers.get_replay(world.db, ADMIN_F2, replay["id"])
    for call in (lambda: handlers.list_replays(world.db, ORGANISATION),
                 lambda: handlers.start_replay(world.db, world.ports, ORGANISATION,
                                               since(world, days=1))):
        with pytest.raises(Forbidden):
            call()


def test_replays_are_sent_oldest_first():
    world = integration()
    logged(world, "f1", "f2")
    first = handlers.start_replay(world.db, world.ports, AGENT, since(world, days=1))
    world.clock.advance(minutes=1)
    handlers.start_replay(world.db, world.ports, ADMIN_F2, since(world, days=1))
    handlers.send_replay_batch(world.db, world.ports)
    assert list(world.queues.received) == ["integration.f1.replay"]
    assert handlers.get_replay(world.db, AGENT, first["id"])["status"] == "done"
    send_all(world)
    assert list(world.queues.received) == ["integration.f1.replay", "integration.f2.replay"]


def test_a_second_validation_is_its_own_event():
    world = integration()
    for party in ("beneficiary", "employer"):
        with world.db.unit_of_work() as uow:
            handlers.translate(uow, world.ports, received("certification", "hours_validated",
                                                          validated(party=party)))
    assert len({row.id for row in world.log.rows}) == 2
