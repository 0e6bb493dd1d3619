"""identity RPC entrypoints: funders, organisations and their profile, accounts, sessions,
first login, password reset, users and rights, API tokens, the audit trail.

Emails that carry a secret (provisional password, confirmation or reset link) go through
notifications.send_direct_email AFTER the unit of work commits, never inside it: a slow or
failed email must not hold a transaction open nor roll back an account. When the email fails,
the account stays as created (with must_personalise, so the lost password is useless to
anyone) and `resend_credentials` issues a new provisional password; the reply of create_user
says `credentials_sent`. A password reset's link and email are made after the reply
(`after_reply`): a known identifier must answer as fast as an unknown one.
"""
from __future__ import annotations

import contextlib
from datetime import timedelta

from eventlet import tpool
from nameko.rpc import rpc
from sqlalchemy.exc import IntegrityError

from contracts.common import Actor, Role
from contracts.events import CertifierStatusChangedV1, DossierParty, OrganisationUpdatedV1
from contracts.identity import (AcceptPrivacyPolicy, ApiToken as ApiTokenShape, AuditEntry,
                                CertificationMethod, CertifierChoice, ChangeIdentifier,
                                ChangePassword, Credentials, IssuedApiToken,
                                Me, NewApiToken, NewFunder, NewFunderUser, NewOrganisation,
                                NewOrganisationUser, Organisation as OrganisationShape,
                                OrganisationProfile, PasswordReset, PasswordResetRequest,
                                Personalise, ProfileDocument, ProfileUpdate,
                                Session as SessionShape, UpdateMe, User as UserShape,
                                UserDetails, UserUpdate)
from services.identity import domain, models
from services.identity.after_reply import AfterReply
from services.identity.captcha import CaptchaVerifier
from services.identity.domain import (ApiToken, Funder, Organisation, OrganisationDocument,
                                      UserAccount, UserSession)
from servicekit import config
from contracts.common.access import require_funder_staff
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from contracts.common.errors import Conflict, InvalidInput, NotFound
from servicekit.events import idempotent, subscribe
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse

log = get_logger(__name__)

PASSWORDS = domain.Passwords()
RESET = "password_reset"  # the per-address counter of reset requests
MAX_SIRET_LOOKUP = 5000  # the dossiers import's row cap


def _in_thread(function, *args):
    """argon2 takes tens of milliseconds of CPU: run it off the eventlet hub (it releases
    the GIL), so heartbeats and other workers keep going during a burst of logins."""
    return tpool.execute(function, *args)


def _hash(password: str) -> str:
    return _in_thread(PASSWORDS.hash, password)


def _new_password_hash(wanted) -> str:
    """The hash of a NewPassword's password, once both typings agree and it follows the rules."""
    domain.check_new_password(wanted.new_password, wanted.new_password_confirmation)
    return _hash(wanted.new_password)


def _settings():
    return config.load()


def _limits() -> domain.LoginLimits:
    rules = _settings().identity
    return domain.LoginLimits(rules.login_max_failures, rules.login_lock_minutes,
                              rules.ip_max_failures, rules.ip_window_minutes)


@contextlib.contextmanager
def _conflict_on_duplicate(code: str, message: str):
    """A concurrent twin passed our checks: the unique constraint stops it at commit."""
    try:
        yield
    except IntegrityError:
        raise Conflict(code, message) from None


def _identifier_taken() -> Conflict:
    return Conflict("identifier_taken", "Cet identifiant est déjà utilisé.")


def _check_identifier_free(session, identifier: str, owner: UserAccount | None = None) -> None:
    holder = models.user_by_identifier_or_pending(session, identifier)
    if holder is not None and holder is not owner:
        raise _identifier_taken()


def _add_account(session, *, identifier: str, name: str, email: str, password_hash: str,
                 role: Role, funder_id: str, provisional: bool, **extra) -> UserAccount:
    """Add an account; a provisional one must personalise and accept the privacy policy."""
    identifier = domain.normalise_identifier(identifier)
    _check_identifier_free(session, identifier)
    user = UserAccount(id=domain.new_id(), funder_id=funder_id, role=role.value,
                       identifier=identifier, name=name, email=email,
                       password_hash=password_hash, created_at=utcnow(),
                       must_personalise=provisional,
                       privacy_policy_version=None if provisional else "bootstrap", **extra)
    session.add(user)
    return user


def _add_party_account(session, party: DossierParty, funder_id: str,
                       password_hash: str) -> UserAccount:
    identifier = next((candidate for candidate in domain.party_identifiers(party.email, party.id)
                       if models.user_by_identifier_or_pending(session, candidate) is None),
                      f"{party.kind}-{party.id}")
    return _add_account(session, identifier=identifier, name=party.name, email=str(party.email),
                        password_hash=password_hash, role=Role(party.kind), funder_id=funder_id,
                        provisional=True, party_id=party.id, rights=[])


def _user_shape(user: UserAccount) -> UserShape:
    return UserShape(id=user.id, identifier=user.identifier, name=user.name, email=user.email,
                     role=Role(user.role), funder_id=user.funder_id,
                     organisation_id=user.organisation_id)


def _user_details(user: UserAccount, credentials_sent: bool | None = None) -> dict:
    return UserDetails(**_user_shape(user).model_dump(), active=user.active,
                       rights=user.rights, must_personalise=user.must_personalise,
                       created_at=user.created_at,
                       credentials_sent=credentials_sent).model_dump(mode="json")


def _organisation_shape(organisation: Organisation) -> OrganisationShape:
    return OrganisationShape(id=organisation.id, funder_id=organisation.funder_id,
                             name=organisation.name, siret=organisation.siret,
                             email=organisation.email,
                             legal_representative=organisation.legal_representative,
                             address=organisation.address, postcode=organisation.postcode,
                             town=organisation.town, phone=organisation.phone)


def _document_shape(document: OrganisationDocument | None) -> ProfileDocument:
    if document is None:
        return ProfileDocument()
    return ProfileDocument(document_id=document.document_id, status=document.status,
                           status_label=document.status_label, reason=document.reason)


def _status(documents: dict, category: str) -> str:
    document = documents.get(category)
    return document.status if document else "missing"


def _method(organisation: Organisation, documents: dict) -> tuple[int, str]:
    return domain.certification_method(organisation.certifier_requested,
                                       _status(documents, "kbis"),
                                       _status(documents, "consent_letter"))


def _profile(session, organisation: Organisation) -> dict:
    documents = models.organisation_documents_of(session, organisation.id)
    method, reason = _method(organisation, documents)
    fields = {field: getattr(organisation, field) for field in domain.PROFILE_FIELDS}
    return OrganisationProfile(
        id=organisation.id, funder_id=organisation.funder_id, siret=organisation.siret,
        certifier_requested=organisation.certifier_requested,
        certification_method=CertificationMethod(method=method, reason=reason),
        **{category: _document_shape(documents.get(category))
           for category in domain.PROFILE_CATEGORIES},
        **fields).model_dump(mode="json")


def _certifier_event(uow, organisation: Organisation) -> None:
    documents = models.organisation_documents_of(uow.session, organisation.id)
    method, _reason = _method(organisation, documents)
    uow.publish("certifier_status_changed", CertifierStatusChangedV1(
        organisation_id=organisation.id, funder_id=organisation.funder_id,
        requested=organisation.certifier_requested, kbis_status=_status(documents, "kbis"),
        consent_letter_status=_status(documents, "consent_letter"), method=method,
        changed_at=utcnow()), subject=organisation.id)


def _me(session, user: UserAccount) -> dict:
    organisation = (session.get(Organisation, user.organisation_id)
                    if user.organisation_id else None)
    return Me(user=_user_shape(user),
              organisation=_organisation_shape(organisation) if organisation else None,
              must_personalise=user.must_personalise,
              privacy_policy_pending=user.privacy_policy_pending,
              pending_identifier=user.pending_identifier,
              pending_email=user.pending_email,
              rights=user.rights).model_dump(mode="json")


def _own_account(session, actor: Actor) -> UserAccount:
    domain.require_person(actor)
    user = session.get(UserAccount, actor.user_id)
    if user is None or user.funder_id != actor.funder_id or not user.active:
        raise domain.user_not_found()
    return user


def _hold_email(session, user: UserAccount, email: str, now, session_id: str | None,
                **audit) -> domain.EmailChange | None:
    """Hold the new address until the link sent to it is followed (the session that asked,
    if any, outlives the change); a new request supersedes the links of the previous one.
    `audit`: who asked, beside the account (ip, or actor and target)."""
    taken = models.email_holder(session, user.funder_id, email, user.id) is not None
    ttl = timedelta(hours=_settings().identity.confirm_ttl_hours)
    models.void_links(session, user.id, (domain.EMAIL_CHANGE, domain.EMAIL_CHANGE_CANCEL), now)
    change = domain.start_email_change(user, email, now, ttl, session_id, taken)
    if change:
        session.add_all(change.links)
        session.add(domain.audit(now, "email_change_requested", user=user,
                                 address_taken=taken, **audit))
    return change


def _check_current_password(user: UserAccount, password: str) -> None:
    if not _in_thread(PASSWORDS.verify, user.password_hash, password):
        raise InvalidInput("wrong_password", "Le mot de passe actuel est incorrect.")


def _use_link(session, token, purpose: str, now) -> domain.OneTimeToken:
    """The emailed link of this token, now used (InvalidInput invalid_link otherwise)."""
    link = models.one_time_token(session, domain.hash_token(str(token)))
    if link is None:
        raise domain.invalid_link()
    link.use(purpose, now)
    return link


def _visible_organisation(session, actor: Actor, organisation_id) -> Organisation:
    organisation = session.get(Organisation, str(organisation_id))
    if organisation is None or not domain.can_see_organisation(actor, organisation):
        raise domain.organisation_not_found()
    return organisation


def _managed_user(session, actor: Actor, user_id) -> UserAccount:
    """An organisation's user, for an administrator (users right) of that organisation."""
    user = session.get(UserAccount, str(user_id))
    if (user is None or user.organisation_id is None or user.funder_id != actor.funder_id
            or (not actor.is_funder_staff and actor.organisation_id != user.organisation_id)):
        raise domain.user_not_found()
    domain.require_users_right(actor, user.organisation_id)
    return user


def _resendable_user(session, actor: Actor, user_id) -> UserAccount:
    """Funder staff resend to any account of their funder; an organisation administrator to
    its organisation's users."""
    domain.require_unrestricted(actor)
    if not actor.is_funder_staff:
        return _managed_user(session, actor, user_id)
    user = session.get(UserAccount, str(user_id))
    if user is None or user.funder_id != actor.funder_id:
        raise domain.user_not_found()
    return user


def _party_account(session, actor: Actor, party_id) -> UserAccount:
    domain.require_unrestricted(actor)
    user = models.user_of_party(session, str(party_id))
    if user is None or user.funder_id != actor.funder_id:
        raise domain.user_not_found()
    return user


def _api_token_of(session, actor: Actor, token_id) -> ApiToken:
    token = session.get(ApiToken, str(token_id))
    if token is None or token.organisation_id != actor.organisation_id:
        raise NotFound("api_token_not_found", "Jeton d'API introuvable.")
    return token


def _api_token_shape(token: ApiToken, now) -> dict:
    return ApiTokenShape(id=token.id, name=token.name, expires_at=token.expires_at,
                         rights=token.rights, created_at=token.created_at,
                         created_by=token.created_by, revoked_at=token.revoked_at,
                         active=token.is_active(now)).model_dump(mode="json")


def _link(path: str, token: str) -> str:
    return f"{_settings().public_url}{path}?token={token}"


class IdentityService(ServiceBase):
    name = "identity"
    db = Database(models.metadata, models.start_mappers)
    relay = OutboxRelay()
    notifications = RpcClient("notifications")
    after_reply = AfterReply()

    # --- emails (always after the commit) -------------------------------------------------

    def _email(self, to: str, template: str, **context) -> bool:
        """Queue an email carrying a secret; False (logged) when notifications failed."""
        try:
            self.notifications.send_direct_email({"to": to, "template": template,
                                                  "context": context})
        except Exception as exc:  # any failure: the caller reports it, the account stays
            log.error("direct_email_failed", template=template, error=str(exc))
            return False
        return True

    def _send_credentials(self, user: UserAccount, password: str,
                          organisation_name: str | None = None,
                          dossier_number: str | None = None) -> bool:
        return self._email(user.email, "account_credentials", name=user.name,
                           identifier=user.identifier, password=password,
                           organisation_name=organisation_name, dossier_number=dossier_number,
                           link=f"{_settings().public_url}/")

    def _send_identifier_change(self, user: UserAccount, old: str, token: str) -> bool:
        return self._email(user.email, "identifier_change", name=user.name, old_identifier=old,
                           new_identifier=user.pending_identifier,
                           link=_link("/auth/confirm-identifier", token),
                           valid_hours=_settings().identity.confirm_ttl_hours)

    def _send_email_change(self, user: UserAccount, change: domain.EmailChange,
                           by_administrator: bool = False) -> None:
        """The new address gets the confirmation link, or when another account of the funder
        uses it already, word of that instead (its owner may know; the requester may not).
        The old address is told at once, with the link that cancels, and who asked."""
        valid_hours = _settings().identity.confirm_ttl_hours
        self._email(change.new_email, "email_change", name=user.name, taken=change.taken,
                    link=None if change.taken else _link("/auth/confirm-email",
                                                         change.confirm_token),
                    valid_hours=valid_hours)
        self._email(change.old_email, "email_change_notice", name=user.name,
                    new_email=change.new_email, valid_hours=valid_hours,
                    by_administrator=by_administrator,
                    link=_link("/auth/cancel-email-change", change.cancel_token))

    # --- funders and organisations ----------------------------------------------------------

    @rpc
    def bootstrap_funder(self, payload):
        new = parse(NewFunder, payload)
        domain.check_password(new.admin.password)
        password_hash = _hash(new.admin.password)
        with _conflict_on_duplicate("funder_exists", "Ce financeur existe déjà."), \
                self.db.unit_of_work() as uow:
            if models.funder_by_code(uow.session, new.code):
                raise Conflict("funder_exists", "Ce financeur existe déjà.")
            funder = Funder(id=domain.new_id(), code=new.code, name=new.name)
            uow.session.add(funder)
            uow.session.flush()  # the funder row first: the admin refers to it
            admin = _add_account(uow.session, identifier=new.admin.identifier,
                                 name=new.admin.name, email=str(new.admin.email),
                                 password_hash=password_hash, role=Role.funder_admin,
                                 funder_id=funder.id, provisional=False)
        log.info("funder_bootstrapped", funder_id=funder.id, code=funder.code)
        return {"funder_id": funder.id, "admin": _user_shape(admin).model_dump(mode="json")}

    @rpc
    def create_organisation(self, actor, payload):
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        domain.require_unrestricted(actor)
        new = parse(NewOrganisation, payload)
        siret = domain.normalise_siret(new.siret)
        password = domain.provisional_password()
        password_hash = _hash(password)
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
            user = _add_account(uow.session, identifier=new.user.identifier or str(new.user.email),
                                name=new.user.name, email=str(new.user.email),
                                password_hash=password_hash, role=Role.organisation_user,
                                funder_id=actor.funder_id, provisional=True,
                                organisation_id=organisation.id,
                                rights=list(domain.ORGANISATION_ADMIN_RIGHTS))
            uow.session.add(domain.audit(utcnow(), "organisation_created", user=user,
                                         actor=actor, target=organisation.id))
        sent = self._send_credentials(user, password, organisation.name)
        log.info("organisation_created", organisation_id=organisation.id, user_id=user.id,
                 by=actor.user_id, credentials_sent=sent)
        return _organisation_shape(organisation).model_dump(mode="json")

    @rpc
    def get_organisation(self, actor, organisation_id):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            organisation = _visible_organisation(session, actor, organisation_id)
        return _organisation_shape(organisation).model_dump(mode="json")

    @rpc
    def find_organisations_by_siret(self, actor, sirets):
        """The actor's funder's organisations among these SIRETs (read-only, funder staff):
        the dossiers spreadsheet import names organisations by SIRET. A SIRET that is invalid
        or unknown is simply absent from the answer."""
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        wanted = set()
        for raw in list(sirets or [])[:MAX_SIRET_LOOKUP]:
            try:
                wanted.add(domain.normalise_siret(str(raw)))
            except InvalidInput:
                continue
        with self.db.read() as session:
            found = models.organisations_by_siret(session, actor.funder_id, wanted)
        return [_organisation_shape(organisation).model_dump(mode="json") for organisation in found]

    @rpc
    def get_organisation_profile(self, actor, organisation_id):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            return _profile(session, _visible_organisation(session, actor, organisation_id))

    @rpc
    def update_organisation_profile(self, actor, organisation_id, payload):
        actor = parse(Actor, actor)
        domain.require_users_right(actor, str(organisation_id))
        update = parse(ProfileUpdate, payload)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            organisation = _visible_organisation(uow.session, actor, organisation_id)
            changed = organisation.update_profile(update.model_dump(exclude_unset=True))
            if changed:
                uow.session.add(domain.audit(now, "profile_updated", actor=actor,
                                             target=organisation.id, changed=changed))
                uow.publish("organisation_updated", OrganisationUpdatedV1(
                    organisation_id=organisation.id, funder_id=organisation.funder_id,
                    changed=changed, updated_by=actor.user_id, updated_at=now),
                    subject=organisation.id)
            return _profile(uow.session, organisation)

    @rpc
    def set_certifier(self, actor, organisation_id, payload):
        actor = parse(Actor, actor)
        domain.require_users_right(actor, str(organisation_id))
        choice = parse(CertifierChoice, payload)
        with self.db.unit_of_work() as uow:
            organisation = _visible_organisation(uow.session, actor, organisation_id)
            if organisation.certifier_requested != choice.requested:
                organisation.certifier_requested = choice.requested
                uow.session.add(domain.audit(utcnow(), "certifier_changed", actor=actor,
                                             target=organisation.id, requested=choice.requested))
                _certifier_event(uow, organisation)
            return _profile(uow.session, organisation)

    # --- documents of the profile, as the documents service reports them -------------------

    @subscribe("documents", "document_uploaded")
    @idempotent
    def on_document_uploaded(self, uow, event):
        data = event.data
        self._follow_document(uow, data, lambda doc: doc.uploaded(data.document_id,
                                                                   data.uploaded_at),
                              "pending", data.uploaded_at)

    @subscribe("documents", "document_checked")
    @idempotent
    def on_document_checked(self, uow, event):
        data = event.data
        self._follow_document(uow, data, lambda doc: doc.reviewed(
            data.document_id, "checked", data.checked_at), "checked", data.checked_at)

    @subscribe("documents", "document_rejected")
    @idempotent
    def on_document_rejected(self, uow, event):
        data = event.data
        self._follow_document(uow, data, lambda doc: doc.reviewed(
            data.document_id, "rejected", data.rejected_at, data.reason_text), "rejected",
            data.rejected_at, data.reason_text)

    def _follow_document(self, uow, data, apply, status, at, reason=None) -> None:
        """Record an organisation's kbis, consent letter, logo or stamp news; a change of the
        kbis or consent letter may change the certification method: say so by an event."""
        if data.category not in domain.PROFILE_CATEGORIES or not data.organisation_id:
            return
        organisation = uow.session.get(Organisation, data.organisation_id)
        if organisation is None or organisation.funder_id != data.funder_id:
            log.warning("document_of_unknown_organisation", document_id=data.document_id)
            return
        # Locked: an upload and its review arrive on two queues, maybe at the same moment;
        # without the lock the later commit would write what it read before the other's.
        document = uow.session.get(OrganisationDocument, (organisation.id, data.category),
                                   with_for_update=True)
        if document is None:
            uow.session.add(OrganisationDocument(
                organisation.id, data.category, data.document_id, status, at, reason,
                reviewed_at=None if status == "pending" else at))
        elif not apply(document):
            return  # the review of a document since replaced
        if data.category in ("kbis", "consent_letter"):
            uow.session.flush()
            _certifier_event(uow, organisation)

    # --- beneficiary and employer accounts, created with their first dossier ----------------

    @subscribe("dossiers", "dossier_created")
    def on_dossier_created(self, event):
        self._open_accounts(event, event.data.created_by)

    @subscribe("dossiers", "dossier_updated")
    def on_dossier_updated(self, event):
        """An employer named later gets its account the same way."""
        if "employer_id" in event.data.changed:
            self._open_accounts(event, event.data.updated_by)

    def _open_accounts(self, event, by: str) -> None:
        """Each party of the dossier without an account gets one; the credentials email
        leaves once the accounts are committed (hashing happens before the transaction)."""
        data = event.data
        parties = [party for party in (data.beneficiary, data.employer) if party]
        passwords = {party.id: domain.provisional_password() for party in parties}
        hashes = {party_id: _hash(password) for party_id, password in passwords.items()}
        for user in self._open_party_accounts(event, hashes, by) or ():
            self._send_credentials(user, passwords[user.party_id],
                                   dossier_number=data.dossier_number)

    @idempotent
    def _open_party_accounts(self, uow, event, hashes: dict[str, str],
                             by: str) -> list[UserAccount]:
        data = event.data
        opened = []
        for party in (data.beneficiary, data.employer):
            if party and models.user_of_party(uow.session, party.id) is None:
                user = _add_party_account(uow.session, party, data.funder_id, hashes[party.id])
                uow.session.add(domain.audit(utcnow(), "party_account_created", user=user,
                                             target=user.id, dossier_id=data.dossier_id,
                                             by=by))
                opened.append(user)
        log.info("party_accounts_opened", dossier_id=data.dossier_id, count=len(opened))
        return opened

    # --- sessions ---------------------------------------------------------------------------

    @rpc
    def login(self, credentials, ip=None):
        given = parse(Credentials, credentials)
        limits, now = _limits(), utcnow()
        since = now - timedelta(minutes=limits.ip_window_minutes)
        with self.db.unit_of_work() as uow:
            if ip and models.count_ip_failures(uow.session, ip, since) >= limits.ip_max_failures:
                log.warning("login_throttled", ip=ip)
                raise domain.too_many_attempts()
            user = models.user_by_identifier(uow.session,
                                             domain.normalise_identifier(given.identifier))
            matches = _in_thread(PASSWORDS.verify, user.password_hash if user else None,
                                 given.password)
            refusal = _refusal(user, matches, now)
            if refusal:
                if refusal == "wrong_password":
                    user.record_failure(now, limits)
                if ip:
                    models.record_ip_failure(uow.session, ip, now, since)
                uow.session.add(domain.audit(now, "login_failed", user=user, ip=ip,
                                             reason=refusal))
            else:
                if PASSWORDS.needs_rehash(user.password_hash):
                    user.password_hash = _hash(given.password)
                user.record_success()
                token, session = domain.open_session(user, now, _settings().token_ttl_minutes)
                uow.session.add(session)
                uow.session.add(domain.audit(now, "login_succeeded", user=user, ip=ip))
        if refusal:  # raised after the commit: the failure is counted and audited
            log.info("login_refused", ip=ip)
            raise domain.invalid_credentials()
        log.info("login_succeeded", user_id=user.id, ip=ip)
        return SessionShape(access_token=token, expires_at=session.expires_at,
                            must_personalise=user.must_personalise,
                            privacy_policy_pending=user.privacy_policy_pending
                            ).model_dump(mode="json")

    @rpc
    def authenticate(self, token):
        token, now = str(token), utcnow()
        if token.startswith(domain.API_TOKEN_PREFIX):
            with self.db.read() as session:
                api_token = models.api_token_by_hash(session, domain.hash_token(token))
            if api_token is None or not api_token.is_active(now):
                raise domain.invalid_token()
            return api_token.as_actor().model_dump(mode="json")
        with self.db.read() as session:
            found = models.session_with_user(session, domain.hash_token(token))
        if found is None:
            raise domain.invalid_token()
        user_session, user = found
        user_session.check_usable(now, _settings().identity.session_idle_minutes)
        if not user.active:
            raise domain.invalid_token()
        if user_session.needs_touch(now):
            with self.db.unit_of_work() as uow:
                models.touch_session(uow.session, user_session.token_hash, now)
        return user.as_actor(user_session.id).model_dump(mode="json")

    @rpc
    def logout(self, token):
        """Revoke the session; an unknown or already revoked token is not an error."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            user_session = uow.session.get(UserSession, domain.hash_token(str(token)))
            if user_session is not None and user_session.revoked_at is None:
                user_session.revoke(now)
                user = uow.session.get(UserAccount, user_session.user_id)
                uow.session.add(domain.audit(now, "logout", user=user))
        return None

    # --- first login and "mon compte" -------------------------------------------------------

    @rpc
    def me(self, actor):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            return _me(session, _own_account(session, actor))

    @rpc
    def personalise(self, actor, payload):
        """The provisional password is asked again: a stolen session of an account on its
        first login must not choose the account's password."""
        actor = parse(Actor, actor)
        wanted = parse(Personalise, payload)
        password_hash, now = _new_password_hash(wanted), utcnow()
        with self.db.unit_of_work() as uow:
            user = _own_account(uow.session, actor)
            if not user.must_personalise:
                raise Conflict("already_personalised", "Votre compte est déjà personnalisé.")
            _check_current_password(user, wanted.current_password)
            if wanted.new_password == wanted.current_password:
                raise InvalidInput("same_password",
                                   "Choisissez un mot de passe différent du mot de passe "
                                   "provisoire.")
            user.set_password(password_hash, now)
            models.revoke_sessions(uow.session, user.id, now, keep_session_id=actor.session_id)
            link = self._start_identifier_change(uow, user, actor, wanted.new_identifier, now)
            uow.session.add(domain.audit(now, "account_personalised", user=user, ip=actor.ip))
            reply = _me(uow.session, user)
        if link:
            self._send_identifier_change(user, *link)
        return reply

    def _start_identifier_change(self, uow, user: UserAccount, actor: Actor,
                                 new_identifier: str, now):
        """Put the new identifier on hold and make its confirmation link: (old, token); None
        when the identifier does not change."""
        identifier = domain.normalise_identifier(new_identifier)
        if identifier == user.identifier:
            return None
        _check_identifier_free(uow.session, identifier, owner=user)
        user.pending_identifier = identifier
        ttl = timedelta(hours=_settings().identity.confirm_ttl_hours)
        token, link = domain.new_link(user, domain.IDENTIFIER_CHANGE, now, ttl,
                                      new_identifier=identifier, session_id=actor.session_id)
        uow.session.add(link)
        uow.session.add(domain.audit(now, "identifier_change_requested", user=user,
                                     new_identifier=identifier))
        return user.identifier, token

    @rpc
    def confirm_identifier(self, token):
        now = utcnow()
        with _conflict_on_duplicate("identifier_taken", "Cet identifiant est déjà utilisé."), \
                self.db.unit_of_work() as uow:
            link = _use_link(uow.session, token, domain.IDENTIFIER_CHANGE, now)
            user = uow.session.get(UserAccount, link.user_id)
            if not user.active or user.pending_identifier != link.new_identifier:
                raise domain.invalid_link()  # superseded by a later request
            old, user.identifier, user.pending_identifier = user.identifier, \
                link.new_identifier, None
            models.revoke_sessions(uow.session, user.id, now, keep_session_id=link.session_id)
            uow.session.add(domain.audit(now, "identifier_changed", user=user,
                                         old_identifier=old, new_identifier=user.identifier))
        return {"identifier": user.identifier}

    @rpc
    def accept_privacy_policy(self, actor, payload):
        actor = parse(Actor, actor)
        accepted = parse(AcceptPrivacyPolicy, payload)
        current = _settings().identity.privacy_policy_version
        if accepted.version != current:
            raise InvalidInput("unknown_policy_version",
                               "Cette version de la politique de confidentialité n'est pas "
                               "celle en vigueur.", {"current": current})
        with self.db.unit_of_work() as uow:
            user = _own_account(uow.session, actor)
            user.accept_privacy_policy(current)
            uow.session.add(domain.audit(utcnow(), "privacy_policy_accepted", user=user,
                                         ip=actor.ip, version=current))
            return _me(uow.session, user)

    @rpc
    def update_me(self, actor, payload):
        """The name changes at once; the email is a credential (password resets go to it):
        see _start_email_change."""
        actor = parse(Actor, actor)
        wanted = parse(UpdateMe, payload)
        changes = wanted.model_dump(exclude_none=True, exclude={"email", "current_password"},
                                    mode="json")
        now, change = utcnow(), None
        with self.db.unit_of_work() as uow:
            user = _own_account(uow.session, actor)
            for field, value in changes.items():
                setattr(user, field, value)
            if changes:
                uow.session.add(domain.audit(now, "account_updated", user=user,
                                             ip=actor.ip, changed=sorted(changes)))
            if wanted.email is not None:
                change = self._start_email_change(uow, user, actor, wanted, now)
            reply = _me(uow.session, user)
        if change:
            self._send_email_change(user, change)
        return reply

    def _start_email_change(self, uow, user: UserAccount, actor: Actor, wanted: UpdateMe,
                            now) -> domain.EmailChange | None:
        """Re-authenticate, then hold the new address until its link is followed."""
        if wanted.current_password is None:
            raise domain.current_password_required()
        _check_current_password(user, wanted.current_password)
        return _hold_email(uow.session, user, str(wanted.email), now, actor.session_id,
                           ip=actor.ip)

    @rpc
    def confirm_email_change(self, token):
        """The link sent to the new address: the email changes, the account's other
        sessions end (the one that asked goes on)."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            link = _use_link(uow.session, token, domain.EMAIL_CHANGE, now)
            user = uow.session.get(UserAccount, link.user_id)
            if not user.active or user.pending_email != link.new_email:
                raise domain.invalid_link()  # cancelled or superseded
            # The funder's row, locked: two confirmations of one address (two accounts)
            # check and change one after the other. No unique index: accounts made before
            # issue 11 (and parties' accounts) may share an address.
            uow.session.get(Funder, user.funder_id, with_for_update=True)
            if models.email_holder(uow.session, user.funder_id, link.new_email, user.id):
                raise domain.email_taken()  # taken since the request
            user.email, user.pending_email = link.new_email, None
            models.void_links(uow.session, user.id, (domain.EMAIL_CHANGE_CANCEL,), now)
            models.revoke_sessions(uow.session, user.id, now, keep_session_id=link.session_id)
            uow.session.add(domain.audit(now, "email_changed", user=user))
        log.info("email_changed", user_id=user.id)
        return None

    @rpc
    def cancel_email_change(self, token):
        """The link sent to the old address: the change is void, and since whoever asked
        held a session and the password, every session ends (the email says to change the
        password)."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            link = _use_link(uow.session, token, domain.EMAIL_CHANGE_CANCEL, now)
            user = uow.session.get(UserAccount, link.user_id)
            if user.pending_email != link.new_email:
                raise domain.invalid_link()  # confirmed, or superseded by a later request
            user.pending_email = None
            models.void_links(uow.session, user.id, (domain.EMAIL_CHANGE,), now)
            models.revoke_sessions(uow.session, user.id, now)
            uow.session.add(domain.audit(now, "email_change_cancelled", user=user))
        log.info("email_change_cancelled", user_id=user.id)
        return None

    @rpc
    def change_identifier(self, actor, payload):
        actor = parse(Actor, actor)
        wanted = parse(ChangeIdentifier, payload)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            user = _own_account(uow.session, actor)
            _check_current_password(user, wanted.current_password)
            link = self._start_identifier_change(uow, user, actor, wanted.new_identifier, now)
            reply = _me(uow.session, user)
        if link:
            self._send_identifier_change(user, *link)
        return reply

    @rpc
    def change_password(self, actor, payload):
        actor = parse(Actor, actor)
        wanted = parse(ChangePassword, payload)
        password_hash, now = _new_password_hash(wanted), utcnow()
        with self.db.unit_of_work() as uow:
            user = _own_account(uow.session, actor)
            _check_current_password(user, wanted.current_password)
            user.set_password(password_hash, now, provisional=False)
            models.revoke_sessions(uow.session, user.id, now, keep_session_id=actor.session_id)
            uow.session.add(domain.audit(now, "password_changed", user=user, ip=actor.ip))
        return None

    @rpc
    def request_password_reset(self, payload, ip=None):
        """The same answer, and the same work before it, whether the identifier exists or
        not (one lookup, one audit row): the link and its email are made after the reply, or
        a known identifier would answer later than an unknown one."""
        request = parse(PasswordResetRequest, payload)
        rules = _settings().identity
        self._count_reset_request(ip, rules)
        CaptchaVerifier(rules).check(request.captcha_token, ip)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            user = models.user_by_identifier(uow.session,
                                             domain.normalise_identifier(request.identifier))
            known = user is not None and user.active
            uow.session.add(domain.audit(now, "password_reset_requested",
                                         user=user if known else None, ip=ip, known=known))
        if known:
            self.after_reply(self._send_reset_link, user.id)
        return {"status": "accepted",
                "message": "Si un compte correspond à cet identifiant, un e-mail vient de lui "
                           "être envoyé."}

    def _send_reset_link(self, user_id: str) -> None:
        ttl_minutes = _settings().identity.reset_ttl_minutes
        now = utcnow()
        with self.db.unit_of_work() as uow:
            user = uow.session.get(UserAccount, user_id)
            token, link = domain.new_link(user, domain.PASSWORD_RESET, now,
                                          timedelta(minutes=ttl_minutes))
            uow.session.add(link)
        self._email(user.email, "password_reset", name=user.name,
                    link=_link("/auth/password-reset/confirm", token), valid_minutes=ttl_minutes)

    def _count_reset_request(self, ip: str | None, rules) -> None:
        """Per address, every request counts (known identifier or not), in its own
        transaction: a refused CAPTCHA is counted too."""
        if not ip:
            return
        now = utcnow()
        since = now - timedelta(minutes=rules.ip_window_minutes)
        with self.db.unit_of_work() as uow:
            if models.count_ip_failures(uow.session, ip, since, RESET) >= \
                    rules.reset_max_per_address:
                log.warning("password_reset_throttled", ip=ip)
                raise domain.too_many_reset_requests()
            models.record_ip_failure(uow.session, ip, now, since, RESET)

    @rpc
    def reset_password(self, payload):
        wanted = parse(PasswordReset, payload)
        password_hash, now = _new_password_hash(wanted), utcnow()
        with self.db.unit_of_work() as uow:
            link = _use_link(uow.session, wanted.token, domain.PASSWORD_RESET, now)
            user = uow.session.get(UserAccount, link.user_id)
            if not user.active:
                raise domain.invalid_link()
            user.set_password(password_hash, now, provisional=False)
            models.revoke_sessions(uow.session, user.id, now)
            uow.session.add(domain.audit(now, "password_reset", user=user))
        return None

    # --- users and rights -------------------------------------------------------------------

    @rpc
    def list_users(self, actor, organisation_id):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            organisation = _visible_organisation(session, actor, organisation_id)
            if not domain.can_list_users(actor, organisation):
                domain.require_users_right(actor, organisation.id)  # raises the right error
            return [_user_details(user)
                    for user in models.organisation_users(session, organisation.id)]

    @rpc
    def create_user(self, actor, organisation_id, payload):
        actor = parse(Actor, actor)
        domain.require_users_right(actor, str(organisation_id))
        new = parse(NewOrganisationUser, payload)
        password = domain.provisional_password()
        password_hash = _hash(password)
        with _conflict_on_duplicate("identifier_taken", "Cet identifiant est déjà utilisé."), \
                self.db.unit_of_work() as uow:
            organisation = _visible_organisation(uow.session, actor, organisation_id)
            user = _add_account(uow.session, identifier=new.identifier, name=new.name,
                                email=str(new.email), password_hash=password_hash,
                                role=Role.organisation_user, funder_id=actor.funder_id,
                                provisional=True, organisation_id=organisation.id,
                                rights=[right.value for right in new.rights], active=new.active)
            uow.session.add(domain.audit(utcnow(), "user_created", user=user, actor=actor,
                                         target=user.id, rights=user.rights))
        sent = self._send_credentials(user, password, organisation.name) if user.active \
            else False
        return _user_details(user, credentials_sent=sent)

    @rpc
    def update_user(self, actor, user_id, payload):
        actor = parse(Actor, actor)
        changes = parse(UserUpdate, payload).model_dump(exclude_none=True, mode="json")
        now, change = utcnow(), None
        with self.db.unit_of_work() as uow:
            user = _managed_user(uow.session, actor, user_id)
            if "email" in changes and not user.never_used:
                # Resets go to the email: a stolen administrator's session must not redirect
                # them. No session asked, so every session ends at the confirmation.
                change = _hold_email(uow.session, user, changes.pop("email"), now, None,
                                     actor=actor, target=user.id)
            before = {"rights": list(user.rights), "active": user.active}
            for field, value in changes.items():
                setattr(user, field, value)
            domain.check_administrators_remain(
                models.organisation_users(uow.session, user.organisation_id))
            for action, details in _user_changes(before, user, changes):
                uow.session.add(domain.audit(now, action, user=user, actor=actor,
                                             target=user.id, **details))
            if before["active"] and not user.active:
                models.revoke_sessions(uow.session, user.id, now)
        if change:
            self._send_email_change(user, change, by_administrator=True)
        return _user_details(user)

    @rpc
    def resend_credentials(self, actor, user_id):
        """A new provisional password, emailed (the first email failed or was lost); the
        account must personalise again and its sessions end."""
        actor = parse(Actor, actor)
        return self._resend(actor, lambda session: _resendable_user(session, actor, user_id))

    @rpc
    def resend_party_credentials(self, actor, party_id):
        """The same for a beneficiary's or employer's account, which funder staff know by the
        party of their dossiers."""
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        return self._resend(actor, lambda session: _party_account(session, actor, party_id))

    def _resend(self, actor: Actor, find_user) -> dict:
        password = domain.provisional_password()
        password_hash, now = _hash(password), utcnow()
        with self.db.unit_of_work() as uow:
            user = find_user(uow.session)
            user.set_password(password_hash, now, provisional=True)
            models.revoke_sessions(uow.session, user.id, now)
            organisation = (uow.session.get(Organisation, user.organisation_id)
                            if user.organisation_id else None)
            uow.session.add(domain.audit(now, "credentials_resent", user=user, actor=actor,
                                         target=user.id))
        sent = self._send_credentials(user, password,
                                      organisation.name if organisation else None)
        return _user_details(user, credentials_sent=sent)

    @rpc
    def create_funder_user(self, actor, payload):
        actor = parse(Actor, actor)
        domain.require_funder_admin(actor)
        new = parse(NewFunderUser, payload)
        password = domain.provisional_password()
        password_hash = _hash(password)
        with _conflict_on_duplicate("identifier_taken", "Cet identifiant est déjà utilisé."), \
                self.db.unit_of_work() as uow:
            user = _add_account(uow.session, identifier=new.identifier, name=new.name,
                                email=str(new.email), password_hash=password_hash,
                                role=Role(new.role), funder_id=actor.funder_id,
                                provisional=True)
            uow.session.add(domain.audit(utcnow(), "funder_user_created", user=user,
                                         actor=actor, target=user.id, role=new.role))
        return _user_details(user, credentials_sent=self._send_credentials(user, password))

    # --- API tokens -------------------------------------------------------------------------

    @rpc
    def issue_api_token(self, actor, payload):
        actor = parse(Actor, actor)
        domain.require_person(actor)
        domain.require_users_right(actor, str(actor.organisation_id))
        new = parse(NewApiToken, payload)
        now = utcnow()
        token, api_token = domain.issue_api_token(
            actor, new.name, new.expires_on,
            [right.value for right in new.rights] if new.rights else None, now)
        with self.db.unit_of_work() as uow:
            uow.session.add(api_token)
            models.revoke_sessions(uow.session, actor.user_id, now,
                                   keep_session_id=actor.session_id)
            uow.session.add(domain.audit(now, "api_token_issued", actor=actor,
                                         target=api_token.id, name=api_token.name,
                                         rights=api_token.rights,
                                         expires_at=api_token.expires_at.isoformat()))
        return IssuedApiToken(id=api_token.id, name=api_token.name, token=token,
                              expires_at=api_token.expires_at, rights=api_token.rights
                              ).model_dump(mode="json")

    @rpc
    def list_api_tokens(self, actor):
        actor = parse(Actor, actor)
        domain.require_users_right(actor, str(actor.organisation_id))
        now = utcnow()
        with self.db.read() as session:
            return [_api_token_shape(token, now)
                    for token in models.organisation_api_tokens(session, actor.organisation_id)]

    @rpc
    def revoke_api_token(self, actor, token_id):
        actor = parse(Actor, actor)
        domain.require_person(actor)
        domain.require_users_right(actor, str(actor.organisation_id))
        now = utcnow()
        with self.db.unit_of_work() as uow:
            token = _api_token_of(uow.session, actor, token_id)
            if token.revoked_at is None:
                token.revoked_at = now
                models.revoke_sessions(uow.session, actor.user_id, now,
                                       keep_session_id=actor.session_id)
                uow.session.add(domain.audit(now, "api_token_revoked", actor=actor,
                                             target=token.id, name=token.name))
            return _api_token_shape(token, now)

    # --- audit ------------------------------------------------------------------------------

    @rpc
    def audit_trail(self, actor, organisation_id, limit=200):
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        domain.require_unrestricted(actor)
        limit = max(1, min(int(200 if limit is None else limit), 1000))
        with self.db.read() as session:
            organisation = _visible_organisation(session, actor, organisation_id)
            return [AuditEntry(at=row.at, user_id=row.user_id,
                               organisation_id=row.organisation_id, action=row.action,
                               target=row.target, ip=row.ip, details=row.details
                               ).model_dump(mode="json")
                    for row in models.audit_trail(session, organisation.id, limit)]


def _refusal(user: UserAccount | None, matches: bool, now) -> str | None:
    """Why a login is refused (for the audit only: the caller always hears the same)."""
    if user is None:
        return "unknown_identifier"
    if user.is_locked(now):
        return "locked"
    if not matches:
        return "wrong_password"
    if not user.active:
        return "inactive"
    return None


def _user_changes(before: dict, user: UserAccount, changes: dict):
    """The audit rows of one update_user: rights, (de)activation, other fields."""
    if sorted(before["rights"]) != sorted(user.rights):
        yield "rights_changed", {"before": before["rights"], "after": list(user.rights)}
    if before["active"] != user.active:
        yield ("user_activated" if user.active else "user_deactivated"), {}
    others = sorted(set(changes) & {"name", "email"})
    if others:
        yield "user_updated", {"changed": others}
