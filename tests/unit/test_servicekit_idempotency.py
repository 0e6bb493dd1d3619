"""@replayable with a fake store: a key replays its first reply, never acts twice."""
from __future__ import annotations

import pytest
from nameko.web.handlers import HttpRequestHandler

from servicekit.context import IDEMPOTENCY_KEY, idempotency_key
from contracts.common.errors import Conflict, InvalidInput
from servicekit.idempotency import StoredReply, replayable

USER = {"user_id": "u1", "role": "funder_agent", "ip": "192.0.2.1"}


class FakeReplies:
    """DatabaseAccess as @replayable sees it: the call's key and a dict of stored replies."""

    def __init__(self, key: str | None = "k1"):
        self.idempotency_key = key
        self.replaying = None
        self.replies: dict[tuple[str, str], StoredReply] = {}

    def stored_reply(self, call):
        return self.replies.get((call.scope, call.key))

    def store_reply(self, call, reply):
        self.replies.setdefault((call.scope, call.key), StoredReply(call.fingerprint, reply))
        return self.replies[(call.scope, call.key)].reply


class Payments:
    name = "payments"

    def __init__(self, db: FakeReplies, outcomes: list):
        self.db = db
        self.outcomes = outcomes  # what each run returns (or raises), in turn
        self.runs = 0

    @replayable
    def record_payment(self, actor, payload):
        self.runs += 1
        outcome = self.outcomes.pop(0)
        if callable(outcome):
            outcome = outcome(self)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_the_same_key_replays_the_first_reply_without_running_again():
    service = Payments(FakeReplies(), [{"id": "p1"}, {"id": "p2"}])
    first = service.record_payment(USER, {"number": "R1"})
    # Another session or address of the same user is the same request.
    again = service.record_payment({**USER, "ip": "198.51.100.7"}, {"number": "R1"})
    assert first == again == {"id": "p1"} and service.runs == 1


def test_a_key_reused_for_another_request_is_refused():
    service = Payments(FakeReplies(), [{"id": "p1"}])
    service.record_payment(USER, {"number": "R1"})
    with pytest.raises(InvalidInput) as exc:
        service.record_payment(USER, {"number": "R2"})
    assert exc.value.code == "idempotency_key_reused" and service.runs == 1


def test_a_conflict_lost_to_a_twin_with_the_same_key_answers_the_twins_reply():
    db = FakeReplies()

    def twin_committed_first(service):
        service.db.store_reply(service.db.replaying, {"id": "p1"})
        return Conflict("payment_number_taken", "Déjà enregistré.")

    service = Payments(db, [twin_committed_first])
    assert service.record_payment(USER, {"number": "R1"}) == {"id": "p1"}


def test_a_conflict_without_a_stored_reply_stays_a_conflict_and_errors_are_not_stored():
    service = Payments(FakeReplies(), [Conflict("payment_number_taken", "Déjà."),
                                       InvalidInput("invalid_payment", "Non."), {"id": "p1"}])
    for error in (Conflict, InvalidInput):
        with pytest.raises(error):
            service.record_payment(USER, {"number": "R1"})
    assert service.record_payment(USER, {"number": "R1"}) == {"id": "p1"}
    assert service.runs == 3 and service.db.replaying is None


def test_keys_are_per_user_and_no_key_replays_nothing():
    service = Payments(FakeReplies(), [{"id": "p1"}, {"id": "p2"}])
    assert service.record_payment(USER, {"number": "R1"}) == {"id": "p1"}
    assert service.record_payment({**USER, "user_id": "u2"}, {"number": "R1"}) == {"id": "p2"}
    keyless = Payments(FakeReplies(key=None), [{"id": "p3"}, {"id": "p4"}])
    assert [keyless.record_payment(USER, {"number": "R1"}) for _ in range(2)] == [
        {"id": "p3"}, {"id": "p4"}]
    assert keyless.db.replies == {}


class Worker:
    """A Nameko worker context as far as the key goes."""

    def __init__(self, entrypoint):
        self.entrypoint = entrypoint
        self.data = {"correlation_id": "c1", IDEMPOTENCY_KEY: "k1"}


def test_a_service_takes_the_key_out_so_its_own_calls_do_not_carry_it():
    worker = Worker(entrypoint=object())
    assert idempotency_key(worker) == "k1"
    assert worker.data == {"correlation_id": "c1"}  # what its RPC calls and events carry
    assert idempotency_key(worker) == "k1"  # asked again (db and context both ask)


def test_the_gateway_keeps_the_key_for_the_service_it_calls():
    worker = Worker(entrypoint=HttpRequestHandler("POST", "/payments"))
    assert idempotency_key(worker) == "k1" and worker.data[IDEMPOTENCY_KEY] == "k1"
