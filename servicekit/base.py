"""What every Jalon service class has, declared once: the correlation id of its workers and
the health check the gateway's /health calls. A service subclasses it and adds `db`."""
from __future__ import annotations

from nameko.rpc import rpc
from sqlalchemy import text

from servicekit.context import RequestContext
from servicekit.stopping import stop_promptly

stop_promptly()  # every process that runs a service


class ServiceBase:
    context = RequestContext()

    @rpc
    def health(self):
        with self.db.read() as session:
            session.execute(text("SELECT 1"))
        return {"service": self.name, "status": "ok", "database": "ok"}
