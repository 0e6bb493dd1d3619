"""Helpers of the tests that drive the running stack through its gateway (tests/e2e and
tests/faults): the people of a world (a funder bootstrapped, an organisation through its first
login, its letterhead) and the steps of a month (hours entered, the signed certificate)."""
from __future__ import annotations

import calendar
import io
import uuid
from datetime import date

from PIL import Image

from contracts.identity import NewFunder, NewUser
from tools.client import Client, provisional_password
from tools.client import bootstrap_funder as bootstrap_by_rpc
from tools.demo import scanned_pdf
from tools.waiting import wait_until

PASSWORD = "Demo-Passw0rd!"
DEFAULTS = {"entry_mode": "month", "code_length": 4, "code_lifetime_minutes": 15,
            "beneficiary_validation": False, "employer_validation": False,
            "notify_funder": False}  # a funder's certification settings as created


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


def payment(number: str, dossier: dict, day: str, amount: str, advance: bool = False) -> dict:
    """A payment of 35.5 hours of the month before last, as the funder's import sends it."""
    period = month_shift(date.today(), -2)
    return {"number": number, "payment_date": day, "organisation_id": dossier["organisation_id"],
            "advance": advance, "lines": [{
                "dossier_id": dossier["id"], "hours_paid": "35,5",
                "period_start": period.replace(day=1).isoformat(),
                "period_end": period.replace(day=28).isoformat(), "amount": amount}]}
