"""Demo data, created through the running system: `python -m tools.demo [--base-url URL]`.

A funder "transitions-pro-demo" and its administrator (by the ops-only RPC
identity.bootstrap_funder), then through the HTTP gateway as that administrator: a funder
agent; a training organisation whose first user (its administrator) goes through the first
login (provisional password read from the emails, personalised identifier confirmed by the
emailed link, privacy policy accepted); a second user with the hours right only; the
organisation asks to be a certifier and has deposited its KBIS and consent letter, not yet
checked; a beneficiary, an employer and a dossier whose session runs from three months ago
to today; and the organisation's other documents in every status a user meets (deposited by
itself, deposited by the funder, checked, rejected with a reason). Monthly certificates in
every status, both methods, and three funders' settings (ensure_certificates): the main
funder keeps the defaults; a second asks for per-day entry, 6-digit codes valid 10 minutes
and the beneficiary's then the employer's validation, with a certifier organisation (KBIS
and consent letter checked: method 2); a third is emailed at each certification.
Idempotent: what exists is found and reused, nothing is duplicated.
Emails are read from <JALON_DATA_DIR>/mail (embedded mode writes them there); tests pass
their own reader (an SMTP server's Maildir).
Prints the logins and ready-to-paste curl commands for the core flow.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import io
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

import requests

from contracts.documents import ReasonCode, Rejection
from contracts.dossiers import NewDossier, NewParty
from contracts.identity import FirstUser, NewFunder, NewOrganisation, NewUser
from servicekit import config
from tools.client import (Client, HttpError, MailReader, create_funder, provisional_password,
                          wait_for_email)
from tools.stack import gateway_url
from tools.waiting import wait_until

FUNDER_CODE = "transitions-pro-demo"
PASSWORD = "Demo-Jalon-2026!"
ADMIN = NewUser(identifier="admin.demo", name="Agnès MARTIN (Transitions Pro démo)",
                email="admin.demo@transitions-pro-demo.example", password=PASSWORD)


@dataclass(frozen=True)
class DemoUser:
    """An account created without a password: its provisional one arrives by email."""

    identifier: str  # after the first login
    name: str
    email: str
    rights: tuple[str, ...] = ()
    role: str = "organisation_user"


AGENT = DemoUser("agent.demo", "Bruno LEROY (agent Transitions Pro démo)",
                 "agent.demo@transitions-pro-demo.example", role="funder_agent")
# Created with the default identifier (its email), personalised to "of.demo" at first login.
ORGANISATION_USER = DemoUser("of.demo", "Julien ROUSSEL",
                             "julien.roussel@formations-du-rhin.example")
SECOND_USER = DemoUser("saisie.demo", "Nadia BENALI", "nadia.benali@formations-du-rhin.example",
                       rights=("enter_hours",))
DOSSIER_NUMBER = "DEMO-0001"
SAMPLE_SCAN = Path("demo") / "certificat-signe.pdf"  # under JALON_DATA_DIR, README.md names it


@dataclass(frozen=True)
class DemoDocument:
    category: str
    label: str
    filename: str
    status: str  # what the organisation sees: deposited, deposited_by_funder, checked, rejected


DOCUMENTS = (
    DemoDocument("logo", "Logo Formations du Rhin", "logo.png", "deposited"),
    DemoDocument("stamp", "Cachet Formations du Rhin", "cachet.png", "checked"),
    DemoDocument("bank_details", "RIB Formations du Rhin", "rib.pdf", "deposited_by_funder"),
    DemoDocument("training_programme", "Programme CAP Boulanger (version 1)", "programme.pdf",
                 "rejected"),
    # The certifier's pieces: deposited, waiting for the funder's check.
    DemoDocument("kbis", "Extrait KBIS Formations du Rhin", "kbis.pdf", "deposited"),
    DemoDocument("consent_letter", "Lettre de consentement", "lettre-consentement.pdf",
                 "deposited"),
)
REJECTION = Rejection(reason_code=ReasonCode.incomplete,
                      reason_text="La signature du représentant légal manque.")


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoData:
    base_url: str
    dossier_id: str
    month: str  # the last complete month of the session: the one to certify
    organisation_id: str = ""


def months_back(day: date, count: int) -> date:
    """The first day of the month `count` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def demo_funder() -> NewFunder:
    return NewFunder(code=FUNDER_CODE, name="Transitions Pro Démo", admin=ADMIN)


def demo_organisation() -> NewOrganisation:
    return NewOrganisation(name="Formations du Rhin", siret="73282932000074",
                           email="contact@formations-du-rhin.example",
                           legal_representative="Claire WEBER",
                           address="12 rue des Tanneurs, 67000 Strasbourg",
                           user=FirstUser(name=ORGANISATION_USER.name,
                                          email=ORGANISATION_USER.email))


def demo_dossier(organisation_id: str, beneficiary_id: str, employer_id: str,
                 today: date) -> NewDossier:
    return NewDossier(number=DOSSIER_NUMBER, organisation_id=organisation_id,
                      beneficiary_id=beneficiary_id, employer_id=employer_id,
                      training_title="CAP Boulanger (reconversion)", action_type="ptp",
                      session_start=months_back(today, 3), session_end=today)


def bootstrap_funder(amqp_uri: str, funder: NewFunder | None = None) -> bool:
    """Create the funder (the demo's main one by default) and its administrator; False when
    they already exist."""
    return create_funder(amqp_uri, funder or demo_funder())


def eml_folder_reader(folder: Path) -> MailReader:
    """The emails embedded mode wrote as <id>.eml files, oldest first."""
    def read() -> list[EmailMessage]:
        files = sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
        return [parse_email(path.read_bytes()) for path in files]
    return read


def parse_email(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def token_of(gateway: Client, identifier: str) -> str | None:
    """A token of a user whose first login is done; None when PASSWORD is refused (not
    created yet, or a run before this one stopped before its first login)."""
    try:
        return gateway.login(identifier, PASSWORD).token
    except HttpError as refused:
        if refused.status_code != 401:
            raise
        return None


def post(gateway: Client, path: str, token: str, model) -> dict:
    return gateway.call("POST", path, token, json=model.model_dump(mode="json")).json()


def ensure_account(gateway: Client, user: DemoUser, create: Callable[[], requests.Response],
                   read: MailReader, first_identifier: str | None = None) -> str:
    """A token of `user`, created (`create`: 201, or 409 when a run before this one stopped
    halfway) and through its first login unless it already logs in with PASSWORD."""
    token = token_of(gateway, user.identifier)
    if token:
        return token
    create()
    return gateway.first_login(first_identifier or user.identifier,
                               provisional_password(read, user.email), user.identifier,
                               PASSWORD, read).token


def organisation_account(gateway: Client, admin_token: str, read: MailReader) -> tuple[str, str]:
    """(organisation id, its administrator's token): created by the funder administrator, its
    first user personalising the default identifier (the email) into "of.demo"."""
    token = ensure_account(
        gateway, ORGANISATION_USER,
        lambda: gateway.call("POST", "/organisations", admin_token, ok=(201, 409),
                             json=demo_organisation().model_dump(mode="json")),
        read, first_identifier=ORGANISATION_USER.email)
    return gateway.call("GET", "/me", token).json()["organisation"]["id"], token


def ensure_second_user(gateway: Client, org_token: str, org_id: str, read: MailReader) -> None:
    ensure_account(gateway, SECOND_USER, lambda: gateway.call(
        "POST", f"/organisations/{org_id}/users", org_token, ok=(201, 409), json={
            "identifier": SECOND_USER.identifier, "name": SECOND_USER.name,
            "email": SECOND_USER.email, "active": True, "rights": list(SECOND_USER.rights)}),
        read)


def ensure_agent(gateway: Client, admin_token: str, read: MailReader) -> None:
    ensure_account(gateway, AGENT, lambda: gateway.call(
        "POST", "/funder-users", admin_token, ok=(201, 409), json={
            "identifier": AGENT.identifier, "name": AGENT.name, "email": AGENT.email,
            "role": AGENT.role}), read)


def find_dossier(gateway: Client, token: str) -> dict | None:
    body = gateway.call("GET", "/dossiers", token).json()
    items = body.get("items", body.get("dossiers", [])) if isinstance(body, dict) else body
    return next((d for d in items if d.get("number") == DOSSIER_NUMBER), None)


def ensure_dossier(gateway: Client, token: str, org_id: str, today: date) -> dict:
    existing = find_dossier(gateway, token)
    if existing:
        return existing
    beneficiary = post(gateway, "/beneficiaries", token, NewParty(
        name="DUBOIS Michelle", email="michelle.dubois@example.org"))
    employer = post(gateway, "/employers", token, NewParty(
        name="Boulangerie ANDRÉ SARL", email="rh@boulangerie-andre.example"))
    return post(gateway, "/dossiers", token, demo_dossier(
        org_id, beneficiary["id"], employer["id"], today))


PAST_DOSSIER_NUMBER = "DEMO-0000"
PAYMENT_MONTHS = 12
HOURLY_RATE = Decimal("14.76")


def ensure_past_dossier(gateway: Client, token: str, org_id: str, today: date) -> dict:
    """Last year's training of the organisation, paid month after month (see ensure_payments)."""
    body = gateway.call("GET", "/dossiers", token).json()
    items = body.get("items", body.get("dossiers", [])) if isinstance(body, dict) else body
    existing = next((d for d in items if d.get("number") == PAST_DOSSIER_NUMBER), None)
    if existing:
        return existing
    beneficiary = post(gateway, "/beneficiaries", token, NewParty(
        name="MARTIN Lucas", email="lucas.martin@example.org"))
    return post(gateway, "/dossiers", token, NewDossier(
        number=PAST_DOSSIER_NUMBER, organisation_id=org_id, beneficiary_id=beneficiary["id"],
        training_title="BTS Comptabilité et gestion (reconversion)", action_type="vae",
        session_start=months_back(today, PAYMENT_MONTHS + 1),
        session_end=months_back(today, 1) - timedelta(days=1)))


def demo_payments(dossier_id: str, org_id: str, today: date,
                  certified: dict[str, Decimal]) -> list[dict]:
    """A year of payments: one per month of the past dossier's session, paid on the 10th of
    the next month. A payment pays certified hours only: the `certified` months (month ->
    payable hours) are paid their hours, the others are advances. Numbers are fixed: a re-run
    imports nothing."""
    payments = []
    for index in range(PAYMENT_MONTHS):
        start = months_back(today, PAYMENT_MONTHS + 1 - index)
        end = months_back(today, PAYMENT_MONTHS - index) - timedelta(days=1)
        month = start.strftime("%Y-%m")
        hours = certified.get(month, Decimal(105 + 7 * (index % 4)))
        payments.append({
            "number": f"DEMO-R{index + 1:03d}", "payment_date": (end + timedelta(days=10))
            .isoformat(), "organisation_id": org_id, "advance": month not in certified,
            "lines": [{
                "dossier_id": dossier_id, "hours_paid": str(hours),
                "period_start": start.isoformat(), "period_end": end.isoformat(),
                "amount": str((hours * HOURLY_RATE).quantize(Decimal("0.01")))}]})
    return payments


def ensure_payment_settings(gateway: Client, admin_token: str) -> None:
    """The payer the remittance advices name (seed 000): the demo funder, with its logo."""
    if gateway.call("GET", "/payment-settings", admin_token, ok=(200, 404)).status_code == 200:
        return
    logo = gateway.call("POST", "/documents", admin_token, data={
        "category": PAYER_LOGO.category, "label": PAYER_LOGO.label},
        files={"file": (PAYER_LOGO.filename, demo_file(PAYER_LOGO))}).json()
    gateway.call("PUT", "/payment-settings", admin_token,
                 json={**PAYER, "logo_document_id": logo["document_id"]})


def ensure_payments(gateway: Client, read: MailReader, admin_token: str, org_id: str,
                    org_token: str, today: date) -> None:
    dossier = ensure_past_dossier(gateway, admin_token, org_id, today)
    certified = certified_past_months(gateway, read, admin_token, org_token, dossier, today)
    report = gateway.finished_job(gateway.call("POST", "/payments/import", admin_token, json={
        "payments": demo_payments(dossier["id"], org_id, today, certified)}, ok=(200, 202)),
        admin_token)
    if report["status"] != "succeeded" or report["summary"]["errors"]:
        raise DemoError(f"payments import: {report['error'] or report['items']}")


# The past dossier's last months, certified by the organisation (method 1) then paid: their
# payments close them for entry; the earlier months' payments are advances.
PAST_CERTIFIED_MONTHS_AGO = (3, 2)


def certified_past_months(gateway: Client, read: MailReader, admin_token: str, org_token: str,
                          dossier: dict, today: date) -> dict[str, Decimal]:
    """Month -> its payable hours (training and internship), once payments locked it."""
    plan = DemoDossier(PAST_DOSSIER_NUMBER, ("MARTIN Lucas", "lucas.martin@example.org"), None,
                       dossier["training_title"], PAYMENT_MONTHS + 1, -1, {})
    walker = MonthWalker(gateway, read, (dossier, False), plan,
                         (org_token, ORGANISATION_USER.email), admin_token, 1)
    certified = {}
    for months_ago in PAST_CERTIFIED_MONTHS_AGO:
        month = months_back(today, months_ago).strftime("%Y-%m")
        url = f"/dossiers/{dossier['id']}/certificates/{month}"
        if gateway.call("GET", url, org_token).json()["status"] != "closed_by_payment":
            walker.walk(month, "certified")  # a re-run finds it paid: closed, still locked
        lock = wait_until(lambda: (found := gateway.call(
            "GET", url + "/payment-lock", org_token).json())["locked"] and found,
            STEP_TIMEOUT, interval=0.5, message=f"{PAST_DOSSIER_NUMBER} {month} locked")
        certified[month] = Decimal(lock["training_hours"]) + Decimal(lock["internship_hours"])
    return certified


def scanned_pdf() -> bytes:
    """A signed certificate as a scanner returns it: a page that is one image, no text layer
    (documents refuses the draft itself as a signed certificate)."""
    from PIL import Image  # installed with weasyprint

    buffer = io.BytesIO()
    Image.new("L", (595, 842), 245).save(buffer, "PDF", resolution=72)
    return buffer.getvalue()


def demo_file(document: DemoDocument) -> bytes:
    """A real file of the document's type (the documents service checks the bytes)."""
    if document.filename.endswith(".png"):
        from PIL import Image  # installed with weasyprint

        buffer = io.BytesIO()
        Image.new("RGB", (240, 80), (31, 78, 121)).save(buffer, format="PNG")
        return buffer.getvalue()
    from weasyprint import HTML

    return HTML(string=f"<h1>{document.label}</h1><p>Document de démonstration.</p>"
                ).write_pdf()


def upload_document(gateway: Client, document: DemoDocument, org_token: str,
                    admin_token: str, org_id: str) -> dict:
    """Deposit it as the organisation, or as the funder for the organisation; the document."""
    fields = {"category": document.category, "label": document.label}
    token = org_token
    if document.status == "deposited_by_funder":
        fields["organisation_id"], token = org_id, admin_token
    receipt = gateway.call("POST", "/documents", token, data=fields,
                           files={"file": (document.filename, demo_file(document))}).json()
    return gateway.call("GET", f"/documents/{receipt['document_id']}", org_token).json()


def review(gateway: Client, document: DemoDocument, found: dict, admin_token: str) -> None:
    """The funder's check or rejection, unless it is already done."""
    if document.status == found["status"]:
        return
    path = f"/documents/{found['id']}"
    if document.status == "checked":
        gateway.call("POST", path + "/check", admin_token)
    elif document.status == "rejected":
        gateway.call("POST", path + "/reject", admin_token, json=REJECTION.model_dump(mode="json"))


def ensure_documents(gateway: Client, admin_token: str, org_token: str, org_id: str) -> None:
    # None of them is attached to a dossier: the default list shows them all.
    existing = {d["label"]: d for d in gateway.call("GET", "/documents", org_token).json()}
    for document in DOCUMENTS:
        found = existing.get(document.label) or upload_document(
            gateway, document, org_token, admin_token, org_id)
        review(gateway, document, found, admin_token)


# ---- monthly certificates (issue 5): every status, both methods, three funders' settings ---

@dataclass(frozen=True)
class DemoFunder:
    """A funder of the demo with its certification settings (None: the defaults)."""

    code: str
    name: str
    admin: NewUser
    settings: dict | None = None


DEFAULT_SETTINGS = {"entry_mode": "month", "code_length": 4, "code_lifetime_minutes": 15,
                    "beneficiary_validation": False, "employer_validation": False,
                    "notify_funder": False}
# Per-day entry, 6-digit codes valid 10 minutes, the beneficiary then the employer validate.
FUNDER_PER_DAY = DemoFunder(
    "transitions-pro-demo-jour", "Transitions Pro Démo (saisie par jour)",
    NewUser(identifier="admin.jour.demo", name="Hélène KLEIN (Transitions Pro démo jour)",
            email="admin.jour@transitions-pro-demo.example", password=PASSWORD),
    {**DEFAULT_SETTINGS, "entry_mode": "day", "code_length": 6, "code_lifetime_minutes": 10,
     "beneficiary_validation": True, "employer_validation": True})
# Half-day entry, the funder emailed at every certification.
FUNDER_NOTIFIED = DemoFunder(
    "transitions-pro-demo-suivi", "Transitions Pro Démo (suivi par e-mail)",
    NewUser(identifier="admin.suivi.demo", name="Marc HOFFMANN (Transitions Pro démo suivi)",
            email="admin.suivi@transitions-pro-demo.example", password=PASSWORD),
    {**DEFAULT_SETTINGS, "entry_mode": "half_day", "notify_funder": True,
     "funder_notification_email": "suivi.certificats@transitions-pro-demo.example"})
# A certifier organisation of the per-day funder (KBIS and consent letter checked: method 2)
# and an organisation of the notified funder (method 1).
CERTIFIER_USER = DemoUser("of.certificateur.demo", "Sophie MULLER",
                          "sophie.muller@atelier-ill.example")
NOTIFIED_ORG_USER = DemoUser("of.suivi.demo", "Thomas SCHMITT",
                             "thomas.schmitt@competences-vosges.example")
CERTIFIER_PIECES = (
    DemoDocument("logo", "Logo Atelier de l'Ill", "logo.png", "deposited"),
    DemoDocument("stamp", "Cachet Atelier de l'Ill", "cachet.png", "deposited"),
    DemoDocument("kbis", "Extrait KBIS Atelier de l'Ill", "kbis.pdf", "checked"),
    DemoDocument("consent_letter", "Lettre de consentement Atelier de l'Ill",
                 "lettre-consentement.pdf", "checked"))
# What identity may not know yet of pieces just deposited or checked (documents' events on
# their way): the logo before any entry; for method 2 also the stamp and the checks.
LETTERHEAD_ON_ITS_WAY = {"logo_missing"}
CERTIFIER_ON_ITS_WAY = LETTERHEAD_ON_ITS_WAY | {"stamp_missing", "kbis_not_checked",
                                                "consent_letter_not_checked"}
NOTIFIED_LOGO = DemoDocument("logo", "Logo Compétences Vosges", "logo.png", "deposited")
PAYER_LOGO = DemoDocument("logo", "Logo Transitions Pro Démo", "logo-payeur.png", "deposited")
PAYER = {"payer_name": "Transitions Pro Démo",
         "address": "12 rue du Lac\n67000 Strasbourg"}

# Targets: "transmitted" = certified (or validated) then transmitted for payment.
TRANSMITTED = "transmitted"
TRANSMITTED_AFTER = {TRANSMITTED: "certified", "validated+" + TRANSMITTED: "validated"}
STEP_TIMEOUT = 30


@dataclass(frozen=True)
class DemoDossier:
    number: str
    beneficiary: tuple[str, str]  # name, email
    employer: tuple[str, str] | None
    title: str
    start_months_ago: int
    end_months_ahead: int
    targets: dict[int, str]  # months ago -> the status the demo brings it to


MAIN_DOSSIERS = (
    DemoDossier("DEMO-0002", ("KLEIN Léa", "lea.klein@example.org"),
                ("Garage KLEIN", "rh@garage-klein.example"), "BP Électricien (reconversion)",
                4, 2, {4: TRANSMITTED, 3: "reopened", 2: "hours_entered"}),
    # Starts next month: every month "La saisie n'est pas disponible".
    DemoDossier("DEMO-0003", ("FISCHER Hugo", "hugo.fischer@example.org"), None,
                "CAP Cuisine (reconversion)", -1, 8, {}),
)
PER_DAY_DOSSIER = DemoDossier(
    "DEMO-J001", ("WEBER Inès", "ines.weber@example.org"),
    ("Imprimerie WEBER", "rh@imprimerie-weber.example"), "Titre professionnel Développeur web",
    4, 2, {4: "validated+" + TRANSMITTED, 3: "awaiting_employer_validation",
           2: "awaiting_beneficiary_validation", 1: "contested"})
NOTIFIED_DOSSIER = DemoDossier(
    "DEMO-S001", ("MEYER Chloé", "chloe.meyer@example.org"), None,
    "BTS Gestion de la PME", 3, 3, {2: "certified", 1: "hours_entered"})
CONTEST_REASON = "J'étais absente le premier lundi du mois (rendez-vous médical)."
REOPEN_REASON = "Heures d'absence à corriger"


def retrying(gateway: Client, method: str, path: str, token: str, codes: set[str],
             **options) -> requests.Response:
    """The call, again while its 409 says another service has not caught up yet (an
    event on its way: a logo, a check of a KBIS)."""
    def answered() -> requests.Response | None:
        response = gateway.call(method, path, token, ok=(200, 201, 202, 409), **options)
        if response.status_code != 409:
            return response
        if response.json().get("code") not in codes:
            raise DemoError(f"{method} {path} -> 409: {response.text[:500]}")
        return None

    return wait_until(answered, STEP_TIMEOUT, interval=0.5, message=f"{method} {path}")


def ensure_other_funder(gateway: Client, bootstrap: Callable[..., bool],
                        funder: DemoFunder) -> str:
    """The funder bootstrapped, its settings saved; its administrator's token."""
    bootstrap(NewFunder(code=funder.code, name=funder.name, admin=funder.admin))
    token = token_of(gateway, funder.admin.identifier)
    if not token:
        raise DemoError(f"{funder.admin.identifier} cannot log in")
    ensure_settings(gateway, token, funder.settings)
    return token


def ensure_settings(gateway: Client, token: str, settings: dict | None) -> None:
    wanted = settings or DEFAULT_SETTINGS
    current = gateway.call("GET", "/certification-settings", token).json()
    if any(current.get(key) != value for key, value in wanted.items()):
        gateway.call("PUT", "/certification-settings", token, json=wanted)


def other_organisation(gateway: Client, admin_token: str, read: MailReader, user: DemoUser,
                       name: str, contact: str) -> tuple[str, str]:
    """(organisation id, its administrator's token) of another funder's organisation."""
    new = NewOrganisation(name=name, siret="55208131766522", email=contact,
                          legal_representative=user.name,
                          address="3 quai des Bateliers, 67000 Strasbourg",
                          user=FirstUser(name=user.name, email=user.email))
    created = gateway.call("POST", "/organisations", admin_token, ok=(201, 409),
                           json=new.model_dump(mode="json")).status_code == 201
    token = account_token(gateway, user, created, read, first_identifier=user.email)
    return gateway.call("GET", "/me", token).json()["organisation"]["id"], token


def account_token(gateway: Client, user: DemoUser, new: bool, read: MailReader,
                  first_identifier: str | None = None) -> str:
    """A session of `user`: a new account goes straight to its first login, so the demo
    adds no refused login to the per-address limit (JALON_IP_MAX_FAILURES)."""
    token = None if new else token_of(gateway, user.identifier)
    return token or gateway.first_login(first_identifier or user.identifier,
                                        provisional_password(read, user.email),
                                        user.identifier, PASSWORD, read).token


def ensure_certifier(gateway: Client, admin_token: str, org_token: str, org_id: str) -> None:
    """"Je suis certificateur", logo and stamp deposited, KBIS and consent letter deposited
    and checked: method 2."""
    existing = {d["label"]: d for d in gateway.call("GET", "/documents", org_token).json()}
    for piece in CERTIFIER_PIECES:
        found = existing.get(piece.label) or upload_document(
            gateway, piece, org_token, admin_token, org_id)
        review(gateway, piece, found, admin_token)
    profile = gateway.call("GET", f"/organisations/{org_id}/profile", org_token).json()
    if not profile["certifier_requested"]:
        gateway.call("PUT", f"/organisations/{org_id}/certifier", org_token,
                     json={"requested": True})


def ensure_logo(gateway: Client, admin_token: str, org_token: str, org_id: str) -> None:
    labels = {d["label"] for d in gateway.call("GET", "/documents", org_token).json()}
    if NOTIFIED_LOGO.label not in labels:
        upload_document(gateway, NOTIFIED_LOGO, org_token, admin_token, org_id)


def dossier_of(gateway: Client, admin_token: str, org_id: str, plan: DemoDossier,
               today: date) -> tuple[dict, bool]:
    """(the dossier, whether it was created now: its parties' accounts are new then)."""
    body = gateway.call("GET", "/dossiers", admin_token, params={"q": plan.number}).json()
    found = next((d for d in body if d["number"] == plan.number), None)
    if found:
        return found, False
    beneficiary = post(gateway, "/beneficiaries", admin_token, NewParty(
        name=plan.beneficiary[0], email=plan.beneficiary[1]))
    employer = post(gateway, "/employers", admin_token, NewParty(
        name=plan.employer[0], email=plan.employer[1])) if plan.employer else None
    return post(gateway, "/dossiers", admin_token, NewDossier(
        number=plan.number, organisation_id=org_id, beneficiary_id=beneficiary["id"],
        employer_id=employer["id"] if employer else None, training_title=plan.title,
        session_start=months_back(today, plan.start_months_ago),
        session_end=months_back(today, -plan.end_months_ahead) - timedelta(days=1))), True


class MonthWalker:
    """Brings one dossier month to its target status from wherever it is, one step at a
    time, so that a second run (everything at its target) does nothing."""

    def __init__(self, gateway: Client, read: MailReader, dossier: tuple[dict, bool],
                 plan: DemoDossier, org: tuple[str, str], admin_token: str, method: int):
        self.gateway, self.read, self.plan = gateway, read, plan
        (self.dossier, self.new_parties), (self.org_token, self.org_email) = dossier, org
        self.admin_token, self.method = admin_token, method
        self.parties: dict[str, str] = {}

    def walk(self, month: str, target: str) -> None:
        url = f"/dossiers/{self.dossier['id']}/certificates/{month}"
        final = TRANSMITTED_AFTER.get(target, target)
        for _ in range(8):  # the longest path: enter, certify, validate twice, transmit
            current = self.gateway.call("GET", url, self.org_token).json()
            if current["status"] == final and (target not in TRANSMITTED_AFTER
                                               or current["transmitted_at"]):
                return
            self.step(url, month, current, target, final)
        raise DemoError(f"{self.plan.number} {month}: {target} not reached")

    def step(self, url: str, month: str, current: dict, target: str, final: str) -> None:
        status = current["status"]
        if status in ("awaiting_entry", "reopened"):
            self.enter(url, current["entry_mode"])
        elif status == "hours_entered":
            self.certify(url, month)
        elif status == final:  # certified or validated, not yet transmitted
            self.after(url + "/transmit", self.admin_token)
        elif status == "certified" and target == "reopened":
            self.after(url + "/reopen", self.admin_token, json={"reason": REOPEN_REASON})
        elif status == "awaiting_beneficiary_validation" and target == "contested":
            self.after(url + "/contest", self.party("beneficiary"),
                       json={"reason": CONTEST_REASON})
        elif status == "awaiting_beneficiary_validation":
            self.after(url + "/validate", self.party("beneficiary"))
        elif status == "awaiting_employer_validation":
            self.after(url + "/validate", self.party("employer"))
        else:
            raise DemoError(f"{self.plan.number} {month}: {status} cannot lead to {target}")

    def after(self, path: str, token: str, **options) -> None:
        """A step after certification: payments' lock of the month, arriving meanwhile, may
        change the certificate first (409 concurrent_change): then again."""
        retrying(self.gateway, "POST", path, token, {"concurrent_change"}, **options)

    def enter(self, url: str, mode: str) -> None:
        """"Répartir 7h tous les jours", per the funder's entry mode."""
        entry = self.gateway.call("GET", url + "/hours/proposal", self.org_token,
                                  params={"source": "spread"}).json()["entry"]
        body = {"days": entry["days"]} if mode != "month" else {
            k: entry[k] for k in ("training_hours", "internship_hours", "absence_hours")}
        retrying(self.gateway, "PUT", url + "/hours", self.org_token, LETTERHEAD_ON_ITS_WAY,
                 json=body)

    def certify(self, url: str, month: str) -> None:
        if self.method == 1:
            self.deposit_signed(url, month)
            retrying(self.gateway, "POST", url + "/certify", self.org_token,
                     LETTERHEAD_ON_ITS_WAY, json={"attest": True, "method": 1})
            return
        subject = "Votre code de vérification"
        seen = len([m for m in self.read() if m["To"] == self.org_email
                    and str(m["Subject"]).startswith(subject)])
        retrying(self.gateway, "POST", url + "/certification-code", self.org_token,
                 CERTIFIER_ON_ITS_WAY, json={"attest": True, "accept_ip": True})
        text = wait_for_email(self.read, self.org_email, subject, skip=seen)
        code = re.search(r"^\s*(\d{4,6})\s*$", text, re.MULTILINE).group(1)
        self.gateway.call("POST", url + "/certify", self.org_token, json={
            "attest": True, "method": 2, "accept_ip": True, "code": code})

    def deposit_signed(self, url: str, month: str) -> None:
        """Method 1: the draft printed, signed and scanned (here: a blank scan), deposited as
        the signed certificate."""
        first = date.fromisoformat(f"{month}-01")
        last = months_back(first, -1) - timedelta(days=1)
        self.gateway.call("POST", "/documents", self.org_token, data={
            "category": "signed_certificate", "dossier_id": self.dossier["id"],
            "period_start": first.isoformat(), "period_end": last.isoformat()},
            files={"file": (f"certificat-signe-{month}.pdf", scanned_pdf(), "application/pdf")})

    def party(self, kind: str) -> str:
        if kind not in self.parties:
            # Their accounts came with the dossier; identifier: their email.
            name, email = self.plan.beneficiary if kind == "beneficiary" else self.plan.employer
            self.parties[kind] = account_token(self.gateway, DemoUser(email, name, email),
                                               self.new_parties, self.read)
        return self.parties[kind]


def walk_dossier(gateway: Client, read: MailReader, plan: DemoDossier,
                 dossier: tuple[dict, bool], org: tuple[str, str], admin_token: str,
                 method: int, today: date) -> None:
    walker = MonthWalker(gateway, read, dossier, plan, org, admin_token, method)
    for months_ago, target in sorted(plan.targets.items(), reverse=True):
        walker.walk(months_back(today, months_ago).strftime("%Y-%m"), target)


# (funder, its organisation's first user, organisation name and email, dossier, method)
OTHER_FUNDERS = (
    (FUNDER_PER_DAY, CERTIFIER_USER, "Atelier Numérique de l'Ill", "contact@atelier-ill.example",
     PER_DAY_DOSSIER, 2),
    (FUNDER_NOTIFIED, NOTIFIED_ORG_USER, "Compétences Vosges",
     "contact@competences-vosges.example", NOTIFIED_DOSSIER, 1))


# ---- self-service sign-up (issue 15): a funder run as seed 003's OPCO ---------------------
FUNDER_SELF_SERVICE = DemoFunder(
    "opco-demo", "OPCO Démo (inscription en ligne)",
    NewUser(identifier="admin.opco.demo", name="Sophie WEBER (OPCO démo)",
            email="admin@opco-demo.example", password=PASSWORD))
SELF_SERVICE_SETTINGS = {"account_creation": "self_service", "password_rules": "opco",
                         "require_known_siret": False}


def ensure_self_service_funder(gateway: Client, bootstrap: Callable[..., bool]) -> None:
    """Organisations sign up on /signup?funder=opco-demo (seed 003's 8-12 character rules)."""
    funder = FUNDER_SELF_SERVICE
    bootstrap(NewFunder(code=funder.code, name=funder.name, admin=funder.admin))
    token = token_of(gateway, funder.admin.identifier)
    if not token:
        raise DemoError(f"{funder.admin.identifier} cannot log in")
    current = gateway.call("GET", "/account-settings", token).json()
    if any(current.get(key) != value for key, value in SELF_SERVICE_SETTINGS.items()):
        gateway.call("PUT", "/account-settings", token, json=SELF_SERVICE_SETTINGS)


def ensure_certificates(gateway: Client, bootstrap: Callable[..., bool], read: MailReader,
                        admin_token: str, org_id: str, org_token: str, today: date) -> None:
    """Dossiers in each certificate status, both methods, three funders' settings."""
    ensure_settings(gateway, admin_token, None)  # the main funder keeps the seeds' defaults
    for plan in MAIN_DOSSIERS:
        dossier = dossier_of(gateway, admin_token, org_id, plan, today)
        walk_dossier(gateway, read, plan, dossier, (org_token, ORGANISATION_USER.email),
                     admin_token, 1, today)

    for funder, user, name, contact, plan, method in OTHER_FUNDERS:
        funder_admin = ensure_other_funder(gateway, bootstrap, funder)
        other_id, other_token = other_organisation(gateway, funder_admin, read, user, name,
                                                   contact)
        # Method 2 needs a certifier; method 1 the letterhead's logo.
        prepare = ensure_certifier if method == 2 else ensure_logo
        prepare(gateway, funder_admin, other_token, other_id)
        dossier = dossier_of(gateway, funder_admin, other_id, plan, today)
        walk_dossier(gateway, read, plan, dossier, (other_token, user.email), funder_admin,
                     method, today)


def load(base_url: str, bootstrap: Callable[..., bool], read: MailReader,
         today: date | None = None) -> DemoData:
    """`bootstrap(funder=None)` creates a funder (the main one by default) and its
    administrator (see bootstrap_funder); `read` gives the emails sent so far (provisional
    passwords, confirmation links, codes)."""
    today = today or date.today()
    bootstrap()
    gateway = Client(base_url)
    admin_token = token_of(gateway, ADMIN.identifier)
    if not admin_token:
        raise DemoError(f"{ADMIN.identifier} cannot log in: was {FUNDER_CODE} bootstrapped "
                        f"with another password?")
    ensure_agent(gateway, admin_token, read)
    org_id, org_token = organisation_account(gateway, admin_token, read)
    ensure_second_user(gateway, org_token, org_id, read)
    gateway.call("PUT", f"/organisations/{org_id}/certifier", org_token,
                 json={"requested": True})
    dossier = ensure_dossier(gateway, admin_token, org_id, today)
    ensure_documents(gateway, admin_token, org_token, org_id)
    ensure_payment_settings(gateway, admin_token)
    ensure_payments(gateway, read, admin_token, org_id, org_token, today)
    ensure_certificates(gateway, bootstrap, read, admin_token, org_id, org_token, today)
    ensure_self_service_funder(gateway, bootstrap)
    month = months_back(today, 1).strftime("%Y-%m")
    return DemoData(base_url=gateway.base_url, dossier_id=dossier["id"], month=month,
                    organisation_id=org_id)


def write_sample_scan(data_dir: Path) -> Path:
    """The sample scan of a signed draft that README.md's method 1 deposits (a real user
    scans their signed printout)."""
    path = data_dir / SAMPLE_SCAN
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(scanned_pdf())
    return path


def core_flow(url: str, dossier: str, scan: Path) -> str:
    """README.md's "The core flow with curl", the same commands with the dossier filled in
    (tests/e2e/test_readme_core_flow.py runs the README's and compares both)."""
    auth = '-H "Authorization: Bearer $TOKEN"'
    return f"""Core flow, as the organisation user (paste into a shell; README.md explains it):
  URL={url}
  TOKEN=$(curl -sS --fail-with-body -X POST $URL/auth/login -H 'Content-Type: application/json' \\
    -d '{{"identifier": "{ORGANISATION_USER.identifier}", "password": "{PASSWORD}"}}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  DOSSIER={dossier}
  MONTH=$(python3 -c 'import datetime as d; print((d.date.today().replace(day=1) - d.timedelta(days=1)).strftime("%Y-%m"))')
  MONTH_END=$(python3 -c 'import datetime as d; print(d.date.today().replace(day=1) - d.timedelta(days=1))')
  curl -sS --fail-with-body -X PUT $URL/dossiers/$DOSSIER/certificates/$MONTH/hours \\
    {auth} -H 'Content-Type: application/json' \\
    -d '{{"training_hours": "140.00", "internship_hours": "0", "absence_hours": "7.00"}}'
  # method 1: the draft, printed, signed and scanned (the draft itself is refused), deposited
  curl -sS --fail-with-body $URL/dossiers/$DOSSIER/certificates/$MONTH/draft \\
    {auth} -o projet.pdf
  SCAN={scan}   # a sample: deposit your own scan instead
  curl -sS --fail-with-body -X POST $URL/documents {auth} \\
    -F file=@$SCAN -F category=signed_certificate -F dossier_id=$DOSSIER \\
    -F period_start=$MONTH-01 -F period_end=$MONTH_END
  curl -sS --fail-with-body -X POST $URL/dossiers/$DOSSIER/certificates/$MONTH/certify \\
    {auth} -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \\
    -d '{{"attest": true, "method": 1}}'
  # the PDF certificate is rendered a few seconds after certify: its id, then the PDF
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    DOCUMENT_ID=$(curl -sS --fail-with-body $URL/dossiers/$DOSSIER/documents \\
      {auth} | python3 -c 'import json,sys; print(next((d["id"] for d in json.load(sys.stdin) if d["category"] == "completion_certificate" and d["month"] == sys.argv[1]), ""))' $MONTH)
    [ -n "$DOCUMENT_ID" ] && break || sleep 1
  done
  curl -sS --fail-with-body $URL/documents/$DOCUMENT_ID/content \\
    {auth} -o certificat.pdf
  curl -sS --fail-with-body $URL/dossiers/$DOSSIER/certificates/$MONTH/payment-lock \\
    {auth}
"""


def instructions(data: DemoData, scan: Path = Path("var") / SAMPLE_SCAN) -> str:
    url, dossier, month = data.base_url, data.dossier_id, data.month
    auth = '-H "Authorization: Bearer $TOKEN"'
    return f"""
Demo data ready (funder {FUNDER_CODE}).
  Funder administrator   {ADMIN.identifier} / {PASSWORD}
  Funder agent           {AGENT.identifier} / {PASSWORD}
  Organisation admin     {ORGANISATION_USER.identifier} / {PASSWORD}   (Formations du Rhin)
  Organisation user      {SECOND_USER.identifier} / {PASSWORD}   (hours only)
  Certifier profile      KBIS and consent letter deposited, waiting for the funder's check:
                         (GET {url}/organisations/{data.organisation_id}/profile)
  Dossier                {DOSSIER_NUMBER}  id {dossier}

Monthly certificates (GET $URL/dossiers/ID/certificates, GET $URL/pending-actions):
  {MAIN_DOSSIERS[0].number}  certified and transmitted, reopened, hours entered, awaiting entry
             (default settings: month totals, method 1 by Formations du Rhin)
  {MAIN_DOSSIERS[1].number}  not available yet (its session starts next month)
  {PAST_DOSSIER_NUMBER}  closed by last year's payments
  {PER_DAY_DOSSIER.number}  validated and transmitted, awaiting the employer, awaiting the
             beneficiary, contested: funder {FUNDER_PER_DAY.code} (per day, 6-digit codes
             valid 10 minutes, beneficiary then employer validate), administrator
             {FUNDER_PER_DAY.admin.identifier} / {PASSWORD}; certifier organisation (method 2)
             {CERTIFIER_USER.identifier} / {PASSWORD}; beneficiary
             {PER_DAY_DOSSIER.beneficiary[1]} / {PASSWORD}, employer
             {PER_DAY_DOSSIER.employer[1]} / {PASSWORD}
  {NOTIFIED_DOSSIER.number}  certified (the funder emailed), hours entered: funder
             {FUNDER_NOTIFIED.code} (per half-day, funder emailed at certification),
             administrator {FUNDER_NOTIFIED.admin.identifier} / {PASSWORD}; organisation
             {NOTIFIED_ORG_USER.identifier} / {PASSWORD}

Self-service sign-up (funder {FUNDER_SELF_SERVICE.code}, seed 003's rules: 8 to 12 characters):
  open {url}/signup?funder={FUNDER_SELF_SERVICE.code}, then the activation email's link (in
  the mail folder below); funder staff: {FUNDER_SELF_SERVICE.admin.identifier} / {PASSWORD}
  (GET {url}/signups, POST {url}/signups/ID/suspend)

{core_flow(url, dossier, scan)}
Documents (the demo organisation has one in each status):
  curl -s $URL/documents {auth}
  curl -s $URL/document-categories {auth}
  curl -s -X POST $URL/documents {auth} -F file=@programme.pdf -F category=training_programme \\
    -F dossier_id={dossier} -F label='Programme CAP Boulanger'
  curl -s "$URL/documents?q={DOSSIER_NUMBER}" {auth}
  curl -s $URL/dossiers/{dossier}/documents/by-category {auth}
  curl -s $URL/dossiers/{dossier}/certificates/{month}/draft {auth} -o projet.pdf
"""


def main(argv: list[str] | None = None) -> int:
    settings = config.load()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=gateway_url(settings.http_address))
    args = parser.parse_args(argv)
    try:
        data = load(args.base_url,
                    lambda funder=None: bootstrap_funder(settings.amqp_uri, funder),
                    eml_folder_reader(settings.mail_dir))
    except (DemoError, HttpError, TimeoutError, requests.RequestException) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    scan = write_sample_scan(settings.data_dir)
    print(instructions(data, scan))  # CLI output for the person at the terminal
    print(f"Emails are written to {settings.mail_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
