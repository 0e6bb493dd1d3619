"""identity tables, the imperative mapping of the domain classes, and the few queries the
service needs (kept here so that service.py stays entrypoints only)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, Column, ForeignKey, Integer, MetaData, String, Table,
                        UniqueConstraint, delete, func, insert, select, update)
from sqlalchemy.orm import Session, registry

from services.identity.domain import (ApiToken, AuditEvent, Funder, OneTimeToken, Organisation,
                                      OrganisationDocument, UserAccount, UserSession)
from servicekit.tables import UtcDateTime, add_kit_tables

metadata = MetaData()
add_kit_tables(metadata)

funders = Table(
    "funders", metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
)

organisations = Table(
    "organisations", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), ForeignKey("funders.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("siret", String(14), nullable=False),
    Column("email", String(320), nullable=False),
    Column("legal_representative", String(200)),
    Column("address", String(500)),
    Column("postcode", String(10)),
    Column("town", String(200)),
    Column("phone", String(30)),
    Column("mobile", String(30)),
    Column("fax", String(30)),
    Column("declaration_number", String(30)),
    Column("website", String(300)),
    Column("certifier_requested", Boolean, nullable=False, default=False,
           server_default="false"),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("funder_id", "siret", name="uq_organisations_funder_siret"),
)

users = Table(
    "users", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), ForeignKey("funders.id"), nullable=False, index=True),
    Column("organisation_id", String(36), ForeignKey("organisations.id"), index=True),
    # A beneficiary or employer owned by dossiers; one account each.
    Column("party_id", String(36)),
    Column("role", String(30), nullable=False),
    # Always lower-cased (domain.normalise_identifier): unique whatever the case.
    Column("identifier", String(150), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("rights", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("must_personalise", Boolean, nullable=False, default=False, server_default="false"),
    Column("privacy_policy_version", String(50)),  # None: not accepted yet
    Column("pending_identifier", String(150)),     # waits for its confirmation link
    Column("pending_email", String(320)),          # likewise, sent to the new address
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UtcDateTime()),
    Column("password_changed_at", UtcDateTime()),
    UniqueConstraint("party_id", name="uq_users_party_id"),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the bearer token
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("id", String(36)),  # what an Actor names: never the token's hash
    Column("last_seen_at", UtcDateTime()),  # the idle limit counts from it
    UniqueConstraint("id", name="uq_sessions_id"),
)

one_time_tokens = Table(
    "one_time_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("purpose", String(30), nullable=False),
    Column("new_identifier", String(150)),
    Column("new_email", String(320)),
    Column("session_id", String(36)),  # the session that asked for the change
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime()),
)

login_failures = Table(  # per-address counting; rows older than the window are pruned
    "login_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ip", String(64), nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False),
    # login (a failed login) or password_reset (any reset request): each has its own limit
    Column("kind", String(20), nullable=False, default="login", server_default="login"),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), ForeignKey("funders.id"), nullable=False),
    Column("organisation_id", String(36), ForeignKey("organisations.id"), nullable=False,
           index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex
    Column("rights", JSON, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)

audit_events = Table(
    "audit_events", metadata,
    Column("id", String(36), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("funder_id", String(36), index=True),
    Column("organisation_id", String(36), index=True),
    Column("user_id", String(64)),
    Column("action", String(50), nullable=False),
    Column("target", String(100)),
    Column("ip", String(64)),
    Column("details", JSON, nullable=False),
)

organisation_documents = Table(
    "organisation_documents", metadata,
    Column("organisation_id", String(36), ForeignKey("organisations.id"), primary_key=True),
    Column("category", String(30), primary_key=True),
    Column("document_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),  # pending, checked, rejected
    Column("reason", String(1000)),
    Column("reviewed_at", UtcDateTime()),
    Column("updated_at", UtcDateTime(), nullable=False),
)

mapper_registry = registry()


def start_mappers() -> None:
    """Map the domain classes once; later calls (one per container) do nothing."""
    if mapper_registry.mappers:
        return
    mapper_registry.map_imperatively(Funder, funders)
    mapper_registry.map_imperatively(Organisation, organisations)
    mapper_registry.map_imperatively(UserAccount, users)
    mapper_registry.map_imperatively(UserSession, sessions)
    mapper_registry.map_imperatively(OneTimeToken, one_time_tokens)
    mapper_registry.map_imperatively(ApiToken, api_tokens)
    mapper_registry.map_imperatively(AuditEvent, audit_events)
    mapper_registry.map_imperatively(OrganisationDocument, organisation_documents)


# --- queries --------------------------------------------------------------------------------

def funder_by_code(session: Session, code: str) -> Funder | None:
    return session.scalars(select(Funder).where(funders.c.code == code)).first()


def user_by_identifier(session: Session, identifier: str) -> UserAccount | None:
    return session.scalars(select(UserAccount).where(users.c.identifier == identifier)).first()


def user_of_party(session: Session, party_id: str) -> UserAccount | None:
    return session.scalars(select(UserAccount).where(users.c.party_id == party_id)).first()


def siret_taken(session: Session, funder_id: str, siret: str) -> bool:
    return session.execute(select(organisations.c.id).where(
        organisations.c.funder_id == funder_id, organisations.c.siret == siret)).first() is not None


def organisations_by_siret(session: Session, funder_id: str, sirets: set[str]
                           ) -> list[Organisation]:
    if not sirets:
        return []
    return list(session.scalars(select(Organisation).where(
        organisations.c.funder_id == funder_id, organisations.c.siret.in_(sorted(sirets)))))


def user_by_identifier_or_pending(session: Session, identifier: str) -> UserAccount | None:
    """Whoever holds the identifier, or waits to confirm it: both make it unavailable."""
    return session.scalars(select(UserAccount).where(
        (users.c.identifier == identifier) | (users.c.pending_identifier == identifier))).first()


def email_holder(session: Session, funder_id: str, email: str,
                 other_than: str) -> UserAccount | None:
    """Another account of the funder whose email is this address (whatever the case)."""
    return session.scalars(select(UserAccount).where(
        users.c.funder_id == funder_id, users.c.id != other_than,
        func.lower(users.c.email) == email.strip().lower())).first()


def void_links(session: Session, user_id: str, purposes: tuple[str, ...],
               now: datetime) -> None:
    """Make the user's unused links of these purposes unusable (superseded or cancelled)."""
    session.execute(update(one_time_tokens).where(
        one_time_tokens.c.user_id == user_id, one_time_tokens.c.purpose.in_(purposes),
        one_time_tokens.c.used_at.is_(None)).values(used_at=now))


def organisation_users(session: Session, organisation_id: str) -> list[UserAccount]:
    return list(session.scalars(select(UserAccount)
                                .where(users.c.organisation_id == organisation_id)
                                .order_by(users.c.name, users.c.identifier)))


def revoke_sessions(session: Session, user_id: str, now: datetime,
                    keep_session_id: str | None = None) -> None:
    """End every open session of the user but `keep_session_id` (the caller's own)."""
    query = update(sessions).where(sessions.c.user_id == user_id,
                                   sessions.c.revoked_at.is_(None))
    if keep_session_id is not None:
        query = query.where((sessions.c.id != keep_session_id) | sessions.c.id.is_(None))
    session.execute(query.values(revoked_at=now))


def touch_session(session: Session, token_hash: str, now: datetime) -> None:
    session.execute(update(sessions).where(sessions.c.token_hash == token_hash)
                    .values(last_seen_at=now))


def count_ip_failures(session: Session, ip: str, since: datetime, kind: str = "login") -> int:
    return session.scalar(select(func.count()).select_from(login_failures).where(
        login_failures.c.ip == ip, login_failures.c.kind == kind,
        login_failures.c.at >= since)) or 0


def record_ip_failure(session: Session, ip: str, now: datetime, since: datetime,
                      kind: str = "login") -> None:
    session.execute(delete(login_failures).where(login_failures.c.kind == kind,
                                                 login_failures.c.at < since))
    session.execute(insert(login_failures).values(ip=ip, at=now, kind=kind))


def one_time_token(session: Session, token_hash: str) -> OneTimeToken | None:
    return session.get(OneTimeToken, token_hash)


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(api_tokens.c.token_hash == token_hash)).first()


def organisation_api_tokens(session: Session, organisation_id: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken)
                                .where(api_tokens.c.organisation_id == organisation_id)
                                .order_by(api_tokens.c.created_at)))


def organisation_documents_of(session: Session, organisation_id: str
                              ) -> dict[str, OrganisationDocument]:
    found = session.scalars(select(OrganisationDocument).where(
        organisation_documents.c.organisation_id == organisation_id))
    return {document.category: document for document in found}


def audit_trail(session: Session, organisation_id: str, limit: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent)
                                .where(audit_events.c.organisation_id == organisation_id)
                                .order_by(audit_events.c.at.desc()).limit(limit)))


def session_with_user(session: Session, token_hash: str) -> tuple[UserSession, UserAccount] | None:
    row = session.execute(
        select(UserSession, UserAccount)
        .join(UserAccount, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None
