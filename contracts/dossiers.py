"""dossiers RPC shapes: beneficiaries, employers, dossiers."""
from __future__ import annotations

from datetime import date

from pydantic import EmailStr, Field, model_validator

from contracts.common import Id, Shape


class NewParty(Shape):
    name: str = Field(min_length=1, max_length=200, description="as printed: 'DUBOIS Michelle'")
    email: EmailStr


class Party(NewParty):
    id: Id
    kind: str = Field(description="beneficiary or employer")
    funder_id: Id


class NewDossier(Shape):
    number: str = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9/._-]+$",
                        description="as the funder writes it: 20X000703, 16/0/5756")
    organisation_id: Id
    beneficiary_id: Id
    employer_id: Id | None = None
    training_title: str = Field(min_length=1, max_length=300)
    session_start: date
    session_end: date

    @model_validator(mode="after")
    def _session_in_order(self):
        if self.session_end < self.session_start:
            raise ValueError("session_end is before session_start")
        return self


class Dossier(Shape):
    id: Id
    number: str
    funder_id: Id
    organisation_id: Id
    organisation_name: str
    beneficiary: Party
    employer: Party | None = None
    training_title: str
    session_start: date
    session_end: date
    status: str = Field(description="stable code, e.g. in_progress")
    status_label: str | None = Field(None, description="as users read it, in French")
