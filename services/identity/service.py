"""identity RPC entrypoints: funders, organisations, user accounts, sessions.

The full account lifecycle (provisional password by email, first login, password reset, rights
management, API tokens) comes with a later issue.
"""
from __future__ import annotations

import contextlib

from eventlet import tpool
from nameko.rpc import rpc
from sqlalchemy.exc import IntegrityError

from contracts.common import Actor, Role
from contracts.identity import (Credentials, Me, NewFunder, NewOrganisation, NewUser,
                                Organisation as OrganisationShape, Session as SessionShape,
                                User as UserShape)
from services.identity import domain, models
from services.identity.domain import Funder, Organisation, UserAccount, UserSession
from servicekit import config
from servicekit.access import require_funder_staff
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.errors import Conflict, NotFound
from servicekit.logging import get_logger
from servicekit.validation import parse

log = get_logger(__name__)

PASSWORDS = domain.Passwords()


def _in_thread(function, *args):
    """argon2 takes tens of milliseconds of CPU: run it off the eventlet hub (it releases
    the GIL), so heartbeats and other workers keep going during a burst of logins."""
    return tpool.execute(function, *args)


@contextlib.contextmanager
def _conflict_on_duplicate(code: str, message: str):
    """A concurrent twin passed our checks: the unique constraint stops it at commit."""
    try:
        yield
    except IntegrityError:
        raise Conflict(code, message) from None


def _identifier_taken() -> Conflict:
    return Conflict("identifier_taken", "Cet identifiant est déjà utilisé.")


def _new_account(session, new: NewUser, role: Role, funder_id: str, **extra) -> UserAccount:
    """Check the password and the identifier, hash, and add the account to the session."""
    domain.check_password(new.password)
    if models.user_by_identifier(session, domain.normalise_identifier(new.identifier)):
        raise _identifier_taken()
    user = UserAccount(id=domain.new_id(), funder_id=funder_id, role=role.value,
                       identifier=new.identifier, name=new.name, email=str(new.email),
                       password_hash=_in_thread(PASSWORDS.hash, new.password),
                       created_at=utcnow(), **extra)
    session.add(user)
    return user


def _user_shape(user: UserAccount) -> UserShape:
    return UserShape(id=user.id, identifier=user.identifier, name=user.name, email=user.email,
                     role=Role(user.role), funder_id=user.funder_id,
                     organisation_id=user.organisation_id)


def _organisation_shape(organisation: Organisation) -> OrganisationShape:
    return OrganisationShape(id=organisation.id, funder_id=organisation.funder_id,
                             name=organisation.name, siret=organisation.siret,
                             email=organisation.email,
                             legal_representative=organisation.legal_representative,
                             address=organisation.address)


class IdentityService(ServiceBase):
    name = "identity"
    db = Database(models.metadata, models.start_mappers)

    @rpc
    def bootstrap_funder(self, payload):
        new = parse(NewFunder, payload)
        with _conflict_on_duplicate("funder_exists", "Ce financeur existe déjà."), \
                self.db.unit_of_work() as uow:
            if models.funder_by_code(uow.session, new.code):
                raise Conflict("funder_exists", "Ce financeur existe déjà.")
            funder = Funder(id=domain.new_id(), code=new.code, name=new.name)
            uow.session.add(funder)
            uow.session.flush()  # the funder row first: the admin refers to it
            admin = _new_account(uow.session, new.admin, Role.funder_admin, funder.id)
        log.info("funder_bootstrapped", funder_id=funder.id, code=funder.code)
        return {"funder_id": funder.id, "admin": _user_shape(admin).model_dump(mode="json")}

    @rpc
    def login(self, credentials, ip=None):
        given = parse(Credentials, credentials)
        with self.db.unit_of_work() as uow:
            user = models.user_by_identifier(uow.session,
                                             domain.normalise_identifier(given.identifier))
            matches = _in_thread(PASSWORDS.verify, user.password_hash if user else None,
                                 given.password)
            if not (matches and user.active):
                log.info("login_refused", ip=ip)
                raise domain.invalid_credentials()
            if PASSWORDS.needs_rehash(user.password_hash):
                user.password_hash = _in_thread(PASSWORDS.hash, given.password)
            token, session = domain.open_session(user, utcnow(), config.load().token_ttl_minutes)
            uow.session.add(session)
        log.info("login_succeeded", user_id=user.id, ip=ip)
        return SessionShape(access_token=token, expires_at=session.expires_at).model_dump(
            mode="json")

    @rpc
    def authenticate(self, token):
        with self.db.read() as session:
            found = models.session_with_user(session, domain.hash_token(str(token)))
        if found is None:
            raise domain.invalid_token()
        user_session, user = found
        user_session.check_usable(utcnow())
        if not user.active:
            raise domain.invalid_token()
        return user.as_actor().model_dump(mode="json")

    @rpc
    def logout(self, token):
        """Revoke the session; an unknown or already revoked token is not an error."""
        with self.db.unit_of_work() as uow:
            user_session = uow.session.get(UserSession, domain.hash_token(str(token)))
            if user_session is not None:
                user_session.revoke(utcnow())
        return None

    @rpc
    def create_organisation(self, actor, payload):
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        new = parse(NewOrganisation, payload)
        siret = domain.normalise_siret(new.siret)
        with _conflict_on_duplicate("organisation_conflict",
                                    "Cet organisme ou cet identifiant existe déjà."), \
                self.db.unit_of_work() as uow:
            if models.siret_taken(uow.session, actor.funder_id, siret):
                raise Conflict("siret_taken",
                               "Un organisme de formation avec ce SIRET existe déjà.")
            organisation = Organisation(
                id=domain.new_id(), funder_id=actor.funder_id, name=new.name, siret=siret,
                email=str(new.email), legal_representative=new.legal_representative,
                address=new.address, created_at=utcnow())
            uow.session.add(organisation)
            uow.session.flush()  # the organisation row first: its first user refers to it
            user = _new_account(uow.session, new.user, Role.organisation_user, actor.funder_id,
                                organisation_id=organisation.id,
                                rights=list(domain.ORGANISATION_ADMIN_RIGHTS))
        log.info("organisation_created", organisation_id=organisation.id, user_id=user.id,
                 by=actor.user_id)
        return _organisation_shape(organisation).model_dump(mode="json")

    @rpc
    def get_organisation(self, actor, organisation_id):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            organisation = session.get(Organisation, str(organisation_id))
        if organisation is None or not domain.can_see_organisation(actor, organisation):
            raise domain.organisation_not_found()
        return _organisation_shape(organisation).model_dump(mode="json")

    @rpc
    def me(self, actor):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            user = session.get(UserAccount, actor.user_id)
            organisation = (session.get(Organisation, user.organisation_id)
                            if user is not None and user.organisation_id else None)
        if user is None or user.funder_id != actor.funder_id:
            raise NotFound("user_not_found", "Utilisateur introuvable.")
        return Me(user=_user_shape(user),
                  organisation=_organisation_shape(organisation) if organisation else None
                  ).model_dump(mode="json")
