"""identity RPC shapes: funders, organisations, users, login."""
from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, Field

from contracts.common import Actor, Id, Role, Shape

Identifier = Field(min_length=3, max_length=150)


class Credentials(Shape):
    identifier: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class Session(Shape):
    access_token: str
    token_type: str = "Bearer"
    expires_at: datetime


class NewUser(Shape):
    identifier: str = Identifier
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)


class NewOrganisation(Shape):
    name: str = Field(min_length=1, max_length=200)
    siret: str = Field(min_length=14, max_length=17, description="14 digits, spaces allowed")
    email: EmailStr
    legal_representative: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=500)
    user: NewUser


class Organisation(Shape):
    id: Id
    funder_id: Id
    name: str
    siret: str
    email: str
    legal_representative: str | None = None
    address: str | None = None


class User(Shape):
    id: Id
    identifier: str
    name: str
    email: str
    role: Role
    funder_id: Id
    organisation_id: Id | None = None


class Me(Shape):
    user: User
    organisation: Organisation | None = None


class NewFunder(Shape):
    """Bootstrap: the first funder and its administrator (allowed once per funder code)."""

    code: str = Field(min_length=2, max_length=50, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1, max_length=200)
    admin: NewUser


__all__ = ["Actor", "Credentials", "Me", "NewFunder", "NewOrganisation", "NewUser",
           "Organisation", "Session", "User"]
