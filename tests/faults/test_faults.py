"""Issue 10: a certification's effects happen exactly once, whatever fails.

For each fault kind, a burst of certifications (JALON_FAULTS_BURST, default 300) by 10 clients
through the gateway; the fault strikes once a quarter of the burst is answered. Then, once the
effects have settled: exactly one email to the beneficiary and one to the employer per
certified month (raw deliveries; distinct Message-IDs reported apart), one payment lock with
the certified hours, one final PDF; nothing for a month not certified; every client answer
true; every poison message dead-lettered with its reason; every process alive and /health 200
without the test restarting anything. Figures: build/faults/<kind>-<certifications>.json, and a table at the end.

Run: `make test-faults` (all kinds), `make test-faults K=broker` (one kind, a pytest -k).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.faults.burst import Burst, Month, RetryingClient
from tests.faults.conftest import EMAIL_LEASE_SECONDS, RECORDED, burst_size, dead
from tests.faults.effects import Dossier, Observer, expected_hours
from tests.faults.poison import dead_lettered, handler_queues, publish_poison
from tests.support.gateway import month_shift
from tools.stack import PROCESSES, get_health, unhealthy_parts
from tools.waiting import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.timeout(3600)]

RESULTS = Path(__file__).resolve().parents[2] / "build" / "faults"
CLIENTS = 10
BROKER_DOWN_SECONDS = 6
SETTLE_TIMEOUT = 240
RECOVERY_TIMEOUT = 120


def kill(name: str):
    def fault(run: "Run") -> dict:
        pid = run.stack.processes[name].pid
        os.kill(pid, signal.SIGKILL)
        return {"killed": name, "pid": pid}
    return fault


def poison(run: "Run") -> dict:
    queues = handler_queues(run.infra.broker.queues())
    run.poison_sent = publish_poison(run.infra.broker.uri, queues)
    return {"queues": len(queues), "messages": len(run.poison_sent)}


FAULTS = {
    "broker": lambda run: run.infra.broker.restart(BROKER_DOWN_SECONDS) or {
        "down_s": BROKER_DOWN_SECONDS},
    **{f"kill_{name}": kill(name) for name in PROCESSES},
    "postgres_fast": lambda run: run.infra.database.restart("fast") or {"mode": "fast"},
    "postgres_immediate": lambda run: run.infra.database.restart("immediate") or {
        "mode": "immediate"},
    "poison": poison,
}


class Run:
    """One fault kind's burst: its data, the fault, the answers and the effects."""

    def __init__(self, kind: str, system, infra, parties):
        self.kind, self.infra = kind, infra
        self.replaced_before = system.replacements
        self.stack = system.healthy_stack()
        self.replaced = system.replacements - self.replaced_before
        self.restarts_before = self.restarts()
        self.funder = parties.funder(self.stack.base_url)
        self.org = parties.organisation(self.stack.base_url)
        self.organisation_id = parties.organisation_id
        self.poison_sent: dict[str, dict] = {}
        self.fault: dict = {}
        self.failures: list[str] = []

    def make_dossiers(self, size: int) -> tuple[list[Dossier], list[Month]]:
        """CLIENTS dossiers whose session covers enough past months for `size` in all."""
        per_dossier = math.ceil(size / CLIENTS)
        today = date.today()
        months = [month_shift(today, -n).strftime("%Y-%m") for n in range(per_dossier, 0, -1)]
        suffix = uuid.uuid4().hex[:6]
        dossiers = [self._dossier(f"{suffix}-{i}", today, per_dossier) for i in range(CLIENTS)]
        work = [Month(d.id, m) for d in dossiers for m in months]
        return dossiers, work[:size]

    def _dossier(self, tag: str, today: date, months: int) -> Dossier:
        funder = RetryingClient(self.stack.base_url, token_of(self.funder))

        def created(path: str, body: dict) -> dict:
            answer = funder.send("POST", path, json=body)
            assert answer.status == 201, f"POST {path}: {answer.status} {answer.body}"
            return answer.body
        beneficiary = created("/beneficiaries", {"name": f"BENEFICIAIRE {tag}",
                                                 "email": f"ben-{tag}@faults.example.org"})
        employer = created("/employers", {"name": f"EMPLOYEUR {tag}",
                                          "email": f"emp-{tag}@faults.example.org"})
        dossier = created("/dossiers", {
            "number": f"FLT-{tag}", "organisation_id": self.organisation_id,
            "beneficiary_id": beneficiary["id"], "employer_id": employer["id"],
            "training_title": "Titre professionnel (injection de pannes)",
            "session_start": month_shift(today, -months).isoformat(),
            "session_end": (month_shift(today, 0) - timedelta(days=1)).isoformat()})
        return Dossier(dossier["id"], dossier["number"], beneficiary["email"], employer["email"])

    def strike(self, when: threading.Event, burst_started: float) -> threading.Thread:
        def inject() -> None:
            when.wait()
            started = time.monotonic()
            self.fault["struck_at_s"] = round(started - burst_started, 1)  # of the burst
            try:
                self.fault.update(FAULTS[self.kind](self) or {})
            except Exception as exc:  # the fault itself failed: the run proves nothing
                self.failures.append(f"the fault could not be injected: {exc!r}")
            self.fault["injected_s"] = round(time.monotonic() - started, 1)
        thread = threading.Thread(target=inject, daemon=True)
        thread.start()
        return thread

    def recovered(self) -> dict:
        """Waits (bounded) for every process alive and /health 200; what it found."""
        def healthy() -> bool:
            status, body = get_health(self.stack.base_url)
            return not dead(self.stack) and status == 200 and not unhealthy_parts(body)
        try:
            ok = wait_until(healthy, RECOVERY_TIMEOUT, interval=1)
        except TimeoutError:  # recorded below: the run's figures say what stayed broken
            ok = False
        status, body = get_health(self.stack.base_url)
        return {"healthy": ok, "health_status": status,
                "not_ok": unhealthy_parts(body) if body is not None else ["gateway"],
                "dead": dead(self.stack),
                "restarts": {name: count - self.restarts_before.get(name, 0)
                             for name, count in self.restarts().items()
                             if count > self.restarts_before.get(name, 0)}}

    def restarts(self) -> dict[str, int]:
        """The supervisor's restarts so far, by process (none without a supervisor)."""
        return dict(getattr(self.stack, "restarts", {}) or {})


def token_of(client) -> str:
    return client.session.headers["Authorization"].split()[1]


def timed_wait(check) -> float:
    started = time.monotonic()
    check()
    return round(time.monotonic() - started, 1)


def judge_answers(work: list[Month], states: dict, replay_differences: list[str]) -> dict:
    """Every client answer true: 2xx only for a certified month, no certified month whose
    client got a definitive error (409 included), the same answer to a retry with the key."""
    finals = Counter(str(m.certify.status) for m in work)
    attempts = Counter(a for m in work for a in m.certify.attempts[:-1])
    def certified(m: Month) -> bool:
        return states[(m.dossier_id, m.month)].certified
    ok_not_done = [m for m in work if m.certify.ok and not certified(m)]
    error_but_done = [m for m in work if not m.certify.ok and certified(m)]
    return {
        "final_statuses": dict(finals), "retried_attempts": dict(attempts),
        "not_prepared": sum(not m.prepared for m in work),
        "ok_but_not_certified": len(ok_not_done),
        "error_but_certified": len(error_but_done),
        "conflict_409_but_done": sum(m.certify.status == 409 for m in error_but_done),
        "replay_differences": len(replay_differences),
        "examples": [f"{m.dossier_id} {m.month} {m.certify.status} {m.certify.attempts}"
                     for m in (ok_not_done + error_but_done)[:5]] + replay_differences[:5],
    }


def judge_effects(work: list[Month], states: dict) -> dict:
    """Exactly once per certified month, nothing for the others."""
    certified = [states[(m.dossier_id, m.month)] for m in work
                 if states[(m.dossier_id, m.month)].certified]
    deliveries = [ids for s in certified for ids in s.emails.values()]
    return {
        "certified_months": len(certified),
        "emails_expected": 2 * len(certified),
        "emails_delivered": sum(len(ids) for ids in deliveries),
        "emails_missing": sum(not ids for ids in deliveries),
        "emails_duplicate_deliveries": sum(max(0, len(ids) - 1) for ids in deliveries),
        # A repeat of one email carries the same Message-ID (a server can drop it); two
        # Message-IDs for one recipient and month are two emails.
        "emails_repeats_same_message_id": sum(len(ids) - len(set(ids)) for ids in deliveries),
        "emails_distinct_message_ids_over_one": sum(max(0, len(set(ids)) - 1)
                                                    for ids in deliveries),
        "locks_missing": sum(not s.locked for s in certified),
        "locks_wrong_hours": sum(s.locked and float(s.lock_hours or 0) != expected_hours()
                                 for s in certified),
        "pdfs_missing": sum(s.pdfs == 0 for s in certified),
        "pdfs_duplicate": sum(max(0, s.pdfs - 1) for s in certified),
        "effects_of_uncertified_months": sum(
            s.any_effect() for key, s in states.items() if not s.certified),
    }


def judge_poison(run: Run) -> dict:
    if not run.poison_sent:
        return {}
    found: dict[str, dict] = {}
    with contextlib.suppress(TimeoutError):  # the missing ones are counted below
        wait_until(lambda: found.update(dead_lettered(
            run.infra.broker.uri, run.stack.settings.dead_letter_queue, run.poison_sent)) or
            len(found) == len(run.poison_sent), 60, interval=2)
    with_reason = {mid: entry for mid, entry in found.items()
                   if entry.get("error") and entry.get("queue") == run.poison_sent[mid]["queue"]}
    missing = Counter(run.poison_sent[mid]["kind"] for mid in run.poison_sent
                      if mid not in with_reason)
    return {"poison_sent": len(run.poison_sent), "dead_lettered": len(found),
            "dead_lettered_with_reason": len(with_reason), "missing_by_kind": dict(missing)}


def failures_of(figures: dict) -> list[str]:
    answers, effects = figures["answers"], figures["effects"]
    checks = {
        "a 2xx for a month not certified": answers["ok_but_not_certified"],
        "a certified month whose client got an error or no answer": answers["error_but_certified"],
        "a retry with the same key answered differently": answers["replay_differences"],
        "a certification never answered": answers["final_statuses"].get("None", 0),
        "duplicate email deliveries": effects["emails_duplicate_deliveries"],
        "missing emails": effects["emails_missing"],
        "missing payment locks": effects["locks_missing"],
        "payment locks with other hours": effects["locks_wrong_hours"],
        "missing PDFs": effects["pdfs_missing"],
        "duplicate PDFs": effects["pdfs_duplicate"],
        "effects of months not certified": effects["effects_of_uncertified_months"],
        "certified months": int(effects["certified_months"] == 0),
    }
    found = [f"{label}: {count}" for label, count in checks.items() if count]
    poison = figures.get("poison") or {}
    if poison and poison["dead_lettered_with_reason"] != poison["poison_sent"]:
        found.append(f"poison messages not dead-lettered with a reason: "
                     f"{poison['missing_by_kind']}")
    recovery = figures["recovery"]
    if not recovery["healthy"]:
        found.append(f"not back without a hand: dead {recovery['dead']}, /health "
                     f"{recovery['health_status']} not ok {recovery['not_ok']}")
    return found


def record(kind: str, figures: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{figures['certifications']}.json"  # a short run keeps the long one's
    (RESULTS / name).write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    RECORDED.append(figures)
    answers, effects = figures["answers"], figures["effects"]
    print(f"\n{kind}: {figures['certifications']} certifications in {figures['burst_s']} s, "
          f"settled {figures['settle_s']} s; answers {answers['final_statuses']} "
          f"(retried {answers['retried_attempts']}); certified {effects['certified_months']}; "
          f"emails {effects['emails_delivered']}/{effects['emails_expected']} "
          f"(duplicates {effects['emails_duplicate_deliveries']}, same Message-ID "
          f"{effects['emails_repeats_same_message_id']}); locks missing "
          f"{effects['locks_missing']}, PDFs missing {effects['pdfs_missing']} duplicate "
          f"{effects['pdfs_duplicate']}; poison {figures.get('poison')}; recovery "
          f"{figures['recovery']}; failures {figures['failures']}")


@pytest.mark.parametrize("kind", list(FAULTS))
def test_effects_exactly_once_under_fault(kind, system, infra, parties):
    run = Run(kind, system, infra, parties)
    dossiers, work = run.make_dossiers(burst_size())
    started = time.monotonic()
    when = threading.Event()
    injector = run.strike(when, started)
    burst = Burst(run.stack.base_url, token_of(run.org), clients=CLIENTS)
    burst_s = burst.run(work, lambda done, total: done >= total // 4 and when.set())
    when.set()  # a burst too short to reach its quarter still gets its fault
    injector.join(timeout=RECOVERY_TIMEOUT)
    recovery_s = timed_wait(run.recovered)
    observer = Observer(run.org, infra.smtp, dossiers, work)
    states, settle_s = observer.settle(SETTLE_TIMEOUT, quiet=EMAIL_LEASE_SECONDS + 5)
    figures = {
        "kind": kind, "certifications": len(work), "clients": CLIENTS,
        "burst_s": round(burst_s, 1), "settle_s": round(settle_s, 1),
        "total_s": round(time.monotonic() - started, 1),
        "stack_replaced_before": run.replaced, "fault": run.fault,
        "answers": judge_answers(work, states, burst.replay(work)),
        "effects": judge_effects(work, states),
        "poison": judge_poison(run),
        "recovery_after_burst_s": recovery_s,
        "recovery": run.recovered(),  # at the end, after the effects settled
        "observer_errors": observer.errors[:5],
    }
    figures["failures"] = run.failures + failures_of(figures)
    record(kind, figures)
    assert not figures["failures"], f"{kind}: {figures['failures']}"
