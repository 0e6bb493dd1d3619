"""Demo data, created through the running system: `python -m tools.demo [--base-url URL]`.

A funder "transitions-pro-demo" and its administrator (by the ops-only RPC
identity.bootstrap_funder), then through the HTTP gateway as that administrator: a funder
agent; a training organisation whose first user (its administrator) goes through the first
login (provisional password read from the emails, personalised identifier confirmed by the
emailed link, privacy policy accepted); a second user with the hours right only; the
organisation asks to be a certifier and has deposited its KBIS and consent letter, not yet
checked; a beneficiary, an employer and a dossier whose session runs from three months ago
to today; and the organisation's other documents in every status a user meets (deposited by
itself, deposited by the funder, checked, rejected with a reason).
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
import time
import warnings
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

import requests

from contracts.documents import ReasonCode, Rejection
from contracts.dossiers import NewDossier, NewParty
from contracts.identity import FirstUser, NewFunder, NewOrganisation, NewUser
from servicekit import config
from tools.stack import gateway_url

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
                      training_title="CAP Boulanger (reconversion)",
                      session_start=months_back(today, 3), session_end=today)


def bootstrap_funder(amqp_uri: str) -> bool:
    """Create the funder and its administrator; False when they already exist."""
    # Imported here: only this step needs Nameko, and servicekit.rpc registers our error
    # classes so that a remote Conflict comes back as a Conflict with its code.
    warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")
    from nameko.standalone.rpc import ClusterRpcProxy

    import servicekit.rpc  # noqa: F401  (registers the error classes)
    from servicekit.errors import Conflict

    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30) as rpc:
        try:
            rpc.identity.bootstrap_funder(demo_funder().model_dump(mode="json"))
        except Conflict as exc:
            if exc.code != "funder_exists":
                raise
            return False
    return True


# ---- emails: where the secrets of a first login arrive ------------------------------------

PROVISIONAL_PASSWORD = re.compile(r"Mot de passe provisoire : (\S+)")
LINK_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9._~-]+)")
MailReader = Callable[[], list[EmailMessage]]


def parse_email(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def eml_folder_reader(folder: Path) -> MailReader:
    """The emails embedded mode wrote as <id>.eml files, oldest first."""
    def read() -> list[EmailMessage]:
        files = sorted(folder.glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
        return [parse_email(path.read_bytes()) for path in files]
    return read


def wait_for_email(read: MailReader, to: str, subject_starts: str, timeout: float = 30,
                   skip: int = 0) -> str:
    """The text of the latest email to `to` whose subject starts so, once more than `skip`
    of them exist (emails are delivered a moment after the request that caused them)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [message for message in read()
                 if message["To"] == to and str(message["Subject"]).startswith(subject_starts)]
        if len(found) > skip:
            return found[-1].get_body(preferencelist=("plain",)).get_content()
        if time.monotonic() > deadline:
            raise DemoError(f"no email « {subject_starts} » to {to} within {timeout:.0f} s")
        time.sleep(0.2)


def provisional_password(read: MailReader, to: str, skip: int = 0) -> str:
    text = wait_for_email(read, to, "Vos identifiants de connexion", skip=skip)
    return PROVISIONAL_PASSWORD.search(text).group(1)


def link_token(text: str) -> str:
    return LINK_TOKEN.search(text).group(1)


class Gateway:
    """The few HTTP calls the demo makes, each checked; errors carry the problem+json body."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, json=None,
             ok=(200, 201), **options) -> requests.Response:
        """`options`: more of requests' arguments (params, files and data of an upload)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, self.base_url + path, json=json, headers=headers,
                                     timeout=30, **options)
        if response.status_code not in ok:
            raise DemoError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response

    def session(self, identifier: str, password: str) -> dict | None:
        """The login's Session, or None when the credentials are refused."""
        response = self.call("POST", "/auth/login", ok=(200, 401),
                             json={"identifier": identifier, "password": password})
        return response.json() if response.status_code == 200 else None

    def login(self, identifier: str, password: str = PASSWORD) -> str | None:
        """A token of a user whose first login is done (the privacy policy accepted if the
        account was created with its password); None when the credentials are refused."""
        session = self.session(identifier, password)
        if session is None:
            return None
        if session["privacy_policy_pending"] and not session["must_personalise"]:
            self.accept_privacy_policy(session["access_token"])
        return session["access_token"]

    def accept_privacy_policy(self, token: str) -> None:
        version = config.load().identity.privacy_policy_version
        self.call("POST", "/auth/privacy-policy", token, json={"version": version})

    def first_login(self, identifier: str, provisional: str, new_identifier: str,
                    password: str, read: MailReader, confirmations_seen: int = 0) -> str:
        """Log in with the emailed provisional password, personalise (a new identifier waits
        for the emailed link), accept the privacy policy; the session's token."""
        session = self.session(identifier, provisional)
        if session is None or not session["must_personalise"]:
            raise DemoError(f"{identifier}: the provisional password does not open a first login")
        token = session["access_token"]
        me = self.call("POST", "/auth/personalise", token, json={
            "new_identifier": new_identifier, "new_password": password,
            "new_password_confirmation": password}).json()
        if me.get("pending_identifier"):
            text = wait_for_email(read, me["user"]["email"], "Confirmez votre nouvel identifiant",
                                  skip=confirmations_seen)
            self.call("POST", "/auth/confirm-identifier", ok=(200, 204),
                      json={"token": link_token(text)})
        self.accept_privacy_policy(token)
        return token

    def post(self, path: str, token: str, model) -> dict:
        return self.call("POST", path, token, json=model.model_dump(mode="json")).json()


def ensure_account(gateway: Gateway, user: DemoUser, create: Callable[[], requests.Response],
                   read: MailReader, first_identifier: str | None = None) -> str:
    """A token of `user`, created (`create`: 201, or 409 when a run before this one stopped
    halfway) and through its first login unless it already logs in with PASSWORD."""
    token = gateway.login(user.identifier)
    if token:
        return token
    create()
    return gateway.first_login(first_identifier or user.identifier,
                               provisional_password(read, user.email), user.identifier,
                               PASSWORD, read)


def organisation_account(gateway: Gateway, admin_token: str, read: MailReader) -> tuple[str, str]:
    """(organisation id, its administrator's token): created by the funder administrator, its
    first user personalising the default identifier (the email) into "of.demo"."""
    token = ensure_account(
        gateway, ORGANISATION_USER,
        lambda: gateway.call("POST", "/organisations", admin_token, ok=(201, 409),
                             json=demo_organisation().model_dump(mode="json")),
        read, first_identifier=ORGANISATION_USER.email)
    return gateway.call("GET", "/me", token).json()["organisation"]["id"], token


def ensure_second_user(gateway: Gateway, org_token: str, org_id: str, read: MailReader) -> None:
    ensure_account(gateway, SECOND_USER, lambda: gateway.call(
        "POST", f"/organisations/{org_id}/users", org_token, ok=(201, 409), json={
            "identifier": SECOND_USER.identifier, "name": SECOND_USER.name,
            "email": SECOND_USER.email, "active": True, "rights": list(SECOND_USER.rights)}),
        read)


def ensure_agent(gateway: Gateway, admin_token: str, read: MailReader) -> None:
    ensure_account(gateway, AGENT, lambda: gateway.call(
        "POST", "/funder-users", admin_token, ok=(201, 409), json={
            "identifier": AGENT.identifier, "name": AGENT.name, "email": AGENT.email,
            "role": AGENT.role}), read)


def find_dossier(gateway: Gateway, token: str) -> dict | None:
    body = gateway.call("GET", "/dossiers", token).json()
    items = body.get("items", body.get("dossiers", [])) if isinstance(body, dict) else body
    return next((d for d in items if d.get("number") == DOSSIER_NUMBER), None)


def ensure_dossier(gateway: Gateway, token: str, org_id: str, today: date) -> dict:
    existing = find_dossier(gateway, token)
    if existing:
        return existing
    beneficiary = gateway.post("/beneficiaries", token, NewParty(
        name="DUBOIS Michelle", email="michelle.dubois@example.org"))
    employer = gateway.post("/employers", token, NewParty(
        name="Boulangerie ANDRÉ SARL", email="rh@boulangerie-andre.example"))
    return gateway.post("/dossiers", token, demo_dossier(
        org_id, beneficiary["id"], employer["id"], today))


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


def upload_document(gateway: Gateway, document: DemoDocument, org_token: str,
                    admin_token: str, org_id: str) -> dict:
    """Deposit it as the organisation, or as the funder for the organisation; the document."""
    fields = {"category": document.category, "label": document.label}
    token = org_token
    if document.status == "deposited_by_funder":
        fields["organisation_id"], token = org_id, admin_token
    receipt = gateway.call("POST", "/documents", token, data=fields,
                           files={"file": (document.filename, demo_file(document))}).json()
    return gateway.call("GET", f"/documents/{receipt['document_id']}", org_token).json()


def review(gateway: Gateway, document: DemoDocument, found: dict, admin_token: str) -> None:
    """The funder's check or rejection, unless it is already done."""
    if document.status == found["status"]:
        return
    path = f"/documents/{found['id']}"
    if document.status == "checked":
        gateway.call("POST", path + "/check", admin_token)
    elif document.status == "rejected":
        gateway.call("POST", path + "/reject", admin_token, json=REJECTION.model_dump(mode="json"))


def ensure_documents(gateway: Gateway, admin_token: str, org_token: str, org_id: str) -> None:
    # None of them is attached to a dossier: the default list shows them all.
    existing = {d["label"]: d for d in gateway.call("GET", "/documents", org_token).json()}
    for document in DOCUMENTS:
        found = existing.get(document.label) or upload_document(
            gateway, document, org_token, admin_token, org_id)
        review(gateway, document, found, admin_token)


def load(base_url: str, bootstrap: Callable[[], bool], read: MailReader,
         today: date | None = None) -> DemoData:
    """`bootstrap` creates the funder and its administrator (see bootstrap_funder); `read`
    gives the emails sent so far (provisional passwords, confirmation links)."""
    today = today or date.today()
    bootstrap()
    gateway = Gateway(base_url)
    admin_token = gateway.login(ADMIN.identifier)
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
    month = months_back(today, 1).strftime("%Y-%m")
    return DemoData(base_url=gateway.base_url, dossier_id=dossier["id"], month=month,
                    organisation_id=org_id)


def instructions(data: DemoData) -> str:
    url, dossier, month = data.base_url, data.dossier_id, data.month
    auth = '-H "Authorization: Bearer $TOKEN"'
    json_type = "-H 'Content-Type: application/json'"
    return f"""
Demo data ready (funder {FUNDER_CODE}).
  Funder administrator   {ADMIN.identifier} / {PASSWORD}
  Funder agent           {AGENT.identifier} / {PASSWORD}
  Organisation admin     {ORGANISATION_USER.identifier} / {PASSWORD}   (Formations du Rhin)
  Organisation user      {SECOND_USER.identifier} / {PASSWORD}   (hours only)
  Certifier profile      KBIS and consent letter deposited, waiting for the funder's check:
                         (GET {url}/organisations/{data.organisation_id}/profile)
  Dossier                {DOSSIER_NUMBER}  id {dossier}

Core flow, as the organisation user (paste into a shell):
  URL={url}
  TOKEN=$(curl -s -X POST $URL/auth/login {json_type} \\
    -d '{{"identifier": "{ORGANISATION_USER.identifier}", "password": "{PASSWORD}"}}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -X PUT $URL/dossiers/{dossier}/certificates/{month}/hours {auth} {json_type} \\
    -d '{{"training_hours": "140.00", "internship_hours": "0", "absence_hours": "7.00"}}'
  curl -s -X POST $URL/dossiers/{dossier}/certificates/{month}/certify {auth} {json_type} \\
    -d '{{"attest": true}}'
  # the PDF certificate is rendered a few seconds after certify: list, then download it
  curl -s $URL/dossiers/{dossier}/documents {auth}
  curl -s $URL/documents/DOCUMENT_ID/content {auth} -o certificat.pdf
  curl -s $URL/dossiers/{dossier}/certificates/{month}/payment-lock {auth}

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
        data = load(args.base_url, lambda: bootstrap_funder(settings.amqp_uri),
                    eml_folder_reader(settings.mail_dir))
    except (DemoError, requests.RequestException) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print(instructions(data))  # CLI output for the person at the terminal
    print(f"Emails are written to {settings.mail_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
