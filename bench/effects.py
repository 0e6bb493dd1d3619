"""Which certified months have every effect done, read in the services' own databases.

Every consumer of certification's `certified` event records the event in its database's
`processed_events` in the transaction that does its effect (servicekit.events.idempotent): the
PDF filed, the month locked for payment, the emails queued, the dossier's month, the audit
entry, the funder's feed. A month is done for all of them when its event is recorded by every
consumer. Asking the databases, and not the gateway, leaves the stack being measured alone:
asking the gateway about each month cost authentications and RPCs on the very cores whose
drain was being timed, and saw two effects of the five.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, create_engine, select

from servicekit import config, registry
from servicekit.db import driver_url
from servicekit.events import Subscription
from servicekit.tables import add_kit_tables
from tools.stack import environment

_, PROCESSED = add_kit_tables(MetaData())


def consumers(source: str = "certification", event_name: str = "certified") -> dict[str, list[str]]:
    """Each registered process's handlers of the event, named as their claims name them
    ("<service>.<method>", servicekit.events.idempotent)."""
    found: dict[str, list[str]] = {}
    for name in registry.names():
        for member in vars(registry.service_class(name)).values():
            for entrypoint in getattr(member, "nameko_entrypoints", ()):
                if isinstance(entrypoint, Subscription) and (
                        entrypoint.source_service, entrypoint.event_name) == (source, event_name):
                    found.setdefault(name, []).append(f"{name}.{member.__name__}")
    return found


class EventsHandled:
    """The events every handler of `handlers` ({service: [handler]}) recorded since `since`,
    each service's database at `urls[service]`."""

    def __init__(self, urls: dict[str, str], handlers: dict[str, list[str]], since: datetime):
        self.handlers = handlers
        self.since = since
        self.engines = {service: create_engine(driver_url(urls[service]), pool_size=1)
                        for service in handlers}

    @classmethod
    def certified(cls, stack, since: datetime) -> EventsHandled:
        """For the stack's processes (tools.stack.Stack), their databases as they run them."""
        handlers = consumers()
        with environment(stack.env):
            settings = config.load()
            return cls({service: settings.database_url(service) for service in handlers},
                       handlers, since)

    def by_all(self) -> set[str]:
        """The ids of the events every handler recorded."""
        every: set[str] | None = None
        for service, names in self.handlers.items():
            with self.engines[service].connect() as connection:
                rows = connection.execute(select(PROCESSED.c.handler, PROCESSED.c.event_id).where(
                    PROCESSED.c.handler.in_(names), PROCESSED.c.processed_at >= self.since)).all()
            for name in names:
                ids = {event_id for handler, event_id in rows if handler == name}
                every = ids if every is None else every & ids
        return every or set()

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
