"""Shapes only the HTTP gateway speaks: problem details, health report, query strings."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from contracts.common import Shape


class Problem(BaseModel):
    """RFC 9457 problem details (application/problem+json), plus Jalon's extension members.

    Not a Shape: RFC 9457 lets a problem carry further members, clients must ignore them.
    """

    type: str = Field(description="URI naming the kind of problem: urn:jalon:problem:<code>")
    title: str = Field(description="short French summary of the HTTP status")
    status: int
    detail: str = Field(description="French explanation for the user")
    code: str = Field(description="stable machine-readable code, snake_case")
    instance: str | None = Field(None, description="the request path")
    errors: list[dict[str, Any]] | None = Field(None, description="validation errors")
    details: dict[str, Any] | None = None
    correlation_id: str


class ServiceHealth(BaseModel):
    status: str = Field(description="ok, or why not (rpc_timeout, service_unavailable, ...)")
    database: str | None = None
    detail: str | None = None


class HealthReport(BaseModel):
    status: str = Field(description="ok when every service answered ok, else degraded")
    services: dict[str, ServiceHealth]


class DocumentSearch(Shape):
    q: str | None = Field(None, max_length=200, description=(
        "dossier number, beneficiary name, category or label; without it, the documents "
        "attached to no dossier"))


class AuditQuery(Shape):
    """Filters of the audit trail (issue 15), newest entries first, a page at a time."""

    limit: int = Field(200, ge=1, le=1000, description="entries per page, the most recent first")
    page: int = Field(1, ge=1, le=100000)
    dossier: str | None = Field(None, max_length=64, description="a dossier's id or number")
    person: str | None = Field(None, max_length=200,
                               description="part of the person's name, or their user id")
    kind: str | None = Field(None, max_length=50, description='what was done, e.g. "certified"')
    since: date | None = Field(None, description="from this day (UTC), included")
    until: date | None = Field(None, description="to this day (UTC), included")


class FunderAuditQuery(AuditQuery):
    organisation_id: str | None = Field(None, max_length=64,
                                        description="one organisation's entries only")


class LinkToken(Shape):
    """The single-use token of an emailed link."""

    token: str = Field(min_length=1, max_length=200)


class Accepted(Shape):
    """202: the request is taken into account (the answer never tells more)."""

    detail: str
