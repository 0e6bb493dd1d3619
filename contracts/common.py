"""Types shared by the RPC and HTTP shapes of every service."""
from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Shape(BaseModel):
    """Base of every request and reply shape: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Role(str, Enum):
    funder_agent = "funder_agent"
    funder_admin = "funder_admin"
    organisation_user = "organisation_user"
    beneficiary = "beneficiary"
    employer = "employer"


FUNDER_ROLES = frozenset({Role.funder_agent, Role.funder_admin})


class Actor(Shape):
    """Who is calling, as the gateway authenticated them. Every service checks it itself."""

    user_id: str
    role: Role
    funder_id: str
    organisation_id: str | None = None
    party_id: str | None = Field(None, description="the beneficiary or employer this user is")
    rights: list[str] = []
    ip: str | None = None

    @property
    def is_funder_staff(self) -> bool:
        return self.role in FUNDER_ROLES


Id = Annotated[str, Field(min_length=1, max_length=64)]
