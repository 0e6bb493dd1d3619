"""payments on real RabbitMQ + PostgreSQL: certified -> month lock -> month_locked, once."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from contracts.envelope import new_envelope
from contracts.events import CertifiedV1, MonthHours, Party
from servicekit.db import make_engine
from servicekit.errors import NotFound
from servicekit.events import subscribe
from services.certification.service import CertificationService
from services.payments.models import metadata
from services.payments.service import PaymentsService
from tests.integration.test_certification_service import (ATTEST, FUNDER, HOURS, ORG_USER,
                                                          ORGANISATION, FakeDossiers,
                                                          FakeIdentity, actor, dispatch,
                                                          make_dossier, this_month, wait_until)

LOCKED: list[dict] = []  # month_locked envelopes seen by the Ledger


class Ledger:
    """Another funder system listening to month_locked; counts every delivery."""

    name = "ledger"

    @subscribe("payments", "month_locked")
    def on_month_locked(self, event):
        LOCKED.append(event.envelope.model_dump(mode="json"))


def locked_for(dossier_id: str) -> list[dict]:
    return [e for e in LOCKED if e["data"]["dossier_id"] == dossier_id]


def month_locked_rows(url: str) -> int:
    outbox = metadata.tables["outbox"]
    with make_engine(url).connect() as conn:
        return conn.execute(select(func.count()).where(
            outbox.c.event_name == "month_locked")).scalar()


def certified(dossier_id: str, training: str = "147.00") -> CertifiedV1:
    beneficiary = Party(id="b1", name="DUBOIS Michelle", email="m@example.org")
    return CertifiedV1(
        certificate_id=str(uuid.uuid4()), dossier_id=dossier_id, dossier_number="20X000703",
        funder_id=FUNDER, organisation_id=ORGANISATION, organisation_name="Formations du Lac",
        beneficiary=beneficiary, employer=None, training_title="T",
        session_start=date(2026, 1, 1), session_end=date(2026, 6, 30), month="2026-02",
        hours=MonthHours(training=Decimal(training), internship=Decimal(0),
                         absence=Decimal("3.5")),
        method=1, certified_by="u1", certified_at=datetime.now(timezone.utc))


def test_certified_month_is_locked_and_certification_marks_it(service_env, container_factory,
                                                              rpc):
    service_env("certification")
    payments_url = service_env("payments")
    for service in (FakeDossiers, FakeIdentity, Ledger, PaymentsService, CertificationService):
        container_factory(service)
    dossier, month = make_dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    done = rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)

    wait_until(lambda: rpc.certification.get_certificate(
        ORG_USER, dossier["id"], month)["locked_for_payment"])
    lock = rpc.payments.get_month_lock(ORG_USER, dossier["id"], month)
    assert lock["locked"] is True and lock["certificate_id"] == done["id"]
    assert (lock["training_hours"], lock["internship_hours"], lock["absence_hours"]) == (
        "147.00", "0.00", "3.50")
    events = wait_until(lambda: locked_for(dossier["id"]))
    assert len(events) == 1 and month_locked_rows(payments_url) == 1
    assert events[0]["data"]["certificate_id"] == done["id"]
    assert rpc.payments.health() == {"service": "payments", "status": "ok", "database": "ok"}


def test_month_lock_scoping(service_env, container_factory, rpc, amqp_uri):
    service_env("payments")
    container_factory(FakeDossiers)
    container_factory(PaymentsService)
    dossier_id = make_dossier()["id"]
    dispatch(amqp_uri, "certification", "certified",
             new_envelope("certification", "certified", 1, certified(dossier_id)))
    staff = actor("funder_agent", None)
    wait_until(lambda: rpc.payments.get_month_lock(staff, dossier_id, "2026-02")["locked"])
    assert rpc.payments.get_month_lock(ORG_USER, dossier_id, "2026-02")["locked"] is True
    outsiders = (actor(organisation="o-other"), actor("funder_admin", None, "f-other"),
                 actor("beneficiary", None))
    for outsider in outsiders:
        with pytest.raises(NotFound):
            rpc.payments.get_month_lock(outsider, dossier_id, "2026-02")
    # A month never locked is simply not locked, for those who may see the dossier; the
    # others may not even learn that.
    assert rpc.payments.get_month_lock(ORG_USER, dossier_id, "2026-03") == {
        "dossier_id": dossier_id, "month": "2026-03", "locked": False, "certificate_id": None,
        "training_hours": None, "internship_hours": None, "absence_hours": None,
        "locked_at": None}
    for outsider in outsiders:
        with pytest.raises(NotFound):
            rpc.payments.get_month_lock(outsider, dossier_id, "2026-03")


def test_redelivered_certified_locks_once(service_env, container_factory, rpc, amqp_uri):
    payments_url = service_env("payments")
    # One worker each: messages are handled in the order they were published, so once the
    # sentinel's month_locked arrives, everything sent before it has been handled.
    container_factory(PaymentsService, max_workers=1)
    container_factory(Ledger, max_workers=1)
    dossier_id, sentinel_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = new_envelope("certification", "certified", 1, certified(dossier_id))
    later = new_envelope("certification", "certified", 1, certified(dossier_id, "10.00"))
    sentinel = new_envelope("certification", "certified", 1, certified(sentinel_id))
    for envelope in (first, first, later, sentinel):
        dispatch(amqp_uri, "certification", "certified", envelope)

    wait_until(lambda: locked_for(sentinel_id))
    assert len(locked_for(dossier_id)) == 1
    assert month_locked_rows(payments_url) == 2  # the dossier's month and the sentinel's
    lock = rpc.payments.get_month_lock(ORG_USER, dossier_id, "2026-02")
    assert lock["training_hours"] == "147.00"  # the first certified hours stay payable
    assert lock["certificate_id"] == first.data["certificate_id"]
