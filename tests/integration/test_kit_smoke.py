"""Smoke: outbox -> relay -> subscribe + idempotent across two real containers."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from nameko.rpc import rpc
from sqlalchemy import MetaData, func, select

from contracts.events import CertifiedV1, MonthHours, Party
from servicekit.context import RequestContext
from servicekit.db import Database, make_engine
from servicekit.events import idempotent, subscribe
from servicekit.outbox import OutboxRelay
from servicekit.tables import add_kit_tables
from tests.support.integration import Recorded, dependency
from tools.waiting import wait_until

pub_meta = MetaData()
add_kit_tables(pub_meta)
sub_meta = MetaData()
add_kit_tables(sub_meta)


def certified_payload() -> CertifiedV1:
    party = Party(id="b1", name="DUBOIS Michelle", email="m@example.org")
    return CertifiedV1(
        certificate_id="c1", dossier_id="d1", dossier_number="20X000703", funder_id="f1",
        organisation_id="o1", organisation_name="OF", beneficiary=party, employer=None,
        training_title="T", session_start=date(2026, 1, 1), session_end=date(2026, 6, 30),
        month="2026-02", hours=MonthHours(training=Decimal("147"), internship=Decimal(0),
                                          absence=Decimal("3.5")),
        method=1, certified_by="u1", certified_at=datetime.now(timezone.utc))


class Publisher:
    name = "certification"
    context = RequestContext()
    db = Database(pub_meta)
    relay = OutboxRelay()

    @rpc
    def go(self):
        with self.db.unit_of_work() as uow:
            return uow.publish("certified", certified_payload(), subject="d1/2026-02")


class Consumer:
    name = "payments"
    context = RequestContext()
    db = Database(sub_meta)
    received = Recorded()

    @subscribe("certification", "certified")
    @idempotent
    def on_certified(self, uow, event):
        self.received.append((event.id, self.context, event.data.hours.training))


def test_outbox_to_idempotent_consumer(service_env, container_factory, rpc, postgres):
    urls = {name: service_env_url(service_env, postgres, name, meta)
            for name, meta in (("certification", pub_meta), ("payments", sub_meta))}
    received = dependency(container_factory(Consumer), Recorded).calls
    container_factory(Publisher)
    event_id = rpc.certification.go()
    wait_until(lambda: received, 10)
    assert received[0][0] == event_id
    assert received[0][2] == Decimal("147.00")
    engine = make_engine(urls["certification"])
    outbox = pub_meta.tables["outbox"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(outbox.c.published_at.is_(None))).scalar() == 0


def service_env_url(service_env, postgres, name, meta):
    import os
    url = postgres.create(name)
    os.environ[f"JALON_DB_URL_{name.upper()}"] = url
    meta.create_all(make_engine(url))
    return url
