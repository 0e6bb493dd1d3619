"""certification on real RabbitMQ + PostgreSQL: hours, certify, events, races, locks, scoping.

dossiers and identity are outside what is tested here: small fake services with the same
names and methods answer get_dossier and get_organisation. The helpers below are reused by
test_payments_service.py and test_documents_pdfs.py.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from contracts.common import ALL_RIGHTS
from contracts.envelope import new_envelope
from contracts.events import MonthHours, MonthLockedV1
from servicekit.db import make_engine
from servicekit.errors import Conflict, Forbidden, InvalidInput, NotFound
from servicekit.events import subscribe
from services.certification.domain import Certificate
from services.certification.models import metadata, start_mappers
from services.certification.service import CertificationService

FUNDER, ORGANISATION = "f-tpro", "o-formation"
DOSSIERS: dict[str, dict] = {}
RECEIVED: list[dict] = []  # envelopes seen by the Observer


def party(kind: str) -> dict:
    return {"id": f"{kind}-{uuid.uuid4().hex[:6]}", "name": f"DUBOIS {kind}",
            "email": f"{kind}@example.org", "kind": kind, "funder_id": FUNDER}


def this_month() -> str:
    return date.today().strftime("%Y-%m")


def make_dossier(months_before: int = 2) -> dict:
    """A dossier whose session began `months_before` months ago and ends in two months."""
    today = date.today()
    start = (today.replace(day=1) - timedelta(days=28 * months_before)).replace(day=10)
    dossier = {
        "id": str(uuid.uuid4()), "number": "20X000703", "funder_id": FUNDER,
        "organisation_id": ORGANISATION, "organisation_name": "Formations du Lac",
        "beneficiary": party("beneficiary"), "employer": party("employer"),
        "training_title": "1ERE ANNEE PHARMACIE", "session_start": start.isoformat(),
        "session_end": (today + timedelta(days=62)).isoformat(), "status": "in_progress",
    }
    DOSSIERS[dossier["id"]] = dossier
    return dossier


def actor(role="organisation_user", organisation=ORGANISATION, funder=FUNDER, **extra) -> dict:
    rights = list(ALL_RIGHTS) if role == "organisation_user" else []
    return {"user_id": f"u-{role}", "role": role, "funder_id": funder,
            "organisation_id": organisation, "rights": rights, **extra}


ORG_USER = actor(ip="192.0.2.10")
HOURS = {"training_hours": "147.00", "internship_hours": "0", "absence_hours": "3.5"}
ATTEST = {"attest": True}


class FakeDossiers:
    """Stands in for the dossiers service: same name, same get_dossier scoping."""

    name = "dossiers"

    @rpc
    def get_dossier(self, actor, dossier_id):
        dossier = DOSSIERS.get(dossier_id)
        if dossier is None or not _may_see(actor, dossier):
            raise NotFound("dossier_not_found", "Dossier introuvable.")
        return dossier


def _may_see(actor: dict, dossier: dict) -> bool:
    if actor["funder_id"] != dossier["funder_id"]:
        return False
    if actor["role"] == "organisation_user":
        return actor.get("organisation_id") == dossier["organisation_id"]
    return actor["role"] in ("funder_agent", "funder_admin")


ORGANISATION_PROFILE = {
    "id": ORGANISATION, "funder_id": FUNDER, "name": "Formations du Lac",
    "siret": "73282932000074", "email": "contact@lac.example",
    "legal_representative": "Jeanne MARTIN", "address": "12 rue du Lac\n67000 Strasbourg"}


class FakeIdentity:
    """Stands in for identity: the one organisation's profile, to its users and its funder."""

    name = "identity"

    @rpc
    def get_organisation(self, actor, organisation_id):
        if organisation_id != ORGANISATION or actor["funder_id"] != FUNDER or (
                actor["role"] == "organisation_user"
                and actor.get("organisation_id") != ORGANISATION):
            raise NotFound("organisation_not_found", "Organisme de formation introuvable.")
        return ORGANISATION_PROFILE


class Observer:
    """Counts every `certified` delivery, as a subscriber of another funder system would."""

    name = "observer"

    @subscribe("certification", "certified")
    def on_certified(self, event):
        RECEIVED.append(event.envelope.model_dump(mode="json"))


def wait_until(predicate, timeout: float = 20):
    """Poll until predicate() is truthy (the timeout only guards against hanging)."""
    with eventlet.Timeout(timeout):
        while not (result := predicate()):
            eventlet.sleep(0.05)
    return result


def certified_for(dossier_id: str) -> list[dict]:
    return [e for e in RECEIVED if e["data"]["dossier_id"] == dossier_id]


def dispatch(amqp_uri: str, service: str, name: str, envelope) -> None:
    """Publish an envelope as `service` would, bypassing its outbox (tests redelivery)."""
    event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(
        service, name, envelope.model_dump(mode="json"))


@pytest.fixture
def certification(service_env, container_factory):
    url = service_env("certification")
    container_factory(FakeDossiers)
    container_factory(FakeIdentity)
    container_factory(CertificationService)
    return url


def outbox_count(url: str, event_name: str) -> int:
    outbox = metadata.tables["outbox"]
    with make_engine(url).connect() as conn:
        return conn.execute(select(func.count()).where(outbox.c.event_name == event_name)).scalar()


def test_health_and_months_of_the_session_with_their_statuses(certification, rpc):
    assert rpc.certification.health() == {"service": "certification", "status": "ok",
                                          "database": "ok"}
    dossier = make_dossier()
    listed = rpc.certification.list_certificates(ORG_USER, dossier["id"])
    statuses = {c["month"]: c["status"] for c in listed}
    assert len(listed) >= 5 and [c["month"] for c in listed] == sorted(statuses)
    assert statuses[this_month()] == "awaiting_entry"
    assert listed[-1]["status"] == "not_available"
    assert listed[-1]["status_label"] == "La saisie n'est pas disponible"
    assert all(c["id"] is None for c in listed)  # computed, not stored


def test_enter_hours_then_certify_publishes_exactly_one_certified(certification, rpc,
                                                                   container_factory):
    container_factory(Observer)
    dossier, month = make_dossier(), this_month()
    entered = rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    assert (entered["status"], entered["training_hours"], entered["absence_hours"]) == (
        "hours_entered", "147.00", "3.50")
    assert entered["status_label"] == "Heures saisies, en attente de certification"

    done = rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
    assert (done["status"], done["method"], done["certified_by"]) == (
        "certified", 1, "u-organisation_user")
    assert done["status_label"] == "Certifié par l'organisme"

    events = wait_until(lambda: certified_for(dossier["id"]))
    assert outbox_count(certification, "certified") == 1
    assert len(events) == 1
    event = events[0]
    assert event["subject"] == f"{dossier['id']}/{month}"
    assert event["data"]["hours"] == {"training": "147.00", "internship": "0.00",
                                      "absence": "3.50"}
    assert event["data"]["certified_from_ip"] == "192.0.2.10"
    assert event["data"]["beneficiary"]["email"] == "beneficiary@example.org"
    assert event["data"]["certificate_id"] == done["id"]
    # The letterhead as identity knew it at certification, for the PDF.
    assert (event["data"]["organisation_siret"], event["data"]["legal_representative"],
            event["data"]["organisation_address"]) == (
        "73282932000074", "Jeanne MARTIN", "12 rue du Lac\n67000 Strasbourg")

    with pytest.raises(Conflict) as exc:
        rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
    assert exc.value.code == "certificate_already_certified"
    with pytest.raises(Conflict) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    assert exc.value.code == "certificate_already_certified"
    assert outbox_count(certification, "certified") == 1


def test_rules_and_scoping_over_rpc(certification, rpc):
    dossier, month = make_dossier(), this_month()
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.certify(ORG_USER, dossier["id"], month, {"attest": False})
    assert exc.value.code == "attestation_required"
    with pytest.raises(Conflict) as exc:
        rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
    assert exc.value.code == "hours_not_entered"
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month,
                                      {**HOURS, "absence_hours": "-1"})
    assert exc.value.code == "invalid_payload"
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.get_certificate(ORG_USER, dossier["id"], "2026-13")
    assert exc.value.code == "invalid_payload"
    future = rpc.certification.list_certificates(ORG_USER, dossier["id"])[-1]["month"]
    with pytest.raises(Conflict) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], future, HOURS)
    assert exc.value.code == "month_not_available"
    assert outbox_count(certification, "certified") == 0

    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    for outsider in (actor(organisation="o-other"), actor("funder_agent", None, "f-other")):
        with pytest.raises(NotFound):
            rpc.certification.get_certificate(outsider, dossier["id"], month)
        with pytest.raises(NotFound):
            rpc.certification.enter_hours(outsider, dossier["id"], month, HOURS)
    staff = actor("funder_agent", None)
    assert rpc.certification.get_certificate(staff, dossier["id"], month)["status"] == \
        "hours_entered"
    with pytest.raises(Forbidden) as exc:
        rpc.certification.certify(staff, dossier["id"], month, ATTEST)
    assert exc.value.code == "not_allowed"


def test_entering_and_certifying_need_their_rights(certification, rpc):
    dossier, month = make_dossier(), this_month()
    only_documents = actor(rights=["documents"])
    with pytest.raises(Forbidden) as exc:
        rpc.certification.enter_hours(only_documents, dossier["id"], month, HOURS)
    assert (exc.value.code, exc.value.details) == ("missing_right", {"right": "enter_hours"})
    rpc.certification.enter_hours(actor(rights=["enter_hours"]), dossier["id"], month, HOURS)
    with pytest.raises(Forbidden) as exc:
        rpc.certification.certify(actor(rights=["enter_hours"]), dossier["id"], month, ATTEST)
    assert exc.value.details == {"right": "certify_electronically"}
    certified = rpc.certification.certify(actor(rights=["certify_electronically"]),
                                          dossier["id"], month, ATTEST)
    assert certified["status"] == "certified"


def test_two_certify_calls_at_once_only_one_wins(certification, rpc, amqp_uri):
    dossier, month = make_dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)

    def certify_once():
        # The standalone proxy is not safe across green threads: one each.
        with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30) as own:
            try:
                return own.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
            except Conflict as exc:
                return exc

    results = [t.wait() for t in [eventlet.spawn(certify_once) for _ in range(2)]]
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert losses[0].code in ("concurrent_change", "certificate_already_certified")
    assert outbox_count(certification, "certified") == 1


def test_stale_version_is_refused(service_env):
    """The version column, without timing luck: two sessions read, both certify."""
    start_mappers()
    engine = make_engine(service_env("certification"))
    now = datetime.now(timezone.utc)
    with Session(engine) as db, db.begin():
        cert = Certificate.open(str(uuid.uuid4()), "2026-01", FUNDER, ORGANISATION, now)
        cert.status, cert.training_hours = "hours_entered", Decimal("1")
        cert.internship_hours = cert.absence_hours = Decimal("0")
        db.add(cert)
        cert_id = cert.id
    first, second = Session(engine), Session(engine)
    mine, theirs = first.get(Certificate, cert_id), second.get(Certificate, cert_id)
    mine.certify("u1", None, now)
    theirs.certify("u2", None, now)
    first.commit()
    with pytest.raises(StaleDataError):
        second.commit()
    second.close()
    first.close()


def test_month_locked_marks_the_certificate(certification, rpc, amqp_uri):
    dossier, month = make_dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    done = rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
    locked = MonthLockedV1(dossier_id=dossier["id"], month=month, certificate_id=done["id"],
                           hours=MonthHours(training=Decimal("147"), internship=Decimal(0),
                                            absence=Decimal("3.5")),
                           locked_at=datetime.now(timezone.utc))
    dispatch(amqp_uri, "payments", "month_locked",
             new_envelope("payments", "month_locked", 1, locked))
    wait_until(lambda: rpc.certification.get_certificate(
        ORG_USER, dossier["id"], month)["locked_for_payment"])
    with pytest.raises(Conflict) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    assert exc.value.code == "month_locked"
