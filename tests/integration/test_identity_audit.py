"""identity's audit trail on PostgreSQL (issue 15): entries named and sealed by the real
repository (its chain-head row, locked per append), read through the RPC, and an UPDATE made
behind identity's back named by the verification."""
from __future__ import annotations

from datetime import datetime, timezone

from nameko.standalone.events import event_dispatcher
from sqlalchemy import select, update

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from contracts.envelope import new_envelope
from contracts.events import (BankDetailsChangedV1, HoursEnteredV1, MonthHours,
                              PaymentReconciledV1)
from services.identity.models import audit_events
from servicekit.db import make_engine
from tests.support.integration import bootstrap, new_organisation
from tools.waiting import wait_until


def test_the_chain_is_sealed_and_a_tampered_row_is_named(identity, rpc, mail):
    admin = bootstrap(rpc)
    organisation = rpc.identity.create_organisation(admin, new_organisation(1, "Marie.Durand"))
    user = mail.first_login(rpc, "marie.durand")
    trail = rpc.identity.audit_trail(admin, organisation["id"], {"limit": 50})
    [created] = [entry for entry in trail if entry["action"] == "organisation_created"]
    assert created["organisation_name"] == "Organisme 1"
    assert created["person_role_label"] == "administrateur du financeur"
    assert [entry["position"] for entry in trail] == sorted(
        (entry["position"] for entry in trail), reverse=True)
    assert rpc.identity.audit_trail(user, None, {"kind": "organisation_created"})[0]["id"] \
        == created["id"]
    by_person = rpc.identity.audit_trail(admin, None, {"person": "marie"})
    assert by_person and {e["person_name"] for e in by_person} == {"Marie.Durand"}
    assert rpc.identity.audit_trail(admin, None, {"dossier": "2026-0001"}) == []
    today = created["at"][:10]
    assert rpc.identity.audit_trail(admin, None, {"since": today, "until": today,
                                                  "kind": "organisation_created"})
    assert rpc.identity.audit_trail(admin, None, {"until": "2000-01-01"}) == []

    verified = rpc.identity.verify_audit_chain(admin)
    assert verified["intact"] is True and verified["entries"] >= 3, verified

    engine = make_engine(identity)
    with engine.begin() as connection:
        connection.execute(update(audit_events).where(audit_events.c.id == created["id"])
                           .values(person_name="Quelqu'un d'autre"))
        position = connection.execute(select(audit_events.c.position).where(
            audit_events.c.id == created["id"])).scalar_one()
    broken = rpc.identity.verify_audit_chain(admin)
    assert broken["intact"] is False
    assert broken["broken_at"]["entry_id"] == created["id"]
    assert broken["broken_at"]["position"] == position
    assert f"rompue à la position {position}" in broken["message"]


def test_the_other_services_acts_arrive_by_their_events(identity, rpc, mail, amqp_uri):
    admin = bootstrap(rpc)
    organisation = rpc.identity.create_organisation(admin, new_organisation(1, "Marie.Durand"))
    user = mail.first_login(rpc, "marie.durand")
    ids = dict(funder_id=organisation["funder_id"], organisation_id=organisation["id"])
    now = datetime.now(timezone.utc)
    hours = MonthHours(training=7, internship=0, absence=0)
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})
    for source, name, data in (
            ("certification", "hours_entered", HoursEnteredV1(
                certificate_id="c1", dossier_id="d1", dossier_number="2026-0001",
                month="2026-02", after=hours, entered_by=user["user_id"], entered_at=now,
                **ids)),
            ("payments", "payment_reconciled", PaymentReconciledV1(
                payment_id="p1", payment_number="R-1", reconciled=True,
                reconciled_by=user["user_id"], reconciled_at=now, **ids)),
            ("payments", "bank_details_changed", BankDetailsChangedV1(
                version=1, status="validated", changed_by=admin["user_id"], changed_at=now,
                **ids))):
        dispatch(source, name, new_envelope(source, name, 1, data).model_dump(mode="json"))

    wanted = {"hours_entered", "payment_reconciled", "bank_details_validated"}
    trail = wait_until(lambda: (found := rpc.identity.audit_trail(user, None, {})) and wanted
                       <= {e["action"] for e in found} and found, message="the acts recorded")
    named = {e["action"]: (e["person_name"], e["object"]) for e in trail}
    assert named["hours_entered"] == ("Marie.Durand", "Dossier 2026-0001, mois 2026-02")
    assert named["payment_reconciled"] == ("Marie.Durand", "Règlement R-1")
    assert named["bank_details_validated"][1] == "Coordonnées bancaires, version 1"
    assert rpc.identity.verify_audit_chain(admin)["intact"] is True
