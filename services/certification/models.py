"""certification's tables, the imperative mapping of the domain classes onto them, and the
repositories the units of work reach them through (`uow.certificates`…): its only SQL."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, Column, Index, Integer, MetaData, Numeric, String,
                        Table, Text, UniqueConstraint, and_, literal, select, true)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, registry

from servicekit.idempotency import add_idempotency_table
from servicekit.jobs import JobStore, add_job_tables
from servicekit.ops import counts_per_funder_month
from servicekit.tables import UtcDateTime, add_kit_tables
from services.certification.domain import (Certificate, CertificationCode, CodeRequest,
                                           FunderSettings)

metadata = MetaData()
add_kit_tables(metadata)
add_idempotency_table(metadata)
add_job_tables(metadata)

certificates = Table(
    "certificates", metadata,
    Column("id", String(36), primary_key=True),
    Column("dossier_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("funder_id", String(64), nullable=False),
    Column("organisation_id", String(64), nullable=False),
    Column("status", String(40), nullable=False),
    Column("training_hours", Numeric(7, 2, asdecimal=True)),
    Column("internship_hours", Numeric(7, 2, asdecimal=True)),
    Column("absence_hours", Numeric(7, 2, asdecimal=True)),
    # The funder's entry mode when the hours were entered, and the days they add up from.
    Column("entry_mode", String(10)),
    Column("detail", JSON, nullable=False, default=list),
    Column("method", Integer),
    Column("certified_by", String(64)),
    Column("certified_by_name", String(200)),
    Column("certified_by_role", String(40)),
    Column("certified_at", UtcDateTime()),
    Column("certified_from_ip", String(45)),
    # Evidence: sha256 of what was certified (the signed PDF, or the facts for method 2)
    # and when the emailed code was checked (method 2).
    Column("certified_document_sha256", String(64)),
    Column("code_checked_at", UtcDateTime()),
    Column("certifier_since", UtcDateTime()),
    Column("ip_use_accepted", Boolean),
    Column("reopen_reason", Text),
    Column("reopened_by", String(64)),
    Column("reopened_at", UtcDateTime()),
    Column("closed_by_payment_id", String(64)),
    Column("closed_by_payment_number", String(64)),
    Column("closed_at", UtcDateTime()),
    # After certification: the validations required (in order), who validated or contested,
    # the organisation's email (told of a contest), the funder's transmission for payment.
    Column("validations", JSON, nullable=False, default=list),
    Column("beneficiary_validated_by", String(64)),
    Column("beneficiary_validated_at", UtcDateTime()),
    Column("employer_validated_by", String(64)),
    Column("employer_validated_at", UtcDateTime()),
    Column("contested_party", String(20)),
    Column("contest_reason", Text),
    Column("contested_by", String(64)),
    Column("contested_at", UtcDateTime()),
    Column("organisation_email", String(320)),
    Column("transmitted_by", String(64)),
    Column("transmitted_at", UtcDateTime()),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("dossier_id", "month", name="uq_certificates_dossier_month"),
)

funder_settings = Table(
    "funder_settings", metadata,
    Column("funder_id", String(64), primary_key=True),
    Column("entry_mode", String(10), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("code_lifetime_minutes", Integer, nullable=False),
    Column("beneficiary_validation", Boolean, nullable=False),
    Column("employer_validation", Boolean, nullable=False),
    Column("notify_funder", Boolean, nullable=False, server_default=true()),
    Column("funder_notification_email", String(320)),
    Column("updated_by", String(64)),
    Column("updated_at", UtcDateTime()),
)

certification_codes = Table(
    "certification_codes", metadata,
    Column("dossier_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("salt", String(32), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Method-2 code requests, counted by the hourly limit per user and month.
code_requests = Table(
    "code_requests", metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("dossier_id", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Index("ix_code_requests_user_month", "user_id", "dossier_id", "month", "requested_at"),
)

# The months to certify the daily job announced (month_to_certify): the insert of a row is
# the claim, so that two replicas running at once announce a dossier's month once.
month_announcements = Table(
    "month_announcements", metadata,
    Column("dossier_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("announced_at", UtcDateTime(), nullable=False),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes; calling it again is harmless."""
    if getattr(Certificate, "__mapper__", None) is not None:
        return
    # version_id_col: every UPDATE checks the version it read, so of two concurrent changes
    # to the same certificate the second fails with StaleDataError instead of overwriting.
    mapper_registry.map_imperatively(Certificate, certificates,
                                     version_id_col=certificates.c.version)
    mapper_registry.map_imperatively(FunderSettings, funder_settings)
    mapper_registry.map_imperatively(CertificationCode, certification_codes)
    mapper_registry.map_imperatively(CodeRequest, code_requests)


class _Repository:
    def __init__(self, session: Session):
        self._session = session


class Certificates(_Repository):
    def get(self, dossier_id: str, month: str) -> Certificate | None:
        return self._session.scalars(select(Certificate).where(
            Certificate.dossier_id == dossier_id, Certificate.month == month)).first()

    def with_settings(self, dossier_id: str, month: str,
                      funder_id: str) -> tuple[Certificate | None, FunderSettings]:
        """The month's certificate (None when not stored) and its funder's settings (the
        defaults, not added, when not saved), in one query."""
        certificate, settings = self._session.execute(
            _month_query(dossier_id, month, funder_id, with_code=False)).one()
        return certificate, settings or FunderSettings(funder_id)

    def with_code_and_settings(self, dossier_id: str, month: str, funder_id: str
                               ) -> tuple[Certificate | None, CertificationCode | None,
                                          FunderSettings]:
        """As `with_settings`, with the month's method-2 code (None when none was sent)."""
        certificate, settings, code = self._session.execute(
            _month_query(dossier_id, month, funder_id, with_code=True)).one()
        return certificate, code, settings or FunderSettings(funder_id)

    def of_dossiers(self, dossier_ids: list[str]) -> list[Certificate]:
        if not dossier_ids:
            return []
        return list(self._session.scalars(
            select(Certificate).where(Certificate.dossier_id.in_(dossier_ids))))

    def add(self, certificate: Certificate) -> None:
        self._session.add(certificate)

    def month_end_counts(self, funder_id: str | None, month: str | None,
                         **stages: frozenset[str]) -> list[dict]:
        """Per funder and month, how many certificates are in each stage (a set of statuses)."""
        return counts_per_funder_month(self._session, certificates, funder_id, month, **{
            stage: certificates.c.status.in_(sorted(statuses))
            for stage, statuses in stages.items()})

    def write_now(self) -> None:
        """Write the pending changes before the commit: a certificate's `version` is then the
        one the commit stores (a kept reply carries it)."""
        self._session.flush()


def _month_query(dossier_id: str, month: str, funder_id: str, with_code: bool):
    """A dossier month's certificate, its funder's settings and, if asked, its code: one row
    whatever is stored (joined to a one-row anchor, so settings come without a certificate),
    each missing record None. The rows land in the session as `get` would load them: changed,
    flushed and version-checked alike."""
    anchor = select(literal(1).label("one")).subquery()
    entities = (Certificate, FunderSettings) + ((CertificationCode,) if with_code else ())
    query = (select(*entities).select_from(anchor)
             .outerjoin(Certificate, and_(Certificate.dossier_id == dossier_id,
                                          Certificate.month == month))
             .outerjoin(FunderSettings, FunderSettings.funder_id == funder_id))
    if with_code:
        query = query.outerjoin(CertificationCode, and_(CertificationCode.dossier_id == dossier_id,
                                                        CertificationCode.month == month))
    return query


class Settings(_Repository):
    def get(self, funder_id: str) -> FunderSettings | None:
        return self._session.get(FunderSettings, funder_id)

    def of_funder(self, funder_id: str) -> FunderSettings:
        """The funder's saved settings, or the defaults (not added)."""
        return self.get(funder_id) or FunderSettings(funder_id)

    def add(self, settings: FunderSettings) -> None:
        self._session.add(settings)


class Codes(_Repository):
    def get(self, dossier_id: str, month: str) -> CertificationCode | None:
        return self._session.get(CertificationCode, (dossier_id, month))

    def add(self, code: CertificationCode) -> None:
        self._session.add(code)


class CodeRequests(_Repository):
    def add(self, request: CodeRequest) -> None:
        self._session.add(request)

    def times_since(self, user_id: str, dossier_id: str, month: str,
                    since: datetime) -> list[datetime]:
        """When this user asked for codes of this dossier month since `since`."""
        return list(self._session.scalars(select(code_requests.c.requested_at).where(
            code_requests.c.user_id == user_id, code_requests.c.dossier_id == dossier_id,
            code_requests.c.month == month, code_requests.c.requested_at > since)))


class MonthAnnouncements(_Repository):
    def claim(self, dossier_id: str, months: list[str], now: datetime) -> list[str]:
        """Insert the months not announced yet; those this transaction inserted. A concurrent
        claim waits for ours to end (PostgreSQL's primary key; SQLite's write gate), then
        finds the rows and inserts nothing."""
        if not months:
            return []
        insert = (postgresql_insert if self._session.bind.dialect.name == "postgresql"
                  else sqlite_insert)
        inserted = self._session.execute(
            insert(month_announcements)
            .values([{"dossier_id": dossier_id, "month": month, "announced_at": now}
                     for month in months])
            .on_conflict_do_nothing().returning(month_announcements.c.month))
        return sorted(inserted.scalars())


def repositories(session: Session) -> dict[str, object]:
    return {"certificates": Certificates(session), "settings": Settings(session),
            "codes": Codes(session), "code_requests": CodeRequests(session),
            "announcements": MonthAnnouncements(session), "jobs": JobStore(session, metadata)}
