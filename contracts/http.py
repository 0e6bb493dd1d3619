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

    type: str = Field(description="URI naming the kind of problem: urn:jalon:problem:<code>",
                      examples=["urn:jalon:problem:month_not_locked"])
    title: str = Field(description="short French summary of the HTTP status",
                       examples=["Conflit"])
    status: int = Field(description="the HTTP status code", examples=[409])
    detail: str = Field(description="French explanation for the user",
                        examples=["Ce mois n'est pas verrouillé."])
    code: str = Field(description="stable machine-readable code, snake_case",
                      examples=["month_not_locked"])
    instance: str | None = Field(None, description="the request path",
                                 examples=["/dossiers/9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f/"
                                           "certificates/2026-10/payment-lock/unlock"])
    errors: list[dict[str, Any]] | None = Field(None, description="validation errors")
    details: dict[str, Any] | None = Field(None, description="facts about the failure, by code "
                                                             "(e.g. field, month, available)")
    correlation_id: str = Field(description="the request's X-Correlation-Id, to quote to "
                                            "support",
                                examples=["5f0c9a7e2b3d4c1e8f6a7b9c0d1e2f3a"])


class ServiceHealth(BaseModel):
    status: str = Field(description="ok, or why not (rpc_timeout, service_unavailable, ...)",
                        examples=["ok"])
    database: str | None = Field(None, description="the service's database: ok when it answered",
                                 examples=["ok"])
    detail: str | None = Field(None, description="more about the status, when there is more "
                                                 "to say",
                               examples=["la base de données ne répond pas"])


class HealthReport(BaseModel):
    status: str = Field(description="ok when every service answered ok, else degraded",
                        examples=["ok"])
    services: dict[str, ServiceHealth] = Field(description="each service's health, by name")


class DocumentSearch(Shape):
    q: str | None = Field(None, max_length=200, description=(
        "dossier number, beneficiary name, category or label; without it, the documents "
        "attached to no dossier"), examples=["20X000703"])


class AuditQuery(Shape):
    """Filters of the audit trail (issue 15), newest entries first, a page at a time."""

    limit: int = Field(200, ge=1, le=1000, description="entries per page, the most recent first")
    page: int = Field(1, ge=1, le=100000, description="the page wanted, 1 for the most recent "
                                                     "entries")
    dossier: str | None = Field(None, max_length=64, description="a dossier's id or number",
                                examples=["20X000703"])
    person: str | None = Field(None, max_length=200,
                               description="part of the person's name, or their user id",
                               examples=["Martin"])
    kind: str | None = Field(None, max_length=50, description='what was done, e.g. "certified"',
                             examples=["certified"])
    since: date | None = Field(None, description="from this day (UTC), included")
    until: date | None = Field(None, description="to this day (UTC), included")


class FunderAuditQuery(AuditQuery):
    organisation_id: str | None = Field(None, max_length=64,
                                        description="one organisation's entries only")


class LinkToken(Shape):
    """The single-use token of an emailed link."""

    token: str = Field(min_length=1, max_length=200, description="the token the link carries "
                                                                 "(its ?token= parameter)",
                       examples=["q3Jx8vN2kL5mP9rT1wY4zA7bC0dE6fG_hI3jK8lM2nO"])


class Accepted(Shape):
    """202: the request is taken into account (the answer never tells more)."""

    detail: str = Field(description="what was taken into account, in French",
                        examples=["Si un compte correspond à cet identifiant, un e-mail vient "
                                  "de lui être envoyé avec un lien pour choisir un nouveau mot "
                                  "de passe."])
