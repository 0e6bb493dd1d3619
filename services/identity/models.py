"""identity tables, the imperative mapping of the domain classes, and the repositories: the
only SQL of the service, reached as `uow.<name>` (see `repositories`)."""
from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

from sqlalchemy import (JSON, Boolean, Column, ForeignKey, Integer, MetaData, String, Table,
                        UniqueConstraint, delete, false, func, insert, literal, or_, select,
                        update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, registry

from contracts.common.errors import Conflict

from services.identity.domain import (ApiToken, AuditEvent, Funder, OneTimeToken, Organisation,
                                      OrganisationDocument, UserAccount, UserSession)
from services.identity.domain import audit_trail
from services.identity.domain.account_settings import AccountSettings, Signup
from services.identity.domain.users import UserFilter
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
    Column("uai", String(8)),  # optional, beside the SIRET (seed 004)
    Column("certifier_requested", Boolean, nullable=False, default=False,
           server_default="false"),
    Column("certifier_since", UtcDateTime()),  # since when method 2 is in force
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
    # Seed 004 (issue 15): empty for accounts made before, `name` says who they are.
    Column("civility", String(20)),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("phone", String(30)),
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
    # Issue 15: names resolved when written, the object, what changed, and the hash chain.
    Column("person_name", String(200)),
    Column("person_role", String(30)),
    Column("organisation_name", String(200)),
    Column("object", String(300)),
    Column("dossier_id", String(36), index=True),
    Column("changes", JSON),
    Column("position", Integer),
    Column("previous_hash", String(64)),
    Column("hash", String(64)),
    UniqueConstraint("funder_id", "position", name="uq_audit_events_funder_position"),
)

# The last sealed entry of each funder's chain ("" for rows of no funder): locked by each
# append, so appends of one funder are serialised and a removed tail shows.
audit_chain_heads = Table(
    "audit_chain_heads", metadata,
    Column("funder_id", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
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

# --- a funder's account settings and self-service sign-ups (issue 15) --------------------------

account_settings = Table(  # no row: accounts made by the funder, seed 000's password rules
    "account_settings", metadata,
    Column("funder_id", String(36), ForeignKey("funders.id"), primary_key=True),
    Column("account_creation", String(20), nullable=False),
    Column("password_rules", String(30), nullable=False),
    Column("require_known_siret", Boolean, nullable=False),
    Column("updated_at", UtcDateTime()),
    Column("updated_by", String(64)),
)

signups = Table(
    "signups", metadata,
    Column("id", String(36), primary_key=True),
    Column("funder_id", String(36), ForeignKey("funders.id"), nullable=False, index=True),
    Column("siret", String(14), nullable=False),
    Column("organisation_name", String(200), nullable=False),
    Column("civility", String(20), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("first_name", String(100), nullable=False),
    Column("email", String(320), nullable=False, index=True),  # lower-cased
    Column("phone", String(30)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("code_hash", String(64), nullable=False),  # sha256 hex of the activation code
    Column("code_expires_at", UtcDateTime(), nullable=False),
    Column("code_attempts", Integer, nullable=False, default=0),
    Column("status", String(20), nullable=False),  # pending, active, suspended
    Column("ip", String(64)),
    # Set at the activation, in the transaction that inserts them: no foreign key (the
    # mappers have no relationship, so the flush would not order the inserts first).
    Column("organisation_id", String(36)),
    Column("user_id", String(36), index=True),
    Column("activated_at", UtcDateTime()),
    Column("suspended_at", UtcDateTime()),
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
    mapper_registry.map_imperatively(AccountSettings, account_settings)
    mapper_registry.map_imperatively(Signup, signups)


# --- repositories -----------------------------------------------------------------------------

class _Repository:
    def __init__(self, session: Session):
        self.session = session

    def add(self, record) -> None:
        self.session.add(record)


class Funders(_Repository):
    def by_code(self, code: str) -> Funder | None:
        return self.session.scalars(select(Funder).where(funders.c.code == code)).first()

    def all(self) -> list[Funder]:
        return list(self.session.scalars(select(Funder)))

    def add(self, funder: Funder) -> None:
        self.session.add(funder)
        self.session.flush()  # the funder row first: its administrator refers to it

    def lock(self, funder_id: str) -> None:
        """Hold the funder's row until the transaction ends: what its accounts check and
        change one after the other (no unique index on emails) waits its turn."""
        self.session.get(Funder, funder_id, with_for_update=True)


class Organisations(_Repository):
    def get(self, organisation_id: str) -> Organisation | None:
        return self.session.get(Organisation, organisation_id)

    def locked(self, organisation_id: str) -> Organisation | None:
        """The organisation, its row held until the transaction ends: the changes of its
        readiness (profile, certifier choice, documents' news) wait their turn."""
        return self.session.get(Organisation, organisation_id, with_for_update=True,
                                populate_existing=True)

    def with_documents(self, organisation_id: str
                       ) -> tuple[Organisation | None, dict[str, OrganisationDocument]]:
        """The organisation and its profile's documents by category, in one query."""
        rows = self.session.execute(
            select(Organisation, OrganisationDocument)
            .outerjoin(OrganisationDocument,
                       organisation_documents.c.organisation_id == organisations.c.id)
            .where(organisations.c.id == organisation_id)).all()
        if not rows:
            return None, {}
        return rows[0][0], {document.category: document for _, document in rows if document}

    def add(self, organisation: Organisation) -> None:
        self.session.add(organisation)
        self.session.flush()  # the organisation row first: its first user refers to it

    def siret_taken(self, funder_id: str, siret: str) -> bool:
        return self.session.execute(select(organisations.c.id).where(
            organisations.c.funder_id == funder_id,
            organisations.c.siret == siret)).first() is not None

    def by_siret(self, funder_id: str, sirets: set[str]) -> list[Organisation]:
        if not sirets:
            return []
        return list(self.session.scalars(select(Organisation).where(
            organisations.c.funder_id == funder_id, organisations.c.siret.in_(sorted(sirets)))))


class Users(_Repository):
    def get(self, user_id: str) -> UserAccount | None:
        return self.session.get(UserAccount, user_id)

    def by_identifier(self, identifier: str) -> UserAccount | None:
        return self.session.scalars(
            select(UserAccount).where(users.c.identifier == identifier)).first()

    def holding_identifier(self, identifier: str) -> UserAccount | None:
        """Whoever holds the identifier, or waits to confirm it: both make it unavailable."""
        return self.session.scalars(select(UserAccount).where(
            (users.c.identifier == identifier)
            | (users.c.pending_identifier == identifier))).first()

    def of_party(self, party_id: str) -> UserAccount | None:
        return self.session.scalars(
            select(UserAccount).where(users.c.party_id == party_id)).first()

    def email_holder(self, funder_id: str, email: str, other_than: str) -> UserAccount | None:
        """Another account of the funder whose email is this address (whatever the case)."""
        return self.session.scalars(select(UserAccount).where(
            users.c.funder_id == funder_id, users.c.id != other_than,
            func.lower(users.c.email) == email.strip().lower())).first()

    def of_organisation(self, organisation_id: str) -> list[UserAccount]:
        return list(self.session.scalars(select(UserAccount)
                                         .where(users.c.organisation_id == organisation_id)
                                         .order_by(users.c.name, users.c.identifier)))

    def search(self, organisation_id: str, wanted: UserFilter, limit: int,
               offset: int = 0) -> list[UserAccount]:
        """The organisation's users matching every filter (UserFilter.matches), by name."""
        c = users.c
        query = select(UserAccount).where(c.organisation_id == organisation_id)
        if wanted.name:
            query = query.where(or_(c.last_name.icontains(wanted.name, autoescape=True),
                                    c.name.icontains(wanted.name, autoescape=True)))
        for column, part in ((c.first_name, wanted.first_name), (c.identifier, wanted.login),
                             (c.email, wanted.email)):
            if part:
                query = query.where(column.icontains(part, autoescape=True))
        return list(self.session.scalars(query.order_by(c.name, c.identifier)
                                         .limit(limit).offset(offset)))


class Sessions(_Repository):
    def get(self, token_hash: str) -> UserSession | None:
        return self.session.get(UserSession, token_hash)

    def with_user(self, token_hash: str) -> tuple[UserSession, UserAccount] | None:
        row = self.session.execute(
            select(UserSession, UserAccount)
            .join(UserAccount, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == token_hash)
        ).first()
        return (row[0], row[1]) if row else None

    def revoke_all(self, user_id: str, now: datetime,
                   keep_session_id: str | None = None) -> None:
        """End every open session of the user but `keep_session_id` (the caller's own)."""
        query = update(sessions).where(sessions.c.user_id == user_id,
                                       sessions.c.revoked_at.is_(None))
        if keep_session_id is not None:
            query = query.where((sessions.c.id != keep_session_id) | sessions.c.id.is_(None))
        self.session.execute(query.values(revoked_at=now))

    def touch(self, token_hash: str, now: datetime) -> None:
        self.session.execute(update(sessions).where(sessions.c.token_hash == token_hash)
                             .values(last_seen_at=now))

    def open_of(self, user_id: str, now: datetime | None = None) -> list[UserSession]:
        """The user's sessions not revoked (nor past their absolute limit, given `now`)."""
        query = select(UserSession).where(sessions.c.user_id == user_id,
                                          sessions.c.revoked_at.is_(None))
        if now is not None:
            query = query.where(sessions.c.expires_at > now)
        return list(self.session.scalars(query))

    def last_started(self, user_id: str) -> datetime | None:
        """The user's last login: sessions are kept, revoked or expired."""
        return self.session.scalar(select(func.max(sessions.c.created_at))
                                   .where(sessions.c.user_id == user_id))


class Links(_Repository):
    def by_hash(self, token_hash: str) -> OneTimeToken | None:
        return self.session.get(OneTimeToken, token_hash)

    def void(self, user_id: str, purposes: tuple[str, ...], now: datetime) -> None:
        """Make the user's unused links of these purposes unusable (superseded or cancelled)."""
        self.session.execute(update(one_time_tokens).where(
            one_time_tokens.c.user_id == user_id, one_time_tokens.c.purpose.in_(purposes),
            one_time_tokens.c.used_at.is_(None)).values(used_at=now))


class Failures(_Repository):
    """Per-address counts (failed logins, reset requests), pruned past their window."""

    def count(self, ip: str, since: datetime, kind: str = "login") -> int:
        return self.session.scalar(select(func.count()).select_from(login_failures).where(
            login_failures.c.ip == ip, login_failures.c.kind == kind,
            login_failures.c.at >= since)) or 0

    def record(self, ip: str, now: datetime, since: datetime, kind: str = "login") -> None:
        self.session.execute(delete(login_failures).where(login_failures.c.kind == kind,
                                                          login_failures.c.at < since))
        self.session.execute(insert(login_failures).values(ip=ip, at=now, kind=kind))


class ApiTokens(_Repository):
    def get(self, token_id: str) -> ApiToken | None:
        return self.session.get(ApiToken, token_id)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        return self.session.scalars(
            select(ApiToken).where(api_tokens.c.token_hash == token_hash)).first()

    def of_organisation(self, organisation_id: str) -> list[ApiToken]:
        return list(self.session.scalars(select(ApiToken)
                                         .where(api_tokens.c.organisation_id == organisation_id)
                                         .order_by(api_tokens.c.created_at)))

    def revoke_issued_by(self, user_id: str, now: datetime) -> None:
        """End the API tokens the user issued (a deactivated user's)."""
        self.session.execute(update(api_tokens).where(api_tokens.c.created_by == user_id,
                                                      api_tokens.c.revoked_at.is_(None))
                             .values(revoked_at=now))


# INSERT … ON CONFLICT in the two databases identity runs on.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class Audit(_Repository):
    def add(self, entry: AuditEvent) -> None:
        """Name the entry and seal it after its funder's chain head, locked until commit.
        No autoflush: a flush here would raise a duplicate before the handler's
        duplicate_is_conflict."""
        with self.session.no_autoflush:
            audit_trail.name_entry(entry, *self._records(*audit_trail.records_needed(entry)))
            chain = audit_trail.chain_of(entry.funder_id)
            head = audit_trail.seal(entry, self._locked_head(chain))
            self.session.execute(update(audit_chain_heads).where(
                audit_chain_heads.c.funder_id == chain).values(position=head.position,
                                                               hash=head.hash))
            self.session.add(entry)

    def _locked_head(self, chain: str) -> audit_trail.ChainHead:
        """The chain's head, its row made at genesis for a new chain, and locked until the
        transaction ends: one statement, an upsert that changes nothing and returns the row
        (PostgreSQL locks the row it conflicts with, waiting for a concurrent append)."""
        insert_for = _INSERTS[self.session.get_bind().dialect.name]
        genesis = insert_for(audit_chain_heads).values(funder_id=chain, position=0,
                                                       hash=audit_trail.GENESIS)
        row = self.session.execute(genesis.on_conflict_do_update(
            index_elements=[audit_chain_heads.c.funder_id],
            set_={"position": audit_chain_heads.c.position},
        ).returning(audit_chain_heads.c.position, audit_chain_heads.c.hash)).one()
        return audit_trail.ChainHead(row.position, row.hash)

    def _records(self, user_id: str | None, organisation_id: str | None,
                 target_id: str | None) -> tuple:
        """(acting user, organisation, target user), each None when not asked for or not
        found: from this transaction's records if there, the rest in one query."""
        wanted = ((UserAccount, user_id), (Organisation, organisation_id),
                  (UserAccount, target_id))
        known = {(kind, record_id): self._in_session(kind, record_id)
                 for kind, record_id in wanted if record_id}
        missing = {key for key, record in known.items() if record is None}
        if missing:
            known.update(self._from_database(missing))
        return tuple(known.get((kind, record_id)) for kind, record_id in wanted)

    def _in_session(self, kind, record_id: str):
        """A record this transaction added (not flushed yet) or already loaded."""
        pending = next((r for r in self.session.new if isinstance(r, kind)
                        and r.id == record_id), None)
        return pending or self.session.identity_map.get(
            self.session.identity_key(kind, record_id))

    def _from_database(self, missing: set) -> dict:
        """Users and an organisation by id in one round trip: outer joins from one row, so
        that a missing user does not hide the organisation, nor the reverse."""
        user_ids = sorted(record_id for kind, record_id in missing if kind is UserAccount)
        organisation_ids = [record_id for kind, record_id in missing if kind is Organisation]
        one = select(literal(1).label("one")).subquery()
        query = (select(UserAccount, Organisation).select_from(one)
                 .outerjoin(UserAccount, users.c.id.in_(user_ids) if user_ids else false())
                 .outerjoin(Organisation, organisations.c.id.in_(organisation_ids)
                            if organisation_ids else false()))
        found = {}
        for user, organisation in self.session.execute(query):
            for record in (user, organisation):
                if record is not None:
                    found[type(record), record.id] = record
        return found

    def trail(self, funder_id: str, wanted: audit_trail.TrailFilter, limit: int,
              offset: int = 0) -> list[AuditEvent]:
        """Newest first."""
        c = audit_events.c
        query = select(AuditEvent).where(c.funder_id == funder_id)
        if wanted.organisation_id:
            query = query.where(c.organisation_id == wanted.organisation_id)
        if wanted.dossier:
            query = query.where(or_(c.dossier_id == wanted.dossier,
                                    c.object == f"Dossier {wanted.dossier}",
                                    c.object.startswith(f"Dossier {wanted.dossier},",
                                                        autoescape=True)))
        if wanted.person:
            query = query.where(or_(c.user_id == wanted.person,
                                    c.person_name.icontains(wanted.person, autoescape=True)))
        if wanted.kind:
            query = query.where(c.action == wanted.kind)
        if wanted.since:
            query = query.where(c.at >= _day_start(wanted.since))
        if wanted.until:
            query = query.where(c.at < _day_start(wanted.until + timedelta(days=1)))
        return list(self.session.scalars(query.order_by(c.at.desc(), c.position.desc())
                                         .limit(limit).offset(offset)))

    def chain(self, funder_id: str | None) -> list[AuditEvent]:
        """A funder's sealed entries, in position order (rows older than the chain left out)."""
        return list(self.session.scalars(select(AuditEvent).where(
            audit_events.c.funder_id == funder_id, audit_events.c.position.is_not(None))
            .order_by(audit_events.c.position)))

    def head(self, funder_id: str | None) -> audit_trail.ChainHead:
        row = self.session.execute(select(audit_chain_heads).where(
            audit_chain_heads.c.funder_id == audit_trail.chain_of(funder_id))).first()
        return audit_trail.ChainHead(row.position, row.hash) if row else audit_trail.ChainHead()


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


class OrganisationDocuments(_Repository):
    def of_organisation(self, organisation_id: str) -> dict[str, OrganisationDocument]:
        found = self.session.scalars(select(OrganisationDocument).where(
            organisation_documents.c.organisation_id == organisation_id))
        return {document.category: document for document in found}

    def locked(self, organisation_id: str, category: str) -> OrganisationDocument | None:
        """Locked: an upload and its review arrive on two queues, maybe at the same moment;
        without the lock the later commit would write what it read before the other's."""
        return self.session.get(OrganisationDocument, (organisation_id, category),
                                with_for_update=True)

    def add(self, document: OrganisationDocument) -> None:
        self.session.add(document)
        self.session.flush()


class AccountSettingsRepository(_Repository):
    def of_funder(self, funder_id: str) -> AccountSettings | None:
        return self.session.get(AccountSettings, funder_id)


class Signups(_Repository):
    def get(self, signup_id: str) -> Signup | None:
        return self.session.get(Signup, signup_id)

    def pending_of(self, email: str) -> list[Signup]:
        """The address's sign-ups waiting for their code, newest first."""
        return list(self.session.scalars(select(Signup).where(
            signups.c.email == email, signups.c.status == "pending")
            .order_by(signups.c.created_at.desc())))

    def of_user(self, user_id: str) -> Signup | None:
        return self.session.scalars(select(Signup).where(signups.c.user_id == user_id)).first()

    def of_funder(self, funder_id: str, status: str | None = None) -> list[Signup]:
        query = select(Signup).where(signups.c.funder_id == funder_id)
        if status:
            query = query.where(signups.c.status == status)
        return list(self.session.scalars(query.order_by(signups.c.created_at.desc())))


def repositories(session: Session) -> dict[str, object]:
    return {"funders": Funders(session), "organisations": Organisations(session),
            "users": Users(session), "sessions": Sessions(session), "links": Links(session),
            "failures": Failures(session), "api_tokens": ApiTokens(session),
            "audit": Audit(session), "documents": OrganisationDocuments(session),
            "account_settings": AccountSettingsRepository(session),
            "signups": Signups(session)}


@contextlib.contextmanager
def duplicate_is_conflict(code: str, message: str) -> Iterator[None]:
    """A concurrent twin passed the checks of a use case: a unique constraint stops it at
    commit, and the caller hears Conflict(code, message)."""
    try:
        yield
    except IntegrityError:
        raise Conflict(code, message) from None
