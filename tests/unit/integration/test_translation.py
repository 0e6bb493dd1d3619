"""integration's translations: each internal event becomes one public event of its funder,
minimal (no name, email, IP or free text), logged once whatever the redeliveries."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from contracts import public
from contracts.events import CoveredDossier, PaymentIssuedV1
from services.integration import domain, handlers
from tests.support.notifications import (certified, contested, document_checked,
                                         document_rejected, reopened, validated)
from tests.support.public_log import integration, received

ISSUED_AT = datetime(2026, 10, 20, 8, 30, tzinfo=timezone.utc)


def payment_issued(**changes) -> PaymentIssuedV1:
    values = dict(payment_id="p1", payment_number="AV-1042", funder_id="f1",
                  organisation_id="o1", dossiers=[CoveredDossier(dossier_id="d1",
                                                                 months=["2026-09"])],
                  issued_at=ISSUED_AT, recorded_by="agent")
    return PaymentIssuedV1(**{**values, **changes})


# (service, internal event, its data, public spec, subject)
CASES = [
    ("certification", "certified", certified(), public.MONTH_CERTIFIED, "d1/2026-09"),
    ("certification", "hours_validated", validated(), public.HOURS_VALIDATED, "d1/2026-10"),
    ("certification", "hours_contested", contested(), public.HOURS_CONTESTED, "d1/2026-09"),
    ("certification", "certificate_reopened", reopened(), public.MONTH_REOPENED, "d1/2026-08"),
    ("payments", "payment_issued", payment_issued(), public.PAYMENT_ISSUED, "p1"),
    ("documents", "document_checked", document_checked(), public.DOCUMENT_REVIEWED, "doc-1"),
    ("documents", "document_rejected", document_rejected(), public.DOCUMENT_REVIEWED, "doc-1"),
]
PERSONAL = ["michelle@example.org", "rh@acme.example", "DUBOIS", "ACME", "contact@of.example",
            "of@example.org", "192.0.2.", "J'étais absente", "il manque le verso",
            "Heures de stage manquantes", "Formations Exemple", "Facture n° 42", "agent", "u9"]


def translated(service: str, name: str, data, correlation_id: str | None = None):
    world = integration()
    event = received(service, name, data, correlation_id)
    with world.db.unit_of_work() as uow:
        handlers.translate(uow, world.ports, event)
    return world, event


@pytest.mark.parametrize("service, name, data, spec, subject", CASES,
                         ids=[case[1] for case in CASES])
def test_each_internal_event_logs_one_public_event_of_its_funder(service, name, data, spec,
                                                                 subject):
    world, event = translated(service, name, data, correlation_id="req-7")
    [row] = world.log.rows
    body = row.body
    assert row.funder_id == "f1" and row.published_at is None
    assert row.routing_key == f"f1.{spec.key}"
    assert row.id == body["id"] == domain.public_event_id(event.id, spec.key)
    assert (body["type"], body["source"]) == (f"fr.jalon.{spec.service}.{spec.name}",
                                              f"jalon/{spec.service}")
    assert (body["subject"], body["schemaversion"], body["correlationid"]) == (subject, 1,
                                                                               "req-7")
    assert row.occurred_at == event.envelope.time  # when it happened, not when translated
    spec.model.model_validate(body["data"])  # the public contract, nothing more


@pytest.mark.parametrize("service, name, data", [case[:3] for case in CASES],
                         ids=[case[1] for case in CASES])
def test_nothing_personal_reaches_the_public_event(service, name, data):
    world, _ = translated(service, name, data.model_copy(update={"certified_from_ip": "192.0.2.4"})
                          if name == "certified" else data)
    text = json.dumps(world.log.rows[0].body["data"], ensure_ascii=False)
    assert [word for word in PERSONAL if word in text] == []
    assert "@" not in text


def test_a_certified_month_says_its_hours_method_and_reference():
    world, _ = translated("certification", "certified", certified(hours_reference="A1B2C3"))
    data = world.log.rows[0].body["data"]
    assert data == {
        "dossier_id": "d1", "dossier_number": "20X000703", "organisation_id": "o1",
        "certificate_id": "c1", "month": "2026-09", "method": 2,
        "hours": {"training": "147", "internship": "0", "absence": "0"},
        "certified_at": "2026-10-02T14:05:00Z", "hours_reference": "A1B2C3"}


def test_a_rejection_gives_its_code_never_the_text_staff_wrote():
    world, _ = translated("documents", "document_rejected", document_rejected())
    data = world.log.rows[0].body["data"]
    assert (data["status"], data["reason_code"]) == ("rejected", "incomplete")


def test_a_redelivered_event_logs_nothing_more():
    world = integration()
    event = received("certification", "certified", certified())
    for _ in range(2):
        with world.db.unit_of_work() as uow:
            first = handlers.translate(uow, world.ports, event)
    assert [row.id for row in world.log.rows] == [first]


def test_two_funders_events_go_under_their_own_keys():
    world = integration()
    for funder in ("f1", "f2"):
        with world.db.unit_of_work() as uow:
            handlers.translate(uow, world.ports, received("payments", "payment_issued",
                                                          payment_issued(funder_id=funder)))
    assert [row.routing_key for row in world.log.rows] == [
        "f1.payments.payment_issued.v1", "f2.payments.payment_issued.v1"]


def test_published_events_past_the_retention_are_pruned():
    world = integration(retention_days=30)
    for event in (received("certification", "certified", certified()),
                  received("certification", "hours_validated", validated())):
        with world.db.unit_of_work() as uow:
            handlers.translate(uow, world.ports, event)
    old, recent = world.log.rows
    old.occurred_at, recent.occurred_at = world.clock(), world.clock() + timedelta(days=20)
    world.publish_all()
    world.clock.advance(days=31)
    assert handlers.prune_public_events(world.db, world.ports) == 1
    assert [row.position for row in world.log.rows] == [recent.position]


def test_an_unpublished_event_is_kept_however_old():
    world = integration(retention_days=30)
    with world.db.unit_of_work() as uow:
        handlers.translate(uow, world.ports,
                           received("certification", "certified", certified()))
    world.clock.advance(days=400)
    assert handlers.prune_public_events(world.db, world.ports) == 0
    assert len(world.log.rows) == 1
