"""(d) month-end: many certifier organisations enter and certify last month for many dossiers
at once, through the gateway, with method 2 (the code emailed to the user, read back from a
real SMTP server, aiosmtpd), then wait until every effect is done.

Setup (not measured): per organisation, its first user's first login, a letterhead (legal
representative, logo, stamp), the certifier request with a KBIS and a consent letter checked by the
funder (method 2 in force), and its dossiers (each emails its beneficiary and employer their
credentials). Measured, per dossier, by `clients` concurrent green threads: enter the month's
hours, ask for the code, wait for its email, certify with it. Then until every consumer of each
month's certified event has done its effect (bench/effects.py: its PDF filed, its lock, its
audit entry…, read in their databases) and its certification emails (beneficiary, employer)
are received.
Between the two, not measured: until the setup's work is done (credentials sent, the stack idle).
"""
from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

import eventlet
from stdnum import luhn

from bench import cpu
from bench.effects import EventsHandled
from bench.run import (PASSWORD, PG_ADMIN, REQUEST_TIMEOUT, bench_funder, months_back, stack_env,
                       summarise, timed)
from tools.client import Client, HttpError, MailReader, provisional_password
from tools.demo import DemoDocument, demo_file
from tools.sandbox import PostgresDatabases
from tools.smtp import SmtpServer
from tools.waiting import wait_until

CODE = re.compile(r"^\s*(\d{4,6})\s*$", re.MULTILINE)
DOSSIER = re.compile(r"\(dossier ([^)]+)\)")
CERTIFIER_PIECES = (DemoDocument("logo", "Logo", "logo.png", "checked"),
                    DemoDocument("stamp", "Cachet", "cachet.png", "checked"),
                    DemoDocument("kbis", "Extrait KBIS", "kbis.pdf", "checked"),
                    DemoDocument("consent_letter", "Lettre de consentement", "consentement.pdf",
                                 "checked"))


@dataclass(frozen=True)
class Names:
    """The names of a burst's organisations, users and dossiers: `tag` sets them apart from
    other runs' on the same system (none on a stack of its own), `siren` starts their SIRETs
    (unique per funder)."""

    tag: str = ""
    siren: str = "732829320"

    @classmethod
    def fresh(cls) -> Names:
        """Names of their own: a random tag and SIREN (one chance in millions of a clash)."""
        body = f"{secrets.randbelow(10**8):08d}"
        return cls(f".{secrets.token_hex(3)}", body + luhn.calc_check_digit(body))

    def siret(self, index: int) -> str:
        body = f"{self.siren}{index:04d}"
        return body + luhn.calc_check_digit(body)

    def identifier(self, index: int) -> str:
        return f"fin.mois{self.tag}.{index}"

    def email(self, index: int) -> str:
        return f"of{index}{self.tag}@fin-de-mois.example.org"

    def dossier(self, index: int, n: int) -> str:
        return f"FM{self.tag}{index:03d}/{n:04d}"


class Inbox:
    """The emails sent so far (`read`), each looked at once: the verification codes by
    (recipient, dossier number) in order of arrival (a waiter asks for the one after those it
    had already seen), and how many went to beneficiaries and employers, their credentials
    apart. Parsing every email's headers at every look took three quarters of the bench's CPU,
    on the cores it measures."""

    def __init__(self, read: MailReader):
        self.read = read
        self.codes: dict[tuple[str, str], list[str]] = {}
        self.to_beneficiaries_and_employers: Counter[str] = Counter()  # credentials, certified
        self._read: set[str | None] = set()  # Message-IDs
        self._count = 0

    def refresh(self) -> None:
        messages = self.read()
        if len(messages) == self._count:  # none is ever deleted: nothing new
            return
        self._count = len(messages)
        for message in messages:
            # The raw header: parsing it is what cost.
            message_id = next((value for name, value in message.raw_items()
                               if name.lower() == "message-id"), None)
            if message_id not in self._read:
                self._read.add(message_id)
                self._file(message)

    def _file(self, message: EmailMessage) -> None:
        subject, to = str(message["Subject"]), str(message["To"] or "")
        if to.startswith(("beneficiaire.", "employeur.")):
            kind = "credentials" if subject.startswith("Vos identifiants") else "certified"
            self.to_beneficiaries_and_employers[kind] += 1
        if subject.startswith("Votre code de vérification"):
            text = message.get_body(preferencelist=("plain",)).get_content()
            number, code = DOSSIER.search(text), CODE.search(text)
            if number and code:
                self.codes.setdefault((to, number.group(1)), []).append(code.group(1))

    def seen(self, to: str, number: str) -> int:
        return len(self.codes.get((to, number), ()))

    def wait(self, to: str, number: str, after: int, timeout: float = 120) -> str:
        found = wait_until(lambda: self.codes.get((to, number), [])[after:], timeout,
                           interval=0.05, message=f"a code for {number} to {to}")
        return found[0]

    def follow(self, stop: list) -> None:
        """Reads the emails in one green thread until `stop` is non-empty."""
        while not stop:
            self.refresh()
            eventlet.sleep(0.1)


@contextlib.contextmanager
def following(read: MailReader):
    """An Inbox kept up to date by a green thread while the block runs."""
    inbox, stop = Inbox(read), []
    follower = eventlet.spawn(inbox.follow, stop)
    try:
        yield inbox
    finally:
        stop.append(True)
        follower.wait()


class Organisation:
    def __init__(self, index: int, org_id: str, client: Client, email: str):
        self.index, self.id, self.client, self.email = index, org_id, client, email
        self.dossiers: list[tuple[str, str]] = []  # (id, number)


def set_up(admin: Client, read: MailReader, inbox: Inbox, pool: eventlet.GreenPool,
           names: Names, organisations: int, dossiers: int, today: date,
           ready: Callable[[Organisation], None] = lambda organisation: None
           ) -> list[Organisation]:
    """The certifier organisations, set up by the pool's clients until each can certify
    last month by method 2 (`ready` is told of each)."""
    month = months_back(today, 1).strftime("%Y-%m")
    # Made once, before the green threads: weasyprint's first import is not thread-safe.
    files = {piece.category: demo_file(piece) for piece in CERTIFIER_PIECES}

    def organisation(index: int) -> Organisation:
        made = setup_organisation(admin, read, names, index, dossiers, today, files)
        wait_for_method_two(made, inbox, month)
        ready(made)
        return made

    return list(pool.imap(organisation, range(1, organisations + 1)))


def setup_organisation(admin: Client, read: MailReader, names: Names, index: int,
                       dossiers: int, today: date, files: dict[str, bytes]) -> Organisation:
    identifier, email = names.identifier(index), names.email(index)
    admin = Client(admin.base_url, admin.token, REQUEST_TIMEOUT)  # this green thread's own
    created = admin.call("POST", "/organisations", json={
        "name": f"Organisme fin de mois {index}{names.tag}", "siret": names.siret(index),
        "email": f"contact{index}{names.tag}@fin-de-mois.example.org",
        "user": {"identifier": identifier, "name": f"Certificateur {index}", "email": email}}
    ).json()
    client = Client(admin.base_url, timeout=REQUEST_TIMEOUT).first_login(
        identifier, provisional_password(read, email), identifier, PASSWORD, read)
    organisation = Organisation(index, created["id"], client, email)
    profile = f"/organisations/{organisation.id}"
    client.call("PATCH", profile + "/profile", json={"legal_representative": f"Directrice {index}"})
    client.call("PUT", profile + "/certifier", json={"requested": True})
    for piece in CERTIFIER_PIECES:
        receipt = client.call("POST", "/documents",
                              data={"category": piece.category, "label": piece.label},
                              files={"file": (piece.filename, files[piece.category])}).json()
        admin.call("POST", f"/documents/{receipt['document_id']}/check")
    for n in range(dossiers):
        organisation.dossiers.append(_dossier(admin, organisation, names, n, today))
    return organisation


def _dossier(admin: Client, organisation: Organisation, names: Names, n: int,
             today: date) -> tuple[str, str]:
    tag = f"{organisation.index}-{n}{names.tag}"
    beneficiary = admin.call("POST", "/beneficiaries", json={
        "name": f"BENEFICIAIRE {tag}", "email": f"beneficiaire.{tag}@fin-de-mois.example.org"}
    ).json()
    employer = admin.call("POST", "/employers", json={
        "name": f"EMPLOYEUR {tag}", "email": f"employeur.{tag}@fin-de-mois.example.org"}).json()
    number = names.dossier(organisation.index, n)
    dossier = admin.call("POST", "/dossiers", json={
        "number": number, "organisation_id": organisation.id,
        "beneficiary_id": beneficiary["id"], "employer_id": employer["id"],
        "training_title": "Titre professionnel (fin de mois)",
        "session_start": months_back(today, 3).isoformat(),
        "session_end": (today + timedelta(days=120)).isoformat()}).json()
    return dossier["id"], number


def wait_for_method_two(organisation: Organisation, inbox: Inbox, month: str,
                        timeout: float = 60) -> None:
    """Identity learns of the pieces' checks by documents' events: enter the first dossier's
    hours and ask for its code until both are accepted, then wait for that code's email (the
    measured phase asks again, which replaces it: its wait must not find this one)."""
    dossier_id, number = organisation.dossiers[0]
    seen = inbox.seen(organisation.email, number)
    path = f"/dossiers/{dossier_id}/certificates/{month}"
    client = Client(organisation.client.base_url, organisation.client.token, REQUEST_TIMEOUT)

    def code_sent() -> bool:
        try:
            client.call("PUT", path + "/hours", json=HOURS)
            client.call("POST", path + "/certification-code", json=CODE_REQUEST, ok=(202,))
            return True
        except HttpError:
            return False

    wait_until(code_sent, timeout, interval=0.5, message=f"method 2 for {organisation.email}")
    inbox.wait(organisation.email, number, seen)


HOURS = {"training_hours": "140,00", "internship_hours": "0,00", "absence_hours": "7,00"}
CODE_REQUEST = {"attest": True, "accept_ip": True}


def certify_month(organisation: Organisation, dossier: tuple[str, str], month: str,
                  inbox: Inbox) -> dict[str, float]:
    """One dossier's month by method 2; the latency of each step (seconds)."""
    dossier_id, number = dossier
    client = Client(organisation.client.base_url, organisation.client.token, REQUEST_TIMEOUT)
    path = f"/dossiers/{dossier_id}/certificates/{month}"
    steps = {}
    _, steps["enter_hours"] = timed(client.call, "PUT", path + "/hours", json=HOURS)
    seen = inbox.seen(organisation.email, number)
    _, steps["request_code"] = timed(client.call, "POST", path + "/certification-code",
                                     json=CODE_REQUEST, ok=(202,))
    code, steps["code_delivery"] = timed(inbox.wait, organisation.email, number, seen)
    _, steps["certify"] = timed(client.call, "POST", path + "/certify", json={
        "attest": True, "method": 2, "accept_ip": True, "code": code})
    return steps


def run_month_end(amqp_uri: str, organisations: int, dossiers: int, clients: int,
                  replicas: dict[str, int] | None = None, drive: Callable | None = None) -> dict:
    """`replicas`: processes run more than once (tools.stack.Stack's), e.g. {"documents": 2};
    `drive`: what is measured on the stack (the month-end burst unless told)."""
    from tools.stack import Stack
    databases = PostgresDatabases(PG_ADMIN, "bench")
    root = Path(tempfile.mkdtemp(prefix="jalon-month-end-"))
    smtp = SmtpServer(root)
    try:
        env = stack_env(amqp_uri, root, databases)
        env.update({"JALON_SMTP_HOST": "127.0.0.1", "JALON_SMTP_PORT": str(smtp.port)})
        with Stack(env, log_dir=root / "logs", replicas=replicas) as stack:
            result = {"organisations": organisations, "dossiers_per_organisation": dossiers,
                      "clients": clients, "replicas": replicas or {},
                      **(drive or _drive)(stack, amqp_uri, smtp, organisations, dossiers,
                                          clients)}
    finally:
        smtp.stop()
        databases.drop_all()
    shutil.rmtree(root, ignore_errors=True)  # a failure skips this: its logs stay for reading
    return result


@dataclass
class Ready:
    """The certifier organisations of a stack, set up, the setup's work done."""
    month: str  # the month they certify: the last one
    organisations: list[Organisation]
    inbox: Inbox
    pool: eventlet.GreenPool
    setup_s: float
    settle_s: float


@contextlib.contextmanager
def organisations_ready(stack, amqp_uri: str, smtp: SmtpServer, organisations: int,
                        dossiers: int, clients: int):
    today = datetime.now(timezone.utc).date()
    admin = bench_funder(amqp_uri, stack.base_url)
    pool = eventlet.GreenPool(clients)
    with following(smtp.emails) as inbox:
        orgs, setup_s = timed(set_up, admin, smtp.emails, inbox, pool, Names(), organisations,
                              dossiers, today)
        settle_s = settle(stack, inbox, len(dossiers_of(orgs)))
        yield Ready(months_back(today, 1).strftime("%Y-%m"), orgs, inbox, pool,
                    round(setup_s, 3), settle_s)


def measure_cpu(stack, smtp: SmtpServer) -> cpu.Sample | None:
    return cpu.sample({**stack.processes, "smtp": smtp.process})


def certify_all(ready: Ready, work) -> list[dict[str, float]]:
    """Every dossier's month of `work`, by the pool's clients; each one's steps."""
    return list(ready.pool.imap(
        lambda item: certify_month(item[0], item[1], ready.month, ready.inbox), work))


def _drive(stack, amqp_uri: str, smtp: SmtpServer, organisations: int, dossiers: int,
           clients: int) -> dict:
    with organisations_ready(stack, amqp_uri, smtp, organisations, dossiers, clients) as ready:
        work = dossiers_of(ready.organisations)
        handled = EventsHandled.certified(stack, since=datetime.now(timezone.utc))
        cpu_before = measure_cpu(stack, smtp)
        started = time.perf_counter()
        steps = certify_all(ready, work)
        phase_s = time.perf_counter() - started
        effects = _wait_for_effects(handled, len(work), ready.inbox)
        cpu_after = measure_cpu(stack, smtp)
        handled.close()
    all_done_s = phase_s + effects["effects_s"]
    effects["all_done_s"] = round(all_done_s, 3)
    # The drain: months whose every effect is done per second, the burst's start to the last.
    drained = len(work) - effects["months_not_done"]
    effects["drained_per_s"] = round(drained / all_done_s, 3) if all_done_s else None
    result = {"setup_s": ready.setup_s, "settle_s": ready.settle_s,
              "certify": summarise([s["certify"] for s in steps], phase_s, "certifications"),
              "cpu": cpu.used(cpu_before, cpu_after, drained)}
    for step in ("enter_hours", "request_code", "code_delivery"):
        result[step] = summarise([s[step] for s in steps], phase_s, "calls")
    result["effects"] = effects
    result["notes"] = ("certify.certifications_per_s: months certified (hours, code, email, "
                       "certify) per second of the phase; code_delivery: from the code request's "
                       "answer to its email in the SMTP server; effects.all_done_s: from the "
                       "phase's start until every consumer of each month's certified event "
                       "(documents, dossiers, identity, integration, notifications, payments) has "
                       "recorded it in its database and the beneficiary's and employer's emails "
                       "are received; effects.drained_per_s: "
                       "months with every effect done (months_not_done left out) over "
                       "effects.all_done_s; settle_s: the wait, not measured, between the setup "
                       "and the burst until the setup's work was done; cpu: bench/cpu.py over "
                       "the burst and the drain")
    return result


def settle(stack, inbox: Inbox, dossiers: int, timeout: float = 600) -> float:
    """Until the setup's own work is done, as it is long before a real month-end: every
    beneficiary and employer has their credentials (each account's password hashed, its email
    sent) and the stack's processes are idle. Else that work, ≈ 100 ms of CPU per account,
    lands in the measured burst. The seconds waited."""
    started = time.perf_counter()
    wait_until(lambda: inbox.to_beneficiaries_and_employers["credentials"] >= 2 * dossiers,
               timeout, message="the beneficiaries' and employers' credentials")
    cpu.wait_idle(stack.processes)
    return round(time.perf_counter() - started, 3)


def dossiers_of(organisations: list[Organisation]) -> list[tuple[Organisation, tuple[str, str]]]:
    return [(org, dossier) for org in organisations for dossier in org.dossiers]


def _wait_for_effects(handled: EventsHandled, months: int, inbox: Inbox,
                      timeout: float = 600) -> dict:
    """Until every consumer has handled the `months` certified events (bench/effects.py) and
    the beneficiary's and employer's emails of each are in the SMTP server."""
    started = time.perf_counter()
    expected = 2 * months  # the beneficiary's and the employer's

    def certified_emails() -> int:
        return inbox.to_beneficiaries_and_employers["certified"]

    def all_done() -> bool:
        return len(handled.by_all()) >= months and certified_emails() >= expected

    try:
        wait_until(all_done, timeout, interval=0.2)
    except TimeoutError:  # the figures say what is not done
        pass
    return {"effects_s": round(time.perf_counter() - started, 3),
            "months_not_done": months - len(handled.by_all()),
            "emails_received": certified_emails(), "emails_expected": expected}
