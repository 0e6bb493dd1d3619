"""Event payloads, one model per (service, event, version), and the registry that finds them.

Changing a payload incompatibly means a new version class registered beside the old one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

Hours = Annotated[Decimal, Field(ge=0, max_digits=7, decimal_places=2)]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(Payload):
    id: str
    name: str
    email: EmailStr


class MonthHours(Payload):
    training: Hours
    internship: Hours
    absence: Hours


class CertifiedV1(Payload):
    """A training organisation certified the hours of one dossier's month."""

    certificate_id: str
    dossier_id: str
    dossier_number: str
    funder_id: str
    organisation_id: str
    organisation_name: str
    beneficiary: Party
    employer: Party | None
    training_title: str
    session_start: date
    session_end: date
    month: Month
    hours: MonthHours
    method: int = Field(ge=1, le=2)
    certified_by: str
    certified_at: datetime
    certified_from_ip: str | None = None


class MonthLockedV1(Payload):
    """Payments locked a dossier's month: its certified hours are now the payable hours."""

    dossier_id: str
    month: Month
    hours: MonthHours
    certificate_id: str
    locked_at: datetime


@dataclass(frozen=True)
class EventSpec:
    service: str
    name: str
    version: int
    model: type[Payload]


REGISTRY: dict[tuple[str, str], EventSpec] = {}


def register(service: str, name: str, version: int, model: type[Payload]) -> EventSpec:
    spec = EventSpec(service, name, version, model)
    REGISTRY[(service, name)] = spec
    return spec


CERTIFIED = register("certification", "certified", 1, CertifiedV1)
MONTH_LOCKED = register("payments", "month_locked", 1, MonthLockedV1)


def spec_for(service: str, name: str) -> EventSpec:
    return REGISTRY[(service, name)]
