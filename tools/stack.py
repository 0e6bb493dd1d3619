"""Run the whole system on one machine: `python -m tools.stack [--demo]`.

Migrates every service's database, starts the six services and the gateway each as its own
process (`python -m servicekit.run NAME`), waits until the gateway's /health says every service
is ok, and stops them all (SIGTERM, then kill) on exit or Ctrl-C. Settings come from the JALON_*
environment variables (servicekit/config.py); each process logs to <log dir>/<name>.log.

Each process serves its Prometheus metrics on a port of its own (`stack.metrics_urls`):
JALON_METRICS_BASE_PORT and the next ones, in the order of `PROCESSES` (`make run`: 9300 on),
free ports when it is unset, none when it is 0.

Once the stack is up, a process that exits (a crash, a liveness exit, a SIGKILL) is started
again by a supervisor thread, after 0.5 s doubling to 30 s (back to 0.5 s after a minute up);
each restart is said on stderr and in the process's log, and counted in `stack.restarts`.

`Stack(replicas={"documents": 2})` runs a process twice or more (the extra ones named
`documents.2`, ...: their own log and metrics port); they share the service's queues, as
replicas on several machines would (the benchmark's replica scaling).

Tests and benchmarks use the same thing from Python:

    with Stack({"JALON_DATA_DIR": str(tmp), "JALON_HTTP_ADDRESS": "127.0.0.1:18000"},
               log_dir=tmp / "logs") as stack:
        requests.get(stack.base_url + "/health")
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

from servicekit import config, registry
from tools.waiting import wait_until

PR_SET_PDEATHSIG = 1  # linux/prctl.h

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = registry.names()  # the services and the gateway, as each registers itself
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", ""}
HOW_TO_GET_RABBITMQ = (
    "Install one: `sudo apt-get install rabbitmq-server` (then `sudo rabbitmq-server -detached`), "
    "or run one in Docker: `docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management`; "
    "or point JALON_AMQP_URI at a running broker."
)
DEFAULT_METRICS_BASE_PORT = "9300"  # `make run`'s; 9100 is often node_exporter's


def die_with_parent() -> None:
    """In the child, before exec: if the launcher itself is killed (kill -9, a test runner
    stopped hard), the kernel kills the service too instead of leaving it orphaned."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class StackError(RuntimeError):
    """The stack could not be started; the message says why and shows the relevant log."""


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ overlaid with `env` for the duration: servicekit.config reads os.environ."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_for(env: dict[str, str]) -> config.Settings:
    with environment(env):
        return config.load()


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def broker_address(amqp_uri: str) -> tuple[str, int]:
    parts = urlsplit(amqp_uri)
    return parts.hostname or "localhost", parts.port or 5672


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_rabbitmq(amqp_uri: str, timeout: float = 90) -> None:
    """A broker answers on the URI's host:port, or one is started here if it is local."""
    host, port = broker_address(amqp_uri)
    if answers(host, port):
        return
    if host not in LOCAL_HOSTS:
        raise StackError(f"RabbitMQ does not answer on {host}:{port} (JALON_AMQP_URI).")
    if not shutil.which("rabbitmq-server"):
        raise StackError(f"RabbitMQ does not answer on {host}:{port} and rabbitmq-server is "
                         f"not installed. {HOW_TO_GET_RABBITMQ}")
    print(f"RabbitMQ is not running on {host}:{port}: starting rabbitmq-server -detached ...",
          file=sys.stderr)
    subprocess.run(["rabbitmq-server", "-detached"], check=False, timeout=60)
    try:
        wait_until(lambda: answers(host, port), timeout, interval=0.5)
    except TimeoutError:
        raise StackError(f"rabbitmq-server was started but {host}:{port} still does not answer "
                         f"after {timeout:.0f} s. {HOW_TO_GET_RABBITMQ}") from None


def unhealthy_parts(body: object) -> list[str]:
    """What the gateway's /health body says is not ok ([] when all is well).

    Accepts {"status": "ok", "services": {name: {"status": "ok", ...}}}, the list form
    {"services": [{"service": name, "status": "ok"}, ...]}, or a plain {"status": "ok"}.
    """
    if not isinstance(body, dict):
        return ["gateway"]
    services = body.get("services")
    if services is None:
        return [] if body.get("status") == "ok" else ["gateway"]
    if isinstance(services, list):
        services = {item.get("service"): item for item in services if isinstance(item, dict)}
    return [name for name in PROCESSES if name != "gateway" and not _is_ok(services.get(name))]


def _is_ok(entry: object) -> bool:
    if isinstance(entry, dict):
        return entry.get("status") == "ok"
    return entry == "ok"


def get_health(base_url: str) -> tuple[int | None, object]:
    try:
        with urllib.request.urlopen(base_url + "/health", timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (OSError, ValueError):
        return None, None


def gateway_url(http_address: str) -> str:
    """The URL to reach the gateway listening on JALON_HTTP_ADDRESS (any-address -> loopback)."""
    host, _, port = http_address.rpartition(":")
    if host in ("0.0.0.0", "", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def metrics_ports(env: dict[str, str]) -> dict[str, int]:
    """The port each process serves /metrics on (module docstring); {} when off."""
    from tools.smtp import free_port  # here: tools.smtp imports this module, through tools.demo

    base = env.get("JALON_METRICS_BASE_PORT")
    if base is None:
        return {name: free_port() for name in PROCESSES}
    if int(base) == 0:
        return {}
    return {name: int(base) + index for index, name in enumerate(PROCESSES)}


def service_command(name: str) -> list[str]:
    """The command of a process or of one of its replicas (`documents.2` runs documents)."""
    return [sys.executable, "-m", "servicekit.run", name.partition(".")[0]]


def extra_replicas(replicas: dict[str, int]) -> tuple[str, ...]:
    """The names of the processes beyond the first of each (`replicas`: name -> count)."""
    unknown = sorted(set(replicas) - set(PROCESSES))
    if unknown:
        raise StackError(f"No such process to replicate: {', '.join(unknown)}.")
    return tuple(f"{name}.{n}" for name, count in replicas.items() for n in range(2, count + 1))


class Backoff:
    """Delays between restarts of one process: doubling from `first` to `longest`, and from
    `first` again once the process has stayed up `steady` seconds."""

    def __init__(self, first: float = 0.5, longest: float = 30, steady: float = 60):
        self.first, self.longest, self.steady = first, longest, steady
        self._next: dict[str, float] = {}

    def delay(self, name: str, uptime: float) -> float:
        current = self.first if uptime >= self.steady else self._next.get(name, self.first)
        self._next[name] = min(current * 2, self.longest)
        return current


class Supervisor:
    """Child processes, each started again with backoff when it exits, until `stop()`.

    A daemon thread watches them (the Stack is used from pytest, which has no loop of ours).
    Children are spawned with PR_SET_PDEATHSIG, which fires when the *thread* that forked them
    ends: so the thread lives until stop() has ended every child, and stop() forbids any new
    start before it signals the first one.
    """

    def __init__(self, names, log_path: Callable[[str], Path], env: dict[str, str],
                 command: Callable[[str], list[str]] = service_command,
                 backoff: Backoff | None = None, poll_seconds: float = 0.2,
                 env_of: Callable[[str], dict[str, str]] = lambda name: {}):
        self.names = tuple(names)
        self.log_path = log_path
        self.env = env
        self.env_of = env_of  # what one process's environment has besides `env`
        self.command = command
        self.backoff = backoff or Backoff()
        self.poll_seconds = poll_seconds
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: collections.Counter[str] = collections.Counter()
        self._started_at: dict[str, float] = {}
        self._restart_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._held: set[str] = set()  # stopped on purpose: not restarted until released
        self._stopping = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start_all(self) -> None:
        for name in self.names:
            self._spawn(name, "w")

    def supervise(self) -> None:
        """From now on, a process that exits is started again."""
        self._thread = threading.Thread(target=self._watch, name="stack-supervisor", daemon=True)
        self._thread.start()

    def dead(self) -> dict[str, int]:
        return {name: proc.returncode for name, proc in self.processes.items()
                if proc.poll() is not None and name not in self._held}

    def _spawn(self, name: str, mode: str) -> None:
        with self.log_path(name).open(mode) as out:  # the child keeps its own descriptor
            # A session of its own: Ctrl-C in the terminal reaches this launcher only, which
            # then stops the children in order instead of all of them dying mid-request.
            self.processes[name] = subprocess.Popen(
                self.command(name), cwd=ROOT, env={**self.env, **self.env_of(name)}, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=die_with_parent)
        self._started_at[name] = time.monotonic()

    def hold(self, name: str, timeout: float = 30) -> None:
        """Stops a process (SIGTERM, as a deployment scales it down) and keeps it stopped:
        its queues fill meanwhile, e.g. a backlog of certified months for documents."""
        with self._lock:
            self._held.add(name)
            self._restart_at.pop(name, None)
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            _wait_or_kill(process, timeout)

    def release(self, name: str) -> None:
        """Starts a held process again."""
        with self._lock:
            if self._stopping or name not in self._held:
                return
            self._spawn(name, "a")  # first: the watcher must never see it unheld and exited
            self._held.discard(name)

    def _watch(self) -> None:
        while not self._stopped.wait(self.poll_seconds):
            for name in self.names:
                self._check(name)

    def _check(self, name: str) -> None:
        code = self.processes[name].poll()
        if code is None or self._stopping or name in self._held:
            return
        now = time.monotonic()
        if name not in self._restart_at:
            uptime = now - self._started_at[name]
            delay = self.backoff.delay(name, uptime)
            self._restart_at[name] = now + delay
            self._announce(name, f"{name} exited with code {code} after {uptime:.1f} s; "
                                 f"restarting in {delay:.1f} s")
            return
        if now < self._restart_at[name]:
            return
        with self._lock:
            if self._stopping or name in self._held:
                return
            self._spawn(name, "a")
        del self._restart_at[name]
        self.restarts[name] += 1
        self._announce(name, f"{name} restarted (restart {self.restarts[name]}, "
                             f"pid {self.processes[name].pid})")

    def _announce(self, name: str, line: str) -> None:
        print(f"[stack] {line}", file=sys.stderr, flush=True)
        with self.log_path(name).open("a") as log:
            log.write(f"[stack] {line}\n")

    def stop(self, timeout: float) -> None:
        """SIGTERM to every process (last started first), then kill stragglers."""
        with self._lock:
            self._stopping = True
        for name in reversed(list(self.processes)):
            proc = self.processes[name]
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            _wait_or_kill(proc, max(0.1, deadline - time.monotonic()))
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()


def _wait_or_kill(process: subprocess.Popen, timeout: float) -> None:
    """Until a signalled process exits; killed when it has not within `timeout` seconds."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Stack:
    """The six services and the gateway as child processes, for as long as the `with` lasts."""

    def __init__(self, env: dict[str, str] | None = None, log_dir: Path | None = None,
                 startup_timeout: float = 120, stop_timeout: float = 15,
                 replicas: dict[str, int] | None = None):
        from tools.smtp import free_port  # here: tools.smtp imports this module

        self.env = {**os.environ, **(env or {})}
        self.settings = settings_for(self.env)
        self.log_dir = Path(log_dir or self.settings.data_dir / "logs")
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        extra = extra_replicas(replicas or {})
        self.metrics_ports = metrics_ports(self.env)
        if self.metrics_ports:  # metrics on: each replica serves them on a port of its own
            self.metrics_ports.update({name: free_port() for name in extra})
        self.supervisor = Supervisor(PROCESSES + extra, self.log_path, self.env,
                                     env_of=self.env_of)

    @property
    def processes(self) -> dict[str, subprocess.Popen]:
        """The current process of each name (a restart replaces it)."""
        return self.supervisor.processes

    @property
    def restarts(self) -> collections.Counter[str]:
        return self.supervisor.restarts

    @property
    def base_url(self) -> str:
        return gateway_url(self.settings.http_address)

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Process name -> the URL of its Prometheus metrics."""
        return {name: f"http://127.0.0.1:{port}/metrics"
                for name, port in self.metrics_ports.items()}

    def env_of(self, name: str) -> dict[str, str]:
        port = self.metrics_ports.get(name)
        return {} if port is None else {"JALON_METRICS_PORT": str(port)}

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_rabbitmq(self.settings.amqp_uri)
        self.migrate()
        self.supervisor.start_all()
        self.wait_healthy()
        self.supervisor.supervise()

    def migrate(self) -> None:
        log = self.log_path("migrate")
        with log.open("w") as out:
            result = subprocess.run([sys.executable, "-m", "servicekit.migrate", "all"],
                                    cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    timeout=300)
        if result.returncode != 0:
            raise StackError(f"Migrations failed (exit {result.returncode}); end of {log}:\n"
                             f"{tail(log)}")

    def hold(self, *names: str) -> None:
        """Stops these processes until `release`; see Supervisor.hold."""
        for name in names:
            self.supervisor.hold(name)

    def release(self, *names: str) -> None:
        for name in names:
            self.supervisor.release(name)

    def raise_if_dead(self) -> None:
        dead = self.supervisor.dead()
        if dead:
            name, code = next(iter(dead.items()))
            raise StackError(f"{name} exited with code {code}; end of {self.log_path(name)}:\n"
                             f"{tail(self.log_path(name))}")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        status, body, bad = None, None, ["gateway"]
        while time.monotonic() < deadline:
            self.raise_if_dead()
            status, body = get_health(self.base_url)
            bad = unhealthy_parts(body) if body is not None else ["gateway"]
            if status == 200 and not bad:
                return
            time.sleep(0.5)
        self.raise_if_dead()
        culprit = (bad or ["gateway"])[0]
        raise StackError(
            f"{self.base_url}/health not healthy after {self.startup_timeout:.0f} s "
            f"(last answer: {status} {json.dumps(body, ensure_ascii=False)[:500]}); "
            f"not ok: {', '.join(bad) or 'gateway'}; end of {self.log_path(culprit)}:\n"
            f"{tail(self.log_path(culprit))}")

    def stop(self) -> None:
        """Gateway first (no new requests), never racing a restart."""
        self.supervisor.stop(self.stop_timeout)


def run_demo(stack: Stack) -> int:
    result = subprocess.run([sys.executable, "-m", "tools.demo", "--base-url", stack.base_url],
                            cwd=ROOT, env=stack.env, timeout=300)
    return result.returncode


def print_where_to_go(stack: Stack) -> None:
    url = stack.base_url
    print(f"""
Jalon is running.
  Gateway          {url}
  API docs         {url}/docs   (OpenAPI: {url}/openapi.json)
  Health           {url}/health
  Emails written   {stack.settings.mail_dir}
  Logs             {stack.log_dir}
  Metrics          {metrics_lines(stack)}
Ctrl-C stops everything.""", flush=True)


def metrics_lines(stack: Stack) -> str:
    urls = stack.metrics_urls
    if not urls:
        return "off (JALON_METRICS_BASE_PORT=0)"
    return "\n                   ".join(f"{name:<14} {url}" for name, url in urls.items())


def wait_for_exit() -> int:
    """Block until Ctrl-C/SIGTERM (exit 0): a process that dies is restarted meanwhile."""
    while True:
        time.sleep(3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="store_true", help="load demo data once started")
    parser.add_argument("--log-dir", type=Path, help="default: <JALON_DATA_DIR>/logs")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to become healthy")
    args = parser.parse_args(argv)
    # SIGTERM ends the launcher like Ctrl-C does: through `with`, which stops the children.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        env = {"JALON_METRICS_BASE_PORT": os.environ.get("JALON_METRICS_BASE_PORT",
                                                          DEFAULT_METRICS_BASE_PORT)}
        with Stack(env, log_dir=args.log_dir, startup_timeout=args.timeout) as stack:
            if args.demo and run_demo(stack) != 0:
                print("Loading the demo data failed (see above); the stack keeps running.",
                      file=sys.stderr)
            print_where_to_go(stack)
            return wait_for_exit()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())
