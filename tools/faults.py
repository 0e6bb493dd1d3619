"""A RabbitMQ node and a PostgreSQL cluster of their own, on other ports, that the fault suite
(tests/faults) stops, kills and restarts without disturbing the shared servers on 5672/5432.

    with RabbitNode(root / "rabbit") as broker, PostgresCluster(root / "pg") as database:
        broker.restart(down_seconds=6)
        database.restart("immediate")   # a crash: no checkpoint, recovery at start

Both need to run as root (RabbitMQ keeps its cookie in $HOME; initdb/pg_ctl run as `postgres`).
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tools.smtp import free_port
from tools.stack import answers
from tools.waiting import wait_until

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def missing_tools() -> str | None:
    """Why the fault suite cannot run here, or None."""
    if not (RABBIT_BIN / "rabbitmq-server").exists() and not shutil.which("rabbitmq-server"):
        return "rabbitmq-server is not installed (apt-get install rabbitmq-server)"
    if postgres_bin() is None:
        return "PostgreSQL's initdb is not installed (apt-get install postgresql)"
    if os.geteuid() != 0:
        return "the fault suite runs its own RabbitMQ node and PostgreSQL cluster: run it as root"
    return None


class RabbitNode:
    """A second RabbitMQ node (no plugins, no management port) under `root`."""

    def __init__(self, root: Path, name: str = "jalon-faults"):
        self.root = root
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"{name}-{self.port}@localhost"
        root.mkdir(parents=True, exist_ok=True)
        (root / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (root / "env.conf").write_text("")  # not the system's NODENAME
        (root / "enabled_plugins").write_text("[].\n")
        self.env = {**os.environ, "HOME": str(root), "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port),
                    "RABBITMQ_CONF_ENV_FILE": str(root / "env.conf"),
                    "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
                    "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(root / "log"),
                    "RABBITMQ_PID_FILE": str(root / "rabbit.pid")}

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _ctl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self, timeout: float = 120) -> None:
        subprocess.run([str(RABBIT_BIN / "rabbitmq-server"), "-detached"], env=self.env,
                       check=True, timeout=60, capture_output=True)
        # await_startup gives up at once while the node is not yet registered with epmd.
        try:
            wait_until(lambda: answers("127.0.0.1", self.port), timeout, interval=0.5)
        except TimeoutError:
            log = self.root / "log" / f"{self.node}.log"
            raise RuntimeError(f"RabbitMQ node {self.node} did not start; see {log}") from None
        self._ctl("await_startup", "--timeout", "60", timeout=70)

    def stop(self) -> None:
        """Stops the node and waits until its OS process is gone (the pid file form)."""
        self._ctl("stop", str(self.root / "rabbit.pid"))
        try:
            wait_until(lambda: not answers("127.0.0.1", self.port, timeout=0.2), 30, interval=0.5)
        except TimeoutError:
            os.kill(int((self.root / "rabbit.pid").read_text()), signal.SIGKILL)

    def restart(self, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)  # the outage itself
        self.start()

    def queues(self) -> dict[str, int]:
        """Every queue's name and ready-message count."""
        listed = self._ctl("list_queues", "--quiet", "--no-table-headers", "name", "messages")
        pairs = (line.rsplit(None, 1) for line in listed.stdout.splitlines() if line.strip())
        return {name: int(count) for name, count in pairs}

    def __enter__(self) -> "RabbitNode":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


class PostgresCluster:
    """A private PostgreSQL cluster (trust auth, loopback) under a directory `postgres` owns."""

    def __init__(self, root: Path | None = None):
        self.bin = postgres_bin()
        # pytest's tmp dirs are 0700 root: the cluster lives where `postgres` can reach it.
        self.root = Path(tempfile.mkdtemp(prefix="jalon-faults-pg-", dir=root))
        os.chmod(self.root, 0o755)
        shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()

    def _as_postgres(self, tool: str, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr[-800:]}")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def url_template(self) -> str:
        return self.url("jalon_{service}")

    def _pg_ctl(self, action: str, *args: str) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=400 -c fsync=off")
        self._as_postgres("pg_ctl", action, "-D", str(self.data), "-l",
                          str(self.root / "postgres.log"), "-w", "-t", "60", "-o", options, *args)

    def start(self) -> None:
        if not self.data.exists():
            self._as_postgres("initdb", "-D", str(self.data), "-U", "postgres",
                              "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
        self._pg_ctl("start")

    def restart(self, mode: str = "fast") -> None:
        """`fast`: a clean restart; `immediate`: the server dies like a crash and recovers."""
        self._pg_ctl("restart", "-m", mode)

    def create_databases(self, names: list[str]) -> None:
        for name in names:
            self._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", "postgres", name)

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PostgresCluster":
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
