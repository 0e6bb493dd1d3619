"""Where a bench phase's CPU went, from Linux's /proc: each of the stack's processes, the
PostgreSQL and RabbitMQ servers, the bench itself (its clients and SMTP server) and the whole
machine, with the time the hypervisor took from it (steal). Per certified month, and the most
months per second the machine's cores could certify at that cost if they did nothing else
(the drain's ceiling), and how many cores were busy. None off Linux.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PROC = Path("/proc")
# Process names (comm) of the servers the stack uses; their backends and helpers included.
SERVERS = {"postgres": "postgresql", "beam.smp": "rabbitmq", "erl_child_setup": "rabbitmq",
           "inet_gethost": "rabbitmq", "epmd": "rabbitmq"}
# Not the system's: this process (its clients and pollers) and the test SMTP server, which
# the caller passes as "smtp" among the processes.
OUTSIDE = ("bench", "smtp")


@dataclass(frozen=True)
class Sample:
    at: float
    processes: dict[str, tuple[int, float]]  # name -> (pid, CPU seconds; pid 0 for a group)
    machine: dict[str, float]  # busy, idle, steal: seconds summed over the cores


def process_seconds(pid: int | str) -> float | None:
    """User + system CPU seconds of a process, its threads and its reaped children."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone, or not ours to read
        return None
    fields = text.rpartition(")")[2].split()  # the name may hold spaces: split after it
    return sum(int(value) for value in fields[11:15]) / TICKS


def servers_seconds() -> dict[str, float]:
    """Per server, the CPU seconds of its live processes (exited backends are in their
    parent's reaped-children time, so counted once)."""
    totals = dict.fromkeys(set(SERVERS.values()), 0.0)
    for path in PROC.glob("[0-9]*"):
        try:
            server = SERVERS.get((path / "comm").read_text().strip())
        except OSError:
            continue
        if server is not None:
            totals[server] += process_seconds(path.name) or 0.0
    return totals


def machine_seconds() -> dict[str, float]:
    # cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:9])
    return {"busy": (user + nice + system + irq + softirq) / TICKS,
            "idle": (idle + iowait) / TICKS, "steal": steal / TICKS}


def on_linux() -> bool:
    return (PROC / "stat").exists()


def sample(processes: dict[str, subprocess.Popen]) -> Sample | None:
    """Now, for `processes` (name -> process: the stack's, as tools.stack.Stack has them, and
    the SMTP server's as "smtp")."""
    if not on_linux():
        return None
    counted = {name: (process.pid, process_seconds(process.pid) or 0.0)
               for name, process in processes.items()}
    counted.update({server: (0, seconds) for server, seconds in servers_seconds().items()})
    counted["bench"] = (0, process_seconds("self") or 0.0)
    return Sample(time.perf_counter(), counted, machine_seconds())


def wait_idle(processes: dict[str, subprocess.Popen], below: float = 0.1,
              window: float = 1.0, timeout: float = 120) -> float:
    """Until `processes` together spent less than `below` of a core over `window` seconds (what
    a setup left behind them done), at most `timeout` seconds; the seconds waited."""
    started = time.perf_counter()
    if not on_linux():
        return 0.0
    while time.perf_counter() - started < timeout:
        before = sample(processes)
        time.sleep(window)
        after = sample(processes)
        spent = sum(seconds for name, seconds in _spent(before, after).items()
                    if name in processes)
        if spent < below * (after.at - before.at):
            break
    return round(time.perf_counter() - started, 3)


def _spent(before: Sample, after: Sample) -> dict[str, float]:
    """Per process, the CPU between the samples (all of it for one (re)started meanwhile)."""
    spent = {}
    for name, (pid, seconds) in after.processes.items():
        old_pid, old_seconds = before.processes.get(name, (None, 0.0))
        spent[name] = seconds - (old_seconds if old_pid == pid else 0.0)
    return spent


def used(before: Sample | None, after: Sample | None, months: int) -> dict | None:
    """The CPU spent between two samples, in ms per month of the `months` done meanwhile."""
    if before is None or after is None or not months:
        return None
    spent = _spent(before, after)
    machine = {key: after.machine[key] - before.machine[key] for key in after.machine}
    system = sum(seconds for name, seconds in spent.items() if name not in OUTSIDE)
    outside = sum(spent.get(name, 0.0) for name in OUTSIDE)
    cores = os.cpu_count() or 1
    elapsed = after.at - before.at

    def per_month(seconds: float) -> float:
        return round(1000 * seconds / months, 1)

    return {
        "months": months, "cores": cores,
        "ms_per_month": {name: per_month(seconds) for name, seconds in sorted(spent.items())},
        "system_ms_per_month": per_month(system),
        "unaccounted_ms_per_month": per_month(machine["busy"] - system - outside),
        "busy_cores": round(machine["busy"] / elapsed, 2),
        "steal_share": round(machine["steal"] / (sum(machine.values()) or 1), 3),
        "ceiling_months_per_s": round(cores * months / system, 2) if system else None,
        "notes": "ms_per_month: CPU (user + system) of each process over the phase, per month "
                 "done; system = the stack's processes and the PostgreSQL and RabbitMQ servers "
                 "(not the bench's clients and pollers nor its SMTP server); unaccounted = the "
                 "machine's busy time that none of these spent (other processes); busy_cores: "
                 "the machine's mean busy cores; steal_share: the share of its time the "
                 "hypervisor took; ceiling_months_per_s: cores / system CPU per month, the most "
                 "months per second these cores could certify at this cost and nothing else",
    }
