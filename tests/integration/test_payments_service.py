"""payments on real RabbitMQ + PostgreSQL: certified -> month lock -> month_locked, once."""
from __future__ import annotations

import base64
import io
import json
import uuid
from datetime import date, datetime, timezone
from types import SimpleNamespace
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.common import Actor
from contracts.envelope import new_envelope
from contracts.events import (CertificateReopenedV1, CertifiedV1, HoursTransmittedV1,
                             MonthHours, Party)
from contracts.payments import PaymentSearch
from servicekit.db import make_engine
from contracts.common.errors import NotFound
from servicekit.events import subscribe
from services.certification.service import CertificationService
from services.payments.domain import listing
from services.payments.domain.access import scope_for
from services.payments.models import Payments, metadata
from services.payments.service import PaymentsService
from tests.support.integration import FakeDocuments as SignedCertificates
from tests.support.integration import (ATTEST, FUNDER, HOURS, ORG_USER, ORGANISATION, STAFF,
                                       FakeDossiers, FakeIdentity, Recorded, actor, dispatch,
                                       certified_for_payment, handlings, new_payment,
                                       paid_month, recorded, this_month)
from tests.support.jobs import finished_over_rpc
from tools.waiting import wait_until


class Ledger:
    """Another funder system listening to month_locked; counts every delivery."""

    name = "ledger"
    locked = Recorded()  # the month_locked envelopes

    @subscribe("payments", "month_locked")
    def on_month_locked(self, event):
        self.locked.append(event.envelope.model_dump(mode="json"))


def locked_for(locked: list[dict], dossier_id: str) -> list[dict]:
    return [e for e in locked if e["data"]["dossier_id"] == dossier_id]


def month_locked_rows(url: str) -> int:
    outbox = metadata.tables["outbox"]
    with make_engine(url).connect() as conn:
        return conn.execute(select(func.count()).where(
            outbox.c.event_name == "month_locked")).scalar()


def issued_rows(url: str, number: str) -> int:
    """payment_issued events of the payment `number` in payments' outbox: written in the same
    transaction as the issue, so counted as soon as the call returns."""
    outbox = metadata.tables["outbox"]
    with make_engine(url).connect() as conn:
        envelopes = conn.execute(select(outbox.c.envelope).where(
            outbox.c.event_name == "payment_issued")).scalars()
        return sum(json.loads(e)["data"]["payment_number"] == number for e in envelopes)


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
                                                              rpc, neighbours):
    service_env("certification")
    payments_url = service_env("payments")
    locked = recorded(container_factory(Ledger), "locked")
    for service in (FakeDossiers, FakeIdentity, SignedCertificates, PaymentsService,
                    CertificationService):  # certify (method 1) reads the signed PDF
        container_factory(service, NEIGHBOURS=neighbours)
    dossier, month = neighbours.dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    done = rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)

    wait_until(lambda: rpc.certification.get_certificate(
        ORG_USER, dossier["id"], month)["locked_for_payment"])
    lock = rpc.payments.get_month_lock(ORG_USER, dossier["id"], month)
    assert lock["locked"] is True and lock["certificate_id"] == done["id"]
    assert (lock["training_hours"], lock["internship_hours"], lock["absence_hours"]) == (
        "147.00", "0.00", "3.50")
    events = wait_until(lambda: locked_for(locked, dossier["id"]))
    assert len(events) == 1 and month_locked_rows(payments_url) == 1
    assert events[0]["data"]["certificate_id"] == done["id"]
    assert rpc.payments.health() == {"service": "payments", "status": "ok", "database": "ok"}


def test_month_lock_scoping(service_env, container_factory, rpc, amqp_uri, neighbours):
    service_env("payments")
    container_factory(FakeDossiers, NEIGHBOURS=neighbours)
    container_factory(PaymentsService)
    dossier_id = neighbours.dossier()["id"]
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
        "locked_at": None, "unlocked_at": None, "unlocked_by": None, "unlock_reason": None,
        "transmitted_at": None, "transmitted_by": None}
    for outsider in outsiders:
        with pytest.raises(NotFound):
            rpc.payments.get_month_lock(outsider, dossier_id, "2026-03")


def test_redelivered_certified_locks_once(service_env, container_factory, rpc, amqp_uri):
    payments_url = service_env("payments")
    # One worker each: messages are handled in the order they were published, so once the
    # sentinel's month_locked arrives, everything sent before it has been handled.
    container_factory(PaymentsService, max_workers=1)
    locked = recorded(container_factory(Ledger, max_workers=1), "locked")
    dossier_id, sentinel_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = new_envelope("certification", "certified", 1, certified(dossier_id))
    later = new_envelope("certification", "certified", 1, certified(dossier_id, "10.00"))
    sentinel = new_envelope("certification", "certified", 1, certified(sentinel_id))
    for envelope in (first, first, later, sentinel):
        dispatch(amqp_uri, "certification", "certified", envelope)

    wait_until(lambda: locked_for(locked, sentinel_id))
    assert len(locked_for(locked, dossier_id)) == 1
    assert month_locked_rows(payments_url) == 2  # the dossier's month and the sentinel's
    lock = rpc.payments.get_month_lock(ORG_USER, dossier_id, "2026-02")
    assert lock["training_hours"] == "147.00"  # the first certified hours stay payable
    assert lock["certificate_id"] == first.data["certificate_id"]


# ---- payments, list, export pages, reconciliation, unlock, bank details (issue 6) -----------

from contracts.common.errors import Conflict, Forbidden, InvalidInput  # noqa: E402


class PaymentListener:
    name = "payment_listener"
    issued = Recorded()  # payment_issued envelopes
    unlocked = Recorded()  # month_unlocked envelopes

    @subscribe("payments", "payment_issued")
    def on_issued(self, event):
        self.issued.append(event.envelope.model_dump(mode="json"))

    @subscribe("payments", "month_unlocked")
    def on_unlocked(self, event):
        self.unlocked.append(event.envelope.model_dump(mode="json"))


@pytest.fixture
def seen(payments_world, container_factory) -> SimpleNamespace:
    """payments_world, and what other systems saw of payments' events in this test."""
    listener, ledger = container_factory(PaymentListener), container_factory(Ledger)
    return SimpleNamespace(**vars(payments_world), issued=recorded(listener, "issued"),
                           unlocked=recorded(listener, "unlocked"),
                           locked=recorded(ledger, "locked"))


def issued_for(issued: list[dict], number: str) -> list[dict]:
    return [e for e in issued if e["data"]["payment_number"] == number]


def test_record_a_payment_issues_its_advice_and_payment_issued_once(
        payments, rpc, neighbours, seen):
    dossier, number = neighbours.dossier(), f"P{uuid.uuid4().hex[:8]}"
    certified_for_payment(payments, dossier)
    paid = rpc.payments.record_payment(STAFF, new_payment(number, dossier))
    assert (paid["amount"], paid["status"], paid["remittance_document_id"]) == (
        "10503.34", "issued", f"doc-{number}")
    line = paid["lines"][0]
    assert (line["beneficiary_name"], line["beneficiary_first_name"], line["hours_paid"],
            line["dossier_number"]) == ("DUBOIS", "beneficiary", "35.50", "20X000703")
    advice = [a for a in seen.advices if a["payment_number"] == number][0]
    assert advice["amount"] == "10503.34" and advice["lines"][0]["dossier_number"] == "20X000703"
    events = wait_until(lambda: issued_for(seen.issued, number))
    assert events[0]["data"]["dossiers"] == [{"dossier_id": dossier["id"],
                                              "months": [paid_month()[0].strftime("%Y-%m")]}]
    with pytest.raises(Conflict):
        rpc.payments.record_payment(STAFF, new_payment(number, dossier))
    for refused, kind in ((ORG_USER, Forbidden), (actor("funder_admin", None, "f-other"),
                                                  InvalidInput)):
        with pytest.raises(kind):
            rpc.payments.record_payment(refused, new_payment(f"X{number}", dossier))
    rpc.payments.issue_remittance_advice(STAFF, paid["id"])  # replaces the PDF only
    assert issued_rows(payments, number) == 1


def imported(rpc, batch: dict) -> dict:
    """The payments import's job, once over."""
    return finished_over_rpc(rpc.payments, STAFF, rpc.payments.import_payments(STAFF, batch))


def test_import_is_idempotent_by_number_with_a_report_per_row(payments, rpc, neighbours, seen):
    dossier, other = neighbours.dossier(), neighbours.dossier(organisation="o-elsewhere")
    certified_for_payment(payments, dossier)
    first, second = f"I{uuid.uuid4().hex[:8]}", f"J{uuid.uuid4().hex[:8]}"
    batch = {"payments": [new_payment(first, dossier), new_payment(second, dossier, "12,5"),
                          new_payment("BAD", other), {"number": "NOLINES"}]}
    job = imported(rpc, batch)
    report = job["items"]
    assert [r["result"] for r in report] == ["created", "created", "error", "error"]
    assert report[2]["problems"][0]["code"] == "dossier_of_another_organisation"
    assert "lines" in [p["field"] for p in report[3]["problems"]]
    assert rpc.payments.import_payments(STAFF, batch)["id"] == job["id"]  # the same job
    # The same numbers in another file: a new job, nothing recorded twice.
    again = imported(rpc, {"payments": batch["payments"][::-1]})
    assert (again["summary"]["created"], again["summary"]["unchanged"],
            again["summary"]["errors"]) == (0, 2, 2)
    assert again["items"][3]["payment_id"] == report[0]["payment_id"]
    wait_until(lambda: issued_for(seen.issued, second))
    assert len(issued_for(seen.issued, first)) == 1


def test_the_accounting_system_may_name_dossiers_by_number(payments, rpc, neighbours):
    number = f"N{uuid.uuid4().hex[:8]}"
    dossier = neighbours.dossier(number=number)
    certified_for_payment(payments, dossier)
    by_number = new_payment(f"K{uuid.uuid4().hex[:8]}", dossier)
    by_number["lines"][0] = {**by_number["lines"][0], "dossier_number": number,
                             "dossier_id": None}
    unknown = {**by_number, "number": f"U{uuid.uuid4().hex[:8]}", "lines": [
        {**by_number["lines"][0], "dossier_number": "INCONNU-1"}]}
    report = imported(rpc, {"payments": [by_number, unknown]})["items"]
    assert [r["result"] for r in report] == ["created", "error"]
    assert report[1]["problems"][0]["code"] == "dossier_not_found"
    paid = rpc.payments.get_payment(STAFF, report[0]["payment_id"])
    assert (paid["lines"][0]["dossier_id"], paid["lines"][0]["dossier_number"]) == (
        dossier["id"], number)


def paged_numbers(url: str, search: dict) -> list[str]:
    """The export's keyset pages of one row each, read on payments' own database and followed
    to the last (the date's bound must not skip a payment of the same date)."""
    scope = scope_for(Actor.model_validate(ORG_USER))
    search = PaymentSearch.model_validate(search).model_dump()
    numbers, after, engine = [], None, make_engine(url)
    with Session(engine) as session:
        while rows := Payments(session).rows(scope, search, 1, after):
            numbers.append(rows[0].payment_number)
            after = listing.decode_cursor(listing.encode_cursor(rows[0]))
    engine.dispose()
    return numbers


def test_list_export_pages_search_scope_and_reconciliation(payments, rpc, neighbours):
    dossier = neighbours.dossier()
    certified_for_payment(payments, dossier)
    numbers = []
    for day, amount in (("2019-09-20", "3567.20"), ("2019-09-20", "2802.80"),
                        ("2019-09-03", "4133.34"), ("2019-08-23", "5424.93")):
        numbers.append(f"L{uuid.uuid4().hex[:8]}")
        rpc.payments.record_payment(STAFF, new_payment(numbers[-1], dossier, amount, day))
    search = {"start": "2019-08-01", "end": "2019-09-30", "dossier_number": "20X000703"}
    listed = rpc.payments.list_payments(ORG_USER, search)
    september = [m for m in listed["months"] if m["month"] == "2019-09"][0]
    assert (september["label"], september["total"]) == ("septembre 2019", "10503.34")
    assert september["total_label"] == "10\u00a0503,34\u00a0€"
    assert [(d["payment_date"], d["total"]) for d in september["dates"]] == [
        ("2019-09-20", "6370.00"), ("2019-09-03", "4133.34")]
    one = rpc.payments.list_payments(ORG_USER, {"payment_number": numbers[2]})
    assert one["rows"] == 1 and one["months"][0]["total"] == "4133.34"
    # the export, a job, writes the same rows in the same order
    rows = [r for m in listed["months"] for d in m["dates"] for g in d["dossiers"]
            for r in g["rows"]]
    job = rpc.payments.export_payments(ORG_USER, search)
    assert job["phases"] == [{"name": "rows", "done": 0, "total": len(rows)}]
    assert finished_over_rpc(rpc.payments, ORG_USER, job)["summary"] == {"rows": len(rows)}
    exported = rpc.payments.job_file(ORG_USER, job["id"])
    assert exported["filename"] == "reglements_2019-08-01_2019-09-30_20X000703.xlsx"
    sheet = load_workbook(io.BytesIO(base64.b64decode(exported["content_base64"]))).active
    assert [line[6] for line in sheet.iter_rows(min_row=2, values_only=True) if line[6]] == [
        r["payment_number"] for r in rows]
    assert paged_numbers(payments, search) == [r["payment_number"] for r in rows]
    # scope: another organisation sees none of it; a user without the right nothing at all
    assert rpc.payments.list_payments(actor(organisation="o-other"), search)["rows"] == 0
    with pytest.raises(Forbidden):
        rpc.payments.list_payments({**ORG_USER, "rights": ["enter_hours"]}, search)
    with pytest.raises(Forbidden):
        rpc.payments.list_payments(actor("beneficiary", None), search)
    # pointage
    payment_id = rows[0]["payment_id"]
    ticked = rpc.payments.reconcile_payment(ORG_USER, payment_id, {"reconciled": True})
    assert ticked["reconciled"] is True and ticked["reconciled_by"] == ORG_USER["user_id"]
    assert rpc.payments.reconcile_payment(ORG_USER, payment_id, {"reconciled": False})[
        "reconciled"] is False
    with pytest.raises(Forbidden):
        rpc.payments.reconcile_payment(STAFF, payment_id, {"reconciled": True})
    with pytest.raises(NotFound):
        rpc.payments.reconcile_payment(actor(organisation="o-other"), payment_id,
                                       {"reconciled": True})


def test_unlock_then_redelivered_and_new_certifications(payments, rpc, amqp_uri, neighbours, seen):
    dossier_id = neighbours.dossier()["id"]
    first = new_envelope("certification", "certified", 1, certified(dossier_id))
    dispatch(amqp_uri, "certification", "certified", first)
    wait_until(lambda: rpc.payments.get_month_lock(STAFF, dossier_id, "2026-02")["locked"])
    with pytest.raises(Forbidden):
        rpc.payments.unlock_month(ORG_USER, dossier_id, "2026-02", {"reason": "x"})
    unlocked = rpc.payments.unlock_month(STAFF, dossier_id, "2026-02",
                                         {"reason": "Heures erronées"})
    assert unlocked["locked"] is False and unlocked["unlock_reason"] == "Heures erronées"
    with pytest.raises(Conflict):
        rpc.payments.unlock_month(STAFF, dossier_id, "2026-02", {"reason": "encore"})
    events = wait_until(lambda: [e for e in seen.unlocked if e["data"]["dossier_id"] == dossier_id])
    assert events[0]["data"]["reason"] == "Heures erronées"
    dispatch(amqp_uri, "certification", "certified", first)  # redelivered: nothing changes
    wait_until(lambda: handlings(seen.handled, "on_certified", first.id).count(False) == 2,
               message="the redelivered certified handled")
    assert rpc.payments.get_month_lock(STAFF, dossier_id, "2026-02")["locked"] is False
    dispatch(amqp_uri, "certification", "certified",
             new_envelope("certification", "certified", 1, certified(dossier_id, "120.00")))
    relocked = wait_until(lambda: (lock := rpc.payments.get_month_lock(
        STAFF, dossier_id, "2026-02"))["locked"] and lock)
    assert relocked["training_hours"] == "120.00"
    wait_until(lambda: len(locked_for(seen.locked, dossier_id)) == 2)  # the relock's month_locked


IBAN = "FR76 1382 5002 0008 0146 3722 518"


def test_bank_details_versions_review_email_and_the_processing_rule(
        payments, rpc, neighbours, seen):
    organisation = ORGANISATION
    entry = {"iban": IBAN, "bic": "CEPAFRPP382", "invoicing": "self",
             "rib_document_id": "rib-ok"}
    for bad, code in (({**entry, "iban": "FR76 1382 5002 0008 0146 3722 519"}, "invalid_iban"),
                      ({**entry, "rib_document_id": "kbis"}, "rib_document_invalid")):
        with pytest.raises(InvalidInput) as exc:
            rpc.payments.submit_bank_details(ORG_USER, organisation, bad)
        assert exc.value.code == code
    version = rpc.payments.submit_bank_details(ORG_USER, organisation, entry)
    assert (version["version"], version["status"], version["iban"]) == (
        1, "pending", "FR7613825002000801463722518")
    with pytest.raises(Forbidden):
        rpc.payments.review_bank_details(ORG_USER, organisation,
                                         {"version": 1, "decision": "validated"})
    reviewed = rpc.payments.review_bank_details(STAFF, organisation,
                                                {"version": 1, "decision": "validated"})
    assert reviewed["status"] == "validated" and reviewed["reviewed_by"] == STAFF["user_id"]
    assert seen.emails[-1]["template"] == "bank_details_reviewed"
    assert seen.emails[-1]["to"] == "contact@lac.example"
    # a payment records the version it used; while one is processing nothing may change
    seen.outage["down"] = True
    dossier, number = neighbours.dossier(), f"B{uuid.uuid4().hex[:8]}"
    certified_for_payment(payments, dossier)
    stuck = rpc.payments.record_payment(STAFF, new_payment(number, dossier))
    assert (stuck["status"], stuck["bank_details_version"]) == ("processing", 1)
    with pytest.raises(Conflict) as exc:
        rpc.payments.submit_bank_details(ORG_USER, organisation, entry)
    assert exc.value.code == "payment_in_progress"
    assert rpc.payments.get_bank_details(ORG_USER, organisation)["may_change"] is False
    seen.outage["down"] = False
    assert rpc.payments.issue_remittance_advice(STAFF, stuck["id"])["status"] == "issued"
    wait_until(lambda: issued_for(seen.issued, number))
    second = rpc.payments.submit_bank_details(ORG_USER, organisation, {
        **entry, "invoicing": "third_party", "third_party_name": "Affacturage SA"})
    rejected = rpc.payments.review_bank_details(STAFF, organisation, {
        "version": 2, "decision": "rejected", "reason": "RIB manuscrit"})
    assert (second["version"], rejected["rejection_reason"]) == (2, "RIB manuscrit")
    state = rpc.payments.get_bank_details(STAFF, organisation)
    assert [v["version"] for v in state["versions"]] == [2, 1]
    assert state["validated_version"] == 1 and state["current"]["status"] == "rejected"
    with pytest.raises(NotFound):
        rpc.payments.get_bank_details(actor(organisation="o-other"), organisation)
    # credit-note settlement mode
    mode = rpc.payments.get_credit_note_mode(ORG_USER, organisation)
    assert mode["mode"] is None and [o["mode"] for o in mode["options"]] == [
        "deduction", "refund"]
    chosen = rpc.payments.choose_credit_note_mode(ORG_USER, organisation, {"mode": "refund"})
    assert (chosen["mode"], chosen["chosen_by"]) == ("refund", ORG_USER["user_id"])
    assert rpc.payments.get_credit_note_mode(STAFF, organisation)["mode"] == "refund"


def test_transmission_and_reopening_follow_certification(payments, rpc, amqp_uri, neighbours, seen):
    """hours_transmitted marks the lock (even when it overtakes `certified`: retried until the
    lock exists), certificate_reopened releases it; redeliveries change nothing."""
    dossier_id = neighbours.dossier()["id"]
    certification = certified(dossier_id)
    now = datetime.now(timezone.utc)
    transmitted = new_envelope("certification", "hours_transmitted", 1, HoursTransmittedV1(
        certificate_id=certification.certificate_id, dossier_id=dossier_id,
        dossier_number="20X000703", funder_id=FUNDER, organisation_id=ORGANISATION,
        month="2026-02", hours=certification.hours, status="certified",
        transmitted_by="agent-1", transmitted_at=now))
    dispatch(amqp_uri, "certification", "hours_transmitted", transmitted)  # before `certified`
    wait_until(lambda: True in handlings(seen.handled, "on_hours_transmitted", transmitted.id),
               message="hours_transmitted refused for lack of a lock, to be retried")
    dispatch(amqp_uri, "certification", "certified",
             new_envelope("certification", "certified", 1, certification))
    lock = wait_until(lambda: (found := rpc.payments.get_month_lock(
        STAFF, dossier_id, "2026-02"))["transmitted_at"] and found)
    assert lock["locked"] and lock["transmitted_by"] == "agent-1"

    reopened = new_envelope("certification", "certificate_reopened", 1, CertificateReopenedV1(
        certificate_id=certification.certificate_id, dossier_id=dossier_id, funder_id=FUNDER,
        organisation_id=ORGANISATION, month="2026-02", reason="Heures à corriger",
        reopened_by="agent-1", reopened_at=now))
    for _ in range(2):  # redelivered: the second changes nothing
        dispatch(amqp_uri, "certification", "certificate_reopened", reopened)
    lock = wait_until(lambda: (found := rpc.payments.get_month_lock(
        STAFF, dossier_id, "2026-02"))["locked"] is False and found)
    assert lock["unlock_reason"] == "Heures à corriger" and lock["transmitted_at"] is None
    assert not [e for e in seen.unlocked if e["data"]["dossier_id"] == dossier_id]


def test_locked_months_are_the_months_locked_now(payments, rpc, amqp_uri, neighbours):
    dossier_id = neighbours.dossier()["id"]
    for month in ("2026-02", "2026-01"):
        dispatch(amqp_uri, "certification", "certified", new_envelope(
            "certification", "certified", 1, certified(dossier_id).model_copy(
                update={"month": month})))
    wait_until(lambda: rpc.payments.locked_months(ORG_USER, dossier_id) == ["2026-01",
                                                                            "2026-02"])
    rpc.payments.unlock_month(STAFF, dossier_id, "2026-02", {"reason": "Heures erronées"})
    assert rpc.payments.locked_months(STAFF, dossier_id) == ["2026-01"]
    with pytest.raises(NotFound):
        rpc.payments.locked_months(actor(organisation="o-other"), dossier_id)
    assert rpc.payments.locked_months(ORG_USER, neighbours.dossier()["id"]) == []
