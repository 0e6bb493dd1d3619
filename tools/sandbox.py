"""A RabbitMQ vhost and PostgreSQL databases of our own, so that a running `make run` stack,
the end-to-end stack, the in-process integration containers and the bench never share queues
or tables; all removed at the end."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from typing import Iterator
from urllib.parse import quote


def _rabbitmqctl(*args: str) -> bool:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=60).returncode == 0


@contextlib.contextmanager
def private_vhost(base_uri: str, label: str) -> Iterator[str]:
    """The AMQP URI of a new vhost `jalon-<label>-…`, deleted at the end; `base_uri` itself
    (the broker's default vhost) when rabbitmqctl is missing or refuses."""
    vhost = f"jalon-{label}-{uuid.uuid4().hex[:8]}"
    if shutil.which("rabbitmqctl") and _rabbitmqctl("add_vhost", vhost) and _rabbitmqctl(
            "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"):
        try:
            yield base_uri.rstrip("/") + "/" + quote(vhost, safe="")
        finally:
            _rabbitmqctl("delete_vhost", vhost)
    else:
        yield base_uri


class PostgresDatabases:
    """Creates throw-away databases `<prefix>_<service>_…` on the server of `admin_url` and
    drops them all at the end (drop_all)."""

    def __init__(self, admin_url: str, prefix: str):
        from sqlalchemy import create_engine

        from servicekit.db import driver_url
        self.admin_url = admin_url
        self.prefix = prefix
        self.engine = create_engine(driver_url(admin_url), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def _run(self, sql: str) -> None:
        from sqlalchemy import text
        with self.engine.connect() as conn:
            conn.execute(text(sql))

    def create(self, service: str) -> str:
        """The URL of a new, empty database for `service`."""
        name = f"{self.prefix}_{service}_{uuid.uuid4().hex[:8]}"
        self._run(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.admin_url.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        for name in self.created:
            self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.engine.dispose()
