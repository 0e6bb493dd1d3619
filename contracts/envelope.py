"""The one envelope of every event: CloudEvents 1.0 (structured JSON mode) plus a schema version.

Extension attributes (CloudEvents allows lower-case alphanumerics): `schemaversion` (the payload
model's version) and `correlationid` (the request that caused the event). The `type` names the
event whatever its version; the routing key says the version too (`routing_key`).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    specversion: str = Field("1.0", pattern=r"^1\.0$")
    id: str = Field(min_length=1)
    source: str = Field(min_length=1, description="jalon/<service>")
    type: str = Field(min_length=1, description="fr.jalon.<service>.<event>")
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    schemaversion: int = Field(ge=1)
    correlationid: str | None = None
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.source.removeprefix("jalon/")


def cloud_type(service: str, event: str) -> str:
    return f"fr.jalon.{service}.{event}"


def routing_key(event: str, version: int) -> str:
    """Where a version of an event travels on its publisher's exchange: version 1 keeps the
    bare name (the queues bound before versions existed), each later one its own key."""
    return event if version == 1 else f"{event}.v{version}"


def new_envelope(service: str, event: str, version: int, data: BaseModel,
                 subject: str | None = None, correlation_id: str | None = None) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source=f"jalon/{service}",
        type=cloud_type(service, event),
        subject=subject,
        time=datetime.now(timezone.utc),
        schemaversion=version,
        correlationid=correlation_id,
        data=data.model_dump(mode="json"),
    )
