"""integration's replays: a funder's staff asks for its events from a moment or after an
event, and receives them on its own replay queue, in order, bounded by what was logged when
asked; a job (servicekit.jobs) whose progress survives a failed batch and a crash."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.common import Actor
from contracts.common.errors import Forbidden, InvalidInput, NotFound
from contracts.integration import ReplayRequest
from services.integration import handlers
from tests.support.jobs import Crashed
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


def start(world, request: ReplayRequest, actor: Actor = AGENT) -> dict:
    """The replay's job, submitted."""
    return handlers.start_replay(world.db, world.ports, actor, request)


def replay_of(world, job: dict, actor: Actor = AGENT) -> dict:
    return handlers.get_replay(world.db, actor, job["id"])


def sent_to(world, queue: str = "integration.f1.replay") -> list[str]:
    return [event["id"] for event in world.queues.received.get(queue, [])]


def test_a_replay_is_a_job_that_sends_the_funders_events_in_order_once_each_on_its_queue():
    world = integration()
    ids = logged(world, "f1", "f2", "f1", "f1")
    world.clock.now = world.log.rows[0].occurred_at + timedelta(days=1)
    job = start(world, since(world, days=2))
    assert (job["kind"], job["status"]) == ("integration.replay", "queued")
    assert job["id"].startswith("integration-")
    assert job["phases"] == [{"name": "events", "done": 0, "total": 3}]
    replay = replay_of(world, job)
    assert (replay["status"], replay["total"], replay["sent"]) == ("pending", 3, 0)
    assert replay["queue"] == "integration.f1.replay"
    ended = world.run_replay(job["id"])
    assert (ended["status"], ended["summary"]) == ("succeeded", {"sent": 3})
    assert ended["phases"] == [{"name": "events", "done": 3, "total": 3}]
    assert sent_to(world) == [ids[0], ids[2], ids[3]]
    assert list(world.queues.received) == ["integration.f1.replay"]  # not f2's, not live
    done = replay_of(world, job)
    assert (done["status"], done["sent"], done["total"]) == ("done", 3, 3)
    assert done["finished_at"] is not None


def test_after_an_event_the_replay_starts_with_the_next_one():
    world = integration()
    ids = logged(world, "f1", "f1", "f1")
    job = start(world, ReplayRequest(after_event_id=ids[0]))
    assert replay_of(world, job)["total"] == 2
    world.run_replay(job["id"])
    assert sent_to(world) == ids[1:]


def test_a_replay_is_bounded_by_the_log_when_asked():
    world = integration()
    ids = logged(world, "f1")
    job = start(world, ReplayRequest(since=world.log.rows[0].occurred_at))
    later = logged(world, "f1")  # live traffic after the request: not replayed
    world.run_replay(job["id"])
    assert sent_to(world) == ids
    assert later[0] not in sent_to(world)
    assert replay_of(world, job)["sent"] == 1


def test_a_resumed_replay_goes_on_after_the_last_batch_recorded(monkeypatch):
    monkeypatch.setattr(handlers, "REPLAY_BATCH", 2)
    world = integration()
    ids = logged(world, *["f1"] * 5)
    job = start(world, ReplayRequest(since=world.log.rows[0].occurred_at))
    with pytest.raises(Crashed):  # dies as it records its second batch, once sent
        world.run_replay(job["id"], crash_after=1)
    running = replay_of(world, job)
    assert (running["status"], running["sent"], running["total"]) == ("running", 2, 5)
    ended = world.run_replay(job["id"])
    assert ended["phases"] == [{"name": "events", "done": 5, "total": 5}]
    # The batch sent but not recorded is sent again; the subscriber drops it by id.
    assert sent_to(world) == ids[:4] + ids[2:]
    assert replay_of(world, job)["sent"] == 5


def test_a_failed_batch_is_sent_again_and_counted_once():
    world = integration()
    logged(world, "f1", "f1")
    job = start(world, ReplayRequest(since=world.log.rows[0].occurred_at))
    world.queues.down = True
    with pytest.raises(ConnectionError):
        world.run_replay(job["id"])
    assert replay_of(world, job)["sent"] == 0
    world.queues.down = False
    world.run_replay(job["id"])
    assert len(sent_to(world)) == 2
    assert replay_of(world, job)["sent"] == 2


def test_a_cancelled_replay_stops_at_its_next_batch_and_says_so(monkeypatch):
    monkeypatch.setattr(handlers, "REPLAY_BATCH", 2)
    world = integration()
    logged(world, *["f1"] * 5)
    job = start(world, ReplayRequest(since=world.log.rows[0].occurred_at))
    world.jobs.jobs[job["id"]]["cancel_requested"] = True  # as POST /jobs/{id}/cancel
    assert world.run_replay(job["id"])["status"] == "cancelled"
    assert len(sent_to(world)) == 2
    assert (replay_of(world, job)["status"], replay_of(world, job)["sent"]) == ("cancelled", 2)


def test_the_same_replay_asked_while_pending_is_that_job_and_once_over_a_new_one():
    world = integration()
    logged(world, "f1")
    job = start(world, since(world, days=1))
    again = start(world, since(world, days=1))
    assert (again["id"], again["resubmitted"]) == (job["id"], True)
    assert len(handlers.list_replays(world.db, AGENT)) == 1
    world.run_replay(job["id"])
    later = start(world, since(world, days=1))  # asked again on purpose: sent again
    assert (later["resubmitted"], len(handlers.list_replays(world.db, AGENT))) == (False, 2)
    world.run_replay(later["id"])
    assert len(sent_to(world)) == 2


def test_nothing_to_replay_is_done_at_once():
    world = integration()
    logged(world, "f2")
    job = start(world, since(world, days=1))
    assert (replay_of(world, job)["status"], replay_of(world, job)["total"]) == ("done", 0)
    assert world.run_replay(job["id"])["summary"] == {"sent": 0}
    assert world.queues.received == {}


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


def test_a_second_validation_is_its_own_event():
    world = integration()
    for party in ("beneficiary", "employer"):
        with world.db.unit_of_work() as uow:
            handlers.translate(uow, world.ports, received("certification", "hours_validated",
                                                          validated(party=party)))
    assert len({row.id for row in world.log.rows}) == 2
