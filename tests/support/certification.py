"""certification's use cases without a broker or a database: in-memory repositories with the
methods of services/certification/models.py, fake neighbouring services answering in their
contract shapes, and builders of typical dossiers and actors."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from contracts.common import ALL_RIGHTS, Actor, Role
from contracts.common.errors import NotFound
from services.certification.domain import (Certificate, CertificationCode, CodeRequest,
                                           FunderSettings)
from services.certification.handlers import Ports
from tests.support.fakes import FakeClock, FakeDatabase, FakeDossiers
from tests.support.identity import profile_readiness
from tests.support.jobs import FakeJobs

FUNDER, ORGANISATION = "f-tpro", "o-lac"


# ---- repositories ---------------------------------------------------------------------------

class InMemoryCertificates:
    def __init__(self, *certificates: Certificate, settings: "InMemorySettings",
                 codes: "InMemoryCodes"):
        self.rows: dict[tuple[str, str], Certificate] = {}
        self._written: dict[str, dict] = {}
        self._settings, self._codes = settings, codes
        for certificate in certificates:
            self.add(certificate)

    def get(self, dossier_id: str, month: str) -> Certificate | None:
        return self.rows.get((dossier_id, month))

    def with_settings(self, dossier_id: str, month: str,
                      funder_id: str) -> tuple[Certificate | None, FunderSettings]:
        return self.get(dossier_id, month), self._settings.of_funder(funder_id)

    def with_code_and_settings(self, dossier_id: str, month: str, funder_id: str) -> tuple:
        return (self.get(dossier_id, month), self._codes.get(dossier_id, month),
                self._settings.of_funder(funder_id))

    def of_dossiers(self, dossier_ids: list[str]) -> list[Certificate]:
        return [c for c in self.rows.values() if c.dossier_id in dossier_ids]

    def add(self, certificate: Certificate) -> None:
        certificate.version = 1
        self.rows[(certificate.dossier_id, certificate.month)] = certificate
        self._written[certificate.id] = self._state(certificate)

    def write_now(self) -> None:
        """As the database's version column: each write of a changed certificate counts."""
        for certificate in self.rows.values():
            if self._state(certificate) != self._written[certificate.id]:
                certificate.version += 1
                self._written[certificate.id] = self._state(certificate)

    @staticmethod
    def _state(certificate: Certificate) -> dict:
        return {k: v for k, v in vars(certificate).items() if k != "version"}


class InMemorySettings:
    def __init__(self, *settings: FunderSettings):
        self.rows = {s.funder_id: s for s in settings}

    def get(self, funder_id: str) -> FunderSettings | None:
        return self.rows.get(funder_id)

    def of_funder(self, funder_id: str) -> FunderSettings:
        return self.get(funder_id) or FunderSettings(funder_id)

    def add(self, settings: FunderSettings) -> None:
        self.rows[settings.funder_id] = settings


class InMemoryCodes:
    def __init__(self):
        self.rows: dict[tuple[str, str], CertificationCode] = {}

    def get(self, dossier_id: str, month: str) -> CertificationCode | None:
        return self.rows.get((dossier_id, month))

    def add(self, code: CertificationCode) -> None:
        self.rows[(code.dossier_id, code.month)] = code


class InMemoryCodeRequests:
    def __init__(self):
        self.rows: list[CodeRequest] = []

    def add(self, request: CodeRequest) -> None:
        self.rows.append(request)

    def times_since(self, user_id: str, dossier_id: str, month: str,
                    since: datetime) -> list[datetime]:
        return [r.requested_at for r in self.rows
                if (r.user_id, r.dossier_id, r.month) == (user_id, dossier_id, month)
                and r.requested_at > since]


class InMemoryAnnouncements:
    """models.MonthAnnouncements: a (dossier, month) is claimed once."""

    def __init__(self):
        self.rows: dict[tuple[str, str], datetime] = {}

    def claim(self, dossier_id: str, months: list[str], now: datetime) -> list[str]:
        claimed = sorted(month for month in set(months) if (dossier_id, month) not in self.rows)
        self.rows.update(((dossier_id, month), now) for month in claimed)
        return claimed


def certification_db(*certificates: Certificate, settings: tuple = ()) -> FakeDatabase:
    stored_settings, codes = InMemorySettings(*settings), InMemoryCodes()
    return FakeDatabase("certification", certificates=InMemoryCertificates(
                            *certificates, settings=stored_settings, codes=codes),
                        settings=stored_settings, codes=codes,
                        code_requests=InMemoryCodeRequests(),
                        announcements=InMemoryAnnouncements(), jobs=FakeJobs())


# ---- other services -------------------------------------------------------------------------







class FakeIdentity:
    """The organisation's letterhead and « Votre identité », its readiness judged by identity's
    rules from `facts` (tests.support.identity.profile_readiness: by default a complete
    letterhead, no stamp, not a certifier). The profiles asked are counted."""

    def __init__(self, **facts):
        self.facts = facts
        self.profiles_asked = 0

    def get_organisation(self, actor: dict, organisation_id: str) -> dict:
        return {"id": organisation_id, "funder_id": FUNDER, "name": "Formations du Lac",
                "siret": "73282932000074", "email": "contact@lac.example",
                "legal_representative": "Jeanne MARTIN",
                "address": "12 rue du Lac\n67000 Strasbourg"}

    def get_organisation_profile(self, actor: dict, organisation_id: str) -> dict:
        self.profiles_asked += 1
        return {**self.get_organisation(actor, organisation_id),
                **profile_readiness(**self.facts)}


class FakeNotifications:
    def __init__(self):
        self.sent: list[dict] = []

    def send_direct_email(self, payload: dict) -> dict:
        self.sent.append(payload)
        return {"id": str(uuid.uuid4())}


class FakeDocuments:
    """Every month has its signed certificate deposited, but those in `unsigned`; renders are
    recorded."""

    def __init__(self, unsigned: tuple[str, ...] = ()):
        self.unsigned = set(unsigned)
        self.rendered: list[dict] = []

    def list_documents(self, actor: dict, dossier_id: str) -> list[dict]:
        return [{"category": "signed_certificate", "status": "deposited",
                 "content_type": "application/pdf", "sha256": "5" * 64, "month": month,
                 "created_at": "2026-12-31T00:00:00Z"}  # after the hours tests enter
                for month in ("2026-01", "2026-02", "2026-03") if month not in self.unsigned]

    def render_certificate_draft(self, actor: dict, facts: dict) -> dict:
        self.rendered.append(facts)
        return {"filename": "certificat.pdf", "content_type": "application/pdf",
                "content_base64": "JVBERi0="}

    def render_attendance_sheet(self, actor: dict, request: dict) -> dict:
        self.rendered.append(request)
        return {"document": {"id": "doc-1", "category": "attendance_sheet"}}


class FakePayments:
    """The months payments holds locked; like payments, it hides locks from the parties."""

    def __init__(self, **locked: list[str]):
        self.locked = locked  # dossier id -> months

    def locked_months(self, actor: dict, dossier_id: str) -> list[str]:
        months = self.locked.get(dossier_id, [])
        if months and actor["role"] in (Role.beneficiary, Role.employer):
            raise NotFound("month_lock_not_found", "Aucun mois verrouillé trouvé pour ce dossier.")
        return sorted(months)


def ports(*dossiers: dict, identity: FakeIdentity | None = None,
          documents: FakeDocuments | None = None, payments: FakePayments | None = None,
          clock: FakeClock | None = None) -> Ports:
    return Ports(dossiers=FakeDossiers(*dossiers), identity=identity or FakeIdentity(),
                 notifications=FakeNotifications(), documents=documents or FakeDocuments(),
                 payments=payments or FakePayments(), clock=clock or FakeClock())


# ---- builders -------------------------------------------------------------------------------

def a_dossier(**extra) -> dict:
    """A dossier of FUNDER and ORGANISATION in progress from January to June 2026 (FakeClock's
    now is 2 March 2026)."""
    party = {"funder_id": FUNDER}
    return {"id": str(uuid.uuid4()), "number": "20X000703", "funder_id": FUNDER,
            "organisation_id": ORGANISATION, "organisation_name": "Formations du Lac",
            "beneficiary": {**party, "id": "b-1", "name": "DUBOIS Marie",
                            "email": "marie@example.org", "kind": "beneficiary"},
            "employer": {**party, "id": "e-1", "name": "Pharmacie du Lac",
                         "email": "rh@example.org", "kind": "employer"},
            "training_title": "1ERE ANNEE PHARMACIE",
            "session_start": date(2026, 1, 12).isoformat(),
            "session_end": date(2026, 6, 30).isoformat(), "status": "in_progress", **extra}


def an_actor(role: Role, **extra) -> Actor:
    organisation = ORGANISATION if role == Role.organisation_user else None
    rights = list(ALL_RIGHTS) if role == Role.organisation_user else []
    return Actor.model_validate({"user_id": f"u-{role.value}", "role": role,
                                 "funder_id": FUNDER, "organisation_id": organisation,
                                 "rights": rights, "ip": "192.0.2.10",
                                 "email": "claire@lac.example", **extra})


def party_of(dossier: dict, role: Role) -> Actor:
    return an_actor(role, party_id=dossier[role.value]["id"], email=None)
