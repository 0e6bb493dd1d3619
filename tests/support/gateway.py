"""Helpers of the tests that drive the running stack through its gateway (tests/e2e and
tests/faults): the people of a world (a funder bootstrapped, an organisation through its first
login, its letterhead) and the steps of a month (hours entered, the signed certificate)."""
from __future__ import annotations

import calendar
import io
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from nameko.standalone.events import event_dispatcher
from PIL import Image

from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, MonthHours, Party
from contracts.identity import NewFunder, NewUser
from tools.client import Client, provisional_password
from tools.client import bootstrap_funder as bootstrap_by_rpc
from tools.demo import scanned_pdf
from tools.waiting import wait_until

PASSWORD = "Demo-Passw0rd!"
DEFAULTS = {"entry_mode": "month", "code_length": 4, "code_lifetime_minutes": 15,
            "beneficiary_validation": False, "employer_validation": False,
            "notify_funder": False}  # as created, but the funder is not emailed (no address)


def month_shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def first_login(stack, smtp_server, identifier: str, email: str,
                new_identifier: str | None = None) -> Client:
    """The first login of an account created without a password: the provisional password
    read from the email the SMTP server received, the identifier personalised (confirmed by
    the emailed link when it changes), the privacy policy accepted. A client of that session."""
    return Client(stack.base_url).first_login(
        identifier, provisional_password(smtp_server.emails, email), new_identifier or identifier,
        PASSWORD, smtp_server.emails)


def bootstrap_funder(stack, code: str | None = None) -> Client:
    """A new funder and its administrator, logged in with the privacy policy accepted."""
    code = code or f"tp-{uuid.uuid4().hex[:6]}"
    admin = NewUser(identifier=f"agent-{code}", name="Agent Test",
                    email=f"agent-{code}@funder.example.org", password=PASSWORD)
    client = bootstrap_by_rpc(stack.env["JALON_AMQP_URI"], stack.base_url,
                              NewFunder(code=code, name="Transitions Pro Test", admin=admin))
    client.identifier = admin.identifier
    return client


def new_organisation(stack, smtp_server, funder: Client, siret: str = "73282932000074",
                     name: str = "Centre de Formation Horizon") -> tuple[dict, Client]:
    """An organisation created by `funder` and its first user through the first login:
    (the organisation, a client of its administrator, identifier `of-<suffix>`)."""
    suffix = uuid.uuid4().hex[:6]
    email = f"claire-{suffix}@horizon.example.org"
    organisation = funder.post("/organisations", json={
        "name": name, "siret": siret, "email": f"contact-{suffix}@horizon.example.org",
        "user": {"identifier": f"of-{suffix}", "name": "Claire Martin", "email": email},
    })
    assert organisation.status_code == 201, organisation.text
    client = first_login(stack, smtp_server, f"of-{suffix}", email)
    client.identifier, client.email = f"of-{suffix}", email
    return organisation.json(), client


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (20, 60, 140)).save(out, format="PNG")
    return out.getvalue()



def letterhead_ready(org: Client, organisation_id: str) -> None:
    """Method 1's prerequisites of "Votre identité": the legal representative and the logo
    (identity learns of the logo from documents' event)."""
    profile = org.patch(f"/organisations/{organisation_id}/profile",
                        json={"legal_representative": "Jeanne MARTIN"})
    assert profile.status_code == 200, profile.text
    logo = org.post("/documents", data={"category": "logo"},
                    files={"file": ("logo.png", _png(), "image/png")})
    assert logo.status_code == 201, logo.text
    wait_until(lambda: org.get(f"/organisations/{organisation_id}/profile").json()["logo"][
        "status"] != "missing", message="identity knows the logo")


def deposit(org: Client, category: str) -> str:
    """A profile piece deposited by the organisation (an image for the logo and the stamp, a
    PDF otherwise); its document id."""
    image = category in ("logo", "stamp")
    upload = (f"{category}.png", _png(), "image/png") if image else (
        f"{category}.pdf", scanned_pdf(), "application/pdf")
    deposited = org.post("/documents", data={"category": category}, files={"file": upload})
    assert deposited.status_code == 201, deposited.text
    return deposited.json()["document_id"]


def certifier_ready(org: Client, funder: Client, organisation_id: str) -> None:
    """Method 2's pieces beyond the letterhead (seeds 001, 002): the stamp, « Je suis
    certificateur », the KBIS and the consent letter checked by the funder. Identity hears of
    the deposits and checks by documents' events: wait for method 2 in the profile."""
    chosen = org.put(f"/organisations/{organisation_id}/certifier", json={"requested": True})
    assert chosen.status_code == 200, chosen.text
    deposit(org, "stamp")
    for category in ("kbis", "consent_letter"):
        checked = funder.post(f"/documents/{deposit(org, category)}/check")
        assert checked.status_code == 200, checked.text
    wait_until(lambda: org.get(f"/organisations/{organisation_id}/profile").json()[
        "certification_method"]["method"] == 2, message="identity knows method 2")


def sign_month(org: Client, dossier_id: str, month: str) -> str:
    """Method 1: the month's draft, printed, signed and scanned, deposited as the signed
    certificate (PDF); its sha256, which certification keeps as evidence."""
    draft = org.get(f"/dossiers/{dossier_id}/certificates/{month}/draft")
    assert draft.status_code == 200, draft.text
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    deposited = org.post("/documents", data={
        "category": "signed_certificate", "dossier_id": dossier_id,
        "period_start": f"{month}-01", "period_end": f"{month}-{last:02d}"},
        files={"file": (f"certificat-signe-{month}.pdf", scanned_pdf(), "application/pdf")})
    assert deposited.status_code == 201, deposited.text
    return deposited.json()["sha256"]


def enter_month(org: Client, url: str, training: str) -> None:
    entered = org.put(f"{url}/hours", json={"training_hours": training, "internship_hours": "0",
                                            "absence_hours": "0"})
    assert entered.status_code == 200, entered.text


def final_certificate(client: Client, dossier_id: str, month: str) -> bytes:
    """The month's final certificate PDF, once documents has rendered it (after `certified`)."""
    def listed():
        found = [d for d in client.get(f"/dossiers/{dossier_id}/documents").json()
                 if d["category"] == "completion_certificate" and d.get("month") == month]
        return found and found[0]
    document = wait_until(listed, message="the final certificate is rendered")
    content = client.get(f"/documents/{document['id']}/content")
    assert content.status_code == 200, content.text
    return content.content


def certified_month(world: dict, months_ago: int) -> tuple[date, str]:
    """A month of the `world` fixture's session entered (70 h), signed (method 1), certified
    by the organisation and locked for payment: its first day and its URL."""
    first = month_shift(date.today(), -months_ago)
    month = first.strftime("%Y-%m")
    url = f"{world['base']}/{month}"
    enter_month(world["org"], url, "70")
    sign_month(world["org"], world["dossier_id"], month)
    certified = world["org"].post(f"{url}/certify", json={"attest": True})
    assert certified.status_code == 200, certified.text
    assert certified.json()["status"] == "certified"
    # Payments pay it once payments has locked it (its `certified` handler).
    wait_until(lambda: world["org"].get(f"{url}/payment-lock").json()["locked"])
    return first, url


def month_line(world: dict, first: date, amount: str) -> dict:
    """A payment line of 70 h for the whole month starting `first`, of the world's dossier."""
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return {"dossier_id": world["dossier_id"], "hours_paid": "70", "amount": amount,
            "period_start": first.isoformat(), "period_end": last.isoformat()}


def record_payment(world: dict, *lines: dict) -> dict:
    """The world's funder records a payment of these lines today: issued at once."""
    recorded = world["funder"].post("/payments", json={
        "number": f"AV-{uuid.uuid4().hex[:6]}", "payment_date": date.today().isoformat(),
        "organisation_id": world["organisation_id"], "lines": list(lines)})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["status"] == "issued"
    return recorded.json()


def payment(number: str, dossier: dict, day: str, amount: str, advance: bool = False) -> dict:
    """A payment of 35.5 hours of the month before last, as the funder's import sends it."""
    period = month_shift(date.today(), -2)
    return {"number": number, "payment_date": day, "organisation_id": dossier["organisation_id"],
            "advance": advance, "lines": [{
                "dossier_id": dossier["id"], "hours_paid": "35,5",
                "period_start": period.replace(day=1).isoformat(),
                "period_end": period.replace(day=28).isoformat(), "amount": amount}]}


def exported(client: Client, search: dict):
    """The payments export of `search`: its job (POST /payments/exports) followed to its end,
    then its file downloaded (the requests.Response)."""
    job = client.finished_job(client.post("/payments/exports", json=search))
    assert job["status"] == "succeeded", job
    return client.get(job["file"]["url"])


def certify_by_event(stack, dossier: dict, month: str, training: str = "7") -> None:
    """A `certified` event as certification publishes it (the certification flow itself is
    tested in test_core_flow), `training` hours certified: payments locks the month (awaited)."""
    org = dossier["organisation"]
    facts = org.get(f"/dossiers/{dossier['id']}").json()
    beneficiary = Party(id=facts["beneficiary"]["id"], name=facts["beneficiary"]["name"],
                        email=dossier["beneficiary_email"])
    event = CertifiedV1(
        certificate_id=str(uuid.uuid4()), dossier_id=dossier["id"],
        dossier_number=facts["number"], funder_id=facts["funder_id"],
        organisation_id=facts["organisation_id"], organisation_name=facts["organisation_name"],
        beneficiary=beneficiary, employer=None, training_title=facts["training_title"],
        session_start=facts["session_start"], session_end=facts["session_end"], month=month,
        hours=MonthHours(training=Decimal(training), internship=Decimal(0),
                         absence=Decimal(0)),
        method=1, certified_by="e2e", certified_at=datetime.now(timezone.utc))
    event_dispatcher({"AMQP_URI": stack.env["JALON_AMQP_URI"], "serializer": "json"})(
        "certification", "certified",
        new_envelope("certification", "certified", 1, event).model_dump(mode="json"))
    lock = f"/dossiers/{dossier['id']}/certificates/{month}/payment-lock"
    wait_until(lambda: org.get(lock).json()["locked"])


def hours_only_user(stack, smtp_server, org: Client, organisation_id: str) -> Client:
    """A user of the organisation with the « saisie des heures » right only, as the demo's
    saisie.demo: logged in."""
    suffix = uuid.uuid4().hex[:6]
    email = f"saisie-{suffix}@horizon.example.org"
    created = org.post(f"/organisations/{organisation_id}/users", json={
        "identifier": f"saisie-{suffix}", "name": "Nadia Benali", "email": email,
        "active": True, "rights": ["enter_hours"]})
    assert created.status_code == 201, created.text
    return first_login(stack, smtp_server, f"saisie-{suffix}", email)
