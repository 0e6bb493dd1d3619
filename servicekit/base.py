"""What every Jalon service class has, declared once: the correlation id of its workers and
the health check the gateway's /health calls. A service subclasses it and adds `db`."""
from __future__ import annotations

from nameko.rpc import rpc
from sqlalchemy import text

from servicekit.context import RequestContext
from servicekit.events import own_prefetch
from servicekit.poison import dead_letter_undecodable
from servicekit.resilience import survive_broker_restarts
from servicekit.stopping import stop_promptly


def patch_nameko() -> None:
    """What every process that runs containers needs from Nameko 2 and kombu: prompt stops,
    no death on a lost connection, undecodable messages dead-lettered, each subscription's own
    prefetch. Idempotent."""
    stop_promptly()
    survive_broker_restarts()
    dead_letter_undecodable()
    own_prefetch()  # after dead_letter_undecodable: it wraps that one's consumers


patch_nameko()  # every process that runs a service; run.py calls it for the gateway too


class ServiceBase:
    context = RequestContext()

    @rpc
    def health(self):
        with self.db.read() as session:
            session.execute(text("SELECT 1"))
        return {"service": self.name, "status": "ok", "database": "ok"}
