"""An outbox relay on SQLite in memory, publishing to a list: servicekit.outbox without a
broker nor a container."""
from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import MetaData, create_engine

from servicekit.db import utcnow
from servicekit.outbox import OutboxRelay
from servicekit.tables import add_kit_tables


class Relay(OutboxRelay):
    database = None  # the property reads a container's dependencies: given directly here


def outbox_relay(service: str) -> tuple[Relay, list]:
    metadata = MetaData()
    add_kit_tables(metadata)
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    relay = Relay()
    relay.database = SimpleNamespace(engine=engine, metadata=metadata,
                                     write_gate=contextlib.nullcontext)
    relay.container = SimpleNamespace(service_name=service)
    relay.exchange = "events"
    sent: list = []
    relay.publisher = SimpleNamespace(publish=lambda body, **kwargs: sent.append(body))
    return relay, sent


def pending_row(name: str, age: timedelta) -> dict:
    envelope = {"id": f"event-{name}-{age.seconds}", "type": f"jalon.{name}",
                "schemaversion": 1}
    return {"event_id": envelope["id"], "event_name": name, "envelope": json.dumps(envelope),
            "created_at": utcnow() - age}
