"""What several integration test modules share (tests/integration): identity's people and
the emails it asks for (a fake notifications service records them), events crafted as another
service would send them, a tap on a service's event exchange, a throw-away database for a
test-only service, and its container's dependencies. Fixtures live in
tests/integration/conftest.py."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from kombu import Connection, Exchange, Queue
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc as rpc_entrypoint
from nameko.standalone.events import event_dispatcher, get_event_exchange
from sqlalchemy import MetaData, text
from stdnum import luhn

from contracts.common import ALL_RIGHTS, Role
from contracts.common.errors import NotFound
from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, MonthHours, Party
from servicekit.db import make_engine
from servicekit.events import ReceivedEvent
from services.payments.models import month_locks
from tests.support.fakes import may_see_dossier
from tests.support.identity import CERTIFIER, NO_LETTERHEAD, profile_readiness
from tools.waiting import wait_until

PASSWORD = "Secret_2026"
AGENT = {"user_id": "agent", "role": "funder_agent", "funder_id": "f1"}  # funder f1's agent


class Recorded(DependencyProvider):
    """What a fake service was asked, on its container's provider: a list (or what `factory`
    makes) per container, so per test, where a module-level list would carry one test's calls
    into the next."""

    def __init__(self, factory=list):
        self.factory = factory

    def setup(self) -> None:
        self.calls = self.factory()

    def get_dependency(self, worker_ctx):
        return self.calls


class FakeNotifications:
    """Stands for notifications: records the emails identity asks for (send_direct_email)."""

    name = "notifications"
    sent = Recorded()

    @rpc_entrypoint
    def send_direct_email(self, payload):
        self.sent.append(payload)
        return {"id": str(uuid.uuid4())}


class Mail:
    """The emails a FakeNotifications was asked to send, read as their recipients would."""

    def __init__(self, sent: list[dict]):
        self.sent = sent

    def emails(self, template: str, to: str | None = None) -> list[dict]:
        return [e for e in self.sent
                if e["template"] == template and (to is None or e["to"] == to)]

    def arrived(self, template: str, to: str | None = None, count: int = 1) -> list[dict]:
        """The emails of `template` (to `to`), once `count` of them were asked for: some leave
        after identity's reply (a password reset's)."""
        return wait_until(lambda: len(found := self.emails(template, to)) >= count and found,
                          message=f"{count} {template} email(s)")

    def provisional_password(self, identifier: str) -> str:
        """The password of the last credentials email sent for `identifier`."""
        sent = [e for e in self.emails("account_credentials")
                if e["context"]["identifier"] == identifier]
        assert sent, f"no credentials email for {identifier}"
        return sent[-1]["context"]["password"]

    def first_login(self, rpc, identifier: str, password: str = PASSWORD) -> dict:
        """Log in with the emailed provisional password, personalise (same identifier), accept
        the privacy policy: the unrestricted actor."""
        provisional = self.provisional_password(identifier)
        session = rpc.identity.login({"identifier": identifier, "password": provisional})
        assert session["must_personalise"] and session["privacy_policy_pending"]
        actor = rpc.identity.authenticate(session["access_token"])
        assert actor["restricted"]
        rpc.identity.personalise(actor, {
            "new_identifier": identifier, "current_password": provisional,
            "new_password": password, "new_password_confirmation": password})
        rpc.identity.accept_privacy_policy(actor, {"version": "2026-01"})
        actor = rpc.identity.authenticate(session["access_token"])
        assert not actor["restricted"]
        return actor


def link_token(email: dict) -> str:
    return parse_qs(urlparse(email["context"]["link"]).query)["token"][0]


def valid_siret(n: int) -> str:
    """A SIRET with a correct check digit, different for each n."""
    body = f"732829320{n:04d}"  # a valid SIREN, then the establishment number
    return body + luhn.calc_check_digit(body)


def new_user(identifier: str, password: str = PASSWORD) -> dict:
    return {"identifier": identifier, "name": identifier.title(),
            "email": f"{identifier}@example.org", "password": password}


def new_organisation(n: int, identifier: str, **overrides) -> dict:
    return {"name": f"Organisme {n}", "siret": valid_siret(n), "email": f"of{n}@example.org",
            "legal_representative": "Jeanne MARTIN", "address": "1 rue de la Paix, Metz",
            "user": {"identifier": identifier, "name": identifier.title(),
                     "email": f"{identifier.lower()}@example.org"}, **overrides}


def actor_for(rpc, identifier: str, password: str = PASSWORD) -> dict:
    session = rpc.identity.login({"identifier": identifier, "password": password})
    return rpc.identity.authenticate(session["access_token"])


def bootstrap(rpc, code: str = "tpro-ge") -> dict:
    """A funder and its administrator's actor."""
    rpc.identity.bootstrap_funder({"code": code, "name": f"Transitions Pro {code}",
                                   "admin": new_user(f"admin-{code}")})
    return actor_for(rpc, f"admin-{code}")


def certified_envelope() -> dict:
    """certification's `certified` of dossier d1's September 2026, as it arrives on the bus."""
    data = CertifiedV1(
        certificate_id=str(uuid.uuid4()), dossier_id="d1", dossier_number="20X000703",
        funder_id="f1", organisation_id="o1", organisation_name="Formations Exemple",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="michelle@example.org"),
        employer=Party(id="e1", name="ACME Industries", email="rh@acme.example"),
        training_title="Développeur web", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"), absence=Decimal("0")),
        method=2, certified_by="user-42", certified_at=datetime.now(timezone.utc))
    return new_envelope("certification", "certified", 1, data, subject="d1/2026-09").model_dump(
        mode="json")


def outbox_count(url: str, event_name: str) -> int:
    """Events `event_name` in the outbox of the database at `url` (published or not)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM outbox WHERE event_name = :name"),
                             {"name": event_name}).scalar()
    engine.dispose()
    return count


def dispatch(amqp_uri: str, service: str, name: str, envelope) -> None:
    """Publish an envelope as `service` would, bypassing its outbox (tests redelivery)."""
    event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(
        service, name, envelope.model_dump(mode="json"))


def kit_database(monkeypatch, postgres, service: str, metadata: MetaData) -> str:
    """A fresh PostgreSQL database for a throw-away service, with its tables created."""
    url = postgres.create(service)
    monkeypatch.setenv(f"JALON_DB_URL_{service.upper()}", url)
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return url


def publish_raw(amqp_uri: str, source: str, routing_key: str, body: dict,
                headers: dict | None = None) -> None:
    """Publish JSON to a service's event exchange as Nameko would (for crafted messages)."""
    exchange = get_event_exchange(source, {})
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer(serializer="json")
        producer.publish(body, exchange=exchange, routing_key=routing_key, declare=[exchange],
                         headers=headers or {}, delivery_mode=2)


class Tap:
    """A private queue bound to a service's event exchange: sees every event it publishes."""

    def __init__(self, amqp_uri: str, source: str, routing_key: str):
        self.connection = Connection(amqp_uri)
        exchange: Exchange = get_event_exchange(source, {})
        self.queue = Queue(f"tap-{source}-{routing_key}", exchange=exchange,
                           routing_key=routing_key, auto_delete=False, durable=False,
                           exclusive=True)(self.connection.default_channel)
        self.queue.declare()

    def drain(self) -> list[dict]:
        bodies = []
        while (message := self.queue.get(no_ack=True)) is not None:
            bodies.append(json.loads(message.body))
        return bodies

    def close(self) -> None:
        self.connection.close()


def dependency(container, kind):
    """The container's one dependency provider of class `kind`."""
    return next(dep for dep in container.dependencies if isinstance(dep, kind))


def recorded(container, attribute: str):
    """What the container's `Recorded` named `attribute` holds."""
    return next(dep.calls for dep in container.dependencies
                if isinstance(dep, Recorded) and dep.attr_name == attribute)


# ---- certification's neighbours: fake dossiers, identity, documents and payments ----------

FUNDER, ORGANISATION = "f-tpro", "o-formation"
ORGANISATION_PROFILE = {
    "id": ORGANISATION, "funder_id": FUNDER, "name": "Formations du Lac",
    "siret": "73282932000074", "email": "contact@lac.example",
    "legal_representative": "Jeanne MARTIN", "address": "12 rue du Lac\n67000 Strasbourg"}
HOURS = {"training_hours": "147.00", "internship_hours": "0", "absence_hours": "3.5"}
ATTEST = {"attest": True}


def party(kind: str) -> dict:
    return {"id": f"{kind}-{uuid.uuid4().hex[:6]}", "name": f"DUBOIS {kind}",
            "email": f"{kind}@example.org", "kind": kind, "funder_id": FUNDER}


def this_month() -> str:
    return date.today().strftime("%Y-%m")


def actor(role="organisation_user", organisation=ORGANISATION, funder=FUNDER, **extra) -> dict:
    rights = list(ALL_RIGHTS) if role == "organisation_user" else []
    return {"user_id": f"u-{role}", "role": role, "funder_id": funder,
            "organisation_id": organisation, "rights": rights, **extra}


ORG_USER = actor(ip="192.0.2.10", email="claire@lac.example")


@dataclass
class Neighbours:
    """What the fake neighbours of certification know in one test: its dossiers, the
    organisations whose letterhead is incomplete (no legal representative nor logo), the
    certifier organisations (method 2) and since when, and the dossiers without a signed
    certificate. The `neighbours` fixture hands it to the fakes' containers (config
    "NEIGHBOURS") and to the test."""

    dossiers: dict[str, dict] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)
    certifiers: dict[str, datetime] = field(default_factory=dict)
    unsigned: set[str] = field(default_factory=set)

    def dossier(self, months_before: int = 2, organisation: str = ORGANISATION,
                **extra) -> dict:
        """A dossier whose session began `months_before` months ago and ends in two months."""
        today = date.today()
        start = (today.replace(day=1) - timedelta(days=28 * months_before)).replace(day=10)
        dossier = {
            "id": str(uuid.uuid4()), "number": "20X000703", "funder_id": FUNDER,
            "organisation_id": organisation, "organisation_name": "Formations du Lac",
            "beneficiary": party("beneficiary"), "employer": party("employer"),
            "training_title": "1ERE ANNEE PHARMACIE", "session_start": start.isoformat(),
            "session_end": (today + timedelta(days=62)).isoformat(), "status": "in_progress",
            **extra,
        }
        self.dossiers[dossier["id"]] = dossier
        return dossier


class Neighbourhood(DependencyProvider):
    """The test's Neighbours, as its fakes see them."""

    def get_dependency(self, worker_ctx) -> Neighbours:
        return self.container.config["NEIGHBOURS"]


class FakeDossiers:
    """Stands in for the dossiers service: same name, same get_dossier scoping."""

    name = "dossiers"
    neighbours = Neighbourhood()

    @rpc_entrypoint
    def get_dossier(self, actor, dossier_id):
        dossier = self.neighbours.dossiers.get(dossier_id)
        if dossier is None or not may_see_dossier(actor, dossier):
            raise NotFound("dossier_not_found", "Dossier introuvable.")
        return dossier

    @rpc_entrypoint
    def list_dossiers(self, actor, query=None, limit=200):
        summaries = [{k: v for k, v in d.items() if k != "forecast"}
                     for d in self.neighbours.dossiers.values() if may_see_dossier(actor, d)]
        return summaries[:limit]





class FakeIdentity:
    """Stands in for identity: the one organisation's profile, to its users and its funder."""

    name = "identity"
    neighbours = Neighbourhood()

    @rpc_entrypoint
    def get_organisation(self, actor, organisation_id):
        if not organisation_id.startswith(ORGANISATION) or actor["funder_id"] != FUNDER or (
                actor["role"] == Role.organisation_user
                and actor.get("organisation_id") != organisation_id):
            raise NotFound("organisation_not_found", "Organisme de formation introuvable.")
        return {**ORGANISATION_PROFILE, "id": organisation_id}

    @rpc_entrypoint
    def get_organisation_profile(self, actor, organisation_id):
        """« Votre identité » and the readiness identity's rules judge from it."""
        facts = {**(NO_LETTERHEAD if organisation_id in self.neighbours.incomplete else {}),
                 **(CERTIFIER if organisation_id in self.neighbours.certifiers else {})}
        return {**self.get_organisation(actor, organisation_id), **profile_readiness(
            **facts, certifier_since=self.neighbours.certifiers.get(organisation_id))}


class FakeDocuments:
    """documents as certification reads it: every month of a dossier has its signed
    certificate, except the dossiers the Neighbours say are unsigned."""

    name = "documents"
    neighbours = Neighbourhood()

    @rpc_entrypoint
    def list_documents(self, actor, dossier_id=None, query=None):
        if dossier_id in self.neighbours.unsigned:
            return []
        return [{"category": "signed_certificate", "status": "deposited",
                 "content_type": "application/pdf", "sha256": "5" * 64, "month": month,
                 "created_at": datetime.now(timezone.utc).isoformat()}  # after the hours
                for month in _all_months(self.neighbours.dossiers[dossier_id])]


def _all_months(dossier: dict) -> list[str]:
    start, end = (date.fromisoformat(dossier[k]) for k in ("session_start", "session_end"))
    return [f"{y:04d}-{m:02d}" for y in range(start.year, end.year + 1) for m in range(1, 13)
            if (start.year, start.month) <= (y, m) <= (end.year, end.month)]


class FakePayments:
    """payments as certification asks it: no month is locked here (payments' own tests lock)."""

    name = "payments"

    @rpc_entrypoint
    def locked_months(self, actor, dossier_id):
        return []


# ---- payments' neighbours: fake documents and notifications, and who watches it -------------

STAFF = actor("funder_agent", None)


def paid_month() -> tuple[date, date]:
    """The month new_payment pays: last month, within Neighbours.dossier's session."""
    last = date.today().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def new_payment(number: str, dossier: dict, amount: str = "10 503,34",
                payment_date: str = "2019-09-20", advance: bool = False) -> dict:
    """35,5 h of paid_month(): certified_for_payment first, unless an advance."""
    start, end = paid_month()
    return {"number": number, "payment_date": payment_date, "organisation_id": ORGANISATION,
            "advance": advance, "lines": [{
                "dossier_id": dossier["id"], "hours_paid": "35,5",
                "period_start": start.isoformat(), "period_end": end.isoformat(),
                "amount": amount}]}


def certified_for_payment(url: str, dossier: dict, training: str = "147.00") -> None:
    """paid_month() of the dossier locked for payment in payments' database, as its
    `certified` handler writes it (the event path is tested on its own)."""
    with make_engine(url).begin() as conn:
        conn.execute(month_locks.insert().values(
            dossier_id=dossier["id"], month=paid_month()[0].strftime("%Y-%m"),
            funder_id=FUNDER, organisation_id=dossier["organisation_id"],
            certificate_id=str(uuid.uuid4()), training_hours=Decimal(training),
            internship_hours=Decimal(0), absence_hours=Decimal(0),
            locked_at=datetime.now(timezone.utc)))


class RemittanceDocuments:
    """documents as payments asks it: remittance advices rendered (`advices`; none while
    `outage["down"]`), a RIB and a KBIS to check bank details against."""

    name = "documents"
    advices = Recorded()
    outage = Recorded(lambda: {"down": False})

    @rpc_entrypoint
    def render_remittance_advice(self, actor, request):
        if self.outage["down"]:
            raise RuntimeError("documents down")
        self.advices.append(request)
        return {"id": f"doc-{request['payment_number']}"}

    @rpc_entrypoint
    def get_document(self, actor, document_id):
        if document_id == "rib-ok":
            return {"id": document_id, "category": "bank_details",
                    "organisation_id": ORGANISATION}
        if document_id == "kbis":
            return {"id": document_id, "category": "kbis",
                    "organisation_id": ORGANISATION}
        raise NotFound("document_not_found", "Document introuvable.")


class HandledEvents(DependencyProvider):
    """The end of each event handler's work: the positive fact that a delivery (a duplicate
    too, which changes nothing) was handled; `handled`: (handler, event id, failed)."""

    def setup(self) -> None:
        self.handled: list[tuple[str, str, bool]] = []

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        event = worker_ctx.args[0] if worker_ctx.args else None
        if isinstance(event, ReceivedEvent):
            self.handled.append((worker_ctx.entrypoint.method_name, event.id,
                                 exc_info is not None))


def handlings(handled: list[tuple[str, str, bool]], handler: str, event_id: str) -> list[bool]:
    """Whether each handling of the event by `handler` failed, in order."""
    return [failed for name, handled_id, failed in handled
            if (name, handled_id) == (handler, event_id)]
