"""identity's use cases (services/identity/handlers.py) without a broker or a database: the
repositories of models.py in memory, fake ports, and builders of typical records.

`world()` gives a FakeDatabase holding one funder ("tpro-ge"), its administrator, one
organisation with its first user (all rights), and the ports a handler needs; passwords are
"hashed" by a readable fake (`hashed:<password>`), so a test knows every account's password.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

from contracts.common import ALL_RIGHTS, Actor, Role
from contracts.common.errors import InvalidInput
from services.identity import domain
from services.identity.domain import audit_trail
from services.identity.adapters import IdentitySettings
from services.identity.handlers import Ports
from tests.support.fakes import FakeClock, FakeDatabase

PASSWORD = "Secret_2026"
SIRET = "73282932000074"
OTHER_SIRET = "73282932000082"


# --- in-memory repositories (same methods as services/identity/models.py) ---------------------

class _Memory:
    """A repository in memory. A rollback deep-copies it, except its links to other
    repositories: those stay the live ones."""

    def __init__(self):
        self.records: dict = {}

    def __deepcopy__(self, memo):
        clone = copy.copy(self)
        clone.__dict__ = {name: value if isinstance(value, _Memory) else copy.deepcopy(value, memo)
                          for name, value in self.__dict__.items()}
        return clone

    def add(self, record) -> None:
        self.records[self._key(record)] = record

    def _key(self, record):
        return record.id

    def all(self) -> list:
        return list(self.records.values())


class MemoryFunders(_Memory):
    def __init__(self):
        super().__init__()
        self.locked: list[str] = []

    def by_code(self, code):
        return next((f for f in self.all() if f.code == code), None)

    def lock(self, funder_id):
        self.locked.append(funder_id)


class MemoryOrganisations(_Memory):
    def __init__(self, documents: "MemoryDocuments"):
        super().__init__()
        self.documents = documents

    def get(self, organisation_id):
        return self.records.get(organisation_id)

    def with_documents(self, organisation_id):
        organisation = self.get(organisation_id)
        return organisation, (self.documents.of_organisation(organisation_id)
                              if organisation else {})

    locked = get  # one transaction at a time in memory

    def siret_taken(self, funder_id, siret):
        return any(o.funder_id == funder_id and o.siret == siret for o in self.all())

    def by_siret(self, funder_id, sirets):
        return [o for o in self.all() if o.funder_id == funder_id and o.siret in sirets]


class MemoryUsers(_Memory):
    def get(self, user_id):
        return self.records.get(user_id)

    def by_identifier(self, identifier):
        return next((u for u in self.all() if u.identifier == identifier), None)

    def holding_identifier(self, identifier):
        return next((u for u in self.all()
                     if identifier in (u.identifier, u.pending_identifier)), None)

    def of_party(self, party_id):
        return next((u for u in self.all() if u.party_id == party_id), None)

    def email_holder(self, funder_id, email, other_than):
        return next((u for u in self.all() if u.funder_id == funder_id and u.id != other_than
                     and u.email.lower() == email.strip().lower()), None)

    def of_organisation(self, organisation_id):
        return sorted((u for u in self.all() if u.organisation_id == organisation_id),
                      key=lambda u: (u.name, u.identifier))

    def search(self, organisation_id, wanted, limit, offset=0):
        return [u for u in self.of_organisation(organisation_id)
                if wanted.matches(u)][offset:offset + limit]


class MemorySessions(_Memory):
    def __init__(self, users: MemoryUsers):
        super().__init__()
        self.users = users

    def _key(self, record):
        return record.token_hash

    def get(self, token_hash):
        return self.records.get(token_hash)

    def with_user(self, token_hash):
        found = self.records.get(token_hash)
        return (found, self.users.get(found.user_id)) if found else None

    def revoke_all(self, user_id, now, keep_session_id=None):
        for found in self.all():
            if found.user_id == user_id and found.revoked_at is None \
                    and found.id != keep_session_id:
                found.revoked_at = now

    def touch(self, token_hash, now):
        self.records[token_hash].last_seen_at = now

    def open_of(self, user_id, now=None) -> list:
        return [s for s in self.all() if s.user_id == user_id and s.revoked_at is None
                and (now is None or now < s.expires_at)]

    def last_started(self, user_id):
        return max((s.created_at for s in self.all() if s.user_id == user_id), default=None)


class MemoryLinks(_Memory):
    def _key(self, record):
        return record.token_hash

    def by_hash(self, token_hash):
        return self.records.get(token_hash)

    def void(self, user_id, purposes, now):
        for link in self.all():
            if link.user_id == user_id and link.purpose in purposes and link.used_at is None:
                link.used_at = now


class MemoryFailures(_Memory):
    def __init__(self):
        super().__init__()
        self.rows: list[tuple[str, datetime, str]] = []  # (ip, at, kind)

    def count(self, ip, since, kind="login"):
        return sum(1 for row in self.rows if row[0] == ip and row[2] == kind and row[1] >= since)

    def record(self, ip, now, since, kind="login"):
        self.rows = [row for row in self.rows if row[2] != kind or row[1] >= since]
        self.rows.append((ip, now, kind))


class MemoryApiTokens(_Memory):
    def get(self, token_id):
        return self.records.get(token_id)

    def by_hash(self, token_hash):
        return next((t for t in self.all() if t.token_hash == token_hash), None)

    def of_organisation(self, organisation_id):
        return sorted((t for t in self.all() if t.organisation_id == organisation_id),
                      key=lambda t: t.created_at)

    def revoke_issued_by(self, user_id, now):
        for token in self.all():
            if token.created_by == user_id and token.revoked_at is None:
                token.revoked_at = now


class MemoryAudit(_Memory):
    """Named and sealed on add, as models.Audit does (its lock: one transaction at a time)."""

    def __init__(self, users: MemoryUsers, organisations: MemoryOrganisations):
        super().__init__()
        self.users, self.organisations = users, organisations
        self.heads: dict[str, audit_trail.ChainHead] = {}

    def add(self, record) -> None:
        audit_trail.name_entry(record, self.users.get(record.user_id),
                               self.organisations.get(record.organisation_id),
                               self.users.get(record.target))
        chain = audit_trail.chain_of(record.funder_id)
        self.heads[chain] = audit_trail.seal(record, self.heads.get(chain,
                                                                    audit_trail.ChainHead()))
        super().add(record)

    def trail(self, funder_id, wanted, limit, offset=0):
        found = sorted((e for e in self.all() if e.funder_id == funder_id
                        and audit_trail.matches(e, wanted)),
                       key=lambda e: (e.at, e.position), reverse=True)
        return found[offset:offset + limit]

    def chain(self, funder_id):
        return sorted((e for e in self.all() if e.funder_id == funder_id
                       and e.position is not None), key=lambda e: e.position)

    def head(self, funder_id):
        return self.heads.get(audit_trail.chain_of(funder_id), audit_trail.ChainHead())

    def actions(self) -> list[str]:
        return [event.action for event in self.all()]


class MemoryDocuments(_Memory):
    def _key(self, record):
        return record.organisation_id, record.category

    def of_organisation(self, organisation_id):
        return {d.category: d for d in self.all() if d.organisation_id == organisation_id}

    def locked(self, organisation_id, category):
        return self.records.get((organisation_id, category))


class MemoryAccountSettings(_Memory):
    def _key(self, record):
        return record.funder_id

    def of_funder(self, funder_id):
        return self.records.get(funder_id)


class MemorySignups(_Memory):
    def get(self, signup_id):
        return self.records.get(signup_id)

    def pending_of(self, email):
        return sorted((s for s in self.all() if s.email == email and s.status == "pending"),
                      key=lambda s: s.created_at, reverse=True)

    def of_user(self, user_id):
        return next((s for s in self.all() if s.user_id == user_id), None)

    def of_funder(self, funder_id, status=None):
        return sorted((s for s in self.all() if s.funder_id == funder_id
                       and (status is None or s.status == status)),
                      key=lambda s: s.created_at, reverse=True)


def fake_database() -> FakeDatabase:
    users, documents = MemoryUsers(), MemoryDocuments()
    organisations = MemoryOrganisations(documents)
    return FakeDatabase("identity", funders=MemoryFunders(), organisations=organisations,
                        users=users, sessions=MemorySessions(users), links=MemoryLinks(),
                        failures=MemoryFailures(), api_tokens=MemoryApiTokens(),
                        audit=MemoryAudit(users, organisations), documents=documents,
                        account_settings=MemoryAccountSettings(), signups=MemorySignups())


# --- fake ports -------------------------------------------------------------------------------

class FakePasswords:
    """`hashed:<password>`; a hash starting with "old:" asks to be rehashed."""

    def hash(self, password):
        return f"hashed:{password}"

    def verify(self, password_hash, password):
        return password_hash is not None and password_hash.split(":", 1)[1] == password

    def needs_rehash(self, password_hash):
        return password_hash.startswith("old:")


@dataclass
class FakeEmails:
    sent: list[dict] = field(default_factory=list)
    failing: bool = False

    def send(self, to, template, **context):
        if self.failing:
            return False
        self.sent.append({"to": to, "template": template, **context})
        return True

    def of(self, template: str) -> list[dict]:
        return [email for email in self.sent if email["template"] == template]

    def token(self, template: str) -> str:
        """The token of the link in the last email of `template`."""
        return self.of(template)[-1]["link"].split("token=", 1)[1]


@dataclass
class FakeCaptcha:
    """Accepts the token "human" when `required`; checks nothing otherwise."""
    required: bool = False
    checked: list = field(default_factory=list)

    def __call__(self, token, ip):
        self.checked.append((token, ip))
        if self.required and token != "human":
            raise InvalidInput("captcha_failed", "La vérification anti-robot a échoué.")


@dataclass
class FakeAfterReply:
    queued: list = field(default_factory=list)

    def __call__(self, function, *args):
        self.queued.append((function, args))

    def run(self) -> None:
        while self.queued:
            function, args = self.queued.pop(0)
            function(*args)


# --- the world a test starts from -------------------------------------------------------------

@dataclass
class World:
    db: FakeDatabase
    ports: Ports
    clock: FakeClock
    emails: FakeEmails
    captcha: FakeCaptcha
    after_reply: FakeAfterReply
    funder: domain.Funder
    admin: domain.UserAccount          # the funder's administrator
    organisation: domain.Organisation
    manager: domain.UserAccount        # the organisation's first user (all rights)

    @property
    def repositories(self):
        return self.db.repositories

    def actor(self, user: domain.UserAccount, session_id: str | None = None,
              ip: str | None = None) -> Actor:
        return user.as_actor(session_id).model_copy(update={"ip": ip})

    def account(self, identifier: str, role: Role = Role.organisation_user,
                organisation: domain.Organisation | None = None, **fields) -> domain.UserAccount:
        """An account that finished its first login, with password PASSWORD."""
        organisation = organisation or (self.organisation if role == Role.organisation_user
                                        else None)
        user = domain.UserAccount(**{
            "id": domain.new_id(), "funder_id": self.funder.id, "role": role.value,
            "identifier": identifier, "name": identifier.title(),
            "email": f"{identifier}@example.org", "password_hash": FakePasswords().hash(PASSWORD),
            "created_at": self.clock(),
            "organisation_id": organisation.id if organisation else None,
            "privacy_policy_version": "2026-01", **fields})
        self.repositories["users"].add(user)
        return user

    def other_organisation(self) -> domain.Organisation:
        """A second organisation of the funder, with no user."""
        organisation = domain.Organisation("o2", self.funder.id, "Organisme 2", OTHER_SIRET,
                                           "of2@example.org", None, None, self.clock())
        self.repositories["organisations"].add(organisation)
        return organisation

    def session(self, user: domain.UserAccount) -> tuple[str, domain.UserSession]:
        token, session = domain.open_session(user, self.clock(), 60)
        self.repositories["sessions"].add(session)
        return token, session


def ports(clock: FakeClock, emails: FakeEmails, captcha: FakeCaptcha,
          after_reply: FakeAfterReply, **settings) -> Ports:
    return Ports(clock=clock, passwords=FakePasswords(), emails=emails, check_captcha=captcha,
                 after_reply=after_reply, settings=IdentitySettings(**settings),
                 public_url="https://jalon.test", session_ttl_minutes=60)


def world(**settings) -> World:
    clock, emails, captcha, after_reply = FakeClock(), FakeEmails(), FakeCaptcha(), FakeAfterReply()
    db = fake_database()
    funder = domain.Funder(id="f1", code="tpro-ge", name="Transitions Pro GE")
    organisation = domain.Organisation(id="o1", funder_id="f1", name="Organisme 1",
                                       siret=SIRET, email="of1@example.org",
                                       legal_representative="Jeanne MARTIN",
                                       address="1 rue de la Paix", created_at=clock())
    db.repositories["funders"].add(funder)
    db.repositories["organisations"].add(organisation)
    built = World(db, ports(clock, emails, captcha, after_reply, **settings), clock, emails,
                  captcha, after_reply, funder, None, organisation, None)
    built.admin = built.account("admin", Role.funder_admin)
    built.manager = built.account("marie", rights=list(ALL_RIGHTS))
    return built


# --- the profile as identity answers it, for the fakes of its neighbours ----------------------

def profile_readiness(legal_representative: str | None = "Jeanne MARTIN",
                      logo: str = "checked", stamp: str = "missing",
                      certifier_requested: bool = False, kbis: str = "missing",
                      consent_letter: str = "missing",
                      certifier_since: datetime | None = None) -> dict:
    """The profile's fields that say the organisation's readiness, judged by identity's own
    rules (services/identity/domain): by default a complete letterhead (legal representative,
    logo), no stamp, not a certifier (method 1)."""
    ready = domain.readiness(legal_representative, logo, stamp, certifier_requested, kbis,
                             consent_letter)
    return {"legal_representative": legal_representative, "logo": _document(logo),
            "stamp": _document(stamp), "certifier_requested": certifier_requested,
            "kbis": _document(kbis), "consent_letter": _document(consent_letter),
            "certification_method": {
                "method": ready.method, "reason": ready.reason,
                "certifier_since": (certifier_since.isoformat()
                                    if certifier_since and ready.method == 2 else None),
                "missing": [{"code": code, "label": label, "needed_for": needed}
                            for code, label, needed in ready.missing]}}


# A certifier organisation's pieces (method 2), and an empty letterhead.
CERTIFIER = {"stamp": "checked", "certifier_requested": True, "kbis": "checked",
             "consent_letter": "checked"}
NO_LETTERHEAD = {"legal_representative": None, "logo": "missing"}


def _document(status: str) -> dict:
    return {"document_id": None if status == "missing" else "doc-x", "status": status,
            "status_label": status}
