"""identity's use cases: funders, organisations and their profile, accounts, sessions, first
login, password reset, users and rights, API tokens, the audit trail.

Each takes `db` (a unit of work per transaction, `db.reading()` to read) and `ports`.
Commands come parsed, except where an access check answers first (a refused caller hears
"refused", whatever it sent): those take the payload and parse it after the check.

Emails that carry a secret (provisional password, confirmation or reset link) go through
notifications AFTER the unit of work commits, never inside it: a slow or failed email must
not hold a transaction open nor roll back an account. When the email fails, the account
stays as created (with must_personalise, so the lost password is useless to anyone) and
`resend_credentials` issues a new provisional password; the reply of create_user says
`credentials_sent`. A password reset's link and email are made after the reply
(`ports.after_reply`): a known identifier must answer as fast as an unknown one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from typing import TYPE_CHECKING, Callable, Protocol

from contracts.common import Actor, Role
from contracts.common.access import require_funder_staff
from contracts.common.errors import Conflict, InvalidInput, NotFound, TooManyRequests
from contracts.events import AccountChange, AccountChangedV1, CertifierStatusChangedV1, \
    DossierParty, FunderBootstrappedV1, OrganisationUpdatedV1
from contracts.identity import (AcceptPrivacyPolicy, ApiToken as ApiTokenShape, AuditEntry,
                                CertificationMethod, CertifierChoice, ChangeIdentifier,
                                ChangePassword, Credentials, IssuedApiToken, Me, MissingPiece,
                                NewApiToken,
                                NewFunder, NewFunderUser, NewOrganisation, NewOrganisationUser,
                                Organisation as OrganisationShape, OrganisationProfile,
                                PasswordReset, PasswordResetRequest, Personalise,
                                ProfileDocument, ProfileUpdate, Session as SessionShape,
                                UpdateMe, User as UserShape, UserDetails, UserUpdate)
from contracts.identity import (AccountSettingsChange, FunderAccountSettings, NewSignup,
                                PasswordRulesText, SignupActivation, SignupQuery, SignupSummary)
from services.identity import domain
from services.identity.domain import (ApiToken, Funder, Organisation, OrganisationDocument,
                                      UserAccount)
from contracts.http import FunderAuditQuery
from contracts.identity import AuditChainBreak, AuditVerification
from services.identity.domain import audit_trail as trail
from services.identity.domain import users as user_rules
from contracts.identity import OpenSession, UserCard, UserQuery
from services.identity.models import duplicate_is_conflict
from servicekit.logging import get_logger
from servicekit.validation import parse

if TYPE_CHECKING:
    from services.identity.adapters import IdentitySettings

log = get_logger(__name__)

RESET = "password_reset"  # the per-address counter of reset requests
MAX_SIRET_LOOKUP = 5000  # the dossiers import's row cap
IDENTIFIER_TAKEN = ("identifier_taken", "Cet identifiant est déjà utilisé.")


class PasswordHashing(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class Emails(Protocol):
    def send(self, to: str, template: str, **context) -> bool: ...


@dataclass(frozen=True)
class Ports:
    clock: Callable[[], datetime]
    passwords: PasswordHashing
    emails: Emails
    check_captcha: Callable[[str | None, str | None], None]  # (token, ip)
    after_reply: Callable[..., None]  # (function, *args): run once the reply has gone
    settings: IdentitySettings
    public_url: str
    session_ttl_minutes: int
    # (funder code, SIRET) -> known? (adapters.SiretDirectory); by default none is known.
    siret_directory: Callable[[str, str], bool] = lambda funder_code, siret: False

    def link(self, path: str, token: str) -> str:
        return f"{self.public_url}{path}?token={token}"


# --- views: domain objects as contract shapes -------------------------------------------------

def _user_shape(user: UserAccount) -> UserShape:
    return UserShape(id=user.id, identifier=user.identifier, name=user.name, email=user.email,
                     role=Role(user.role), funder_id=user.funder_id,
                     organisation_id=user.organisation_id)


def _user_details(user: UserAccount, credentials_sent: bool | None = None) -> dict:
    return UserDetails(**_user_shape(user).model_dump(), active=user.active,
                       rights=user.rights, must_personalise=user.must_personalise,
                       created_at=user.created_at, credentials_sent=credentials_sent,
                       civility=user.civility, first_name=user.first_name,
                       last_name=user.last_name, phone=user.phone).model_dump(mode="json")


def _organisation_shape(organisation: Organisation) -> dict:
    return OrganisationShape(id=organisation.id, funder_id=organisation.funder_id,
                             name=organisation.name, siret=organisation.siret,
                             uai=organisation.uai, email=organisation.email,
                             legal_representative=organisation.legal_representative,
                             address=organisation.address, postcode=organisation.postcode,
                             town=organisation.town, phone=organisation.phone
                             ).model_dump(mode="json")


def _document_shape(document: OrganisationDocument | None) -> ProfileDocument:
    if document is None:
        return ProfileDocument()
    return ProfileDocument(document_id=document.document_id, status=document.status,
                           status_label=document.status_label, reason=document.reason)


def _status(documents: dict, category: str) -> str:
    document = documents.get(category)
    return document.status if document else "missing"


def _readiness(uow, organisation: Organisation, documents: dict | None = None
               ) -> tuple[domain.Readiness, dict]:
    """(the organisation's readiness to enter and certify hours, its profile's documents);
    `documents`: those already read with the organisation."""
    if documents is None:
        documents = uow.documents.of_organisation(organisation.id)
    return domain.readiness(organisation.legal_representative, _status(documents, "logo"),
                            _status(documents, "stamp"), organisation.certifier_requested,
                            _status(documents, "kbis"),
                            _status(documents, "consent_letter")), documents


def _profile(uow, organisation: Organisation, documents: dict | None = None) -> dict:
    ready, documents = _readiness(uow, organisation, documents)
    fields = {field: getattr(organisation, field) for field in domain.PROFILE_FIELDS}
    return OrganisationProfile(
        id=organisation.id, funder_id=organisation.funder_id, siret=organisation.siret,
        certifier_requested=organisation.certifier_requested,
        certification_method=CertificationMethod(
            method=ready.method, reason=ready.reason,
            certifier_since=organisation.certifier_since if ready.method == 2 else None,
            missing=[MissingPiece(code=code, label=label, needed_for=needed)
                     for code, label, needed in ready.missing]),
        **{category: _document_shape(documents.get(category))
           for category in domain.PROFILE_CATEGORIES},
        **fields).model_dump(mode="json")


def _me(uow, user: UserAccount) -> dict:
    organisation = (uow.organisations.get(user.organisation_id)
                    if user.organisation_id else None)
    return Me(user=_user_shape(user),
              organisation=_organisation_shape(organisation) if organisation else None,
              must_personalise=user.must_personalise,
              privacy_policy_pending=user.privacy_policy_pending,
              pending_identifier=user.pending_identifier,
              pending_email=user.pending_email, rights=user.rights,
              password_rules=_account_settings(uow, user.funder_id).rules.text
              if user.funder_id else None).model_dump(mode="json")


def _api_token_shape(token: ApiToken, now: datetime) -> dict:
    return ApiTokenShape(id=token.id, name=token.name, expires_at=token.expires_at,
                         rights=token.rights, created_at=token.created_at,
                         created_by=token.created_by, revoked_at=token.revoked_at,
                         active=token.is_active(now)).model_dump(mode="json")


def _follow_readiness(uow, organisation: Organisation, at: datetime,
                      announce: bool = False) -> None:
    """A piece of « Votre identité » changed: date method 2 from the change that completes it;
    an event says so when the method changes, or (`announce`) a piece the event carries
    (certifier choice, KBIS, consent letter). The caller holds the organisation's row
    (organisations.locked): two pieces changed at once are judged one after the other, each
    seeing the other's (two checks judged side by side both saw the other piece unchecked)."""
    ready, documents = _readiness(uow, organisation)
    was_electronic = organisation.certifier_since is not None
    organisation.follow_method(ready.method, at)
    if not announce and was_electronic == (ready.method == 2):
        return
    uow.publish("certifier_status_changed", CertifierStatusChangedV1(
        organisation_id=organisation.id, funder_id=organisation.funder_id,
        requested=organisation.certifier_requested, kbis_status=_status(documents, "kbis"),
        consent_letter_status=_status(documents, "consent_letter"), method=ready.method,
        changed_at=at), subject=organisation.id)


# --- emails (always after the commit) ---------------------------------------------------------

def _send_credentials(ports: Ports, user: UserAccount, password: str,
                      organisation_name: str | None = None,
                      dossier_number: str | None = None) -> bool:
    return ports.emails.send(user.email, "account_credentials", name=user.name,
                             identifier=user.identifier, password=password,
                             organisation_name=organisation_name,
                             dossier_number=dossier_number, link=f"{ports.public_url}/")


def _send_identifier_change(ports: Ports, user: UserAccount, old: str, token: str) -> bool:
    return ports.emails.send(user.email, "identifier_change", name=user.name,
                             old_identifier=old, new_identifier=user.pending_identifier,
                             link=ports.link("/auth/confirm-identifier", token),
                             valid_hours=ports.settings.confirm_ttl_hours)


def _send_email_change(ports: Ports, user: UserAccount, change: domain.EmailChange,
                       by_administrator: bool = False) -> None:
    """The new address gets the confirmation link, or when another account of the funder
    uses it already, word of that instead (its owner may know; the requester may not).
    The old address is told at once, with the link that cancels, and who asked."""
    valid_hours = ports.settings.confirm_ttl_hours
    ports.emails.send(change.new_email, "email_change", name=user.name, taken=change.taken,
                      link=None if change.taken else ports.link("/auth/confirm-email",
                                                                change.confirm_token),
                      valid_hours=valid_hours)
    ports.emails.send(change.old_email, "email_change_notice", name=user.name,
                      new_email=change.new_email, valid_hours=valid_hours,
                      by_administrator=by_administrator,
                      link=ports.link("/auth/cancel-email-change", change.cancel_token))


# --- accounts: what several use cases share ---------------------------------------------------

def _new_password_hash(ports: Ports, wanted, rules: domain.PasswordRules) -> str:
    """The hash of a NewPassword's password, once both typings agree and it follows the
    funder's rules (_password_rules)."""
    rules.check_new(wanted.new_password, wanted.new_password_confirmation)
    return ports.passwords.hash(wanted.new_password)


def _password_rules(db, funder_id: str | None) -> domain.PasswordRules:
    """The rule set the funder's accounts choose their passwords by (issue 15), read before
    the transaction that hashes: a set changed meanwhile applies at the next change."""
    with db.reading() as uow:
        return _account_settings(uow, funder_id).rules if funder_id else \
            domain.password_rules(None)


def _account_settings(uow, funder_id: str) -> domain.AccountSettings:
    return uow.account_settings.of_funder(funder_id) or domain.AccountSettings(funder_id)


def _check_current_password(ports: Ports, user: UserAccount, password: str) -> None:
    if not ports.passwords.verify(user.password_hash, password):
        raise InvalidInput("wrong_password", "Le mot de passe actuel est incorrect.")


def _check_identifier_free(uow, identifier: str, owner: UserAccount | None = None) -> None:
    holder = uow.users.holding_identifier(identifier)
    if holder is not None and holder is not owner:
        raise Conflict(*IDENTIFIER_TAKEN)


def _add_account(uow, now: datetime, *, identifier: str, **fields) -> UserAccount:
    identifier = domain.normalise_identifier(identifier)
    _check_identifier_free(uow, identifier)
    user = domain.new_account(now, identifier=identifier, **fields)
    uow.users.add(user)
    return user


def _add_party_account(uow, now: datetime, party: DossierParty, funder_id: str,
                       password_hash: str) -> UserAccount:
    identifier = next((candidate for candidate in domain.party_identifiers(party.email, party.id)
                       if uow.users.holding_identifier(candidate) is None),
                      f"{party.kind}-{party.id}")
    return _add_account(uow, now, identifier=identifier, name=party.name, email=str(party.email),
                        password_hash=password_hash, role=Role(party.kind), funder_id=funder_id,
                        provisional=True, party_id=party.id, rights=[])


def _account_changed(uow, user: UserAccount, change: AccountChange, by: str | None,
                     at: datetime) -> None:
    """Publish a change of the account, with the account as it now is: notifications tells
    the person and keeps its copy of their address and rights true. `by` is None when the
    person acts through an emailed link, without a session."""
    uow.publish("account_changed", AccountChangedV1(
        user_id=user.id, funder_id=user.funder_id, role=user.role,
        organisation_id=user.organisation_id, party_id=user.party_id, name=user.name,
        email=user.email, active=user.active, rights=list(user.rights), change=change,
        changed_by=by, changed_at=at), subject=user.id)


def _own_account(uow, actor: Actor) -> UserAccount:
    user = uow.users.get(actor.user_id)
    domain.require_own_account(actor, user)
    return user


def _visible_organisation(uow, actor: Actor, organisation_id,
                          lock: bool = False) -> Organisation:
    """`lock`: held until the transaction ends, for a change of its readiness."""
    find = uow.organisations.locked if lock else uow.organisations.get
    return _visible(actor, find(str(organisation_id)))


def _visible(actor: Actor, organisation: Organisation | None) -> Organisation:
    if organisation is None or not domain.can_see_organisation(actor, organisation):
        raise domain.organisation_not_found()
    return organisation


def _managed_user(uow, actor: Actor, user_id) -> UserAccount:
    user = uow.users.get(str(user_id))
    domain.require_manages(actor, user)
    return user


def _use_link(uow, token, purpose: str, now: datetime) -> domain.OneTimeToken:
    """The emailed link of this token, now used (InvalidInput invalid_link otherwise)."""
    link = uow.links.by_hash(domain.hash_token(str(token)))
    if link is None:
        raise domain.invalid_link()
    link.use(purpose, now)
    return link


def _start_identifier_change(uow, ports: Ports, user: UserAccount, actor: Actor,
                             new_identifier: str, now: datetime) -> tuple[str, str] | None:
    """Put the new identifier on hold and make its confirmation link: (old, token); None
    when the identifier does not change."""
    identifier = domain.normalise_identifier(new_identifier)
    if identifier == user.identifier:
        return None
    _check_identifier_free(uow, identifier, owner=user)
    user.pending_identifier = identifier
    ttl = timedelta(hours=ports.settings.confirm_ttl_hours)
    token, link = domain.new_link(user, domain.IDENTIFIER_CHANGE, now, ttl,
                                  new_identifier=identifier, session_id=actor.session_id)
    uow.links.add(link)
    uow.audit.add(domain.audit(now, "identifier_change_requested", user=user,
                               new_identifier=identifier))
    return user.identifier, token


def _hold_email(uow, ports: Ports, user: UserAccount, email: str, now: datetime,
                session_id: str | None, **audit) -> domain.EmailChange | None:
    """Hold the new address until the link sent to it is followed (the session that asked,
    if any, outlives the change); a new request supersedes the links of the previous one.
    `audit`: who asked, beside the account (ip, or actor and target)."""
    taken = uow.users.email_holder(user.funder_id, email, user.id) is not None
    ttl = timedelta(hours=ports.settings.confirm_ttl_hours)
    uow.links.void(user.id, (domain.EMAIL_CHANGE, domain.EMAIL_CHANGE_CANCEL), now)
    change = domain.start_email_change(user, email, now, ttl, session_id, taken)
    if change:
        for link in change.links:
            uow.links.add(link)
        uow.audit.add(domain.audit(now, "email_change_requested", user=user,
                                   address_taken=taken, **audit))
    return change


# --- funders and organisations ----------------------------------------------------------------

def funders_directory(db) -> list[dict]:
    """Every funder's id, code and name, for the ops command line (it names funders by code)."""
    with db.reading() as reading:
        return [{"id": funder.id, "code": funder.code, "name": funder.name}
                for funder in sorted(reading.funders.all(), key=lambda f: f.code)]


def bootstrap_funder(db, ports: Ports, new: NewFunder) -> dict:
    domain.check_password(new.admin.password)
    password_hash, now = ports.passwords.hash(new.admin.password), ports.clock()
    with duplicate_is_conflict("funder_exists", "Ce financeur existe déjà."), \
            db.unit_of_work() as uow:
        if uow.funders.by_code(new.code):
            raise Conflict("funder_exists", "Ce financeur existe déjà.")
        funder = Funder(id=domain.new_id(), code=new.code, name=new.name)
        uow.funders.add(funder)
        admin = _add_account(uow, now, identifier=new.admin.identifier, name=new.admin.name,
                             email=str(new.admin.email), password_hash=password_hash,
                             role=Role.funder_admin, funder_id=funder.id, provisional=False)
        uow.publish("funder_bootstrapped", FunderBootstrappedV1(
            funder_id=funder.id, name=funder.name, contact_email=admin.email,
            bootstrapped_at=now), subject=funder.id)
    log.info("funder_bootstrapped", funder_id=funder.id, code=funder.code)
    return {"funder_id": funder.id, "admin": _user_shape(admin).model_dump(mode="json")}


def create_organisation(db, ports: Ports, actor: Actor, payload) -> dict:
    require_funder_staff(actor)
    domain.require_unrestricted(actor)
    new = parse(NewOrganisation, payload)
    siret = domain.normalise_siret(new.siret)
    password = domain.provisional_password()
    password_hash, now = ports.passwords.hash(password), ports.clock()
    with duplicate_is_conflict("organisation_conflict",
                               "Cet organisme ou cet identifiant existe déjà."), \
            db.unit_of_work() as uow:
        if uow.organisations.siret_taken(actor.funder_id, siret):
            raise Conflict("siret_taken", "Un organisme de formation avec ce SIRET existe déjà.")
        organisation = Organisation(
            id=domain.new_id(), funder_id=actor.funder_id, name=new.name, siret=siret,
            email=str(new.email), legal_representative=new.legal_representative,
            address=new.address, created_at=now)
        uow.organisations.add(organisation)
        user = _add_account(uow, now, identifier=new.user.identifier or str(new.user.email),
                            name=new.user.name, email=str(new.user.email),
                            password_hash=password_hash, role=Role.organisation_user,
                            funder_id=actor.funder_id, provisional=True,
                            organisation_id=organisation.id,
                            rights=list(domain.ORGANISATION_ADMIN_RIGHTS))
        uow.audit.add(domain.audit(now, "organisation_created", user=user, actor=actor,
                                   target=organisation.id))
        _account_changed(uow, user, "credentials_sent", actor.user_id, now)
    sent = _send_credentials(ports, user, password, organisation.name)
    log.info("organisation_created", organisation_id=organisation.id, user_id=user.id,
             by=actor.user_id, credentials_sent=sent)
    return _organisation_shape(organisation)


def get_organisation(db, actor: Actor, organisation_id) -> dict:
    with db.reading() as uow:
        return _organisation_shape(_visible_organisation(uow, actor, organisation_id))


def find_organisations_by_siret(db, actor: Actor, sirets) -> list[dict]:
    """The actor's funder's organisations among these SIRETs (read-only, funder staff):
    the dossiers spreadsheet import names organisations by SIRET. A SIRET that is invalid
    or unknown is simply absent from the answer."""
    require_funder_staff(actor)
    wanted = set()
    for raw in list(sirets or [])[:MAX_SIRET_LOOKUP]:
        try:
            wanted.add(domain.normalise_siret(str(raw)))
        except InvalidInput:
            continue
    with db.reading() as uow:
        return [_organisation_shape(organisation)
                for organisation in uow.organisations.by_siret(actor.funder_id, wanted)]


def get_organisation_profile(db, actor: Actor, organisation_id) -> dict:
    """Asked before every certification: the organisation and its documents in one read."""
    with db.reading() as uow:
        organisation, documents = uow.organisations.with_documents(str(organisation_id))
        return _profile(uow, _visible(actor, organisation), documents)


def update_organisation_profile(db, ports: Ports, actor: Actor, organisation_id,
                                payload) -> dict:
    domain.require_users_right(actor, str(organisation_id))
    update = parse(ProfileUpdate, payload)
    now = ports.clock()
    with db.unit_of_work() as uow:
        organisation = _visible_organisation(uow, actor, organisation_id, lock=True)
        changed = organisation.update_profile(update.model_dump(exclude_unset=True))
        if "legal_representative" in changed:
            _follow_readiness(uow, organisation, now)
        if changed:
            uow.audit.add(domain.audit(now, "profile_updated", actor=actor,
                                       target=organisation.id, changed=changed))
            uow.publish("organisation_updated", OrganisationUpdatedV1(
                organisation_id=organisation.id, funder_id=organisation.funder_id,
                changed=changed, updated_by=actor.user_id, updated_at=now),
                subject=organisation.id)
        return _profile(uow, organisation)


def set_certifier(db, ports: Ports, actor: Actor, organisation_id, payload) -> dict:
    domain.require_users_right(actor, str(organisation_id))
    choice = parse(CertifierChoice, payload)
    with db.unit_of_work() as uow:
        organisation = _visible_organisation(uow, actor, organisation_id, lock=True)
        if organisation.certifier_requested != choice.requested:
            organisation.certifier_requested, now = choice.requested, ports.clock()
            uow.audit.add(domain.audit(now, "certifier_changed", actor=actor,
                                       target=organisation.id, requested=choice.requested))
            _follow_readiness(uow, organisation, now, announce=True)
        return _profile(uow, organisation)


# --- documents of the profile, as the documents service reports them (in the event's uow) -----

def document_uploaded(uow, data) -> None:
    _follow_document(uow, data, lambda doc: doc.uploaded(data.document_id, data.uploaded_at),
                     "pending", data.uploaded_at)
    _audit_document(uow, data, "document_uploaded", data.uploaded_by, data.uploaded_at)


def document_checked(uow, data) -> None:
    _follow_document(uow, data, lambda doc: doc.reviewed(
        data.document_id, "checked", data.checked_at), "checked", data.checked_at)
    _audit_document(uow, data, "document_checked", data.checked_by, data.checked_at)


def document_rejected(uow, data) -> None:
    _follow_document(uow, data, lambda doc: doc.reviewed(
        data.document_id, "rejected", data.rejected_at, data.reason_text), "rejected",
        data.rejected_at, data.reason_text)
    _audit_document(uow, data, "document_rejected", data.rejected_by, data.rejected_at,
                    reason_code=data.reason_code, reason=data.reason_text)


def _follow_document(uow, data, apply, status: str, at: datetime,
                     reason: str | None = None) -> None:
    """Record an organisation's kbis, consent letter, logo or stamp news: each may change its
    readiness."""
    if data.category not in domain.PROFILE_CATEGORIES or not data.organisation_id:
        return
    organisation = uow.organisations.locked(data.organisation_id)
    if organisation is None or organisation.funder_id != data.funder_id:
        log.warning("document_of_unknown_organisation", document_id=data.document_id)
        return
    document = uow.documents.locked(organisation.id, data.category)
    if document is None:
        uow.documents.add(OrganisationDocument(
            organisation.id, data.category, data.document_id, status, at, reason,
            reviewed_at=None if status == "pending" else at))
    elif not apply(document):
        return  # the review of a document since replaced
    _follow_readiness(uow, organisation, at,
                      announce=data.category in ("kbis", "consent_letter"))


# --- beneficiary and employer accounts, created with their first dossier ----------------------

def open_party_accounts(db, ports: Ports, dossier, by: str, once: Callable) -> None:
    """Each party of the dossier without an account gets one. Only those cost a hash (tens of
    ms, before the transaction): an import of thousands of dossiers names the same parties
    again and again. The credentials email goes once the accounts are committed; `once(add)`
    runs `add(uow)` in the event's idempotent transaction (None when the event was seen
    before)."""
    parties = [party for party in (dossier.beneficiary, dossier.employer) if party]
    with db.reading() as reading:
        parties = [party for party in parties if reading.users.of_party(party.id) is None]
    if not parties:
        return
    passwords = {party.id: domain.provisional_password() for party in parties}
    hashes = {party_id: ports.passwords.hash(password) for party_id, password in passwords.items()}

    def add(uow) -> list[UserAccount]:
        opened, now = [], ports.clock()
        for party in parties:
            if uow.users.of_party(party.id) is None:
                user = _add_party_account(uow, now, party, dossier.funder_id, hashes[party.id])
                uow.audit.add(domain.audit(now, "party_account_created", user=user,
                                           target=user.id, dossier_id=dossier.dossier_id, by=by))
                _account_changed(uow, user, "credentials_sent", by, now)
                opened.append(user)
        log.info("party_accounts_opened", dossier_id=dossier.dossier_id, count=len(opened))
        return opened

    for user in once(add) or ():
        _send_credentials(ports, user, passwords[user.party_id],
                          dossier_number=dossier.dossier_number)


# --- sessions ---------------------------------------------------------------------------------

def _limits(settings: IdentitySettings) -> domain.LoginLimits:
    return domain.LoginLimits(settings.login_max_failures, settings.login_lock_minutes,
                              settings.ip_max_failures, settings.ip_window_minutes)


def login(db, ports: Ports, given: Credentials, ip: str | None = None) -> dict:
    limits, now = _limits(ports.settings), ports.clock()
    since = now - timedelta(minutes=limits.ip_window_minutes)
    with db.unit_of_work() as uow:
        if ip and uow.failures.count(ip, since) >= limits.ip_max_failures:
            log.warning("login_throttled", ip=ip)
            raise domain.too_many_attempts()
        user = uow.users.by_identifier(domain.normalise_identifier(given.identifier))
        matches = ports.passwords.verify(user.password_hash if user else None, given.password)
        refusal = domain.login_refusal(user, matches, now)
        if refusal:
            if refusal == "wrong_password":
                user.record_failure(now, limits)
            if ip:
                uow.failures.record(ip, now, since)
            uow.audit.add(domain.audit(now, "login_failed", user=user, ip=ip, reason=refusal))
        else:
            if ports.passwords.needs_rehash(user.password_hash):
                user.password_hash = ports.passwords.hash(given.password)
            user.record_success()
            token, opened = domain.open_session(user, now, ports.session_ttl_minutes)
            uow.sessions.add(opened)
            uow.audit.add(domain.audit(now, "login_succeeded", user=user, ip=ip))
    if refusal:  # raised after the commit: the failure is counted and audited
        log.info("login_refused", ip=ip)
        raise domain.invalid_credentials()
    log.info("login_succeeded", user_id=user.id, ip=ip)
    return SessionShape(access_token=token, expires_at=opened.expires_at,
                        must_personalise=user.must_personalise,
                        privacy_policy_pending=user.privacy_policy_pending
                        ).model_dump(mode="json")


def authenticate(db, ports: Ports, token) -> dict:
    token, now = str(token), ports.clock()
    if token.startswith(domain.API_TOKEN_PREFIX):
        with db.reading() as uow:
            api_token = uow.api_tokens.by_hash(domain.hash_token(token))
        if api_token is None or not api_token.is_active(now):
            raise domain.invalid_token()
        return api_token.as_actor().model_dump(mode="json")
    with db.reading() as uow:
        found = uow.sessions.with_user(domain.hash_token(token))
    if found is None:
        raise domain.invalid_token()
    user_session, user = found
    user_session.check_usable(now, ports.settings.session_idle_minutes)
    if not user.active:
        raise domain.invalid_token()
    if user_session.needs_touch(now):
        with db.unit_of_work() as uow:
            uow.sessions.touch(user_session.token_hash, now)
    return user.as_actor(user_session.id).model_dump(mode="json")


def logout(db, ports: Ports, token) -> None:
    """Revoke the session; an unknown or already revoked token is not an error."""
    now = ports.clock()
    with db.unit_of_work() as uow:
        user_session = uow.sessions.get(domain.hash_token(str(token)))
        if user_session is not None and user_session.revoked_at is None:
            user_session.revoke(now)
            uow.audit.add(domain.audit(now, "logout", user=uow.users.get(user_session.user_id)))


# --- first login and "mon compte" -------------------------------------------------------------

def me(db, actor: Actor) -> dict:
    with db.reading() as uow:
        return _me(uow, _own_account(uow, actor))


def personalise(db, ports: Ports, actor: Actor, wanted: Personalise) -> dict:
    """The provisional password is asked again: a stolen session of an account on its
    first login must not choose the account's password."""
    rules = _password_rules(db, actor.funder_id)
    password_hash, now = _new_password_hash(ports, wanted, rules), ports.clock()
    with db.unit_of_work() as uow:
        user = _own_account(uow, actor)
        if not user.must_personalise:
            raise Conflict("already_personalised", "Votre compte est déjà personnalisé.")
        _check_current_password(ports, user, wanted.current_password)
        if wanted.new_password == wanted.current_password:
            raise InvalidInput("same_password",
                               "Choisissez un mot de passe différent du mot de passe "
                               "provisoire.")
        user.set_password(password_hash, now)
        uow.sessions.revoke_all(user.id, now, keep_session_id=actor.session_id)
        link = _start_identifier_change(uow, ports, user, actor, wanted.new_identifier, now)
        uow.audit.add(domain.audit(now, "account_personalised", user=user, ip=actor.ip))
        # The new identifier, if any, takes effect at its confirmation (confirm_identifier).
        _account_changed(uow, user, "personalised", actor.user_id, now)
        reply = _me(uow, user)
    if link:
        _send_identifier_change(ports, user, *link)
    return reply


def confirm_identifier(db, ports: Ports, token) -> dict:
    now = ports.clock()
    with duplicate_is_conflict(*IDENTIFIER_TAKEN), db.unit_of_work() as uow:
        link = _use_link(uow, token, domain.IDENTIFIER_CHANGE, now)
        user = uow.users.get(link.user_id)
        if not user.active or user.pending_identifier != link.new_identifier:
            raise domain.invalid_link()  # superseded by a later request
        old, user.identifier, user.pending_identifier = user.identifier, \
            link.new_identifier, None
        uow.sessions.revoke_all(user.id, now, keep_session_id=link.session_id)
        uow.audit.add(domain.audit(now, "identifier_changed", user=user,
                                   old_identifier=old, new_identifier=user.identifier))
        _account_changed(uow, user, "identifier_changed", None, now)
    return {"identifier": user.identifier}


def accept_privacy_policy(db, ports: Ports, actor: Actor, accepted: AcceptPrivacyPolicy) -> dict:
    current = ports.settings.privacy_policy_version
    if accepted.version != current:
        raise InvalidInput("unknown_policy_version",
                           "Cette version de la politique de confidentialité n'est pas "
                           "celle en vigueur.", {"current": current})
    with db.unit_of_work() as uow:
        user = _own_account(uow, actor)
        user.accept_privacy_policy(current)
        uow.audit.add(domain.audit(ports.clock(), "privacy_policy_accepted", user=user,
                                   ip=actor.ip, version=current))
        return _me(uow, user)


def update_me(db, ports: Ports, actor: Actor, wanted: UpdateMe) -> dict:
    """The name changes at once; the email is a credential (password resets go to it): it
    waits, after a re-authentication, for the link sent to the new address."""
    changes = wanted.model_dump(exclude_none=True, exclude={"email", "current_password"},
                                mode="json")
    now, change = ports.clock(), None
    with db.unit_of_work() as uow:
        user = _own_account(uow, actor)
        for field, value in changes.items():
            setattr(user, field, value)
        if changes:
            uow.audit.add(domain.audit(now, "account_updated", user=user, ip=actor.ip,
                                       changed=sorted(changes)))
        if wanted.email is not None:
            if wanted.current_password is None:
                raise domain.current_password_required()
            _check_current_password(ports, user, wanted.current_password)
            change = _hold_email(uow, ports, user, str(wanted.email), now, actor.session_id,
                                 ip=actor.ip)
        reply = _me(uow, user)
    if change:
        _send_email_change(ports, user, change)
    return reply


def confirm_email_change(db, ports: Ports, token) -> None:
    """The link sent to the new address: the email changes, the account's other
    sessions end (the one that asked goes on)."""
    now = ports.clock()
    with db.unit_of_work() as uow:
        link = _use_link(uow, token, domain.EMAIL_CHANGE, now)
        user = uow.users.get(link.user_id)
        if not user.active or user.pending_email != link.new_email:
            raise domain.invalid_link()  # cancelled or superseded
        # Two confirmations of one address (two accounts) check and change one after the
        # other. No unique index: accounts made before issue 11 (and parties' accounts) may
        # share an address.
        uow.funders.lock(user.funder_id)
        if uow.users.email_holder(user.funder_id, link.new_email, user.id):
            raise domain.email_taken()  # taken since the request
        user.email, user.pending_email = link.new_email, None
        uow.links.void(user.id, (domain.EMAIL_CHANGE_CANCEL,), now)
        uow.sessions.revoke_all(user.id, now, keep_session_id=link.session_id)
        uow.audit.add(domain.audit(now, "email_changed", user=user))
        _account_changed(uow, user, "email_changed", None, now)
    log.info("email_changed", user_id=user.id)


def cancel_email_change(db, ports: Ports, token) -> None:
    """The link sent to the old address: the change is void, and since whoever asked
    held a session and the password, every session ends (the email says to change the
    password)."""
    now = ports.clock()
    with db.unit_of_work() as uow:
        link = _use_link(uow, token, domain.EMAIL_CHANGE_CANCEL, now)
        user = uow.users.get(link.user_id)
        if user.pending_email != link.new_email:
            raise domain.invalid_link()  # confirmed, or superseded by a later request
        user.pending_email = None
        uow.links.void(user.id, (domain.EMAIL_CHANGE,), now)
        uow.sessions.revoke_all(user.id, now)
        uow.audit.add(domain.audit(now, "email_change_cancelled", user=user))
    log.info("email_change_cancelled", user_id=user.id)


def change_identifier(db, ports: Ports, actor: Actor, wanted: ChangeIdentifier) -> dict:
    now = ports.clock()
    with db.unit_of_work() as uow:
        user = _own_account(uow, actor)
        _check_current_password(ports, user, wanted.current_password)
        if uow.signups.of_user(user.id) is not None:  # seed 003: the email, for good
            raise Conflict("identifier_fixed",
                           "L'identifiant d'un compte créé par inscription en ligne est son "
                           "adresse e-mail : il n'est pas modifiable.")
        link = _start_identifier_change(uow, ports, user, actor, wanted.new_identifier, now)
        reply = _me(uow, user)
    if link:
        _send_identifier_change(ports, user, *link)
    return reply


def change_password(db, ports: Ports, actor: Actor, wanted: ChangePassword) -> None:
    rules = _password_rules(db, actor.funder_id)
    password_hash, now = _new_password_hash(ports, wanted, rules), ports.clock()
    with db.unit_of_work() as uow:
        user = _own_account(uow, actor)
        _check_current_password(ports, user, wanted.current_password)
        user.set_password(password_hash, now, provisional=False)
        uow.sessions.revoke_all(user.id, now, keep_session_id=actor.session_id)
        uow.audit.add(domain.audit(now, "password_changed", user=user, ip=actor.ip))
        _account_changed(uow, user, "password_changed", actor.user_id, now)


# --- password reset ---------------------------------------------------------------------------

def request_password_reset(db, ports: Ports, request: PasswordResetRequest,
                           ip: str | None = None) -> dict:
    """The same answer, and the same work before it, whether the identifier exists or
    not (one lookup, one audit row): the link and its email are made after the reply, or
    a known identifier would answer later than an unknown one."""
    _count_reset_request(db, ports, ip)
    ports.check_captcha(request.captcha_token, ip)
    now = ports.clock()
    with db.unit_of_work() as uow:
        user = uow.users.by_identifier(domain.normalise_identifier(request.identifier))
        known = user is not None and user.active
        uow.audit.add(domain.audit(now, "password_reset_requested",
                                   user=user if known else None, ip=ip, known=known))
    if known:
        ports.after_reply(send_reset_link, db, ports, user.id)
    return {"status": "accepted",
            "message": "Si un compte correspond à cet identifiant, un e-mail vient de lui "
                       "être envoyé."}


def _count_reset_request(db, ports: Ports, ip: str | None) -> None:
    """Per address, every request counts (known identifier or not), in its own
    transaction: a refused CAPTCHA is counted too."""
    if not ip:
        return
    rules, now = ports.settings, ports.clock()
    since = now - timedelta(minutes=rules.ip_window_minutes)
    with db.unit_of_work() as uow:
        if uow.failures.count(ip, since, RESET) >= rules.reset_max_per_address:
            log.warning("password_reset_throttled", ip=ip)
            raise domain.too_many_reset_requests()
        uow.failures.record(ip, now, since, RESET)


def send_reset_link(db, ports: Ports, user_id: str) -> None:
    """After the reply to request_password_reset: the link, and the email that carries it."""
    ttl_minutes, now = ports.settings.reset_ttl_minutes, ports.clock()
    with db.unit_of_work() as uow:
        user = uow.users.get(user_id)
        token, link = domain.new_link(user, domain.PASSWORD_RESET, now,
                                      timedelta(minutes=ttl_minutes))
        uow.links.add(link)
    ports.emails.send(user.email, "password_reset", name=user.name,
                      link=ports.link("/auth/password-reset/confirm", token),
                      valid_minutes=ttl_minutes)


def reset_password(db, ports: Ports, wanted: PasswordReset) -> None:
    with db.reading() as uow:  # the rules of the link's account (a dead link: refused below)
        link = uow.links.by_hash(domain.hash_token(str(wanted.token)))
        user = uow.users.get(link.user_id) if link else None
    rules = _password_rules(db, user.funder_id if user else None)
    password_hash, now = _new_password_hash(ports, wanted, rules), ports.clock()
    with db.unit_of_work() as uow:
        link = _use_link(uow, wanted.token, domain.PASSWORD_RESET, now)
        user = uow.users.get(link.user_id)
        if not user.active:
            raise domain.invalid_link()
        user.set_password(password_hash, now, provisional=False)
        uow.sessions.revoke_all(user.id, now)
        uow.audit.add(domain.audit(now, "password_reset", user=user))
        _account_changed(uow, user, "password_changed", None, now)


# --- users and rights -------------------------------------------------------------------------

def list_users(db, actor: Actor, organisation_id, query=None) -> list[dict]:
    """All the organisation's users, or with `query` (UserQuery) a page of those matching
    its filters (seed 004's « Gérer mes utilisateurs »)."""
    with db.reading() as uow:
        organisation = _visible_organisation(uow, actor, organisation_id)
        if not domain.can_list_users(actor, organisation):
            domain.require_users_right(actor, organisation.id)  # raises the right error
        if query is None:
            found = uow.users.of_organisation(organisation.id)
        else:
            wanted = parse(UserQuery, query)
            found = uow.users.search(organisation.id,
                                     user_rules.UserFilter.of(wanted.model_dump()),
                                     wanted.limit, (wanted.page - 1) * wanted.limit)
        return [_user_details(user) for user in found]


def create_user(db, ports: Ports, actor: Actor, organisation_id, payload) -> dict:
    domain.require_users_right(actor, str(organisation_id))
    new = parse(NewOrganisationUser, payload)
    password = domain.provisional_password()
    password_hash, now = ports.passwords.hash(password), ports.clock()
    with duplicate_is_conflict(*IDENTIFIER_TAKEN), db.unit_of_work() as uow:
        organisation = _visible_organisation(uow, actor, organisation_id)
        named = {"name": new.name, **user_rules.name_fields(new.model_dump())}
        user = _add_account(uow, now, identifier=new.identifier, email=str(new.email),
                            password_hash=password_hash,
                            role=Role.organisation_user, funder_id=actor.funder_id,
                            provisional=True, organisation_id=organisation.id,
                            rights=[right.value for right in new.rights], active=new.active,
                            **named)
        uow.audit.add(domain.audit(now, "user_created", user=user, actor=actor, target=user.id,
                                   rights=user.rights))
        if user.active:  # an inactive account gets its credentials when resent
            _account_changed(uow, user, "credentials_sent", actor.user_id, now)
    sent = _send_credentials(ports, user, password, organisation.name) if user.active else False
    return _user_details(user, credentials_sent=sent)


def update_user(db, ports: Ports, actor: Actor, user_id, update: UserUpdate) -> dict:
    changes = update.model_dump(exclude_none=True, mode="json")
    now, change = ports.clock(), None
    with db.unit_of_work() as uow:
        user = _managed_user(uow, actor, user_id)
        if "email" in changes and not user.never_used:
            # Resets go to the email: a stolen administrator's session must not redirect
            # them. No session asked, so every session ends at the confirmation.
            change = _hold_email(uow, ports, user, changes.pop("email"), now, None,
                                 actor=actor, target=user.id)
        before = {"rights": list(user.rights), "active": user.active, "email": user.email}
        changes.update(user_rules.name_fields(changes, user.last_name, user.first_name))
        for field, value in changes.items():
            setattr(user, field, value)
        if before["active"] and not user.active:
            user_rules.check_may_deactivate(actor, user)
        domain.check_administrators_remain(uow.users.of_organisation(user.organisation_id))
        for action, details in domain.user_changes(before, user, changes):
            uow.audit.add(domain.audit(now, action, user=user, actor=actor, target=user.id,
                                       **details))
        if before["active"] and not user.active:
            # Nothing of theirs works on: sessions, emailed links, API tokens they issued.
            uow.sessions.revoke_all(user.id, now)
            uow.links.void(user.id, (domain.PASSWORD_RESET, domain.IDENTIFIER_CHANGE,
                                     domain.EMAIL_CHANGE), now)
            uow.api_tokens.revoke_issued_by(user.id, now)
        for account_change in domain.account_changes(before, user):
            _account_changed(uow, user, account_change, actor.user_id, now)
    if change:
        _send_email_change(ports, user, change, by_administrator=True)
    return _user_details(user)


def resend_credentials(db, ports: Ports, actor: Actor, user_id) -> dict:
    """A new provisional password, emailed (the first email failed or was lost); the
    account must personalise again and its sessions end."""
    return _resend(db, ports, actor, lambda uow: uow.users.get(str(user_id)),
                   domain.require_may_resend)


def resend_party_credentials(db, ports: Ports, actor: Actor, party_id) -> dict:
    """The same for a beneficiary's or employer's account, which funder staff know by the
    party of their dossiers."""
    require_funder_staff(actor)
    domain.require_unrestricted(actor)
    return _resend(db, ports, actor, lambda uow: uow.users.of_party(str(party_id)),
                   domain.require_of_funder)


def _resend(db, ports: Ports, actor: Actor, find, check) -> dict:
    password = domain.provisional_password()
    password_hash, now = ports.passwords.hash(password), ports.clock()
    with db.unit_of_work() as uow:
        user = find(uow)
        check(actor, user)
        user.set_password(password_hash, now, provisional=True)
        uow.sessions.revoke_all(user.id, now)
        organisation = (uow.organisations.get(user.organisation_id)
                        if user.organisation_id else None)
        uow.audit.add(domain.audit(now, "credentials_resent", user=user, actor=actor,
                                   target=user.id))
        _account_changed(uow, user, "credentials_sent", actor.user_id, now)
    sent = _send_credentials(ports, user, password, organisation.name if organisation else None)
    return _user_details(user, credentials_sent=sent)


def create_funder_user(db, ports: Ports, actor: Actor, payload) -> dict:
    domain.require_funder_admin(actor)
    new = parse(NewFunderUser, payload)
    password = domain.provisional_password()
    password_hash, now = ports.passwords.hash(password), ports.clock()
    with duplicate_is_conflict(*IDENTIFIER_TAKEN), db.unit_of_work() as uow:
        user = _add_account(uow, now, identifier=new.identifier, name=new.name,
                            email=str(new.email), password_hash=password_hash,
                            role=Role(new.role), funder_id=actor.funder_id, provisional=True)
        uow.audit.add(domain.audit(now, "funder_user_created", user=user, actor=actor,
                                   target=user.id, role=new.role))
        _account_changed(uow, user, "credentials_sent", actor.user_id, now)
    return _user_details(user, credentials_sent=_send_credentials(ports, user, password))


# --- API tokens -------------------------------------------------------------------------------

def issue_api_token(db, ports: Ports, actor: Actor, payload) -> dict:
    domain.require_person(actor)
    domain.require_users_right(actor, str(actor.organisation_id))
    new = parse(NewApiToken, payload)
    now = ports.clock()
    token, api_token = domain.issue_api_token(
        actor, new.name, new.expires_on,
        [right.value for right in new.rights] if new.rights else None, now)
    with db.unit_of_work() as uow:
        uow.api_tokens.add(api_token)
        uow.sessions.revoke_all(actor.user_id, now, keep_session_id=actor.session_id)
        uow.audit.add(domain.audit(now, "api_token_issued", actor=actor, target=api_token.id,
                                   name=api_token.name, rights=api_token.rights,
                                   expires_at=api_token.expires_at.isoformat()))
    return IssuedApiToken(id=api_token.id, name=api_token.name, token=token,
                          expires_at=api_token.expires_at, rights=api_token.rights
                          ).model_dump(mode="json")


def list_api_tokens(db, ports: Ports, actor: Actor) -> list[dict]:
    domain.require_users_right(actor, str(actor.organisation_id))
    now = ports.clock()
    with db.reading() as uow:
        return [_api_token_shape(token, now)
                for token in uow.api_tokens.of_organisation(actor.organisation_id)]


def revoke_api_token(db, ports: Ports, actor: Actor, token_id) -> dict:
    domain.require_person(actor)
    domain.require_users_right(actor, str(actor.organisation_id))
    now = ports.clock()
    with db.unit_of_work() as uow:
        token = uow.api_tokens.get(str(token_id))
        if token is None or token.organisation_id != actor.organisation_id:
            raise NotFound("api_token_not_found", "Jeton d'API introuvable.")
        if token.revoked_at is None:
            token.revoked_at = now
            uow.sessions.revoke_all(actor.user_id, now, keep_session_id=actor.session_id)
            uow.audit.add(domain.audit(now, "api_token_revoked", actor=actor, target=token.id,
                                       name=token.name))
        return _api_token_shape(token, now)


# --- audit ------------------------------------------------------------------------------------

# Issue 15: one trail, named, filtered, paged, chained by hash per funder
# (domain/audit_trail.py); the other services' acts arrive as their events.

def audit_trail(db, actor: Actor, organisation_id=None, query=None) -> list[dict]:
    """An organisation's trail (its administrator, or its funder's staff), or all of the
    funder's (funder staff, `organisation_id` None), newest first."""
    domain.require_unrestricted(actor)
    query = parse(FunderAuditQuery, query or {})
    organisation_id = trail.scope(actor, organisation_id or query.organisation_id)
    wanted = trail.TrailFilter(organisation_id, query.dossier, query.person, query.kind,
                               query.since, query.until)
    with db.reading() as uow:
        if organisation_id is not None:
            _visible_organisation(uow, actor, organisation_id)
        rows = uow.audit.trail(actor.funder_id, wanted, query.limit,
                               (query.page - 1) * query.limit)
        return [_audit_entry(row) for row in rows]


def _audit_entry(row) -> dict:
    return AuditEntry(
        id=row.id, at=row.at, user_id=row.user_id, person_name=row.person_name,
        person_role=row.person_role, person_role_label=trail.role_label(row.person_role),
        organisation_id=row.organisation_id, organisation_name=row.organisation_name,
        action=row.action, action_label=trail.kind_label(row.action), object=row.object,
        dossier_id=row.dossier_id, target=row.target, ip=row.ip, details=row.details,
        changes=row.changes or [], position=row.position, hash=row.hash,
    ).model_dump(mode="json")


def verify_audit_chain(db, actor: Actor) -> dict:
    """The funder's administrator checks its chain: intact, or where it breaks."""
    domain.require_funder_admin(actor)
    with db.reading() as uow:
        entries, head = uow.audit.chain(actor.funder_id), uow.audit.head(actor.funder_id)
    broken = trail.verify(entries, head)
    if broken is None:
        message = f"La chaîne du journal est intacte : {len(entries)} entrées vérifiées."
        log.info("audit_chain_verified", funder_id=actor.funder_id, entries=len(entries))
    else:
        message = (f"La chaîne du journal est rompue à la position {broken.position} "
                   f"(entrée {broken.entry_id or '—'}) : {broken.reason}.")
        log.warning("audit_chain_broken", funder_id=actor.funder_id,
                    entry_id=broken.entry_id, position=broken.position)
    return AuditVerification(
        intact=broken is None, entries=len(entries), head_position=head.position,
        message=message, broken_at=AuditChainBreak(entry_id=broken.entry_id,
                                                   position=broken.position,
                                                   reason=broken.reason) if broken else None,
    ).model_dump(mode="json")


def _record_act(uow, action: str, at: datetime, funder_id: str | None,
                organisation_id: str | None, by: str | None, *, object: str | None,
                dossier_id: str | None = None, ip: str | None = None, target: str | None = None,
                changes: list | None = None, person: tuple = (None, None),
                organisation_name: str | None = None, **details) -> None:
    """An act another service reported, as a trail entry (names resolved by the repository)."""
    uow.audit.add(domain.AuditEvent(
        domain.new_id(), at, funder_id, organisation_id, by, action, target, ip, details,
        object=object, dossier_id=dossier_id, changes=changes, person_name=person[0],
        person_role=person[1], organisation_name=organisation_name))


def audit_hours_entered(uow, data) -> None:
    """certification.hours_entered: the month's totals, what each was and became."""
    before = data.before.model_dump() if data.before else {}
    changes = [{"field": name, "before": str(before[name]) if before else None,
                "after": str(value)}
               for name, value in data.after.model_dump().items()
               if not before or before[name] != value]
    _record_act(uow, "hours_changed" if data.before else "hours_entered", data.entered_at,
                data.funder_id, data.organisation_id, data.entered_by,
                object=trail.dossier_object(data.dossier_number, data.month),
                dossier_id=data.dossier_id, target=data.certificate_id, changes=changes)


def audit_certified(uow, data) -> None:
    """certification.certified: the month, the hours, the method, the signer and (method 2)
    the IP address it was signed from."""
    _record_act(uow, "certified", data.certified_at, data.funder_id, data.organisation_id,
                data.certified_by, object=trail.dossier_object(data.dossier_number, data.month),
                dossier_id=data.dossier_id, target=data.certificate_id,
                ip=data.certified_from_ip if data.method == 2 else None,
                person=(data.certified_by_name, None),
                organisation_name=data.organisation_name, method=data.method,
                hours={name: str(value) for name, value in data.hours.model_dump().items()})


def audit_certificate_reopened(uow, data) -> None:
    _record_act(uow, "certificate_reopened", data.reopened_at, data.funder_id,
                data.organisation_id, data.reopened_by,
                object=trail.dossier_object(data.dossier_number, data.month)
                or f"Mois {data.month}", dossier_id=data.dossier_id,
                target=data.certificate_id, reason=data.reason,
                changes=[{"field": "status", "before": "certified", "after": "reopened"}])


def audit_month_unlocked(uow, data) -> None:
    """payments.month_unlocked: older events name no funder; the unlocker's account does."""
    funder_id = data.funder_id or getattr(uow.users.get(data.unlocked_by), "funder_id", None)
    _record_act(uow, "month_unlocked", data.unlocked_at, funder_id, data.organisation_id,
                data.unlocked_by, object=f"Mois {data.month}", dossier_id=data.dossier_id,
                reason=data.reason,
                changes=[{"field": "lock", "before": "locked", "after": "unlocked"}])


def audit_payment_issued(uow, data) -> None:
    _record_act(uow, "payment_issued", data.issued_at, data.funder_id, data.organisation_id,
                data.recorded_by, object=f"Règlement {data.payment_number}",
                target=data.payment_id, advance=data.advance,
                months={d.dossier_id: d.months for d in data.dossiers})


def audit_payment_reconciled(uow, data) -> None:
    _record_act(uow, "payment_reconciled" if data.reconciled else "payment_unreconciled",
                data.reconciled_at, data.funder_id, data.organisation_id, data.reconciled_by,
                object=f"Règlement {data.payment_number}", target=data.payment_id,
                changes=[{"field": "reconciled", "before": not data.reconciled,
                          "after": data.reconciled}])


def audit_bank_details_changed(uow, data) -> None:
    """Submitted (pending), validated or rejected: the version and its status, never the IBAN."""
    action = {"pending": "bank_details_submitted", "validated": "bank_details_validated",
              "rejected": "bank_details_rejected"}.get(data.status, "bank_details_changed")
    _record_act(uow, action, data.changed_at, data.funder_id, data.organisation_id,
                data.changed_by, object=f"Coordonnées bancaires, version {data.version}",
                **({"reason": data.reason} if data.reason else {}))


def _audit_document(uow, data, action: str, by: str, at: datetime, **details) -> None:
    """documents.document_uploaded, _checked or _rejected: every document, not only the
    profile's."""
    label = getattr(data, "label", None) or getattr(data, "category_label", None) \
        or data.category
    number = getattr(data, "dossier_number", None)
    _record_act(uow, action, at, data.funder_id, data.organisation_id, by,
                object=trail.document_object(label, number),
                dossier_id=data.dossier_id, target=data.document_id, category=data.category,
                **details)


# --- a funder's account settings and self-service sign-up (issue 15) --------------------------

SIGNUP = "signup"  # the per-address counter of sign-ups
SIGNUP_ACCEPTED = ("Votre demande est enregistrée. Si elle peut aboutir, un e-mail vient d'être "
                   "envoyé à l'adresse indiquée avec un lien et un code d'activation, valables "
                   "{minutes} minutes.")


def _account_settings_shape(settings: domain.AccountSettings) -> dict:
    return FunderAccountSettings(
        funder_id=settings.funder_id, account_creation=settings.account_creation,
        password_rules=settings.password_rules,
        require_known_siret=settings.require_known_siret,
        password_rules_text=settings.rules.text, updated_at=settings.updated_at
    ).model_dump(mode="json")


def _signup_shape(signup: domain.Signup) -> dict:
    return SignupSummary(
        id=signup.id, siret=signup.siret, organisation_name=signup.organisation_name,
        holder_name=signup.holder_name, email=signup.email, phone=signup.phone,
        status=signup.status, status_label=domain.SIGNUP_STATUS_LABELS[signup.status],
        created_at=signup.created_at, activated_at=signup.activated_at,
        suspended_at=signup.suspended_at, organisation_id=signup.organisation_id
    ).model_dump(mode="json")


def get_account_settings(db, actor: Actor) -> dict:
    require_funder_staff(actor)
    domain.require_unrestricted(actor)
    with db.reading() as uow:
        return _account_settings_shape(_account_settings(uow, actor.funder_id))


def update_account_settings(db, ports: Ports, actor: Actor, payload) -> dict:
    """A new password rule set applies at each account's next password change: the
    passwords chosen before keep working."""
    domain.require_funder_admin(actor)
    change = parse(AccountSettingsChange, payload)
    now = ports.clock()
    with db.unit_of_work() as uow:
        settings = uow.account_settings.of_funder(actor.funder_id)
        if settings is None:
            settings = domain.AccountSettings(actor.funder_id)
            uow.account_settings.add(settings)
        changed = settings.change(change.model_dump(exclude_none=True), now, actor.user_id)
        if changed:
            uow.audit.add(domain.audit(now, "account_settings_changed", actor=actor,
                                       **{name: getattr(settings, name) for name in changed}))
        reply = _account_settings_shape(settings)
    log.info("account_settings_changed", funder_id=actor.funder_id, changed=changed)
    return reply


def get_password_rules(db, funder_code) -> dict:
    """Public: the rules shown where a password is chosen (first login, reset, change,
    activation of a sign-up)."""
    with db.reading() as uow:
        funder = uow.funders.by_code(str(funder_code))
        if funder is None:
            raise NotFound("funder_not_found", "Financeur introuvable.")
        settings = _account_settings(uow, funder.id)
    rules = settings.rules
    return PasswordRulesText(funder_code=funder.code, password_rules=rules.name,
                             text=rules.text, min_length=rules.min_length,
                             max_length=rules.max_length).model_dump(mode="json")


def get_link_password_rules(db, token) -> dict:
    """The rules of the account an emailed reset link is for, shown on the link's page; a
    dead link gets the default set (its POST is refused anyway)."""
    with db.reading() as uow:
        link = uow.links.by_hash(domain.hash_token(str(token)))
        user = uow.users.get(link.user_id) if link else None
    rules = _password_rules(db, user.funder_id if user else None)
    return {"password_rules": rules.name, "text": rules.text}


def _check_signup_form(new: NewSignup) -> str:
    """The form's own checks, before anything is looked up: the SIRET, normalised."""
    if not new.certified:
        raise InvalidInput("statement_required",
                           "Veuillez certifier que le titulaire du compte est autorisé à "
                           "effectuer les opérations sélectionnées.")
    if not new.terms_accepted:
        raise InvalidInput("terms_required",
                           "Veuillez accepter les conditions d'utilisation des Services en "
                           "Ligne.")
    if str(new.holder.email).strip().lower() != str(new.holder.email_confirmation).strip().lower():
        raise InvalidInput("email_mismatch",
                           "La confirmation ne correspond pas à l'adresse e-mail.")
    return domain.normalise_siret(new.siret)


def sign_up(db, ports: Ports, payload, ip: str | None = None) -> dict:
    """Seed 003's sign-up. The same reply whatever happens past the checks of the form: a
    SIRET registered already (its administrators are told) or an address holding an
    account (its holder is told) show nothing to an outsider; the emails leave after the
    reply, as a password reset's."""
    new = parse(NewSignup, payload)
    siret = _check_signup_form(new)
    with db.reading() as uow:
        funder = uow.funders.by_code(new.funder_code)
        settings = _account_settings(uow, funder.id) if funder else None
    if settings is None or not settings.self_service:
        raise domain.signup_closed()
    _count_signup(db, ports, ip)
    ports.check_captcha(new.captcha_token, ip)
    if settings.require_known_siret and not ports.siret_directory(funder.code, siret):
        raise domain.unknown_siret()
    email, now = str(new.holder.email).strip().lower(), ports.clock()
    ttl = ports.settings.signup_code_ttl_minutes
    with db.unit_of_work() as uow:
        registered = uow.organisations.by_siret(funder.id, {siret})
        holder = uow.users.holding_identifier(email)
        if registered:
            notice = ("signup_siret_taken", registered[0].id)
            uow.audit.add(_signup_audit(now, "signup_siret_taken", funder.id, ip,
                                        registered[0].id, organisation_id=registered[0].id))
        elif holder is not None:
            notice = ("signup_email_taken", holder.id)
            uow.audit.add(domain.audit(now, "signup_email_taken", user=holder, ip=ip))
        else:
            code, signup = domain.new_signup(domain.new_id(), funder.id, siret,
                                             new.organisation_name,
                                             new.holder.model_dump(mode="json"), now,
                                             timedelta(minutes=ttl), ip)
            uow.signups.add(signup)
            notice = ("signup_activation", signup.id)
            uow.audit.add(_signup_audit(now, "signup_requested", funder.id, ip, signup.id,
                                        siret=siret))
    if notice[0] == "signup_activation":
        ports.after_reply(_send_activation, ports, signup, code, funder)
    else:
        ports.after_reply(_send_signup_notice, db, ports, notice[0], notice[1], siret)
    log.info("signup_received", funder_id=funder.id, outcome=notice[0])
    return {"status": "accepted", "message": SIGNUP_ACCEPTED.format(minutes=ttl)}


def _count_signup(db, ports: Ports, ip: str | None) -> None:
    """Each sign-up sends an email: per address, at most JALON_SIGNUP_MAX_PER_ADDRESS within
    the window, whatever their outcome (a refused CAPTCHA counts too)."""
    if not ip:
        return
    now = ports.clock()
    since = now - timedelta(minutes=ports.settings.ip_window_minutes)
    with db.unit_of_work() as uow:
        if uow.failures.count(ip, since, SIGNUP) >= ports.settings.signup_max_per_address:
            log.warning("signup_throttled", ip=ip)
            raise TooManyRequests("too_many_signups",
                                  "Trop de demandes d'inscription depuis cette adresse. "
                                  "Veuillez réessayer plus tard.")
        uow.failures.record(ip, now, since, SIGNUP)


def _signup_audit(now: datetime, action: str, funder_id: str, ip: str | None, target: str,
                  organisation_id: str | None = None, **details) -> domain.AuditEvent:
    """An audit row of a sign-up, made by nobody known yet: the funder's (and the
    organisation's, when the SIRET is registered) all the same."""
    row = domain.audit(now, action, target=target, ip=ip, **details)
    row.funder_id, row.organisation_id = funder_id, organisation_id
    return row


def _send_activation(ports: Ports, signup: domain.Signup, code: str, funder: Funder) -> None:
    query = urlencode({"funder": funder.code, "email": signup.email, "code": code})
    ports.emails.send(signup.email, "signup_activation", name=signup.holder_name,
                      funder_name=funder.name, code=code,
                      link=f"{ports.public_url}/signup/activate?{query}",
                      valid_minutes=ports.settings.signup_code_ttl_minutes)


def _send_signup_notice(db, ports: Ports, template: str, about: str, siret: str) -> None:
    """After the reply to a sign-up that makes no account: the organisation's administrators
    (users right) hear that someone asked for an account with their SIRET, or the holder of
    the address that it was used."""
    with db.reading() as uow:
        if template == "signup_email_taken":
            recipients = [uow.users.get(about)]
        else:
            members = [user for user in uow.users.of_organisation(about) if user.active]
            recipients = [user for user in members if "users" in user.rights] or members
    for user in recipients:
        ports.emails.send(user.email, template, name=user.name, siret=siret,
                          link=f"{ports.public_url}/")


def activate_signup(db, ports: Ports, payload) -> dict:
    """The activation code and the password (the funder's rules): the organisation and its
    administrator's account exist from now on, the email as identifier for good. A wrong
    code counts against the sign-up (domain.Signup.check_code)."""
    wanted = parse(SignupActivation, payload)
    email = str(wanted.email).strip().lower()
    with db.reading() as uow:
        waiting = uow.signups.pending_of(email)
    if not waiting:
        raise domain.invalid_activation()
    rules = _password_rules(db, waiting[0].funder_id)
    password_hash, now = _new_password_hash(ports, wanted, rules), ports.clock()
    with duplicate_is_conflict("organisation_conflict",
                               "Cet organisme ou cet identifiant existe déjà."), \
            db.unit_of_work() as uow:
        signup = next((one for one in uow.signups.pending_of(email)
                       if one.check_code(wanted.code, now)), None)
        if signup is not None:
            if uow.organisations.siret_taken(signup.funder_id, signup.siret):
                raise Conflict("siret_taken",
                               "Un organisme de formation avec ce SIRET existe déjà.")
            organisation = Organisation(
                id=domain.new_id(), funder_id=signup.funder_id, name=signup.organisation_name,
                siret=signup.siret, email=signup.email, legal_representative=None,
                address=None, created_at=now, phone=signup.phone)
            uow.organisations.add(organisation)
            user = _add_account(uow, now, identifier=email,
                                name=user_rules.display_name(signup.last_name, signup.first_name),
                                email=email, password_hash=password_hash,
                                role=Role.organisation_user, funder_id=signup.funder_id,
                                provisional=False, organisation_id=organisation.id,
                                rights=list(domain.ORGANISATION_ADMIN_RIGHTS),
                                civility=signup.civility, first_name=signup.first_name,
                                last_name=signup.last_name, phone=signup.phone)
            user.privacy_policy_version = None  # accepted at the first login, as everyone's
            signup.activate(organisation.id, user.id, now)
            uow.audit.add(domain.audit(now, "signup_activated", user=user,
                                       target=organisation.id))
            _account_changed(uow, user, "credentials_sent", None, now)
    if signup is None:  # raised after the commit: the wrong try is counted
        log.info("signup_activation_refused")
        raise domain.invalid_activation()
    log.info("signup_activated", organisation_id=organisation.id, user_id=user.id)
    return {"identifier": user.identifier, "organisation_id": organisation.id}


def list_signups(db, actor: Actor, status: str | None = None) -> list[dict]:
    require_funder_staff(actor)
    domain.require_unrestricted(actor)
    query = parse(SignupQuery, {"status": status})
    with db.reading() as uow:
        return [_signup_shape(signup)
                for signup in uow.signups.of_funder(actor.funder_id, query.status)]


def suspend_signup(db, ports: Ports, actor: Actor, signup_id) -> dict:
    """A suspended sign-up's code no longer activates it, and its account (if activated)
    can no longer log in: its sessions end."""
    require_funder_staff(actor)
    domain.require_unrestricted(actor)
    now = ports.clock()
    with db.unit_of_work() as uow:
        signup = uow.signups.get(str(signup_id))
        if signup is None or signup.funder_id != actor.funder_id:
            raise domain.signup_not_found()
        signup.suspend(now)
        user = uow.users.get(signup.user_id) if signup.user_id else None
        if user is not None and user.active:
            user.active = False
            uow.sessions.revoke_all(user.id, now)
            _account_changed(uow, user, "deactivated", actor.user_id, now)
        uow.audit.add(domain.audit(now, "signup_suspended", user=user, actor=actor,
                                   target=signup.id))
        reply = _signup_shape(signup)
    log.info("signup_suspended", signup_id=signup.id, by=actor.user_id)
    return reply


# --- an organisation's users as seed 004 manages them (issue 15) ------------------------------

def _listed_user(uow, actor: Actor, user_id) -> UserAccount:
    """An organisation's user, for whoever may list that organisation's users."""
    user = uow.users.get(str(user_id))
    if user is None or user.organisation_id is None or user.funder_id != actor.funder_id:
        raise domain.user_not_found()
    organisation = _visible_organisation(uow, actor, user.organisation_id)
    if not domain.can_list_users(actor, organisation):
        domain.require_users_right(actor, organisation.id)  # raises the right error
    return user


def get_user(db, ports: Ports, actor: Actor, user_id) -> dict:
    """A user's page: rights, status, last login, open sessions (never their tokens)."""
    now = ports.clock()
    with db.reading() as uow:
        user = _listed_user(uow, actor, user_id)
        last_login = uow.sessions.last_started(user.id)
        found = user_rules.open_sessions(uow.sessions.open_of(user.id, now), now,
                                         ports.settings.session_idle_minutes)
    status = user_rules.status(user)
    return UserCard(**_user_details(user), status=status,
                    status_label=user_rules.STATUS_LABELS[status],
                    rights_labels=[user_rules.RIGHT_LABELS[right] for right in user.rights],
                    last_login_at=last_login,
                    open_sessions=[OpenSession(started_at=s.created_at,
                                               last_seen_at=s.last_seen_at,
                                               expires_at=s.expires_at) for s in found]
                    ).model_dump(mode="json")


def send_user_reset_link(db, ports: Ports, actor: Actor, user_id) -> dict:
    """An administrator sends one of the organisation's users the « mot de passe oublié »
    link (send_reset_link), at once: the reply says it went."""
    now = ports.clock()
    with db.unit_of_work() as uow:
        user = _managed_user(uow, actor, user_id)
        if not user.active:
            raise Conflict("user_deactivated",
                           "Cet utilisateur est désactivé : réactivez-le d'abord.")
        uow.audit.add(domain.audit(now, "reset_link_sent", user=user, actor=actor,
                                   target=user.id))
    send_reset_link(db, ports, user.id)
    return {"detail": "Un lien de réinitialisation du mot de passe a été envoyé à "
                      f"{user.email}."}
