"""The authorisation matrix: every route of the gateway's OpenAPI document, called as every
role, against organisation A's records (its dossier, certificate month, document, users,
API token), on the real stack.

Each cell of EXPECTED is the exact status a (route, role) must get; a route added to the
gateway without its line here fails the test. Besides the status, no response to someone
outside organisation A and its funder may carry A's data: its ids in a success, its
dossier number, names or emails anywhere.

Roles, all relative to organisation A (funder F):
  fadm  F's administrator            fagt  F's agent
  ofun  another funder's administrator
  norg  a user of A whose only right is payments (no hours, no documents, no users)
  oadm  organisation B's administrator (same funder, every right)
  ousr  a user of B with the payments right only
  otok  an API token of B (every right)
  anon  no token
  bene  the beneficiary of A's dossier  empl  its employer (both see that dossier)
  oben  the beneficiary of a dossier of B
"""
from __future__ import annotations

import os
import uuid
from datetime import date, timedelta

import pytest
import requests

from tests.support.gateway import (bootstrap_funder, certify_by_event, first_login,
                                   letterhead_ready, month_shift, new_organisation)
from tools.client import Client, provisional_password

pytestmark = pytest.mark.e2e

ROLES = ("fadm", "fagt", "ofun", "norg", "oadm", "ousr", "otok", "anon", "bene", "empl", "oben")
OUTSIDERS = frozenset({"ofun", "oadm", "ousr", "otok", "anon", "oben"})
OTHER_PASSWORD = "Matrice-Passw0rd!"

# Routes left out, and why.
EXCLUDED = {
    ("post", "/auth/logout"): "ends the caller's own session, nobody else's (test_gateway)",
}

# Known defects outside the gateway: (route) -> why; the matrix records today's status for
# them and skips the id check of their successes. Empty: keep it so.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}

# route -> the status of each role, in ROLES order:
#            fadm fagt ofun norg oadm ousr otok anon bene empl oben
EXPECTED: dict[tuple[str, str], str] = {}


def expect(method: str, path: str, statuses: str) -> None:
    EXPECTED[(method, path)] = statuses


D = "/dossiers/{dossier_id}"
M = D + "/certificates/{month}"
DOC = "/documents/{document_id}"
ORG = "/organisations/{organisation_id}"
#                                                   fadm fagt ofun norg oadm ousr otok anon bene empl oben
expect("post", "/auth/login",                      "422  422  422  422  422  422  422  422  422  422  422")
expect("post", "/auth/personalise",                "409  409  409  409  409  409  403  401  409  409  409")
expect("post", "/auth/confirm-identifier",         "422  422  422  422  422  422  422  422  422  422  422")
expect("get", "/auth/confirm-identifier",          "200  200  200  200  200  200  200  200  200  200  200")
expect("post", "/auth/confirm-email",              "422  422  422  422  422  422  422  422  422  422  422")
expect("get", "/auth/confirm-email",               "200  200  200  200  200  200  200  200  200  200  200")
expect("post", "/auth/cancel-email-change",        "422  422  422  422  422  422  422  422  422  422  422")
expect("get", "/auth/cancel-email-change",         "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/auth/password-reset/confirm",      "200  200  200  200  200  200  200  200  200  200  200")
expect("post", "/auth/privacy-policy",             "200  200  200  200  200  200  403  401  200  200  200")
expect("post", "/auth/password-reset",             "202  202  202  202  202  202  202  202  202  202  202")
expect("post", "/auth/password-reset/confirm",     "422  422  422  422  422  422  422  422  422  422  422")
expect("get", "/me",                               "200  200  200  200  200  200  403  401  200  200  200")
expect("patch", "/me",                             "200  200  200  200  200  200  403  401  200  200  200")
expect("post", "/me/password",                     "422  422  422  422  422  422  403  401  422  422  422")
expect("post", "/me/identifier",                   "422  422  422  422  422  422  403  401  422  422  422")
expect("get", "/api-tokens",                       "403  403  403  403  200  403  200  401  403  403  403")
expect("post", "/api-tokens",                      "403  403  403  403  201  403  403  401  403  403  403")
expect("delete", "/api-tokens/{token_id}",         "403  403  403  403  404  403  403  401  403  403  403")
expect("post", "/organisations",                   "409  409  201  403  403  403  403  401  403  403  403")
expect("get", ORG,                                 "200  200  404  200  404  404  404  401  404  404  404")
expect("get", ORG + "/profile",                    "200  200  404  200  404  404  404  401  404  404  404")
expect("patch", ORG + "/profile",                  "403  403  403  403  404  404  404  401  404  404  404")
expect("put", ORG + "/certifier",                  "403  403  403  403  404  404  404  401  404  404  404")
expect("get", ORG + "/users",                      "200  200  404  403  404  404  404  401  404  404  404")
expect("post", ORG + "/users",                     "403  403  403  403  404  404  404  401  404  404  404")
expect("patch", "/users/{user_id}",                "403  403  404  403  404  404  404  401  404  404  404")
expect("get", "/users/{user_id}",                  "200  200  404  403  404  404  404  401  404  404  404")
expect("post", "/users/{user_id}/reset-link",      "403  403  404  403  404  404  404  401  404  404  404")
expect("post", "/users/{user_id}/resend-credentials",
       "200  200  404  403  404  404  404  401  404  404  404")
expect("post", "/parties/{party_id}/resend-credentials",
       "200  200  404  403  403  403  403  401  403  403  403")
expect("post", "/funder-users",                    "201  403  201  403  403  403  403  401  403  403  403")
expect("get", ORG + "/audit",                      "200  200  404  403  403  403  403  401  403  403  403")
expect("get", "/audit",                            "200  200  200  403  403  403  403  401  403  403  403")
expect("get", "/audit/verify",                     "200  403  200  403  403  403  403  401  403  403  403")
expect("post", "/beneficiaries",                   "201  201  201  403  403  403  403  401  403  403  403")
expect("post", "/employers",                       "201  201  201  403  403  403  403  401  403  403  403")
expect("post", "/dossiers",                        "201  201  422  403  403  403  403  401  403  403  403")
expect("get", "/dossiers",                         "200  200  200  200  200  200  200  401  200  200  200")
expect("get", "/dossiers/counts",                  "200  200  200  200  200  200  200  401  200  200  200")
expect("get", D,                                   "200  200  404  200  404  404  404  401  200  200  404")
expect("patch", D,                                 "200  200  404  403  403  403  403  401  403  403  403")
expect("post", "/dossiers/import",                 "403  403  403  403  202  403  202  401  403  403  403")
expect("post", "/dossiers/import/spreadsheet",     "202  202  202  403  403  403  403  401  403  403  403")
expect("get", D + "/certificates",                 "200  200  404  200  404  404  404  401  200  200  404")
expect("get", M,                                   "200  200  404  200  404  404  404  401  200  200  404")
expect("put", M + "/hours",                        "403  403  403  403  404  403  404  401  403  403  403")
expect("patch", M + "/hours",                      "403  403  403  403  404  403  404  401  403  403  403")
expect("post", M + "/certify",                     "403  403  403  403  404  403  404  401  403  403  403")
expect("get", M + "/payment-lock",                 "200  200  404  200  404  404  404  401  200  200  404")
expect("get", M + "/draft",                        "403  403  404  200  404  404  404  401  403  403  404")
expect("post", M + "/attendance-sheet",            "403  403  404  201  404  404  404  401  403  403  404")
expect("post", M + "/certification-code",          "403  403  403  403  404  403  404  401  403  403  403")
expect("get", M + "/hours/proposal",               "403  403  403  403  404  403  404  401  403  403  403")
expect("post", M + "/reopen",                      "409  409  404  403  403  403  403  401  403  403  403")
expect("post", M + "/validate",                    "403  403  403  403  403  403  403  401  409  409  404")
expect("post", M + "/contest",                     "403  403  403  403  403  403  403  401  409  409  404")
expect("post", M + "/transmit",                    "409  409  404  403  403  403  403  401  403  403  403")
expect("get", "/pending-actions",                  "403  403  403  200  200  200  200  401  200  200  200")
expect("get", "/certificates/template",            "403  403  403  403  200  403  200  401  403  403  403")
# otok is organisation B as oadm is, with the same file: oadm's job, resubmitted (200)
expect("post", "/certificates/import",             "403  403  403  403  202  403  200  401  403  403  403")
expect("get", "/certification-settings",           "200  200  200  403  403  403  403  401  403  403  403")
expect("put", "/certification-settings",           "200  403  200  403  403  403  403  401  403  403  403")
expect("get", "/payment-settings",                 "200  200  200  403  403  403  403  401  403  403  403")
expect("put", "/payment-settings",                 "200  403  200  403  403  403  403  401  403  403  403")
P = "/payments/{payment_id}"
J = "/jobs/{job_id}"  # the funder's import job: its staff's, nobody else's
expect("get", "/jobs",                             "200  200  200  200  200  200  200  401  200  200  200")
expect("get", J,                                   "200  200  404  404  404  404  404  401  404  404  404")
expect("get", J + "/file",                         "404  404  404  404  404  404  404  401  404  404  404")
expect("post", J + "/cancel",                      "409  409  404  404  404  404  404  401  404  404  404")
expect("post", M + "/payment-lock/unlock",         "404  404  404  403  403  403  403  401  403  403  403")
expect("post", "/payments",                        "201  201  422  403  403  403  403  401  403  403  403")
expect("post", "/payments/import",                 "202  202  202  403  403  403  403  401  403  403  403")
expect("get", "/payments",                         "200  200  200  200  200  200  200  401  403  403  403")
expect("post", "/payments/exports",                "202  202  202  202  202  202  202  401  403  403  403")
expect("get", P,                                   "200  200  404  200  404  404  404  401  404  404  404")
expect("post", P + "/remittance-advice",           "200  200  404  403  403  403  403  401  403  403  403")
expect("put", P + "/reconciliation",               "403  403  403  200  404  404  404  401  403  403  403")
expect("get", ORG + "/bank-details",               "200  200  404  200  404  404  404  401  404  404  404")
expect("post", ORG + "/bank-details",              "403  403  403  201  404  404  404  401  403  403  403")
expect("post", ORG + "/bank-details/review",       "200  409  404  403  403  403  403  401  403  403  403")
expect("get", ORG + "/credit-note-mode",           "200  200  404  200  404  404  404  401  404  404  404")
expect("put", ORG + "/credit-note-mode",           "403  403  403  200  404  404  404  401  403  403  403")
CN = "/credit-notes/{credit_note_id}"
expect("post", "/credit-notes",                    "201  201  422  403  403  403  403  401  403  403  403")
expect("get", "/credit-notes",                     "200  200  200  200  200  200  200  401  403  403  403")
expect("get", CN,                                  "200  200  404  200  404  404  404  401  404  404  404")
expect("post", CN + "/received",                   "409  409  404  403  403  403  403  401  403  403  403")
expect("post", CN + "/pro-forma",                  "200  200  404  403  403  403  403  401  403  403  403")
expect("get", "/verifications/{reference}",        "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/document-categories",              "200  200  200  200  200  200  200  401  200  200  200")
expect("post", "/document-categories",             "422  422  422  403  403  403  403  401  403  403  403")
expect("post", "/documents",                       "201  201  404  403  404  403  404  401  201  201  404")
expect("get", "/documents",                        "200  200  200  200  200  200  200  401  200  200  200")
expect("get", DOC,                                 "200  200  404  200  404  404  404  401  404  404  404")
expect("patch", DOC,                               "403  403  404  403  404  403  404  401  404  404  404")
expect("delete", DOC,                              "403  403  404  403  404  403  404  401  404  404  404")
expect("put", DOC + "/content",                    "403  403  404  403  404  403  404  401  404  404  404")
expect("post", DOC + "/check",                     "200  409  404  403  403  403  403  401  403  403  403")
expect("post", DOC + "/reject",                    "200  200  404  403  403  403  403  401  403  403  403")
expect("get", DOC + "/content",                    "200  200  404  200  404  404  404  401  404  404  404")
expect("get", D + "/documents",                    "200  200  200  200  200  200  200  401  200  200  200")
expect("get", D + "/documents/by-category",        "200  200  200  200  200  200  200  401  200  200  200")
# issue 15: a funder's account settings and self-service sign-up (the matrix's funder keeps
# accounts by_funder: sign-up is closed, the same 422 for every caller).
expect("get", "/account-settings",                 "200  200  200  403  403  403  403  401  403  403  403")
expect("put", "/account-settings",                 "200  403  200  403  403  403  403  401  403  403  403")
expect("get", "/password-rules",                   "404  404  404  404  404  404  404  404  404  404  404")
expect("post", "/signup",                          "422  422  422  422  422  422  422  422  422  422  422")
expect("get", "/signup",                           "200  200  200  200  200  200  200  200  200  200  200")
expect("post", "/signup/activate",                 "422  422  422  422  422  422  422  422  422  422  422")
expect("get", "/signup/activate",                  "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/signups",                          "200  200  200  403  403  403  403  401  403  403  403")
expect("post", "/signups/{signup_id}/suspend",     "404  404  404  403  403  403  403  401  403  403  403")
# the notification centre (issue 16): each person their own; an API token has none
expect("get", "/notifications",                    "200  200  200  200  200  200  403  401  200  200  200")
expect("get", "/notifications/unread-count",       "200  200  200  200  200  200  403  401  200  200  200")
expect("post", "/notifications/{notification_id}/read", "404  404  404  404  404  404  403  401  404  404  404")
expect("post", "/notifications/read-all",          "200  200  200  200  200  200  403  401  200  200  200")
expect("get", "/me/alert-settings",                "200  200  200  200  200  200  403  401  200  200  200")
expect("put", "/me/alert-settings",                "200  200  200  200  200  200  403  401  200  200  200")
expect("get", "/health",                           "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/health/live",                      "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/health/ready",                     "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/openapi.json",                     "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/docs",                             "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/docs/assets/{asset}",              "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/asyncapi.json",                    "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/asyncapi",                         "200  200  200  200  200  200  200  200  200  200  200")
expect("get", "/",                                 "200  200  200  200  200  200  200  200  200  200  200")
# emails sent on a funder's behalf (issue 16): its staff only, its own only
expect("get", "/emails",                           "200  200  200  403  403  403  403  401  403  403  403")
expect("post", "/emails/{email_id}/resend",        "404  404  404  403  403  403  403  401  403  403  403")
# replays of the public events (issue 17): a funder's staff, of their own funder's events
expect("post", "/integration/replays",             "202  202  202  403  403  403  403  401  403  403  403")
expect("get", "/integration/replays",              "200  200  200  403  403  403  403  401  403  403  403")
expect("get", "/integration/replays/{replay_id}",  "404  404  404  403  403  403  403  401  403  403  403")
# webhooks (issue 17): a funder's admins register and act, its agents read; their own only
expect("post", "/webhooks",                        "201  403  201  403  403  403  403  401  403  403  403")
expect("get", "/webhooks",                         "200  200  200  403  403  403  403  401  403  403  403")
expect("get", "/webhooks/{webhook_id}",            "404  404  404  403  403  403  403  401  403  403  403")
expect("delete", "/webhooks/{webhook_id}",         "404  403  404  403  403  403  403  401  403  403  403")
expect("post", "/webhooks/{webhook_id}/rotate-secret", "404  403  404  403  403  403  403  401  403  403  403")
expect("get", "/webhooks/{webhook_id}/deliveries", "404  404  404  403  403  403  403  401  403  403  403")
expect("get", "/webhooks/{webhook_id}/deliveries/{delivery_id}",
                                                   "404  404  404  403  403  403  403  401  403  403  403")
expect("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
                                                   "404  403  404  403  403  403  403  401  403  403  403")
expect("post", "/webhooks/{webhook_id}/replays",   "404  403  404  403  403  403  403  401  403  403  403")


def _pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>Matrice des accès</p>").write_pdf()


def _hours_sheet() -> bytes:
    """A filled hours template naming no dossier of the matrix: only access is at stake."""
    import io

    from openpyxl import Workbook
    book = Workbook()
    book.active.append(["N° dossier", "Mois", "Heures de présence en formation",
                        "Heures de présence en stage", "Heures d'absence"])
    book.active.append(["INCONNU-1", date.today().strftime("%Y-%m"), 7, 0, 0])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _user(role: str, **extra) -> dict:
    suffix = uuid.uuid4().hex[:6]
    return {"identifier": f"matrice-{role}-{suffix}", "name": "Compte Matrice",
            "email": f"matrice-{role}-{suffix}@matrice.example.org", **extra}


def _new_password() -> dict:
    return {"new_password": OTHER_PASSWORD, "new_password_confirmation": OTHER_PASSWORD}


def request_for(route: tuple[str, str], role: str, world: dict) -> dict:
    """requests' arguments for one call: valid input wherever it matters, so the service
    itself (not the body's validation) decides."""
    today = date.today()
    replay_since = f"{today - timedelta(days=1)}T{ROLES.index(role):02d}:00:00Z"
    bodies = {
        ("post", "/auth/login"): {"json": {}},  # no failed attempt is counted
        ("post", "/auth/personalise"): {"json": {"new_identifier": f"matrice-{role}",
                                                 "current_password": OTHER_PASSWORD,
                                                 **_new_password()}},
        ("post", "/auth/confirm-identifier"): {"json": {"token": "pas-un-jeton"}},
        ("get", "/auth/confirm-identifier"): {"params": {"token": "pas-un-jeton"}},
        ("post", "/auth/confirm-email"): {"json": {"token": "pas-un-jeton"}},
        ("get", "/auth/confirm-email"): {"params": {"token": "pas-un-jeton"}},
        ("post", "/auth/cancel-email-change"): {"json": {"token": "pas-un-jeton"}},
        ("get", "/auth/cancel-email-change"): {"params": {"token": "pas-un-jeton"}},
        ("get", "/auth/password-reset/confirm"): {"params": {"token": "pas-un-jeton"}},
        ("post", "/auth/privacy-policy"): {"json": {"version": "2026-01"}},
        ("post", "/auth/password-reset"): {"json": {"identifier": "personne-matrice"}},
        ("post", "/auth/password-reset/confirm"): {"json": {"token": "pas-un-jeton",
                                                            **_new_password()}},
        ("patch", "/me"): {"json": {}},
        # Security alerts: the one kind every role sets (always immediate).
        ("put", "/me/alert-settings"): {"json": {"settings": [{"kind": "security",
                                                               "frequency": "immediate"}]}},
        # A replay per role: the same one by a colleague would be theirs, answered 200.
        ("post", "/integration/replays"): {"json": {"since": replay_since}},
        ("post", "/webhooks"): {"json": {"url": "https://127.0.0.1:9/matrice",
                                         "event_types": ["*"], "description": role}},
        ("post", "/webhooks/{webhook_id}/replays"): {"json": {"since": replay_since}},
        ("post", "/me/password"): {"json": {"current_password": "Faux-Passw0rd!",
                                            **_new_password()}},
        ("post", "/me/identifier"): {"json": {"current_password": "Faux-Passw0rd!",
                                              "new_identifier": f"matrice-{role}"}},
        ("post", "/api-tokens"): {"json": {"name": f"matrice {role}",
                                           "expires_on": str(today + timedelta(days=10))}},
        ("post", "/organisations"): {"json": {
            "name": "Organisme Matrice", "siret": world["siret"],
            "email": "contact@matrice.example.org", "user": _user(role)}},
        ("patch", ORG + "/profile"): {"json": {"phone": "01 02 03 04 05"}},
        ("put", ORG + "/certifier"): {"json": {"requested": True}},
        ("post", ORG + "/users"): {"json": {**_user(role), "active": True,
                                            "rights": ["payments"]}},
        ("patch", "/users/{user_id}"): {"json": {"name": "Nom changé"}},
        ("post", "/funder-users"): {"json": {**_user(role), "role": "funder_agent"}},
        ("post", "/beneficiaries"): {"json": {"name": "MATRICE Paul",
                                              "email": "paul@matrice.example.org"}},
        ("post", "/employers"): {"json": {"name": "Matrice SARL",
                                          "email": "rh@matrice.example.org"}},
        ("post", "/dossiers"): {"json": {
            "number": f"MX{uuid.uuid4().hex[:8]}", "organisation_id": world["organisation_id"],
            "beneficiary_id": world["beneficiary_id"], "employer_id": world["employer_id"],
            "training_title": "Matrice", "session_start": str(month_shift(today, -2)),
            "session_end": str(month_shift(today, 3))}},
        ("patch", D): {"json": {"commission_date": str(month_shift(today, -3))}},
        ("post", "/dossiers/import"): {"json": {"rows": [{
            "number": f"MI{uuid.uuid4().hex[:8]}",
            "beneficiary": {"name": "IMPORT Matrice", "email": "import@matrice.example.org"},
            "training_title": "Matrice", "session_start": str(month_shift(today, -2)),
            "session_end": str(month_shift(today, 3))}]}},
        ("post", "/dossiers/import/spreadsheet"): {"files": {"file": ("dossiers.csv", (
            "N° dossier;SIRET;Bénéficiaire;E-mail bénéficiaire;Formation;Début de session;"
            f"Fin de session\nMS{uuid.uuid4().hex[:8]};{world['siret']};IMPORT Matrice;"
            f"import@matrice.example.org;Matrice;{month_shift(today, -2):%d/%m/%Y};"
            f"{month_shift(today, 3):%d/%m/%Y}\n").encode())}},
        ("put", M + "/hours"): {"json": {"training_hours": "1", "internship_hours": "0",
                                         "absence_hours": "0"}},
        ("patch", M + "/hours"): {"json": {"training_hours": "1"}},
        ("post", M + "/certify"): {"json": {"attest": True}},
        ("post", M + "/attendance-sheet"): {"json": {
            "granularity": "day", "days": [{"day": str(today.replace(day=1))}]}},
        ("post", M + "/certification-code"): {"json": {"attest": True, "accept_ip": True}},
        ("get", M + "/hours/proposal"): {"params": {"source": "spread"}},
        ("post", M + "/reopen"): {"json": {"reason": "Matrice"}},
        ("post", M + "/contest"): {"json": {"reason": "Matrice"}},
        ("get", "/certificates/template"): {"params": {"month": today.strftime("%Y-%m")}},
        ("post", "/certificates/import"): {"files": {"file": ("heures.xlsx", world["xlsx"])}},
        ("put", "/certification-settings"): {"json": {"entry_mode": "month",
                                                      "notify_funder": False}},
        ("put", "/payment-settings"): {"json": {"payer_name": "Transitions Pro Matrice"}},
        ("post", M + "/payment-lock/unlock"): {"json": {"reason": "Matrice"}},
        ("post", "/payments"): {"json": _payment(world, role)},
        ("post", "/payments/import"): {"json": {"payments": [_payment(world, role)]}},
        # a search of its own per role: fagt's would otherwise be fadm's job, resubmitted
        ("post", "/payments/exports"): {"json": {"payment_number": f"MATRICE-{role}"}},
        ("put", "/payments/{payment_id}/reconciliation"): {"json": {"reconciled": True}},
        ("post", ORG + "/bank-details"): {"json": _bank_details(world["rib_id"])},
        ("post", ORG + "/bank-details/review"): {"json": {"version": 1,
                                                          "decision": "validated"}},
        ("put", ORG + "/credit-note-mode"): {"json": {"mode": "deduction"}},
        ("post", "/credit-notes"): {"json": _credit_note(world["dossier_id"])},
        ("post", "/document-categories"): {"json": {}},
        ("post", "/documents"): {"data": {"category": "other", "label": "Pièce matrice",
                                          "dossier_id": world["dossier_id"]},
                                 "files": {"file": ("matrice.pdf", world["pdf"])}},
        ("patch", DOC): {"json": {"label": "Renommé par la matrice"}},
        ("put", DOC + "/content"): {"files": {"file": ("matrice.pdf", world["pdf"])}},
        ("post", DOC + "/reject"): {"json": {"reason_code": "illegible"}},
        # issue 15: settings left as they are (the matrix's passwords follow them)
        ("put", "/account-settings"): {"json": {"account_creation": "by_funder",
                                                "password_rules": "transitions_pro"}},
        ("get", "/password-rules"): {"params": {"funder_code": "inconnu-matrice"}},
        ("post", "/signup"): {"json": _signup(world)},
        ("get", "/signup"): {"params": {"funder": "inconnu-matrice"}},
        ("post", "/signup/activate"): {"json": {"email": "personne@matrice.example.org",
                                                "code": "AAAAAAAA", **_new_password()}},
        ("get", "/signup/activate"): {"params": {"email": "personne@matrice.example.org",
                                                 "code": "AAAAAAAA"}},
    }
    return bodies.get(route, {})


def _signup(world: dict) -> dict:
    """A complete sign-up form to the matrix's funder, which keeps accounts by_funder."""
    return {"funder_code": world["funder_code"], "siret": "55210055400013",
            "organisation_name": "Organisme Matrice", "certified": True,
            "terms_accepted": True,
            "holder": {"civility": "Madame", "last_name": "Matrice", "first_name": "Léa",
                       "email": "lea@matrice.example.org",
                       "email_confirmation": "lea@matrice.example.org"}}


def _payment(world: dict, role: str) -> dict:
    """A payment of A's dossier, for a month before the matrix's certificate month."""
    period = month_shift(date.today(), -2)
    return {"number": f"MX-{role}-{uuid.uuid4().hex[:6]}", "payment_date": str(date.today()),
            "organisation_id": world["organisation_id"], "lines": [{
                "dossier_id": world["dossier_id"], "hours_paid": "7", "amount": "70,00",
                "period_start": str(period.replace(day=1)),
                "period_end": str(period.replace(day=28))}]}


def _credit_note(dossier_id: str) -> dict:
    """1,00 € of what the world's payment paid on A's dossier, given back."""
    period = month_shift(date.today(), -2)
    return {"dossier_id": dossier_id, "period_start": str(period.replace(day=1)),
            "period_end": str(period.replace(day=28)), "amount": "1,00", "reason": "Matrice"}


def _bank_details(rib_id: str) -> dict:
    return {"iban": "FR76 1382 5002 0008 0146 3722 518", "bic": "CEPAFRPP382",
            "invoicing": "self", "rib_document_id": rib_id}


def url_of(path: str, world: dict) -> str:
    return path.format(**world["path_values"])


@pytest.fixture(scope="module")
def world(stack, smtp_server):
    """Organisation A with a dossier, a certificate month with hours, a document, an API
    token; organisation B; a client for each role."""
    funder = bootstrap_funder(stack)
    organisation, org_admin = new_organisation(stack, smtp_server, funder,
                                               name="Centre Horizon Matrice")
    letterhead_ready(org_admin, organisation["id"])  # before any entry of hours
    other_org, other_admin = new_organisation(stack, smtp_server, funder,
                                              siret="55208131766522")
    letterhead_ready(other_admin, other_org["id"])  # its hours import is judged on access
    today = date.today()
    suffix = uuid.uuid4().hex[:6]
    beneficiary = funder.post("/beneficiaries", json={
        "name": "BENEFICIAIRE Secret", "email": f"secret.beneficiaire-{suffix}@matrice.example.org"})
    employer = funder.post("/employers", json={"name": "Employeur Secret SARL",
                                               "email": f"rh.secret-{suffix}@matrice.example.org"})
    number = f"MA{uuid.uuid4().hex[:8]}"
    dossier = _dossier(funder, number, organisation["id"], beneficiary.json()["id"],
                       employer.json()["id"], "Formation Secrète")
    other_beneficiary = funder.post("/beneficiaries", json={
        "name": "AUTRE Beneficiaire", "email": f"autre-{suffix}@matrice.example.org"}).json()
    _dossier(funder, f"MB{uuid.uuid4().hex[:8]}", other_org["id"], other_beneficiary["id"],
             None, "Autre formation")
    # A's second beneficiary, whose credentials the matrix resends (nobody uses its account).
    spare = funder.post("/beneficiaries", json={
        "name": "BENEFICIAIRE Relance", "email": f"relance-{suffix}@matrice.example.org"}).json()
    _dossier(funder, f"MC{uuid.uuid4().hex[:8]}", organisation["id"], spare["id"], None,
             "Formation Relance")
    provisional_password(smtp_server.emails, spare["email"])  # its account exists
    month = today.replace(day=1).strftime("%Y-%m")
    hours = org_admin.put(f"/dossiers/{dossier['id']}/certificates/{month}/hours",
                          json={"training_hours": "7", "internship_hours": "0",
                                "absence_hours": "0"})
    assert hours.status_code == 200, hours.text
    pdf = _pdf()
    document = org_admin.post("/documents", data={"category": "kbis"},
                              files={"file": ("kbis.pdf", pdf)})
    assert document.status_code == 201, document.text
    token = org_admin.post("/api-tokens", json={
        "name": "ERP A", "expires_on": str(today + timedelta(days=30))}).json()
    me = org_admin.get("/me").json()
    rib = org_admin.post("/documents", data={"category": "bank_details"},
                         files={"file": ("rib.pdf", pdf)})
    assert rib.status_code == 201, rib.text
    bank = org_admin.post(f"/organisations/{organisation['id']}/bank-details",
                          json=_bank_details(rib.json()["document_id"]))
    assert bank.status_code == 201, bank.text
    settings = funder.put("/payment-settings", json={"payer_name": "Transitions Pro Matrice"})
    assert settings.status_code == 200, settings.text
    # Payments pay certified hours: the month they pay is locked for payment first.
    certify_by_event(stack, {"id": dossier["id"], "organisation": org_admin,
                             "beneficiary_email": beneficiary.json()["email"]},
                     month_shift(today, -2).strftime("%Y-%m"), "140")
    paid = funder.post("/payments", json=_payment({
        "organisation_id": organisation["id"], "dossier_id": dossier["id"]}, "world"))
    assert paid.status_code == 201, paid.text
    credit_note = funder.post("/credit-notes", json=_credit_note(dossier["id"]))
    assert credit_note.status_code == 201, credit_note.text
    imported = funder.finished_job(funder.post("/payments/import", json={"payments": [
        _payment({"organisation_id": organisation["id"], "dossier_id": dossier["id"]},
                 "import")]}))
    clients = {
        "fadm": funder,
        "fagt": _funder_agent(stack, smtp_server, funder),
        "ofun": bootstrap_funder(stack),
        "norg": _organisation_user(stack, smtp_server, org_admin, organisation["id"]),
        "oadm": other_admin,
        "ousr": _organisation_user(stack, smtp_server, other_admin, other_org["id"]),
        "otok": Client(stack.base_url, other_admin.post("/api-tokens", json={
            "name": "ERP B", "expires_on": str(today + timedelta(days=30))}).json()["token"]),
        "anon": Client(stack.base_url),
        **{role: _party_client(stack, smtp_server, email) for role, email in (
            ("bene", beneficiary.json()["email"]), ("empl", employer.json()["email"]),
            ("oben", other_beneficiary["email"]))},
    }
    return {
        "clients": clients, "siret": "73282932000074", "pdf": pdf, "xlsx": _hours_sheet(),
        "rib_id": rib.json()["document_id"],
        "organisation_id": organisation["id"], "dossier_id": dossier["id"],
        "beneficiary_id": beneficiary.json()["id"], "employer_id": employer.json()["id"],
        "funder_code": funder.identifier.removeprefix("agent-"),  # bootstrap_funder's
        "path_values": {
            "organisation_id": organisation["id"], "dossier_id": dossier["id"], "month": month,
            "document_id": document.json()["document_id"], "user_id": me["user"]["id"],
            "token_id": token["id"], "reference": "JAL-AAAAAAAAAAAA", "party_id": spare["id"],
            "payment_id": paid.json()["id"], "credit_note_id": credit_note.json()["id"],
            "signup_id": "inscription-inconnue", "notification_id": "notification-inconnue",
            "email_id": "e-mail-inconnu", "asset": "swagger-ui.css",
            "replay_id": "rejeu-inconnu", "webhook_id": "webhook-inconnu",
            "delivery_id": "envoi-inconnu", "job_id": imported["id"]},
        # A's data an outsider must never read: ids in a success, the rest anywhere.
        "ids": [organisation["id"], dossier["id"], document.json()["document_id"],
                me["user"]["id"], token["id"], paid.json()["id"], credit_note.json()["id"],
                imported["id"]],
        "secrets": [number, "Centre Horizon Matrice", "BENEFICIAIRE Secret",
                    "Employeur Secret", "Formation Secrète", org_admin.email,
                    org_admin.identifier, token["token"]],
    }


def _dossier(funder: Client, number: str, organisation_id: str, beneficiary_id: str,
             employer_id: str | None, title: str) -> dict:
    today = date.today()
    created = funder.post("/dossiers", json={
        "number": number, "organisation_id": organisation_id,
        "beneficiary_id": beneficiary_id, "employer_id": employer_id, "training_title": title,
        "session_start": str(month_shift(today, -2)), "session_end": str(month_shift(today, 3))})
    assert created.status_code == 201, created.text
    return created.json()


def _party_client(stack, smtp_server, email: str) -> Client:
    """A beneficiary or employer, whose account came with its first dossier."""
    return first_login(stack, smtp_server, email, email)


def _funder_agent(stack, smtp_server, funder: Client) -> Client:
    user = _user("agent")
    created = funder.post("/funder-users", json={**user, "role": "funder_agent"})
    assert created.status_code == 201, created.text
    return first_login(stack, smtp_server, user["identifier"], user["email"])


def _organisation_user(stack, smtp_server, admin: Client, organisation_id: str) -> Client:
    user = _user("payments")
    created = admin.post(f"/organisations/{organisation_id}/users",
                         json={**user, "active": True, "rights": ["payments"]})
    assert created.status_code == 201, created.text
    return first_login(stack, smtp_server, user["identifier"], user["email"])


def gateway_routes(base_url: str) -> list[tuple[str, str]]:
    document = requests.get(base_url + "/openapi.json", timeout=30).json()
    return [(method, path) for path, operations in document["paths"].items()
            for method in operations]


def test_every_route_has_its_line(stack):
    routes = set(gateway_routes(stack.base_url))
    assert routes - set(EXCLUDED) == set(EXPECTED), (
        f"missing: {sorted(routes - set(EXCLUDED) - set(EXPECTED))}; "
        f"unknown: {sorted(set(EXPECTED) - routes)}")
    assert all(len(statuses.split()) == len(ROLES) for statuses in EXPECTED.values())


def test_access_matrix(stack, world):
    """Every route, every role, in the document's order: all cells are compared at the end,
    so one run shows every difference."""
    differences, leaks = [], []
    for route in gateway_routes(stack.base_url):
        if route in EXCLUDED:
            continue
        method, path = route
        expected = dict(zip(ROLES, EXPECTED[route].split()))
        for role in ROLES:
            client = world["clients"][role]
            response = getattr(client, method)(url_of(path, world),
                                               **request_for(route, role, world))
            if str(response.status_code) != expected[role]:
                differences.append(f"{method.upper()} {path} as {role}: "
                                   f"{response.status_code} (expected {expected[role]}) "
                                   f"{response.text[:160]}")
            if role in OUTSIDERS:
                leaks.extend(_leaks(route, role, response, world))
    report = "\n".join(differences + leaks)
    if os.environ.get("JALON_MATRIX_REPORT"):
        with open(os.environ["JALON_MATRIX_REPORT"], "w") as out:
            out.write(report)
    assert not differences and not leaks, report


def _leaks(route, role: str, response, world: dict) -> list[str]:
    text = response.content.decode("utf-8", "replace") if _is_text(response) else ""
    found = [secret for secret in world["secrets"] if secret and secret in text]
    if 200 <= response.status_code < 300 and route not in KNOWN_DEFECTS:
        found += [an_id for an_id in world["ids"] if an_id in text]
    return [f"LEAK {route[0].upper()} {route[1]} as {role}: {found}"] if found else []


def _is_text(response) -> bool:
    kind = response.headers.get("Content-Type", "")
    return kind.startswith(("application/json", "application/problem+json", "text/"))


def test_month_lock_of_another_organisation_is_not_answered(world):
    """payments once answered « not locked » to anyone for a month without a lock."""
    lock = world["clients"]["oadm"].get(url_of(M + "/payment-lock", world))
    assert lock.status_code == 404
