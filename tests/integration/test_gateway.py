"""The gateway in a real Nameko container, over real HTTP and RabbitMQ, against FAKE services
named like the real ones (defined here): auth, roles, problem mapping, validation, correlation
ids, downloads, health; then schemathesis hunts for 5xx and schema mismatches."""
from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

import pytest
import requests
from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.amqp import publish
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from servicekit.context import RequestContext, idempotency_key
from contracts.common.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from gateway.service import GatewayService
from tools.smtp import free_port

ORG_TOKEN = "org-token"
FUNDER_TOKEN = "funder-token"
RESTRICTED_TOKEN = "restricted-token"  # first login not finished
API_TOKEN = "jat_abc_DEF-123"
PDF = b"%PDF-1.4 certificat"
NOW = "2026-03-01T10:00:00Z"


class Seen(DependencyProvider):
    """Notes a fake's calls, (correlation id, method, *arguments) by service, into the record
    of the module's Stack (its containers' config "SEEN"): see the `seen` fixture."""

    def get_dependency(self, worker_ctx):
        record = self.container.config["SEEN"]
        return lambda service, *call: record.setdefault(service, []).append(call)


def _actor(role: str) -> dict:
    return {"user_id": "u1", "role": role, "funder_id": "f1",
            "organisation_id": "o1" if role == "organisation_user" else None}


def _me(actor: dict) -> dict:
    user = {"id": actor["user_id"], "identifier": "jdupont", "name": "J. Dupont",
            "email": "j@example.org", "role": actor["role"], "funder_id": "f1"}
    return {"user": user, "organisation": None}


def _user_details(user_id: str = "u2", **changes) -> dict:
    return {"id": user_id, "identifier": "pmartin", "name": "P. Martin",
            "email": "p@example.org", "role": "organisation_user", "funder_id": "f1",
            "organisation_id": "o1", "active": True, "rights": ["enter_hours"],
            "must_personalise": True, "created_at": NOW, **changes}


def _profile_document(status: str = "missing") -> dict:
    return {"document_id": None, "status": status, "status_label": "Non déposé",
            "reason": None}


def _profile(organisation_id: str, certifier_requested: bool = False) -> dict:
    return {**_organisation(organisation_id), "logo": _profile_document(),
            "stamp": _profile_document(), "certifier_requested": certifier_requested,
            "kbis": _profile_document(), "consent_letter": _profile_document(),
            "certification_method": {"method": 1, "reason": "Vous n'êtes pas certificateur."}}


def _api_token(active: bool = True) -> dict:
    return {"id": "t1", "name": "ERP", "expires_at": NOW, "rights": ["enter_hours"],
            "created_at": NOW, "created_by": "u1", "revoked_at": None, "active": active}


def _party(kind: str = "beneficiary") -> dict:
    return {"id": "p1", "name": "DUBOIS Michelle", "email": "m@example.org", "kind": kind,
            "funder_id": "f1"}


def _dossier(dossier_id: str = "d1") -> dict:
    return {"id": dossier_id, "number": "20X000703", "funder_id": "f1", "organisation_id": "o1",
            "organisation_name": "OF", "beneficiary": _party(), "employer": None,
            "training_title": "Soudeur", "session_start": "2026-01-05",
            "session_end": "2026-06-30", "status": "in_progress"}


class FinishedJobsWithoutFile:
    """The job RPCs of a fake whose jobs are over and produced no file."""

    @rpc
    def job_file(self, actor, job_id):
        raise NotFound("job_file_not_found", "Ce travail n'a pas (encore) produit de fichier.")

    @rpc
    def cancel_job(self, actor, job_id):
        raise Conflict("job_finished", "Ce travail est déjà terminé.")


def _import_job(kind: str = "dossiers.import", resubmitted: bool = False) -> dict:
    return {"id": "dossiers-j1", "kind": kind, "status": "queued",
            "phases": [{"name": "rows", "done": 0, "total": 2}], "created_at": NOW,
            "resubmitted": resubmitted}


def _import_rows() -> list[dict]:
    return [{"row": 2, "number": "20X000703", "outcome": "created", "dossier_id": "d1",
             "errors": []},
            {"row": 3, "number": None, "outcome": "error", "dossier_id": None, "errors": [
                {"row": 3, "field": "number", "column": "N° dossier", "code": "required",
                 "message": "Valeur obligatoire manquante."}]}]


def _certificate(dossier_id: str, month: str, **hours) -> dict:
    return {"dossier_id": dossier_id, "month": month, "status": "to_certify",
            "status_label": "À certifier", **hours}


def _certification_settings() -> dict:
    return {"funder_id": "f1", "entry_mode": "month", "code_length": 4,
            "code_lifetime_minutes": 15, "beneficiary_validation": False,
            "employer_validation": False, "notify_funder": False}


def _organisation(organisation_id: str = "o1") -> dict:
    return {"id": organisation_id, "funder_id": "f1", "name": "OF", "siret": "12345678901234",
            "email": "of@example.org"}


class IdempotencyKey(DependencyProvider):
    """The Idempotency-Key this call came with (None: none), as a service reads it."""

    def get_dependency(self, worker_ctx):
        return idempotency_key(worker_ctx)


class FakeIdentity:
    name = "identity"
    context = RequestContext()
    record = Seen()

    @rpc
    def health(self):
        return {"service": "identity", "status": "ok", "database": "ok"}

    @rpc
    def authenticate(self, token):
        self.record("identity", self.context, "authenticate", token)
        roles = {ORG_TOKEN: "organisation_user", FUNDER_TOKEN: "funder_admin",
                 RESTRICTED_TOKEN: "organisation_user", API_TOKEN: "organisation_user"}
        if token not in roles:
            raise Unauthenticated("invalid_token", "Session expirée ou inconnue.")
        actor = _actor(roles[token])
        if token == RESTRICTED_TOKEN:
            actor["restricted"] = True
        if token == API_TOKEN:
            actor.update(user_id="api-token:t1", rights=["enter_hours"])
        return actor

    @rpc
    def login(self, credentials, ip=None):
        self.record("identity", self.context, "login", credentials["identifier"], ip)
        return {"access_token": ORG_TOKEN, "token_type": "Bearer", "expires_at": NOW}

    @rpc
    def logout(self, token):
        self.record("identity", self.context, "logout", token)

    @rpc
    def me(self, actor):
        return _me(actor)

    # first login and my account: each records what it got, answers the contract's shape
    @rpc
    def personalise(self, actor, payload):
        self.record("identity", self.context, "personalise", actor, payload)
        return {**_me(actor), "privacy_policy_pending": True,
                "pending_identifier": payload["new_identifier"]}

    @rpc
    def confirm_identifier(self, token):
        self.record("identity", self.context, "confirm_identifier", token)
        if token == "used":
            raise NotFound("invalid_link", "Ce lien n'est plus valable.")

    @rpc
    def confirm_email_change(self, token):
        self.record("identity", self.context, "confirm_email_change", token)
        if token == "taken":
            raise Conflict("email_taken", "Cette adresse e-mail est déjà celle d'un autre compte.")

    @rpc
    def cancel_email_change(self, token):
        self.record("identity", self.context, "cancel_email_change", token)

    @rpc
    def accept_privacy_policy(self, actor, payload):
        self.record("identity", self.context, "accept_privacy_policy", actor, payload)
        return _me(actor)

    @rpc
    def request_password_reset(self, payload, ip=None):
        self.record("identity", self.context, "request_password_reset", payload, ip)
        if payload.get("captcha_token") == "bad":
            raise InvalidInput("captcha_failed", "La vérification anti-robot a échoué.")
        return {}

    @rpc
    def reset_password(self, payload):
        self.record("identity", self.context, "reset_password", payload)

    @rpc
    def update_me(self, actor, payload):
        return _me(actor)

    @rpc
    def change_password(self, actor, payload):
        self.record("identity", self.context, "change_password", actor, payload)

    @rpc
    def change_identifier(self, actor, payload):
        return {**_me(actor), "pending_identifier": payload["new_identifier"]}

    # organisation profile, users, tokens, audit
    @rpc
    def get_organisation_profile(self, actor, organisation_id):
        return _profile(organisation_id)

    @rpc
    def update_organisation_profile(self, actor, organisation_id, payload):
        if payload.get("siret") is not None:
            raise InvalidInput("siret_read_only", "Le SIRET ne peut pas être modifié.")
        return _profile(organisation_id)

    @rpc
    def set_certifier(self, actor, organisation_id, payload):
        return _profile(organisation_id, payload["requested"])

    @rpc
    def list_users(self, actor, organisation_id, query=None):
        return [_user_details()]

    @rpc
    def create_user(self, actor, organisation_id, payload):
        self.record("identity", self.context, "create_user", organisation_id, payload)
        return _user_details(credentials_sent=True)

    @rpc
    def update_user(self, actor, user_id, payload):
        return _user_details(user_id)

    @rpc
    def resend_credentials(self, actor, user_id):
        return _user_details(user_id, credentials_sent=True)

    @rpc
    def resend_party_credentials(self, actor, party_id):
        return _user_details(role="beneficiary", organisation_id=None, rights=[],
                             credentials_sent=True)

    @rpc
    def create_funder_user(self, actor, payload):
        return _user_details(role=payload["role"], organisation_id=None, rights=[])

    @rpc
    def issue_api_token(self, actor, payload):
        return {"id": "t1", "name": payload["name"], "token": API_TOKEN, "expires_at": NOW,
                "rights": payload.get("rights") or ["enter_hours"]}

    @rpc
    def list_api_tokens(self, actor):
        return [_api_token()]

    @rpc
    def revoke_api_token(self, actor, token_id):
        self.record("identity", self.context, "revoke_api_token", token_id)

    @rpc
    def audit_trail(self, actor, organisation_id=None, query=None):
        self.record("identity", self.context, "audit_trail", organisation_id,
                    (query or {}).get("limit"))
        return [{"at": NOW, "user_id": "u1", "organisation_id": organisation_id,
                 "action": "login_succeeded", "target": None, "ip": "192.0.2.1",
                 "details": {}}]

    @rpc
    def create_organisation(self, actor, payload):
        raise Conflict("siret_taken", "Un organisme avec ce SIRET existe déjà.")

    @rpc
    def get_organisation(self, actor, organisation_id):
        return _organisation(organisation_id)


    # issue 15: users' pages, the audit chain, account settings and self-service sign-up
    @rpc
    def get_user(self, actor, user_id):
        return {**_user_details(user_id), "status": "active", "status_label": "Actif"}

    @rpc
    def send_user_reset_link(self, actor, user_id):
        return {"detail": "Un lien de réinitialisation a été envoyé."}

    @rpc
    def verify_audit_chain(self, actor):
        return {"intact": True, "entries": 0, "head_position": 0, "message": "Chaîne intacte."}

    @rpc
    def get_account_settings(self, actor):
        return _account_settings()

    @rpc
    def update_account_settings(self, actor, payload):
        return {**_account_settings(), **{k: v for k, v in payload.items() if v is not None}}

    @rpc
    def get_password_rules(self, funder_code):
        return {"funder_code": funder_code, "password_rules": "opco", "text": RULES,
                "min_length": 8, "max_length": 12}

    @rpc
    def get_link_password_rules(self, token):
        return {"password_rules": "opco", "text": RULES}

    @rpc
    def sign_up(self, payload, ip=None):
        return {"message": "Si les informations sont exactes, un e-mail d'activation est "
                           "envoyé."}

    @rpc
    def activate_signup(self, payload):
        return {"identifier": payload["email"]}

    @rpc
    def list_signups(self, actor, status=None):
        return [_signup()]

    @rpc
    def suspend_signup(self, actor, signup_id):
        return {**_signup(signup_id), "status": "suspended", "status_label": "Suspendu"}


RULES = "entre 8 et 12 caractères, dont une majuscule, une minuscule, et un chiffre"


def _account_settings() -> dict:
    return {"funder_id": "f1", "account_creation": "self_service", "password_rules": "opco",
            "require_known_siret": False, "password_rules_text": RULES}


def _signup(signup_id: str = "s1") -> dict:
    return {"id": signup_id, "siret": "73282932000074", "organisation_name": "OF",
            "holder_name": "Alice DURAND", "email": "alice@example.org", "status": "pending",
            "status_label": "En attente d'activation", "created_at": NOW}


class FakeDossiers(FinishedJobsWithoutFile):
    name = "dossiers"
    context = RequestContext()
    record = Seen()

    @rpc
    def health(self):
        return {"service": "dossiers", "status": "ok", "database": "ok"}

    @rpc
    def create_beneficiary(self, actor, payload):
        return {**payload, "id": "p1", "kind": "beneficiary", "funder_id": "f1"}

    @rpc
    def create_employer(self, actor, payload):
        return {**payload, "id": "p2", "kind": "employer", "funder_id": "f1"}

    @rpc
    def create_dossier(self, actor, payload):
        return _dossier()

    @rpc
    def get_dossier(self, actor, dossier_id):
        if dossier_id == "missing":
            raise NotFound("dossier_not_found", "Dossier introuvable.")
        return _dossier(dossier_id)

    @rpc
    def list_dossiers(self, actor, query=None, limit=200, filters=None):
        self.record("dossiers", self.context, "list_dossiers", actor, query)
        return [_dossier()]

    @rpc
    def count_dossiers(self, actor):
        return {"total": 1, "by_status": [{"code": "in_progress",
                                           "label": "Dossier en cours de suivi", "count": 1}],
                "by_action_type": [{"code": "ptp", "label": "PTP", "count": 1}]}

    @rpc
    def update_dossier(self, actor, dossier_id, change):
        self.record("dossiers", self.context, "update_dossier", dossier_id, change)
        if dossier_id == "missing":
            raise NotFound("dossier_not_found", "Dossier introuvable.")
        return {**_dossier(dossier_id), "forecast": []}

    @rpc
    def import_dossiers(self, actor, payload):
        self.record("dossiers", self.context, "import_dossiers", payload)
        return _import_job(resubmitted=payload["rows"][0].get("number") == "AGAIN")

    @rpc
    def import_spreadsheet(self, actor, payload):
        self.record("dossiers", self.context, "import_spreadsheet", payload)
        if base64.b64decode(payload["content_base64"]).startswith(b"%PDF"):
            raise InvalidInput("not_a_spreadsheet", "Ce fichier n'est pas un tableur lisible.")
        return _import_job("dossiers.import_spreadsheet")

    @rpc
    def get_job(self, actor, job_id):
        if job_id != "dossiers-j1":
            raise NotFound("job_not_found", "Aucun travail trouvé.")
        return {**_import_job(), "status": "succeeded", "items": _import_rows(),
                "phases": [{"name": "rows", "done": 2, "total": 2}]}

    @rpc
    def list_jobs(self, actor, query=None):
        return []



class FakeCertification:
    name = "certification"
    context = RequestContext()
    record = Seen()
    idempotency_key = IdempotencyKey()

    @rpc
    def health(self):
        return {"service": "certification", "status": "ok", "database": "ok"}

    @rpc
    def attendance_sheet(self, actor, dossier_id, month, entry):
        return _document()["document"]

    @rpc
    def list_certificates(self, actor, dossier_id):
        return [_certificate(dossier_id, "2026-02")]

    @rpc
    def get_certificate(self, actor, dossier_id, month):
        return _certificate(dossier_id, month)

    @rpc
    def enter_hours(self, actor, dossier_id, month, entry):
        self.record("certification", self.context, "enter_hours", actor, entry)
        totals = {k: v for k, v in entry.items() if k != "days"}  # days: an input shape
        return _certificate(dossier_id, month, **totals)

    @rpc
    def change_hours(self, actor, dossier_id, month, change):
        self.record("certification", self.context, "change_hours", actor, change)
        sent = {k: v for k, v in change.items() if k != "days" and v is not None}
        return _certificate(dossier_id, month, **sent)

    @rpc
    def draft_certificate(self, actor, dossier_id, month):
        return {"filename": f"projet certificat {month}.pdf", "content_type": "application/pdf",
                "content_base64": base64.b64encode(PDF).decode()}

    @rpc
    def certify(self, actor, dossier_id, month, payload):
        raise Conflict("already_certified", "Ce mois est déjà certifié.", {"version": 3})

    @rpc
    def request_code(self, actor, dossier_id, month, payload):
        return {"sent_to": "c***@example.org", "expires_at": NOW, "code_length": 4,
                "lifetime_minutes": 15}

    @rpc
    def propose_hours(self, actor, dossier_id, month, query):
        entry = {"training_hours": "147.00", "internship_hours": "0.00", "absence_hours": "0.00",
                 "days": []}
        return {"dossier_id": dossier_id, "month": month, "source": query["source"],
                "entry": entry, "warnings": []}

    @rpc
    def reopen(self, actor, dossier_id, month, payload):
        return _certificate(dossier_id, month, reopen_reason=payload["reason"])

    @rpc
    def validate_hours(self, actor, dossier_id, month):
        return _certificate(dossier_id, month, status="validated")

    @rpc
    def contest_hours(self, actor, dossier_id, month, payload):
        return _certificate(dossier_id, month, status="contested",
                            contest_reason=payload["reason"])

    @rpc
    def transmit_hours(self, actor, dossier_id, month):
        self.record("certification", self.context, "transmit_hours", self.idempotency_key)
        return _certificate(dossier_id, month, transmitted_at=NOW)

    @rpc
    def pending_actions(self, actor):
        return {"count": 0, "label": "0 action en attente", "actions": []}

    @rpc
    def get_settings(self, actor):
        return _certification_settings()

    @rpc
    def update_settings(self, actor, payload):
        return {**_certification_settings(), **payload}

    @rpc
    def hours_template(self, actor, query):
        return {"filename": f"modele-heures-{query['month']}.xlsx",
                "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml"
                                ".sheet", "content_base64": base64.b64encode(b"PK").decode()}

    @rpc
    def get_job(self, actor, job_id):
        raise NotFound("job_not_found", "Aucun travail trouvé.")

    @rpc
    def list_jobs(self, actor, query=None):
        return []

    @rpc
    def job_file(self, actor, job_id):
        raise NotFound("job_not_found", "Aucun travail trouvé.")

    @rpc
    def cancel_job(self, actor, job_id):
        raise NotFound("job_not_found", "Aucun travail trouvé.")

    @rpc
    def import_hours(self, actor, upload):
        self.record("certification", self.context, "import_hours", upload)
        return {**_job(), "id": "certification-j1", "kind": "certification.import_hours",
                "phases": [{"name": "months", "done": 0, "total": 1}], "status": "queued"}


class FakePayments:
    name = "payments"
    context = RequestContext()
    record = Seen()

    @rpc
    def health(self):
        return {"service": "payments", "status": "ok", "database": "ok"}

    @rpc
    def get_month_lock(self, actor, dossier_id, month):
        return {"dossier_id": dossier_id, "month": month, "locked": False}

    @rpc
    def unlock_month(self, actor, dossier_id, month, payload):
        return {"dossier_id": dossier_id, "month": month, "locked": False,
                "unlock_reason": payload["reason"]}

    @rpc
    def record_payment(self, actor, payload):
        return _payment()

    @rpc
    def import_payments(self, actor, payload):
        return _job(resubmitted=payload["payments"][0].get("number") == "AGAIN")

    @rpc
    def get_job(self, actor, job_id):
        if job_id != "payments-j1":
            raise NotFound("job_not_found", "Aucun travail trouvé.")
        return {**_job(), "items": [{"row": 1, "result": "created"}]}

    @rpc
    def list_jobs(self, actor, query=None):
        return [_job()]

    @rpc
    def job_file(self, actor, job_id):
        return {"filename": "règlements.csv", "content_type": "text/csv",
                "content_base64": base64.b64encode(b"a;b\n").decode()}

    @rpc
    def cancel_job(self, actor, job_id):
        raise Conflict("job_finished", "Ce travail est déjà terminé.")

    @rpc
    def list_payments(self, actor, query=None):
        return {"months": [], "total": "0.00", "rows": 0, "truncated": False}

    @rpc
    def export_payments(self, actor, query=None):
        self.record("payments", self.context, "export_payments", query)
        return {**_job(), "kind": "payments.export", "status": "queued",
                "phases": [{"name": "rows", "done": 0, "total": 2}]}

    @rpc
    def get_payment(self, actor, payment_id):
        return _payment(payment_id)

    @rpc
    def issue_remittance_advice(self, actor, payment_id):
        return _payment(payment_id)

    @rpc
    def reconcile_payment(self, actor, payment_id, payload):
        return {**_payment(payment_id), "reconciled": payload["reconciled"]}

    @rpc
    def get_bank_details(self, actor, organisation_id):
        return {"organisation_id": organisation_id, "current": None,
                "validated_version": None, "may_change": True, "versions": []}

    @rpc
    def submit_bank_details(self, actor, organisation_id, payload):
        return _bank_version(organisation_id)

    @rpc
    def review_bank_details(self, actor, organisation_id, payload):
        return _bank_version(organisation_id)

    @rpc
    def get_credit_note_mode(self, actor, organisation_id):
        return _credit_note_mode(organisation_id)

    @rpc
    def choose_credit_note_mode(self, actor, organisation_id, payload):
        return {**_credit_note_mode(organisation_id), "mode": payload["mode"]}

    @rpc
    def get_payment_settings(self, actor):
        return {"funder_id": "f1", "payer_name": "Transitions Pro"}

    @rpc
    def set_payment_settings(self, actor, payload):
        return {"funder_id": "f1", **payload}

    @rpc
    def record_credit_note(self, actor, payload):
        return _credit_note()

    @rpc
    def list_credit_notes(self, actor, query=None):
        return {"credit_notes": [_credit_note()], "truncated": False}

    @rpc
    def get_credit_note(self, actor, credit_note_id):
        return _credit_note(credit_note_id)

    @rpc
    def mark_credit_note_received(self, actor, credit_note_id):
        return _credit_note(credit_note_id)

    @rpc
    def issue_pro_forma(self, actor, credit_note_id):
        return _credit_note(credit_note_id)


def _payment(payment_id: str = "p1") -> dict:
    return {"id": payment_id, "number": "107", "payment_date": "2019-08-23",
            "funder_id": "f1", "organisation_id": "o1", "advance": False, "amount": "10.00",
            "transferred_amount": "10.00", "status": "issued", "lines": [],
            "recorded_by": "u1", "recorded_at": "2019-08-23T09:00:00+00:00"}


def _job(resubmitted: bool = False) -> dict:
    return {"id": "payments-j1", "kind": "payments.import", "status": "succeeded",
            "phases": [{"name": "payments", "done": 1, "total": 1}], "created_at": NOW,
            "summary": {"created": 1}, "resubmitted": resubmitted}


def _credit_note(credit_note_id: str = "cn1") -> dict:
    return {"id": credit_note_id, "number": "PRO-1", "funder_id": "f1", "organisation_id": "o1",
            "organisation_name": "OF", "dossier_id": "d1", "dossier_number": "DEMO-0001",
            "beneficiary_name": "DUBOIS Michelle", "period_start": "2019-08-01",
            "period_end": "2019-08-31", "amount": "10.00", "reason": "Trop-perçu",
            "mode": "deduction", "status": "to_deduct",
            "status_label": "À déduire des prochains règlements", "deducted_amount": "0.00",
            "remaining_amount": "10.00", "issued_on": "2019-09-01", "recorded_by": "u1",
            "recorded_at": "2019-09-01T09:00:00+00:00"}


def _bank_version(organisation_id: str) -> dict:
    return {"organisation_id": organisation_id, "version": 1,
            "iban": "FR7613825002000801463722518", "bic": "CEPAFRPP382", "invoicing": "self",
            "invoicing_label": "Je facture moi-même mes contrats", "rib_document_id": "d1",
            "status": "pending", "status_label": "En attente de validation",
            "submitted_by": "u1", "submitted_at": "2019-08-23T09:00:00+00:00"}


def _credit_note_mode(organisation_id: str) -> dict:
    return {"organisation_id": organisation_id, "mode": None, "explanation": "…",
            "options": []}


class FakeDocuments:
    name = "documents"
    context = RequestContext()
    record = Seen()

    @rpc
    def health(self):
        return {"service": "documents", "status": "ok", "database": "ok"}

    @rpc
    def list_documents(self, actor, dossier_id=None, query=None):
        self.record("documents", self.context, "list_documents", dossier_id, query)
        return [_document()["document"]]

    @rpc
    def documents_by_category(self, actor, dossier_id):
        return [{"category": "certificate", "category_label": "Certificat de réalisation",
                 "documents": [_document()["document"]]}]

    @rpc
    def get_document(self, actor, document_id):
        return _document()["document"]

    @rpc
    def get_document_content(self, actor, document_id):
        return _document()

    @rpc
    def list_categories(self, actor):
        return [_category()]

    @rpc
    def create_category(self, actor, payload):
        return {**_category(), **payload, "funder_id": "f1"}

    @rpc
    def upload(self, actor, payload):
        self.record("documents", self.context, "upload", actor, payload)
        return _receipt(payload)

    @rpc
    def replace_document(self, actor, document_id, payload):
        self.record("documents", self.context, "replace_document", document_id, payload)
        return _receipt({**payload, "category": "kbis"})

    @rpc
    def update_document(self, actor, document_id, payload):
        self.record("documents", self.context, "update_document", document_id, payload)
        return {**_document()["document"], **{k: v for k, v in payload.items() if v}}

    @rpc
    def delete_document(self, actor, document_id):
        if document_id == "checked":
            raise Conflict("document_checked", "Un document contrôlé ne peut être supprimé.")
        self.record("documents", self.context, "delete_document", document_id)

    @rpc
    def check_document(self, actor, document_id):
        return {**_document()["document"], "status": "checked"}

    @rpc
    def reject_document(self, actor, document_id, payload):
        return {**_document()["document"], "status": "rejected", **payload}

    @rpc
    def verify_certificate(self, reference):
        if reference != "REF-1":
            return {"valid": False}
        return {"valid": True, "dossier_number": "20X000703", "month": "2026-02",
                "sha256": hashlib.sha256(PDF).hexdigest(), "issued_at": NOW}


def _document() -> dict:
    return {"document": {"id": "doc1", "category": "certificate", "label": "Certificat",
                         "filename": "certificat février 2026.pdf",
                         "content_type": "application/pdf", "size": len(PDF),
                         "sha256": hashlib.sha256(PDF).hexdigest(), "created_at": NOW},
            "content_base64": base64.b64encode(PDF).decode()}


def _category() -> dict:
    return {"code": "kbis", "label": "Extrait KBIS", "instructions": "Moins de 3 mois.",
            "upload_roles": ["organisation_user"], "content_types": ["application/pdf"],
            "max_size": 5_000_000, "requires_dossier": False, "requires_label": False,
            "requires_period": False, "system": False, "may_upload": True}


def _receipt(payload: dict) -> dict:
    content = base64.b64decode(payload["content_base64"])
    return {"document_id": "doc2", "sha256": hashlib.sha256(content).hexdigest(),
            "received_at": NOW, "category": payload["category"],
            "filename": payload["filename"], "size": len(content),
            "content_type": "application/pdf", "label": payload.get("label") or "Document"}


class FakeNotifications:
    name = "notifications"

    @rpc
    def health(self):
        return {"service": "notifications", "status": "ok", "database": "ok"}

    # the notification centre (issue 16)
    @rpc
    def list_notifications(self, actor, query=None):
        return [_notification()]

    @rpc
    def count_unread_notifications(self, actor):
        return {"unread": 1}

    @rpc
    def mark_notification_read(self, actor, notification_id):
        return {**_notification(), "id": notification_id, "read_at": NOW}

    @rpc
    def mark_all_notifications_read(self, actor):
        return {"unread": 0}

    @rpc
    def get_alert_settings(self, actor):
        return [{"kind": "certified", "label": "Certificat de réalisation certifié",
                 "frequency": "immediate", "locked": False}]

    @rpc
    def update_alert_settings(self, actor, payload):
        return self.get_alert_settings(actor)

    # emails sent on the funder's behalf (issue 16)
    @rpc
    def list_emails(self, actor, event_id=None):
        return [_email()]

    @rpc
    def resend_email(self, actor, email_id):
        return {**_email(), "id": "e2", "delivery": "pending",
                "delivery_label": "en attente d'envoi", "resent_from": email_id}


def _notification() -> dict:
    return {"id": "n1", "kind": "certified_beneficiary", "title": "Certificat de réalisation",
            "text": "Heures certifiées.", "created_at": NOW, "read_at": None,
            "object": {"type": "certificate", "id": "d1/2026-09",
                       "link": "/dossiers/d1/certificates/2026-09"}}


def _email() -> dict:
    return {"id": "e1", "to": "of@example.org", "subject": "Document non conforme",
            "template": "document_rejected", "status": "failed", "attempts": 5,
            "created_at": NOW, "delivery": "failed", "delivery_label": "échec de l'envoi",
            "last_error": "SMTPRecipientsRefused: 550 mailbox unavailable"}


class FakeIntegration(FinishedJobsWithoutFile):
    name = "integration"

    @rpc
    def health(self):
        return {"service": "integration", "status": "ok", "database": "ok"}

    # replays of the public events (issue 17), run as jobs (issue 18)
    @rpc
    def start_replay(self, actor, payload):
        return _replay_job(resubmitted=payload.get("after_event_id") == "AGAIN")

    @rpc
    def get_job(self, actor, job_id):
        if job_id != "integration-r1":
            raise NotFound("job_not_found", "Aucun travail trouvé.")
        return {**_replay_job(), "status": "succeeded", "summary": {"sent": 3},
                "phases": [{"name": "events", "done": 3, "total": 3}]}

    @rpc
    def list_jobs(self, actor, query=None):
        return []

    @rpc
    def list_replays(self, actor):
        return [_replay(actor, {"since": NOW})]

    @rpc
    def get_replay(self, actor, replay_id):
        return _replay(actor, {"since": NOW})

    # webhooks (issue 17)
    @rpc
    def register_webhook(self, actor, payload):
        return {**_webhook(actor), "url": payload["url"], "secret": "whsec_c2VjcmV0"}

    @rpc
    def list_webhooks(self, actor):
        return [_webhook(actor)]

    @rpc
    def get_webhook(self, actor, webhook_id):
        return _webhook(actor)

    @rpc
    def delete_webhook(self, actor, webhook_id):
        return {**_webhook(actor), "active": False, "disabled_at": NOW}

    @rpc
    def rotate_webhook_secret(self, actor, webhook_id):
        return {**_webhook(actor), "secret": "whsec_bm91dmVhdQ==", "rotated_at": NOW,
                "previous_secret_until": NOW}

    @rpc
    def list_deliveries(self, actor, webhook_id, query):
        return [_delivery()]

    @rpc
    def get_delivery(self, actor, webhook_id, delivery_id):
        return _delivery()

    @rpc
    def retry_delivery(self, actor, webhook_id, delivery_id):
        return {**_delivery(), "status": "pending", "next_attempt_at": NOW}

    @rpc
    def replay_to_webhook(self, actor, webhook_id, payload):
        return _replay_job()


def _webhook(actor: dict) -> dict:
    return {"id": "w1", "funder_id": actor["funder_id"], "url": "https://si.example.org/hook",
            "event_types": ["*"], "description": "ERP", "active": True,
            "created_by": actor["user_id"], "created_at": NOW}


def _delivery() -> dict:
    return {"id": "dl1", "webhook_id": "w1", "event_id": "ev1",
            "event_type": "certification.month_certified.v1", "status": "failed",
            "attempts": 8, "last_status_code": 500, "last_answer": "erreur",
            "created_at": NOW,
            "history": [{"number": 1, "at": NOW, "status_code": 500, "answer": "erreur"}]}


def _replay_job(resubmitted: bool = False) -> dict:
    return {"id": "integration-r1", "kind": "integration.replay", "status": "queued",
            "phases": [{"name": "events", "done": 0, "total": 3}], "created_at": NOW,
            "resubmitted": resubmitted}


def _replay(actor: dict, payload: dict) -> dict:
    funder = actor["funder_id"]
    return {"id": "integration-r1", "funder_id": funder, "status": "pending", "since": payload.get("since"),
            "after_event_id": payload.get("after_event_id"),
            "queue": f"integration.{funder}.replay", "total": 3, "sent": 0,
            "created_by": actor["user_id"], "created_at": NOW, "finished_at": None}


FAKES = (FakeIdentity, FakeDossiers, FakeCertification, FakePayments, FakeDocuments,
         FakeIntegration)


class Stack:
    """Module-wide containers: started once, killed together (stopping each one politely
    costs seconds apiece, and this file must stay fast)."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self.containers = []
        self.seen: dict[str, list] = {}  # the fakes' calls (Seen)

    def start(self, service_cls, **extra_config):
        from nameko.containers import ServiceContainer

        from servicekit import config
        conf = {**config.load().nameko_config(), "AMQP_URI": self.amqp_uri, "SEEN": self.seen,
                **extra_config}
        container = ServiceContainer(service_cls, conf)
        container.start()
        self.containers.append(container)
        return container

    def ensure(self, service_cls) -> None:
        if not any(c.service_cls is service_cls for c in self.containers):
            self.start(service_cls)

    def kill_all(self):
        for container in self.containers:
            container.kill()


@pytest.fixture(scope="module")
def stack(amqp_uri):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JALON_AMQP_URI", amqp_uri)
        patch.setenv("JALON_RPC_TIMEOUT", "5")
        patch.setenv("JALON_TRUSTED_PROXIES", "1")  # as behind one reverse proxy
        started = Stack(amqp_uri)
        yield started
        started.kill_all()


@pytest.fixture(scope="module")
def gateway(stack):
    """Base URL of a running gateway, with every fake service but notifications (the health
    test starts it once it has seen /health degraded)."""
    for fake in FAKES:
        stack.start(fake)
    address = f"127.0.0.1:{free_port()}"
    stack.start(GatewayService, WEB_SERVER_ADDRESS=address)
    return f"http://{address}"


@pytest.fixture
def seen(stack) -> dict[str, list]:
    """What the fakes were asked during this test: {service: [(correlation id, method, *args)]}."""
    stack.seen.clear()
    return stack.seen


def auth(token: str = ORG_TOKEN, **headers) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["correlation_id"] == response.headers["X-Correlation-Id"]
    return body


def test_authentication_and_roles(gateway):
    assert_problem(requests.get(f"{gateway}/me"), 401, "missing_token")
    bad = requests.get(f"{gateway}/me", headers=auth("nope"))
    assert_problem(bad, 401, "invalid_token")
    assert bad.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(requests.get(f"{gateway}/me", headers={"Authorization": "Basic eA=="}),
                   401, "invalid_token")
    assert requests.get(f"{gateway}/me", headers=auth()).json()["user"]["role"] == \
        "organisation_user"
    forbidden = requests.post(f"{gateway}/dossiers", json={}, headers=auth(ORG_TOKEN))
    assert_problem(forbidden, 403, "forbidden_role")


def test_login_passes_the_client_ip_and_logout_is_204(gateway, seen):
    login = requests.post(f"{gateway}/auth/login",
                          json={"identifier": "jdupont", "password": "secret"},
                          headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.7"})
    assert login.status_code == 200 and login.json()["access_token"] == ORG_TOKEN
    assert seen["identity"][-1][1:] == ("login", "jdupont", "203.0.113.7")
    logout = requests.post(f"{gateway}/auth/logout", headers=auth())
    assert logout.status_code == 204 and logout.content == b""
    assert seen["identity"][-1][1:] == ("logout", ORG_TOKEN)


def test_restricted_session_reaches_only_its_account_and_auth_routes(gateway):
    headers = auth(RESTRICTED_TOKEN)
    assert requests.get(f"{gateway}/me", headers=headers).status_code == 200
    personalised = requests.post(f"{gateway}/auth/personalise", headers=headers, json={
        "new_identifier": "claire.martin", "current_password": "Provisoire-1!",
        "new_password": "Nouveau-Passw0rd!",
        "new_password_confirmation": "Nouveau-Passw0rd!"})
    assert personalised.status_code == 200, personalised.text
    assert personalised.json()["pending_identifier"] == "claire.martin"
    accepted = requests.post(f"{gateway}/auth/privacy-policy", headers=headers,
                             json={"version": "2026-01"})
    assert accepted.status_code == 200
    for method, path in (("GET", "/dossiers"), ("GET", "/api-tokens"),
                         ("POST", "/me/password"), ("GET", "/organisations/o1/profile")):
        refused = requests.request(method, gateway + path, headers=headers, json={})
        body = assert_problem(refused, 403, "personalisation_required")
        assert "Personnalisez" in body["detail"]
    assert requests.get(f"{gateway}/dossiers", headers=auth()).status_code == 200


def test_public_auth_routes_need_no_token(gateway, seen):
    confirmed = requests.post(f"{gateway}/auth/confirm-identifier", json={"token": "abc"})
    assert confirmed.status_code == 204
    assert seen["identity"][-1][1:] == ("confirm_identifier", "abc")
    assert_problem(requests.post(f"{gateway}/auth/confirm-identifier", json={"token": "used"}),
                   404, "invalid_link")
    reset = requests.post(f"{gateway}/auth/password-reset", json={"identifier": "x"},
                          headers={"X-Forwarded-For": "203.0.113.9"})
    assert reset.status_code == 202 and "Si un compte correspond" in reset.json()["detail"]
    assert seen["identity"][-1][1:] == (
        "request_password_reset", {"identifier": "x", "captcha_token": None}, "203.0.113.9")
    assert_problem(requests.post(f"{gateway}/auth/password-reset",
                                 json={"identifier": "x", "captcha_token": "bad"}),
                   422, "captcha_failed")
    done = requests.post(f"{gateway}/auth/password-reset/confirm", json={
        "token": "t", "new_password": "Nouveau-Passw0rd!",
        "new_password_confirmation": "Nouveau-Passw0rd!"})
    assert done.status_code == 204


def test_email_change_links_open_a_page_whose_button_posts(gateway, seen):
    for path, call in (("/auth/confirm-email", "confirm_email_change"),
                       ("/auth/cancel-email-change", "cancel_email_change")):
        page = requests.get(f"{gateway}{path}", params={"token": "abc"})
        assert page.status_code == 200 and f'data-action="{path}"' in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
        done = requests.post(f"{gateway}{path}", json={"token": "abc"})
        assert done.status_code == 204 and seen["identity"][-1][1:] == (call, "abc")
    assert_problem(requests.post(f"{gateway}/auth/confirm-email", json={"token": "taken"}),
                   409, "email_taken")
    assert_problem(requests.post(f"{gateway}/auth/cancel-email-change", json={}),
                   422, "invalid_body")


def test_api_tokens_and_audit_routes(gateway, seen):
    issued = requests.post(f"{gateway}/api-tokens", headers=auth(),
                           json={"name": "ERP", "expires_on": "2026-12-31"})
    assert issued.status_code == 201 and issued.json()["token"].startswith("jat_")
    as_software = requests.get(f"{gateway}/api-tokens", headers=auth(API_TOKEN))
    assert as_software.status_code == 200 and "token" not in as_software.json()[0]
    assert requests.delete(f"{gateway}/api-tokens/t1", headers=auth()).status_code == 204
    assert seen["identity"][-1][1:] == ("revoke_api_token", "t1")
    assert_problem(requests.get(f"{gateway}/audit", headers=auth()), 403, "forbidden_role")
    trail = requests.get(f"{gateway}/organisations/o1/audit?limit=5", headers=auth(FUNDER_TOKEN))
    assert trail.status_code == 200 and trail.json()[0]["action"] == "login_succeeded"
    assert seen["identity"][-1][1:] == ("audit_trail", "o1", 5)
    assert_problem(requests.get(f"{gateway}/organisations/o1/audit?limit=0",
                                headers=auth(FUNDER_TOKEN)), 422, "invalid_query")
    assert_problem(requests.post(f"{gateway}/funder-users", headers=auth(), json={}),
                   403, "forbidden_role")
    assert_problem(requests.patch(f"{gateway}/organisations/o1/profile", headers=auth(),
                                  json={"siret": "1"}), 422, "siret_read_only")


def test_remote_errors_become_problems(gateway):
    body = assert_problem(requests.post(f"{gateway}/dossiers/d1/certificates/2026-02/certify",
                                        json={"attest": True}, headers=auth()),
                          409, "already_certified")
    assert body["detail"] == "Ce mois est déjà certifié."
    assert body["details"] == {"version": "3"}  # Nameko stringifies remote error args
    assert body["instance"] == "/dossiers/d1/certificates/2026-02/certify"
    assert_problem(requests.get(f"{gateway}/dossiers/missing", headers=auth()),
                   404, "dossier_not_found")


def test_validation_problems(gateway):
    url = f"{gateway}/dossiers/d1/certificates/2026-02/hours"
    assert_problem(requests.put(url, data=b"{not json", headers=auth()), 400, "invalid_json")
    # The totals are optional (a per-day entry computes them), each is checked when sent.
    invalid = assert_problem(requests.put(url, json={"training_hours": "-1",
                                                     "days": [{"day": "2026-02-30"}]},
                                          headers=auth()), 422, "invalid_body")
    assert {tuple(e["loc"][:2]) for e in invalid["errors"]} >= {("training_hours",),
                                                               ("days", 0)}
    assert_problem(requests.get(f"{gateway}/dossiers/d1/certificates/2026-13", headers=auth()),
                   422, "invalid_path")
    assert_problem(requests.get(f"{gateway}/dossiers/{'x' * 65}", headers=auth()),
                   422, "invalid_path")
    assert_problem(requests.get(f"{gateway}/nowhere"), 404, "route_not_found")
    wrong = assert_problem(requests.delete(f"{gateway}/me"), 405, "method_not_allowed")
    assert "password" not in str(assert_problem(
        requests.post(f"{gateway}/auth/login", json={"password": "hunter2-secret"}),
        422, "invalid_body"))
    assert wrong["instance"] == "/me"


def test_french_hours_reach_certification_normalised(gateway, seen):
    reply = requests.put(f"{gateway}/dossiers/d1/certificates/2026-02/hours",
                         json={"training_hours": "147,00", "internship_hours": 0,
                               "absence_hours": "3,5"}, headers=auth())
    assert reply.status_code == 200, reply.text
    _, _, actor, entry = seen["certification"][-1]
    assert entry == {"training_hours": "147.00", "internship_hours": "0",
                     "absence_hours": "3.5", "days": []}
    assert actor["role"] == "organisation_user" and actor["ip"] == "127.0.0.1"


def test_certification_settings_dashboard_template_and_import_routes(gateway, seen):
    settings = requests.get(f"{gateway}/certification-settings", headers=auth(FUNDER_TOKEN))
    assert settings.status_code == 200 and settings.json()["code_length"] == 4
    assert_problem(requests.get(f"{gateway}/certification-settings", headers=auth()), 403,
                   "forbidden_role")
    bad = requests.put(f"{gateway}/certification-settings", headers=auth(FUNDER_TOKEN),
                       json={"code_length": 5})
    assert_problem(bad, 422, "invalid_body")
    saved = requests.put(f"{gateway}/certification-settings", headers=auth(FUNDER_TOKEN),
                         json={"entry_mode": "half_day", "code_length": 6})
    assert saved.status_code == 200 and saved.json()["entry_mode"] == "half_day"
    assert requests.get(f"{gateway}/pending-actions", headers=auth()).json()["count"] == 0
    proposal = requests.get(f"{gateway}/dossiers/d1/certificates/2026-02/hours/proposal",
                            params={"source": "spread"}, headers=auth())
    assert proposal.status_code == 200 and proposal.json()["source"] == "spread"
    assert_problem(requests.get(f"{gateway}/dossiers/d1/certificates/2026-02/hours/proposal",
                                params={"source": "other"}, headers=auth()), 422,
                   "invalid_query")
    code = requests.post(f"{gateway}/dossiers/d1/certificates/2026-02/certification-code",
                         json={"attest": True, "accept_ip": True}, headers=auth())
    assert code.status_code == 202 and code.json()["code_length"] == 4
    assert_problem(requests.post(f"{gateway}/dossiers/d1/certificates/2026-02/certify",
                                 json={"attest": True, "method": 2, "code": "12ab"},
                                 headers=auth()), 422, "invalid_body")
    reopened = requests.post(f"{gateway}/dossiers/d1/certificates/2026-02/reopen",
                             json={"reason": "Erreur de saisie"}, headers=auth(FUNDER_TOKEN))
    assert reopened.status_code == 200 and reopened.json()["reopen_reason"] == "Erreur de saisie"
    template = requests.get(f"{gateway}/certificates/template", params={"month": "2026-02"},
                            headers=auth())
    assert template.status_code == 200 and template.content == b"PK"
    assert "modele-heures-2026-02.xlsx" in template.headers["Content-Disposition"]
    assert template.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    imported = requests.post(f"{gateway}/certificates/import", headers=auth(),
                             files={"file": ("heures.xlsx", b"PK\x03\x04")})
    assert imported.status_code == 202, imported.text
    assert imported.headers["Location"] == "/jobs/certification-j1"
    assert imported.json()["kind"] == "certification.import_hours"
    assert seen["certification"][-1][1:] == ("import_hours", {
        "filename": "heures.xlsx", "content_base64": base64.b64encode(b"PK\x03\x04").decode()})


def test_correlation_id_is_echoed_and_propagated(gateway, seen):
    reply = requests.get(f"{gateway}/dossiers", params={"q": "DUBOIS"},
                         headers=auth(**{"X-Correlation-Id": "abc-123"}))
    assert reply.status_code == 200 and reply.headers["X-Correlation-Id"] == "abc-123"
    assert seen["dossiers"][-1][0] == "abc-123"
    assert seen["dossiers"][-1][-1] == "DUBOIS"
    assert seen["identity"][-1][0] == "abc-123"
    fresh = requests.get(f"{gateway}/nowhere", headers={"X-Correlation-Id": "bad id!"})
    assert fresh.headers["X-Correlation-Id"] not in ("", "bad id!")
    problem = requests.get(f"{gateway}/me", headers={"X-Correlation-Id": "xyz"})
    assert problem.headers["X-Correlation-Id"] == "xyz" == problem.json()["correlation_id"]


def test_document_download_headers(gateway):
    reply = requests.get(f"{gateway}/documents/doc1/content", headers=auth())
    assert reply.status_code == 200 and reply.content == PDF
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["X-Content-SHA256"] == hashlib.sha256(PDF).hexdigest()
    assert reply.headers["Content-Disposition"] == (
        "attachment; filename=\"certificat fevrier 2026.pdf\"; "
        "filename*=UTF-8''certificat%20f%C3%A9vrier%202026.pdf")


def test_uploads_reach_the_service_as_base64_with_their_fields(gateway, seen):
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 4
    reply = requests.post(f"{gateway}/documents", headers=auth(),
                          files={"file": ("kbis été.pdf", pdf, "application/pdf")},
                          data={"category": "kbis", "label": "KBIS 2026", "dossier_id": "",
                                "period_start": "2026-01-01"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    _, _, actor, payload = seen["documents"][-1]
    assert actor["organisation_id"] == "o1"
    assert payload == {"category": "kbis", "label": "KBIS 2026", "filename": "kbis été.pdf",
                       "content_base64": base64.b64encode(pdf).decode(),
                       "period_start": "2026-01-01", "dossier_id": None,
                       "organisation_id": None, "period_end": None}
    replaced = requests.put(f"{gateway}/documents/doc1/content", headers=auth(),
                            files={"file": ("v2.pdf", b"%PDF-1.7 v2")})
    assert replaced.status_code == 200 and replaced.json()["filename"] == "v2.pdf"
    assert seen["documents"][-1][1:3] == ("replace_document", "doc1")


def test_upload_problems(gateway, monkeypatch, seen):
    url = f"{gateway}/documents"
    missing = assert_problem(requests.post(url, headers=auth(), files={"x": ("a", b"a")},
                                           data={"category": "kbis"}), 422, "invalid_body")
    assert missing["errors"][0]["loc"] == ["file"]
    assert_problem(requests.post(url, headers=auth(), json={"category": "kbis"}),
                   415, "unsupported_media_type")
    bad = assert_problem(requests.post(url, headers=auth(), files={"file": ("a.pdf", b"%PDF")},
                                       data={"category": "Not A Code"}), 422, "invalid_body")
    assert bad["errors"][0]["loc"] == ["category"]
    from gateway import routes
    monkeypatch.setattr(routes, "MAX_UPLOAD_BYTES", 1000)
    assert_problem(requests.post(url, headers=auth(), files={"file": ("a.pdf", b"x" * 1001)},
                                 data={"category": "kbis"}), 413, "payload_too_large")
    assert "upload" not in [call[1] for call in seen.get("documents", [])]


def test_document_routes(gateway, seen):
    listing = requests.get(f"{gateway}/documents", params={"q": "KBIS"}, headers=auth())
    assert listing.status_code == 200 and seen["documents"][-1][1:] == (
        "list_documents", None, "KBIS")
    requests.get(f"{gateway}/documents", headers=auth())
    assert seen["documents"][-1][1:] == ("list_documents", None, None)
    grouped = requests.get(f"{gateway}/dossiers/d1/documents/by-category", headers=auth())
    assert grouped.json()[0]["documents"][0]["id"] == "doc1"
    renamed = requests.patch(f"{gateway}/documents/doc1", json={"label": "Nouveau"},
                             headers=auth())
    assert renamed.json()["label"] == "Nouveau"
    assert requests.delete(f"{gateway}/documents/doc1", headers=auth()).status_code == 204
    assert_problem(requests.delete(f"{gateway}/documents/checked", headers=auth()),
                   409, "document_checked")
    assert_problem(requests.post(f"{gateway}/documents/doc1/check", headers=auth()),
                   403, "forbidden_role")
    checked = requests.post(f"{gateway}/documents/doc1/check", headers=auth(FUNDER_TOKEN))
    assert checked.json()["status"] == "checked"
    rejected = requests.post(f"{gateway}/documents/doc1/reject", headers=auth(FUNDER_TOKEN),
                             json={"reason_code": "illegible", "reason_text": "Flou"})
    assert (rejected.json()["status"], rejected.json()["reason_text"]) == ("rejected", "Flou")
    assert requests.get(f"{gateway}/document-categories", headers=auth()).json()[0][
        "code"] == "kbis"


def test_draft_certificate_download_and_public_verification(gateway):
    draft = requests.get(f"{gateway}/dossiers/d1/certificates/2026-02/draft", headers=auth())
    assert draft.status_code == 200 and draft.content == PDF
    assert draft.headers["Content-Type"] == "application/pdf"
    assert draft.headers["X-Content-SHA256"] == hashlib.sha256(PDF).hexdigest()
    assert draft.headers["Content-Disposition"].startswith(
        "attachment; filename=\"projet certificat 2026-02.pdf\"")
    verified = requests.get(f"{gateway}/verifications/REF-1")
    assert verified.status_code == 200 and verified.json()["valid"] is True
    assert requests.get(f"{gateway}/verifications/other").json()["valid"] is False


def test_a_job_is_answered_at_once_with_where_to_follow_it(gateway):
    """docs/jobs.md: 202 and Location for a new job, 200 for the same one submitted again;
    /jobs/{job_id} asks the service its id names, and only a service that runs jobs."""
    url = f"{gateway}/payments/import"
    submitted = requests.post(url, headers=auth(FUNDER_TOKEN), json={"payments": [{"n": 1}]})
    assert submitted.status_code == 202, submitted.text
    assert submitted.headers["Location"] == "/jobs/payments-j1"
    again = requests.post(url, headers=auth(FUNDER_TOKEN), json={"payments": [
        {"number": "AGAIN"}]})
    assert (again.status_code, again.json()["resubmitted"]) == (200, True)
    followed = requests.get(gateway + submitted.headers["Location"], headers=auth(FUNDER_TOKEN))
    assert followed.status_code == 200 and followed.json()["items"] == [
        {"row": 1, "result": "created"}]
    listed = requests.get(f"{gateway}/jobs", headers=auth(FUNDER_TOKEN))
    assert [job["id"] for job in listed.json()] == ["payments-j1"]
    produced = requests.get(f"{gateway}/jobs/payments-j1/file", headers=auth(FUNDER_TOKEN))
    assert produced.content == b"a;b\n" and produced.headers["Content-Type"] == "text/csv"
    assert "filename*=UTF-8''r%C3%A8glements.csv" in produced.headers["Content-Disposition"]
    for unknown in ("nowhere-j1", "identity-j1", "payments-j2"):
        assert_problem(requests.get(f"{gateway}/jobs/{unknown}", headers=auth(FUNDER_TOKEN)),
                       404, "job_not_found")
    assert_problem(requests.post(f"{gateway}/jobs/payments-j1/cancel",
                                 headers=auth(FUNDER_TOKEN)), 409, "job_finished")
    assert_problem(requests.get(f"{gateway}/jobs/certification-j9", headers=auth()), 404,
                   "job_not_found")


def test_a_replay_is_a_job_followed_where_any_job_is(gateway):
    started = requests.post(f"{gateway}/integration/replays", headers=auth(FUNDER_TOKEN),
                            json={"since": "2026-10-01T00:00:00Z"})
    assert (started.status_code, started.headers["Location"]) == (202,
                                                                   "/jobs/integration-r1")
    assert started.json()["kind"] == "integration.replay"
    again = requests.post(f"{gateway}/integration/replays", headers=auth(FUNDER_TOKEN),
                          json={"after_event_id": "AGAIN"})
    assert (again.status_code, again.json()["resubmitted"]) == (200, True)
    followed = requests.get(gateway + started.headers["Location"], headers=auth(FUNDER_TOKEN))
    assert followed.json()["summary"] == {"sent": 3}
    to_webhook = requests.post(f"{gateway}/webhooks/w1/replays", headers=auth(FUNDER_TOKEN),
                               json={"since": "2026-10-01T00:00:00Z"})
    assert (to_webhook.status_code, to_webhook.headers["Location"]) == (
        202, "/jobs/integration-r1")


def test_the_payments_export_is_a_job(gateway, seen):
    search = {"start": "2019-08-01", "dossier_number": "DEMO-0001"}
    exported = requests.post(f"{gateway}/payments/exports", headers=auth(), json=search)
    assert (exported.status_code, exported.headers["Location"]) == (202, "/jobs/payments-j1")
    assert exported.json()["kind"] == "payments.export"
    assert seen["payments"][-1][1:] == ("export_payments", {
        **search, "end": None, "payment_number": None, "organisation_id": None})
    assert_problem(requests.post(f"{gateway}/payments/exports", headers=auth(),
                                 json={"start": "hier"}), 422, "invalid_body")


def test_dossier_change_and_import_routes(gateway, seen):
    changed = requests.patch(f"{gateway}/dossiers/d1", headers=auth(FUNDER_TOKEN),
                             json={"status": "closed", "employer_id": None})
    assert changed.status_code == 200, changed.text
    # Only what was sent reaches the service: null removes, absent keeps.
    assert seen["dossiers"][-1][1:] == ("update_dossier", "d1",
                                        {"status": "closed", "employer_id": None})
    assert_problem(requests.patch(f"{gateway}/dossiers/d1", headers=auth(),
                                  json={"status": "closed"}), 403, "forbidden_role")
    assert_problem(requests.patch(f"{gateway}/dossiers/d1", headers=auth(FUNDER_TOKEN),
                                  json={"number": "X"}), 422, "invalid_body")
    batch = {"rows": [{"number": "20X000703"}]}
    imported = requests.post(f"{gateway}/dossiers/import", headers=auth(API_TOKEN), json=batch)
    assert (imported.status_code, imported.headers["Location"]) == (202, "/jobs/dossiers-j1")
    assert seen["dossiers"][-1][1:] == ("import_dossiers", batch)
    again = requests.post(f"{gateway}/dossiers/import", headers=auth(API_TOKEN),
                          json={"rows": [{"number": "AGAIN"}]})
    assert (again.status_code, again.json()["resubmitted"]) == (200, True)
    assert_problem(requests.post(f"{gateway}/dossiers/import", headers=auth(FUNDER_TOKEN),
                                 json=batch), 403, "forbidden_role")
    sheet = "N° dossier;SIRET\n20X000703;73282932000074\n".encode()
    uploaded = requests.post(f"{gateway}/dossiers/import/spreadsheet",
                             headers=auth(FUNDER_TOKEN),
                             files={"file": ("dossiers.csv", sheet)})
    assert uploaded.status_code == 202, uploaded.text
    assert uploaded.json()["kind"] == "dossiers.import_spreadsheet"
    report = requests.get(f"{gateway}/jobs/dossiers-j1", headers=auth(FUNDER_TOKEN)).json()
    assert report["items"][1]["errors"][0]["column"] == "N° dossier"
    assert seen["dossiers"][-1][1:] == ("import_spreadsheet", {
        "filename": "dossiers.csv", "content_base64": base64.b64encode(sheet).decode()})
    assert_problem(requests.post(f"{gateway}/dossiers/import/spreadsheet",
                                 headers=auth(FUNDER_TOKEN),
                                 files={"file": ("dossiers.pdf", PDF)}),
                   422, "not_a_spreadsheet")


def test_the_idempotency_key_is_passed_on_or_made_per_request(gateway, seen):
    url = f"{gateway}/dossiers/d1/certificates/2026-02/transmit"
    for sent in ("k-1", '"k-1"'):  # the IETF draft's form is a quoted string
        reply = requests.post(url, headers=auth(FUNDER_TOKEN, **{"Idempotency-Key": sent}))
        assert reply.status_code == 200, reply.text
        assert seen["certification"][-1][1:] == ("transmit_hours", "k-1")
    for _ in range(2):  # none sent: one per request, so that a redelivery is recognised
        assert requests.post(url, headers=auth(FUNDER_TOKEN)).status_code == 200
    made = [call[-1] for call in seen["certification"][-2:]]
    assert all(made) and made[0] != made[1]
    for bad in ("", "a b", "x" * 256, "clé"):
        assert_problem(requests.post(url, headers=auth(FUNDER_TOKEN, **{"Idempotency-Key": bad})),
                       422, "invalid_idempotency_key")


def test_an_unreachable_broker_is_503_broker_unavailable_with_retry_after(gateway,
                                                                          monkeypatch):
    def refused(*args, **kwargs):
        raise KombuOperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(publish.Publisher, "publish", refused)
    reply = requests.post(f"{gateway}/dossiers/d1/certificates/2026-02/certify",
                          json={"attest": True}, headers=auth(**{"Idempotency-Key": "k-2"}))
    assert_problem(reply, 503, "broker_unavailable")
    assert reply.headers["Retry-After"] == "5"


def test_health_degraded_then_ok(gateway, stack):
    degraded = requests.get(f"{gateway}/health")
    assert degraded.status_code == 503 and degraded.headers["Retry-After"] == "5"
    report = degraded.json()
    assert report["status"] == "degraded"
    assert report["services"]["notifications"]["status"] == "service_unavailable"
    assert report["services"]["identity"]["status"] == "ok"
    # One service down takes out its routes only: the gateway stays ready, logins go on.
    for probe in ("/health/live", "/health/ready"):
        assert requests.get(f"{gateway}{probe}").status_code == 200
    down = assert_problem(requests.get(f"{gateway}/notifications", headers=auth()), 503,
                          "service_unavailable")
    assert down["details"]["service"] == "notifications"
    assert requests.get(f"{gateway}/me", headers=auth()).status_code == 200
    stack.start(FakeNotifications)
    assert requests.get(f"{gateway}/notifications", headers=auth()).status_code == 200
    healthy = requests.get(f"{gateway}/health")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["status"] == "ok"


def test_openapi_and_docs_are_served(gateway):
    document = requests.get(f"{gateway}/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    docs = requests.get(f"{gateway}/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["Content-Type"]
    assert 'src="docs/assets/swagger-ui-bundle.js"' in docs.text
    assert "http:" not in docs.text and "https:" not in docs.text  # it works offline


@pytest.mark.parametrize("name, media_type", [
    ("swagger-ui.css", "text/css; charset=utf-8"),
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("swagger-ui-standalone-preset.js", "text/javascript; charset=utf-8"),
    ("favicon-32x32.png", "image/png"), ("favicon-16x16.png", "image/png")])
def test_the_docs_assets_are_served_from_the_gateway(gateway, name, media_type):
    reply = requests.get(f"{gateway}/docs/assets/{name}")
    assert reply.status_code == 200 and reply.content
    assert reply.headers["Content-Type"] == media_type
    assert reply.headers["Cache-Control"] == "public, max-age=86400"


@pytest.mark.parametrize("name", ["index.html", "%2E%2E", "%2E%2E%2Fpages.py",
                                  "..%2F..%2Fgateway%2Fservice.py"])
def test_no_other_file_is_served_as_a_docs_asset(gateway, name):
    assert_problem(requests.get(f"{gateway}/docs/assets/{name}"), 404, "route_not_found")


# The funder token reaches most routes; tests/e2e/test_openapi_conformance.py runs both
# tokens against the real services.
@pytest.mark.parametrize("token", [FUNDER_TOKEN])
def test_schemathesis_finds_no_server_error(gateway, stack, tmp_path, token):
    stack.ensure(FakeNotifications)  # else /health is rightly 503, which schemathesis flags
    # Every operation's documented example, the coverage phase's boundary values, then 3
    # fuzzed requests per operation: more doubles the suite's longest step for little more.
    command = [str(Path(sys.executable).parent / "schemathesis"), "run",
               f"{gateway}/openapi.json", "--checks",
               "not_a_server_error,response_schema_conformance", "--max-examples", "3",
               "--phases", "examples,coverage,fuzzing", "--seed", "1", "--workers", "1",
               "--no-shrink", "-H", f"Authorization: Bearer {token}",
               # the static pages (Swagger UI, AsyncAPI page) have tests of their own
               "--exclude-path-regex", "^/(docs|asyncapi)", "--request-timeout", "10"]
    # Green subprocess: the gateway lives in this process and must keep serving meanwhile.
    from eventlet.green import subprocess as green_subprocess
    result = green_subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                                  env={**os.environ, "NO_COLOR": "1"}, timeout=240)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
