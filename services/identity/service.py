"""identity RPC entrypoints: funders, organisations and their profile, accounts, sessions,
first login, password reset, users and rights, API tokens, the audit trail. Each parses its
contract and calls one use case of handlers.py (a payload that must wait for an access check
is parsed there, after it)."""
from __future__ import annotations

import functools

from nameko.rpc import rpc

from contracts.common import Actor
from contracts.identity import (AcceptPrivacyPolicy, ChangeIdentifier, ChangePassword,
                                Credentials, NewFunder, PasswordReset, PasswordResetRequest,
                                Personalise, UpdateMe, UserUpdate)
from services.identity import domain, handlers, models
from services.identity.adapters import (AfterReply, DirectEmails, SiretDirectory,
                                        ThreadedPasswords, check_captcha, load_settings)
from servicekit import config
from servicekit.base import ServiceBase
from servicekit.db import Database, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse

PASSWORDS = ThreadedPasswords(domain.Passwords())


def _audit_entry(source: str, event_name: str, handler):
    """An entrypoint that records `source`'s event in the audit trail, once per event."""
    def entrypoint(self, uow, event):
        handler(uow, event.data)
    entrypoint.__name__ = f"on_{event_name}"  # @idempotent keys its processed events by it
    return subscribe(source, event_name)(idempotent(entrypoint))


class IdentityService(ServiceBase):
    name = "identity"
    db = Database(models.metadata, models.start_mappers, models.repositories)
    relay = OutboxRelay()
    notifications = RpcClient("notifications")
    after_reply = AfterReply()

    @property
    def ports(self) -> handlers.Ports:
        """Settings are read per call: a changed environment applies without a restart."""
        settings, kit = load_settings(), config.load()
        return handlers.Ports(
            clock=utcnow, passwords=PASSWORDS, emails=DirectEmails(self.notifications),
            check_captcha=functools.partial(check_captcha, settings),
            after_reply=self.after_reply, settings=settings, public_url=kit.public_url,
            session_ttl_minutes=kit.token_ttl_minutes,
            siret_directory=SiretDirectory(settings.known_sirets_file).known)

    # --- funders and organisations ----------------------------------------------------------

    @rpc
    def bootstrap_funder(self, payload):
        return handlers.bootstrap_funder(self.db, self.ports, parse(NewFunder, payload))

    @rpc
    def funders_directory(self):
        return handlers.funders_directory(self.db)

    @rpc
    def create_organisation(self, actor, payload):
        return handlers.create_organisation(self.db, self.ports, parse(Actor, actor), payload)

    @rpc
    def get_organisation(self, actor, organisation_id):
        return handlers.get_organisation(self.db, parse(Actor, actor), organisation_id)

    @rpc
    def find_organisations_by_siret(self, actor, sirets):
        return handlers.find_organisations_by_siret(self.db, parse(Actor, actor), sirets)

    @rpc
    def get_organisation_profile(self, actor, organisation_id):
        return handlers.get_organisation_profile(self.db, parse(Actor, actor), organisation_id)

    @rpc
    def update_organisation_profile(self, actor, organisation_id, payload):
        return handlers.update_organisation_profile(self.db, self.ports, parse(Actor, actor),
                                                    organisation_id, payload)

    @rpc
    def set_certifier(self, actor, organisation_id, payload):
        return handlers.set_certifier(self.db, self.ports, parse(Actor, actor),
                                      organisation_id, payload)

    # --- documents of the profile, as the documents service reports them -------------------

    @subscribe("documents", "document_uploaded")
    @idempotent
    def on_document_uploaded(self, uow, event):
        handlers.document_uploaded(uow, event.data)

    @subscribe("documents", "document_checked")
    @idempotent
    def on_document_checked(self, uow, event):
        handlers.document_checked(uow, event.data)

    @subscribe("documents", "document_rejected")
    @idempotent
    def on_document_rejected(self, uow, event):
        handlers.document_rejected(uow, event.data)

    # --- beneficiary and employer accounts, created with their first dossier ----------------

    @subscribe("dossiers", "dossier_created")
    def on_dossier_created(self, event):
        handlers.open_party_accounts(self.db, self.ports, event.data, event.data.created_by,
                                     functools.partial(self._open_party_accounts, event))

    @subscribe("dossiers", "dossier_updated")
    def on_dossier_updated(self, event):
        """An employer named later gets its account the same way."""
        if "employer_id" in event.data.changed:
            handlers.open_party_accounts(self.db, self.ports, event.data, event.data.updated_by,
                                         functools.partial(self._open_party_accounts, event))

    @idempotent
    def _open_party_accounts(self, uow, event, add):
        """The event's transaction, once per event (the name keys its processed events)."""
        return add(uow)

    # --- sessions ---------------------------------------------------------------------------

    @rpc
    def login(self, credentials, ip=None):
        return handlers.login(self.db, self.ports, parse(Credentials, credentials), ip)

    @rpc
    def authenticate(self, token):
        return handlers.authenticate(self.db, self.ports, token)

    @rpc
    def logout(self, token):
        return handlers.logout(self.db, self.ports, token)

    # --- first login and "mon compte" -------------------------------------------------------

    @rpc
    def me(self, actor):
        return handlers.me(self.db, parse(Actor, actor))

    @rpc
    def personalise(self, actor, payload):
        return handlers.personalise(self.db, self.ports, parse(Actor, actor),
                                    parse(Personalise, payload))

    @rpc
    def confirm_identifier(self, token):
        return handlers.confirm_identifier(self.db, self.ports, token)

    @rpc
    def accept_privacy_policy(self, actor, payload):
        return handlers.accept_privacy_policy(self.db, self.ports, parse(Actor, actor),
                                              parse(AcceptPrivacyPolicy, payload))

    @rpc
    def update_me(self, actor, payload):
        return handlers.update_me(self.db, self.ports, parse(Actor, actor),
                                  parse(UpdateMe, payload))

    @rpc
    def confirm_email_change(self, token):
        return handlers.confirm_email_change(self.db, self.ports, token)

    @rpc
    def cancel_email_change(self, token):
        return handlers.cancel_email_change(self.db, self.ports, token)

    @rpc
    def change_identifier(self, actor, payload):
        return handlers.change_identifier(self.db, self.ports, parse(Actor, actor),
                                          parse(ChangeIdentifier, payload))

    @rpc
    def change_password(self, actor, payload):
        return handlers.change_password(self.db, self.ports, parse(Actor, actor),
                                        parse(ChangePassword, payload))

    @rpc
    def request_password_reset(self, payload, ip=None):
        return handlers.request_password_reset(self.db, self.ports,
                                               parse(PasswordResetRequest, payload), ip)

    @rpc
    def reset_password(self, payload):
        return handlers.reset_password(self.db, self.ports, parse(PasswordReset, payload))

    # --- users and rights -------------------------------------------------------------------

    @rpc
    def list_users(self, actor, organisation_id, query=None):
        return handlers.list_users(self.db, parse(Actor, actor), organisation_id, query)

    @rpc
    def get_user(self, actor, user_id):
        return handlers.get_user(self.db, self.ports, parse(Actor, actor), user_id)

    @rpc
    def send_user_reset_link(self, actor, user_id):
        return handlers.send_user_reset_link(self.db, self.ports, parse(Actor, actor), user_id)

    @rpc
    def create_user(self, actor, organisation_id, payload):
        return handlers.create_user(self.db, self.ports, parse(Actor, actor), organisation_id,
                                    payload)

    @rpc
    def update_user(self, actor, user_id, payload):
        return handlers.update_user(self.db, self.ports, parse(Actor, actor), user_id,
                                    parse(UserUpdate, payload))

    @rpc
    def resend_credentials(self, actor, user_id):
        return handlers.resend_credentials(self.db, self.ports, parse(Actor, actor), user_id)

    @rpc
    def resend_party_credentials(self, actor, party_id):
        return handlers.resend_party_credentials(self.db, self.ports, parse(Actor, actor),
                                                 party_id)

    @rpc
    def create_funder_user(self, actor, payload):
        return handlers.create_funder_user(self.db, self.ports, parse(Actor, actor), payload)

    # --- API tokens and audit ---------------------------------------------------------------

    @rpc
    def issue_api_token(self, actor, payload):
        return handlers.issue_api_token(self.db, self.ports, parse(Actor, actor), payload)

    @rpc
    def list_api_tokens(self, actor):
        return handlers.list_api_tokens(self.db, self.ports, parse(Actor, actor))

    @rpc
    def revoke_api_token(self, actor, token_id):
        return handlers.revoke_api_token(self.db, self.ports, parse(Actor, actor), token_id)

    # --- the audit trail: identity's acts and the other services' (issue 15) ----------------

    @rpc
    def audit_trail(self, actor, organisation_id=None, query=None):
        return handlers.audit_trail(self.db, parse(Actor, actor), organisation_id, query)

    @rpc
    def verify_audit_chain(self, actor):
        return handlers.verify_audit_chain(self.db, parse(Actor, actor))

    # The other services' acts, each in the trail once (one queue per event).
    on_hours_entered = _audit_entry("certification", "hours_entered",
                                    handlers.audit_hours_entered)
    on_certified = _audit_entry("certification", "certified", handlers.audit_certified)
    on_certificate_reopened = _audit_entry("certification", "certificate_reopened",
                                           handlers.audit_certificate_reopened)
    on_month_unlocked = _audit_entry("payments", "month_unlocked", handlers.audit_month_unlocked)
    on_payment_issued = _audit_entry("payments", "payment_issued", handlers.audit_payment_issued)
    on_payment_reconciled = _audit_entry("payments", "payment_reconciled",
                                         handlers.audit_payment_reconciled)
    on_bank_details_changed = _audit_entry("payments", "bank_details_changed",
                                           handlers.audit_bank_details_changed)

    # --- a funder's account settings and self-service sign-up (issue 15) --------------------

    @rpc
    def get_account_settings(self, actor):
        return handlers.get_account_settings(self.db, parse(Actor, actor))

    @rpc
    def update_account_settings(self, actor, payload):
        return handlers.update_account_settings(self.db, self.ports, parse(Actor, actor), payload)

    @rpc
    def get_password_rules(self, funder_code):
        return handlers.get_password_rules(self.db, funder_code)

    @rpc
    def get_link_password_rules(self, token):
        return handlers.get_link_password_rules(self.db, token)

    @rpc
    def sign_up(self, payload, ip=None):
        return handlers.sign_up(self.db, self.ports, payload, ip)

    @rpc
    def activate_signup(self, payload):
        return handlers.activate_signup(self.db, self.ports, payload)

    @rpc
    def list_signups(self, actor, status=None):
        return handlers.list_signups(self.db, parse(Actor, actor), status)

    @rpc
    def suspend_signup(self, actor, signup_id):
        return handlers.suspend_signup(self.db, self.ports, parse(Actor, actor), signup_id)
