"""tools.stack's supervisor: a process that exits after the start is started again, with
backoff, and never once the stack is stopping. Fake children: tiny python -c scripts."""
from __future__ import annotations

import os
import re
import signal
import sys
import time

from tools.stack import Backoff, Supervisor, wait_until

DIES_SOON = "import sys, time; print('up', flush=True); time.sleep(0.2); sys.exit(3)"
SLEEPS = "import time; time.sleep(60)"
# Dies at SIGTERM, but only half a second later: stop() waits for it meanwhile.
SLOW_TO_STOP = ("import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(0.5), sys.exit(0)))\n"
                "print('ready', flush=True)\n"
                "time.sleep(60)")


def supervisor(tmp_path, scripts: dict[str, str], spawned: list | None = None,
               backoff: Backoff | None = None) -> Supervisor:
    def command(name: str) -> list[str]:
        if spawned is not None:
            spawned.append(name)
        return [sys.executable, "-c", scripts[name]]

    return Supervisor(scripts, lambda name: tmp_path / f"{name}.log", dict(os.environ),
                      command=command, backoff=backoff or Backoff(first=0.1, longest=0.4),
                      poll_seconds=0.02)


def test_backoff_doubles_up_to_the_longest_and_starts_over_after_a_steady_run():
    backoff = Backoff(first=0.5, longest=30, steady=60)
    delays = [backoff.delay("documents", uptime=1) for _ in range(8)]
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay("documents", uptime=61) == 0.5
    assert backoff.delay("documents", uptime=1) == 1
    assert backoff.delay("identity", uptime=1) == 0.5  # each process its own


def test_a_process_that_dies_is_restarted_with_backoff_and_counted(tmp_path):
    running = supervisor(tmp_path, {"flaky": DIES_SOON})
    running.start_all()
    running.supervise()
    try:
        assert wait_until(lambda: running.restarts["flaky"] >= 3, timeout=20, interval=0.05)
    finally:
        running.stop(timeout=5)
    log = (tmp_path / "flaky.log").read_text()
    assert log.count("up\n") >= 3  # appended across restarts, not truncated
    assert "flaky exited with code 3" in log
    assert re.findall(r"restarting in ([\d.]+) s", log)[:3] == ["0.1", "0.2", "0.4"]


def test_a_killed_process_is_replaced_by_a_new_one(tmp_path):
    running = supervisor(tmp_path, {"documents": SLEEPS})
    running.start_all()
    running.supervise()
    first = running.processes["documents"]
    try:
        os.kill(first.pid, signal.SIGKILL)
        assert wait_until(lambda: running.processes["documents"] is not first
                          and running.processes["documents"].poll() is None,
                          timeout=10, interval=0.05)
        assert running.restarts["documents"] == 1
    finally:
        running.stop(timeout=5)
    assert running.processes["documents"].poll() is not None


def test_stopping_never_restarts_a_process(tmp_path):
    spawned: list[str] = []
    running = supervisor(tmp_path, {"quick": SLEEPS, "slow": SLOW_TO_STOP}, spawned,
                         backoff=Backoff(first=0, longest=0))
    running.start_all()
    running.supervise()
    assert wait_until(lambda: "ready" in (tmp_path / "slow.log").read_text(), timeout=10,
                      interval=0.05)
    # quick dies at once on SIGTERM while stop() still waits for slow: a supervisor that
    # did not know it was stopping would start quick again within 0.02 s.
    running.stop(timeout=5)
    assert spawned == ["quick", "slow"]
    assert sum(running.restarts.values()) == 0
    assert all(proc.poll() is not None for proc in running.processes.values())


def test_a_held_process_stays_stopped_until_released(tmp_path):
    running = supervisor(tmp_path, {"documents": SLEEPS, "identity": SLEEPS})
    running.start_all()
    running.supervise()
    first = running.processes["documents"]
    try:
        running.hold("documents")
        assert first.poll() is not None  # stopped by the time hold returns
        time.sleep(0.5)  # 25 polls of the supervisor: none starts it again
        assert running.processes["documents"] is first
        assert running.dead() == {} and running.restarts["documents"] == 0
        running.release("documents")
        assert running.processes["documents"] is not first
        time.sleep(0.3)
        assert running.processes["documents"].poll() is None
        assert "exited" not in (tmp_path / "documents.log").read_text()  # never seen as a death
    finally:
        running.stop(timeout=5)
    assert all(process.poll() is not None for process in running.processes.values())
