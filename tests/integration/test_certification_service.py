"""certification on real RabbitMQ + PostgreSQL: hours, certify, events, races, locks, scoping.

dossiers and identity are outside what is tested here: small fake services with the same
names and methods answer get_dossier and get_organisation (tests/support/integration.py, also
used by the payments, PDF and idempotency tests).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from contracts.envelope import new_envelope
from servicekit.db import make_engine
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from servicekit.events import subscribe
from services.certification.domain import Certificate
from services.certification.models import start_mappers
from services.certification.service import CertificationService
from tests.support.integration import (ATTEST, FUNDER, HOURS, ORG_USER, ORGANISATION,
                                       FakeDocuments, FakeDossiers, FakeIdentity, FakePayments,
                                       Mail, Recorded, actor, dependency, dispatch,
                                       outbox_count, this_month)
from tests.support.jobs import finished_over_rpc
from tools.waiting import wait_until


class Observer:
    """Counts every `certified` delivery, as a subscriber of another funder system would."""

    name = "observer"
    received = Recorded()  # the envelopes

    @subscribe("certification", "certified")
    def on_certified(self, event):
        self.received.append(event.envelope.model_dump(mode="json"))


class AfterObserver:
    """What payments and notifications will consume after certification."""

    name = "after_observer"
    after = Recorded()  # the envelopes

    @subscribe("certification", "hours_contested")
    def on_contested(self, event):
        self.after.append(event.envelope.model_dump(mode="json"))

    @subscribe("certification", "hours_transmitted")
    def on_transmitted(self, event):
        self.after.append(event.envelope.model_dump(mode="json"))

    @subscribe("certification", "certificate_reopened")
    def on_reopened(self, event):
        self.after.append(event.envelope.model_dump(mode="json"))


def after_events(after: list[dict], dossier_id: str, name: str) -> list[dict]:
    return [e for e in after if e["type"].endswith("." + name)
            and e["data"]["dossier_id"] == dossier_id]


def certified_for(received: list[dict], dossier_id: str) -> list[dict]:
    return [e for e in received if e["data"]["dossier_id"] == dossier_id]


@pytest.fixture
def certification(service_env, container_factory, neighbours, mail):
    """certification on its own database, its neighbours faked (`mail`: its direct emails)."""
    url = service_env("certification")
    for fake in (FakeDossiers, FakeIdentity, FakeDocuments, FakePayments):
        container_factory(fake, NEIGHBOURS=neighbours)
    container_factory(CertificationService)
    return url


def test_health_and_months_of_the_session_with_their_statuses(certification, rpc, neighbours):
    assert rpc.certification.health() == {"service": "certification", "status": "ok",
                                          "database": "ok"}
    dossier = neighbours.dossier()
    listed = rpc.certification.list_certificates(ORG_USER, dossier["id"])
    statuses = {c["month"]: c["status"] for c in listed}
    assert len(listed) >= 5 and [c["month"] for c in listed] == sorted(statuses)
    assert statuses[this_month()] == "awaiting_entry"
    assert listed[-1]["status"] == "not_available"
    assert listed[-1]["status_label"] == "La saisie n'est pas disponible"
    assert all(c["id"] is None for c in listed)  # computed, not stored


def test_enter_hours_then_certify_publishes_exactly_one_certified(certification, rpc,
                                                                   container_factory, neighbours):
    received = dependency(container_factory(Observer), Recorded).calls
    dossier, month = neighbours.dossier(), this_month()
    entered = rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    assert (entered["status"], entered["training_hours"], entered["absence_hours"]) == (
        "hours_entered", "147.00", "3.50")
    assert entered["status_label"] == "Heures saisies, en attente de certification"

    done = rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
    assert (done["status"], done["method"], done["certified_by"]) == (
        "certified", 1, "u-organisation_user")
    assert done["status_label"] == "Certifié par l'organisme"

    events = wait_until(lambda: certified_for(received, dossier["id"]))
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


def test_rules_and_scoping_over_rpc(certification, rpc, neighbours):
    dossier, month = neighbours.dossier(), this_month()
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


def test_entering_and_certifying_need_their_rights(certification, rpc, neighbours):
    dossier, month = neighbours.dossier(), this_month()
    only_documents = actor(rights=["documents"])
    with pytest.raises(Forbidden) as exc:
        rpc.certification.enter_hours(only_documents, dossier["id"], month, HOURS)
    assert (exc.value.code, exc.value.details) == ("missing_right", {"right": "enter_hours"})
    rpc.certification.enter_hours(actor(rights=["enter_hours"]), dossier["id"], month, HOURS)
    # Seed 002: method 1 is part of entering hours; method 2 needs its own right.
    with pytest.raises(Forbidden) as exc:
        rpc.certification.certify(actor(rights=["certify_certificates"]), dossier["id"],
                                  month, ATTEST)
    assert exc.value.details == {"right": "enter_hours"}
    with pytest.raises(Forbidden) as exc:
        rpc.certification.request_code(actor(rights=["enter_hours"], email="n@lac.example"),
                                       dossier["id"], month, {"attest": True,
                                                              "accept_ip": True})
    assert exc.value.details == {"right": "certify_certificates"}
    certified = rpc.certification.certify(actor(rights=["enter_hours"]), dossier["id"], month,
                                          ATTEST)
    assert certified["status"] == "certified"


def test_a_closed_dossier_takes_no_more_hours_nor_certification(certification, rpc, neighbours):
    dossier, month = neighbours.dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    dossier["status"] = "closed"  # the funder closed it in dossiers
    for call, args in ((rpc.certification.enter_hours, HOURS),
                       (rpc.certification.certify, ATTEST)):
        with pytest.raises(Conflict) as exc:
            call(ORG_USER, dossier["id"], month, args)
        assert exc.value.code == "dossier_closed"
    assert rpc.certification.get_certificate(ORG_USER, dossier["id"], month)["status"] == \
        "hours_entered"


def test_two_certify_calls_at_once_only_one_wins(certification, rpc, amqp_uri, neighbours):
    dossier, month = neighbours.dossier(), this_month()
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


# --- funder settings, entry modes, helpers, dashboard, reopening, payments ----------------

FUNDER_ADMIN = actor("funder_admin", None)
FUNDER_AGENT = actor("funder_agent", None)
SETTINGS = {"entry_mode": "day", "code_length": 6, "code_lifetime_minutes": 10,
            "beneficiary_validation": True, "employer_validation": False,
            "notify_funder": True, "funder_notification_email": "suivi@tpro.example"}


def own_organisation() -> tuple[str, dict]:
    """An organisation of its own, whose letterhead a test may make incomplete."""
    organisation = f"{ORGANISATION}-{uuid.uuid4().hex[:6]}"
    return organisation, actor(organisation=organisation, ip="192.0.2.10")


def test_settings_default_then_saved_by_the_funder_admin(certification, rpc):
    defaults = rpc.certification.get_settings(FUNDER_AGENT)
    assert defaults == {"funder_id": FUNDER, "entry_mode": "month", "code_length": 4,
                        "code_lifetime_minutes": 15, "beneficiary_validation": False,
                        "employer_validation": False, "notify_funder": True,
                        "funder_notification_email": None,
                        "updated_by": None, "updated_at": None}
    with pytest.raises(Forbidden) as exc:
        rpc.certification.update_settings(FUNDER_AGENT, SETTINGS)
    assert exc.value.code == "funder_admin_only"
    with pytest.raises(Forbidden):
        rpc.certification.get_settings(ORG_USER)
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.update_settings(FUNDER_ADMIN, {**SETTINGS, "code_length": 5})
    assert exc.value.code == "invalid_payload"
    saved = rpc.certification.update_settings(FUNDER_ADMIN, SETTINGS)
    assert {k: saved[k] for k in SETTINGS} == SETTINGS
    assert saved["updated_by"] == "u-funder_admin" and saved["updated_at"]
    assert rpc.certification.get_settings(FUNDER_AGENT) == saved
    # Another funder keeps its defaults.
    other = rpc.certification.get_settings(actor("funder_agent", None, "f-other"))
    assert other["entry_mode"] == "month"


def test_per_day_entry_computes_totals_and_warns_over_the_plan(certification, rpc, neighbours):
    rpc.certification.update_settings(FUNDER_ADMIN, SETTINGS)
    month = this_month()
    first = date.today().replace(day=1)
    dossier = neighbours.dossier(forecast=[
        {"day": first.isoformat(), "training_hours": "7.00", "internship_hours": "0"}])
    listed = rpc.certification.list_certificates(ORG_USER, dossier["id"])
    assert {c["entry_mode"] for c in listed} == {"day"}
    with pytest.raises(InvalidInput) as exc:  # the funder wants the detail
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    assert exc.value.code == "detail_required"
    entered = rpc.certification.enter_hours(ORG_USER, dossier["id"], month, {"days": [
        {"day": first.isoformat(), "training_hours": "7,00", "absence_hours": "1"}]})
    assert (entered["training_hours"], entered["absence_hours"]) == ("7.00", "1.00")
    assert entered["days"] == [{"day": first.isoformat(), "period": "day",
                                "training_hours": "7.00", "internship_hours": "0.00",
                                "absence_hours": "1.00"}]
    assert entered["planned_hours"] == "7.00"
    assert [w["code"] for w in entered["warnings"]] == ["over_plan"]
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month, {"days": [
            {"day": first.isoformat(), "training_hours": "20", "absence_hours": "4.5"}]})
    assert exc.value.code == "day_over_limit"
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month, {"days": [
            {"day": (first - timedelta(days=1)).isoformat(), "training_hours": "1"}]})
    assert exc.value.code == "day_outside_session"
    # Nothing half-written: the first entry stands.
    kept = rpc.certification.get_certificate(ORG_USER, dossier["id"], month)
    assert kept["training_hours"] == "7.00" and len(kept["days"]) == 1


def test_month_totals_refuse_a_detail(certification, rpc, neighbours):
    dossier, month = neighbours.dossier(), this_month()
    with pytest.raises(InvalidInput) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], month, {"days": [
            {"day": date.today().isoformat(), "training_hours": "7"}]})
    assert exc.value.code == "detail_not_expected"


def test_proposals_store_nothing(certification, rpc, neighbours):
    rpc.certification.update_settings(FUNDER_ADMIN, {**SETTINGS, "entry_mode": "half_day"})
    month, first = this_month(), date.today().replace(day=1)
    dossier = neighbours.dossier(forecast=[
        {"day": first.isoformat(), "training_hours": "7.00", "internship_hours": "0"}])
    forecast = rpc.certification.propose_hours(ORG_USER, dossier["id"], month,
                                               {"source": "forecast"})
    assert forecast["entry"]["training_hours"] == "7.00"
    assert [(d["period"], d["training_hours"]) for d in forecast["entry"]["days"]] == [
        ("morning", "3.50"), ("afternoon", "3.50")]
    spread = rpc.certification.propose_hours(ORG_USER, dossier["id"], month,
                                             {"source": "spread"})
    days = {d["day"] for d in spread["entry"]["days"]}
    assert all(date.fromisoformat(d).weekday() < 5 for d in days)
    assert spread["entry"]["training_hours"] == f"{Decimal(7) * len(days):.2f}"
    zero = rpc.certification.propose_hours(ORG_USER, dossier["id"], month, {"source": "zero"})
    assert zero["entry"] == {"training_hours": "0.00", "internship_hours": "0.00",
                             "absence_hours": "0.00", "days": []}
    assert rpc.certification.get_certificate(ORG_USER, dossier["id"], month)["id"] is None
    # A proposal sent back as it is is a valid entry.
    entered = rpc.certification.enter_hours(ORG_USER, dossier["id"], month, forecast["entry"])
    assert entered["training_hours"] == "7.00" and entered["status"] == "hours_entered"
    with pytest.raises(NotFound):
        rpc.certification.propose_hours(actor(organisation="o-other"), dossier["id"], month,
                                        {"source": "zero"})


def test_certify_waits_for_the_beneficiary_then_the_funder_reopens(certification, rpc, neighbours):
    rpc.certification.update_settings(FUNDER_ADMIN, {**SETTINGS, "entry_mode": "month"})
    organisation, user = own_organisation()
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    certified = rpc.certification.certify(user, dossier["id"], month, ATTEST)
    assert certified["status"] == "awaiting_beneficiary_validation"
    assert certified["status_label"] == "En attente de validation par le bénéficiaire"
    beneficiary = actor("beneficiary", None, party_id=dossier["beneficiary"]["id"])
    waiting = rpc.certification.pending_actions(beneficiary)
    assert [(a["dossier_id"], a["month"]) for a in waiting["actions"]] == [
        (dossier["id"], month)]
    assert waiting["label"] == "1 action en attente"

    with pytest.raises(Forbidden):
        rpc.certification.reopen(user, dossier["id"], month, {"reason": "Erreur"})
    with pytest.raises(InvalidInput):
        rpc.certification.reopen(FUNDER_AGENT, dossier["id"], month, {"reason": ""})
    reopened = rpc.certification.reopen(FUNDER_AGENT, dossier["id"], month,
                                        {"reason": "Absences oubliées"})
    assert (reopened["status"], reopened["reopen_reason"]) == ("reopened",
                                                                "Absences oubliées")
    assert rpc.certification.pending_actions(beneficiary)["count"] == 0
    pending = rpc.certification.pending_actions(user)
    assert (dossier["id"], month, "reopened") in {
        (a["dossier_id"], a["month"], a["status"]) for a in pending["actions"]}
    again = rpc.certification.enter_hours(user, dossier["id"], month,
                                          {**HOURS, "absence_hours": "7"})
    assert again["status"] == "hours_entered"
    with pytest.raises(Conflict) as exc:
        rpc.certification.reopen(FUNDER_AGENT, dossier["id"], month, {"reason": "Encore"})
    assert exc.value.code == "not_certified"
    with pytest.raises(NotFound):
        rpc.certification.reopen(actor("funder_agent", None, "f-other"), dossier["id"], month,
                                 {"reason": "Pas le mien"})


def test_pending_actions_of_the_organisation(certification, rpc, neighbours):
    organisation, user = own_organisation()
    dossier = neighbours.dossier(months_before=2, organisation=organisation)
    neighbours.dossier(organisation=organisation, status="closed")  # waits for nothing
    rpc.certification.enter_hours(user, dossier["id"], this_month(), HOURS)
    pending = rpc.certification.pending_actions(user)
    assert {a["dossier_id"] for a in pending["actions"]} == {dossier["id"]}
    months = [m["month"] for m in rpc.certification.list_certificates(user, dossier["id"])
              if m["status"] in ("awaiting_entry", "hours_entered")]
    assert [a["month"] for a in pending["actions"]] == months and len(months) >= 3
    assert pending["count"] == len(months)
    assert pending["label"] == f"{len(months)} actions en attente"
    line = pending["actions"][-1]
    assert (line["dossier_number"], line["beneficiary_name"], line["training_title"],
            line["status"], line["status_label"]) == (
        "20X000703", "DUBOIS beneficiary", "1ERE ANNEE PHARMACIE", "hours_entered",
        "Heures saisies, en attente de certification")
    assert line["period_label"][0].isupper() and line["period_label"].endswith(
        str(date.today().year))
    with pytest.raises(Forbidden) as exc:
        rpc.certification.pending_actions(FUNDER_AGENT)
    assert exc.value.code == "no_pending_actions"


def payment(dossier_id: str, months: list[str], advance: bool = False):
    from contracts.events import CoveredDossier, PaymentIssuedV1
    data = PaymentIssuedV1(payment_id=str(uuid.uuid4()), payment_number="R-2026-0042",
                           funder_id=FUNDER, organisation_id=ORGANISATION, advance=advance,
                           dossiers=[CoveredDossier(dossier_id=dossier_id, months=months)],
                           issued_at=datetime.now(timezone.utc))
    return new_envelope("payments", "payment_issued", 1, data)


def test_payment_issued_closes_its_months_but_never_for_an_advance(certification, rpc,
                                                                   amqp_uri, neighbours):
    dossier, month = neighbours.dossier(), this_month()
    listed = rpc.certification.list_certificates(ORG_USER, dossier["id"])
    earlier = listed[0]["month"]
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    dispatch(amqp_uri, "payments", "payment_issued", payment(dossier["id"], [month], True))
    issued = payment(dossier["id"], [earlier])
    dispatch(amqp_uri, "payments", "payment_issued", issued)
    dispatch(amqp_uri, "payments", "payment_issued", issued)  # redelivered: no effect twice

    def closed():
        return rpc.certification.get_certificate(ORG_USER, dossier["id"], earlier)["status"] \
            == "closed_by_payment"
    wait_until(closed)
    closed_month = rpc.certification.get_certificate(ORG_USER, dossier["id"], earlier)
    assert closed_month["status_label"] == ("La saisie n'est plus disponible car des "
                                            "règlements ont été effectués")
    assert closed_month["closed_by_payment_number"] == "R-2026-0042"
    with pytest.raises(Conflict) as exc:
        rpc.certification.enter_hours(ORG_USER, dossier["id"], earlier, HOURS)
    assert exc.value.code == "month_closed_by_payment"
    # The advance, sent first, closed nothing: the current month is still open to entry.
    assert rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)["status"] == \
        "hours_entered"


def fill(template_base64: str, hours: dict[str, tuple], extra_rows=()) -> str:
    """The template with each dossier number's row filled with (training, internship,
    absence); extra rows appended as they are."""
    import base64
    import io

    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(base64.b64decode(template_base64)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    first_hours = header.index("Heures de présence en formation")
    for row in sheet.iter_rows(min_row=2):
        if row[0].value in hours:
            for offset, value in enumerate(hours[row[0].value]):
                row[first_hours + offset].value = value
    for extra in extra_rows:
        sheet.append(extra)
    out = io.BytesIO()
    book.save(out)
    return base64.b64encode(out.getvalue()).decode()


def test_template_then_import_of_many_dossiers_with_a_report(certification, rpc, neighbours):
    organisation, user = own_organisation()
    month = this_month()
    good = neighbours.dossier(organisation=organisation, number="IMP-1")
    bad = neighbours.dossier(organisation=organisation, number="IMP-2")
    neighbours.dossier(organisation=f"{organisation}-x", number="IMP-OTHER")  # not theirs
    template = rpc.certification.hours_template(user, {"month": month})
    assert template["filename"] == f"modele-heures-{month}.xlsx"
    assert template["content_type"].endswith("spreadsheetml.sheet")
    filled = fill(template["content_base64"], {"IMP-1": (147, "0", "3,5"),
                                               "IMP-2": ("-1", 0, 0)},
                  extra_rows=[("IMP-OTHER", None, None, month, 7, 0, 0),
                              ("IMP-1", None, None, "2026-13", 7, 0, 0)])
    job = rpc.certification.import_hours(user, {"filename": "heures.xlsx",
                                                "content_base64": filled})
    assert job["phases"] == [{"name": "months", "done": 0, "total": 4}]
    report = finished_over_rpc(rpc.certification, user, job)
    rows = {(r["dossier_number"], r["month"]): r for r in report["items"]}
    assert report["status"] == "succeeded", report
    assert report["phases"] == [{"name": "months", "done": 4, "total": 4}]
    assert report["summary"] == {"entered": 1, "errors": 3}
    assert rows[("IMP-1", month)]["status"] == "ok"
    assert rows[("IMP-2", month)]["code"] == "invalid_payload"
    assert rows[("IMP-OTHER", month)]["code"] == "dossier_not_found"
    assert rows[("IMP-1", "2026-13")]["code"] == "invalid_payload"
    assert [r["row"] for r in report["items"]] == sorted(r["row"] for r in report["items"])
    entered = rpc.certification.get_certificate(user, good["id"], month)
    assert (entered["training_hours"], entered["absence_hours"]) == ("147.00", "3.50")
    assert rpc.certification.get_certificate(user, bad["id"], month)["id"] is None
    # The same file again is recognised: its job, nothing entered twice.
    again = rpc.certification.import_hours(user, {"filename": "autre-nom.xlsx",
                                                  "content_base64": filled})
    assert (again["id"], again["resubmitted"]) == (job["id"], True)
    same = rpc.certification.get_certificate(user, good["id"], month)
    assert (same["training_hours"], same["absence_hours"]) == ("147.00", "3.50")


def test_import_refuses_what_is_no_template(certification, rpc):
    import base64
    _, user = own_organisation()
    for content in (b"%PDF-1.4 not a sheet", b""):
        with pytest.raises(InvalidInput) as exc:
            rpc.certification.import_hours(user, {
                "filename": "x.xlsx", "content_base64": base64.b64encode(content).decode()
                or "AA=="})
        assert exc.value.code in ("invalid_template", "invalid_payload")
    with pytest.raises(Forbidden):
        rpc.certification.import_hours(FUNDER_AGENT, {"filename": "x.xlsx",
                                                      "content_base64": "AA=="})


def test_per_day_template_has_a_row_per_session_day(certification, rpc, neighbours):
    import base64
    import io

    from openpyxl import load_workbook
    rpc.certification.update_settings(FUNDER_ADMIN, SETTINGS)
    organisation, user = own_organisation()
    dossier = neighbours.dossier(organisation=organisation, number="JOUR-1")
    month = this_month()
    template = rpc.certification.hours_template(user, {"month": month,
                                                       "dossier_id": dossier["id"]})
    sheet = load_workbook(io.BytesIO(base64.b64decode(template["content_base64"]))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("N° dossier", "Bénéficiaire", "Formation", "Mois", "Jour")
    days = [r[4] for r in rows[1:]]
    assert days[0] == f"{month}-01" and len(days) == len(set(days)) >= 28
    filled = fill(template["content_base64"], {})
    book = load_workbook(io.BytesIO(base64.b64decode(filled)))
    book.active.cell(row=2, column=6).value = "7,00"
    out = io.BytesIO()
    book.save(out)
    report = finished_over_rpc(rpc.certification, user, rpc.certification.import_hours(user, {
        "filename": "jours.xlsx", "content_base64": base64.b64encode(out.getvalue()).decode()}))
    assert report["summary"] == {"entered": 1, "errors": 0}
    entered = rpc.certification.get_certificate(user, dossier["id"], month)
    assert entered["training_hours"] == "7.00" and len(entered["days"]) == len(days)


# --- certifying: method 1 prerequisites, method 2 codes --------------------------------------

def test_method_1_needs_the_letterhead_and_the_signed_pdf(certification, rpc, neighbours):
    organisation, user = own_organisation()
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    neighbours.incomplete.add(organisation)
    with pytest.raises(Conflict) as exc:
        rpc.certification.certify(user, dossier["id"], month, ATTEST)
    assert exc.value.code == "legal_representative_missing"
    assert "représentant légal" in exc.value.message and "logo" in exc.value.message
    neighbours.incomplete.discard(organisation)
    neighbours.unsigned.add(dossier["id"])
    with pytest.raises(Conflict) as exc:
        rpc.certification.certify(user, dossier["id"], month, ATTEST)
    assert exc.value.code == "signed_certificate_required"
    neighbours.unsigned.discard(dossier["id"])
    done = rpc.certification.certify(user, dossier["id"], month, ATTEST)
    assert (done["status"], done["method"], done["certified_document_sha256"]) == (
        "certified", 1, "5" * 64)
    assert [w["code"] for w in done["warnings"]] == ["stamp_missing"]  # a warning only
    assert outbox_count(certification, "certified") == 1


def code_sent_to(mail: Mail, email: str) -> str:
    return wait_until(lambda: [m for m in mail.sent if m["to"] == email])[-1]["context"]["code"]


def test_method_2_with_the_emailed_code(certification, rpc, amqp_uri, container_factory,
                                        neighbours, mail):
    received = dependency(container_factory(Observer), Recorded).calls
    organisation, _ = own_organisation()
    user = actor(organisation=organisation, ip="203.0.113.9",
                 email=f"{organisation}@lac.example")
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    ask = {"attest": True, "accept_ip": True}
    with pytest.raises(Conflict) as exc:  # not (yet) a certifier
        rpc.certification.request_code(user, dossier["id"], month, ask)
    assert exc.value.code == "stamp_missing"
    neighbours.certifiers[organisation] = datetime.now(timezone.utc)  # as identity says
    sent = rpc.certification.request_code(user, dossier["id"], month, ask)
    assert sent["code_length"] == 4 and sent["lifetime_minutes"] == 15
    assert sent["sent_to"] == "o***@lac.example"
    first = code_sent_to(mail, user["email"])
    assert len(first) == 4 and first.isdigit()
    email = [m for m in mail.sent if m["to"] == user["email"]][-1]
    assert email["template"] == "certification_code"
    assert email["context"]["dossier_number"] == "20X000703"

    with pytest.raises(InvalidInput) as exc:
        rpc.certification.request_code(user, dossier["id"], month, {**ask, "accept_ip": False})
    assert exc.value.code == "ip_consent_required"
    # A resend invalidates the first code.
    mail.sent.clear()
    rpc.certification.request_code(user, dossier["id"], month, ask)
    second = code_sent_to(mail, user["email"])
    certify2 = {"attest": True, "method": 2, "accept_ip": True}
    if second != first:
        with pytest.raises(InvalidInput) as exc:
            rpc.certification.certify(user, dossier["id"], month, {**certify2, "code": first})
        assert exc.value.code == "wrong_code" and attempts_left(exc) == 2
    wrong = "0000" if second != "0000" else "1111"
    with pytest.raises(InvalidInput):
        rpc.certification.certify(user, dossier["id"], month, {**certify2, "code": wrong})
    done = rpc.certification.certify(user, dossier["id"], month, {**certify2, "code": second})
    assert (done["status"], done["method"]) == ("certified", 2)
    assert done["code_checked_at"] and len(done["certified_document_sha256"]) == 64
    event = wait_until(lambda: certified_for(received, dossier["id"]))[0]
    assert (event["data"]["method"], event["data"]["certified_from_ip"]) == (2, "203.0.113.9")
    assert second not in str(event)  # the code never travels in events
    with pytest.raises(Conflict):  # single use
        rpc.certification.certify(user, dossier["id"], month, {**certify2, "code": second})


def attempts_left(exc_info) -> int:
    return int(exc_info.value.details["attempts_left"])  # details cross RPC as text


def test_method_2_three_wrong_codes_then_a_new_one(certification, rpc, amqp_uri, neighbours, mail):
    organisation, _ = own_organisation()
    user = actor(organisation=organisation, email=f"{organisation}@lac.example")
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    neighbours.certifiers[organisation] = datetime.now(timezone.utc)
    ask = {"attest": True, "accept_ip": True}
    rpc.certification.request_code(user, dossier["id"], month, ask)
    right = code_sent_to(mail, user["email"])
    wrong = "0000" if right != "0000" else "1111"
    certify2 = {"attest": True, "method": 2, "accept_ip": True, "code": wrong}
    for left in (2, 1, 0):
        with pytest.raises(InvalidInput) as exc:
            rpc.certification.certify(user, dossier["id"], month, certify2)
        assert attempts_left(exc) == left
    with pytest.raises(Conflict) as exc:
        rpc.certification.certify(user, dossier["id"], month, {**certify2, "code": right})
    assert exc.value.code == "code_spent"
    assert rpc.certification.get_certificate(user, dossier["id"], month)["status"] == \
        "hours_entered"
    # A six-digit code when the funder says so.
    rpc.certification.update_settings(FUNDER_ADMIN, {**SETTINGS, "entry_mode": "month"})
    mail.sent.clear()
    assert rpc.certification.request_code(user, dossier["id"], month, ask)["code_length"] == 6
    assert len(code_sent_to(mail, user["email"])) == 6


def test_month_unlocked_by_payments_reopens_the_month(certification, rpc, amqp_uri, neighbours):
    from contracts.events import MonthUnlockedV1
    dossier, month = neighbours.dossier(), this_month()
    rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)
    rpc.certification.certify(ORG_USER, dossier["id"], month, ATTEST)
    unlocked = MonthUnlockedV1(dossier_id=dossier["id"], month=month, reason="Heures erronées",
                               unlocked_by="agent", unlocked_at=datetime.now(timezone.utc))
    dispatch(amqp_uri, "payments", "month_unlocked",
             new_envelope("payments", "month_unlocked", 1, unlocked))
    reopened = wait_until(lambda: (lambda c: c["status"] == "reopened" and c)(
        rpc.certification.get_certificate(ORG_USER, dossier["id"], month)))
    assert (reopened["reopen_reason"], reopened["locked_for_payment"]) == (
        "Heures erronées", False)
    assert rpc.certification.enter_hours(ORG_USER, dossier["id"], month, HOURS)["status"] == \
        "hours_entered"


# --- after certification -----------------------------------------------------------------

def both_validate(rpc) -> None:
    rpc.certification.update_settings(FUNDER_ADMIN, {
        **SETTINGS, "entry_mode": "month", "employer_validation": True})


def parties_of(dossier: dict) -> tuple[dict, dict]:
    return (actor("beneficiary", None, party_id=dossier["beneficiary"]["id"]),
            actor("employer", None, party_id=dossier["employer"]["id"]))


def test_beneficiary_then_employer_validate_and_the_funder_is_told(certification, rpc,
                                                                   container_factory, neighbours):
    received = dependency(container_factory(Observer), Recorded).calls
    both_validate(rpc)
    organisation, user = own_organisation()
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    beneficiary, employer = parties_of(dossier)
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    with pytest.raises(Conflict) as exc:  # nothing certified yet
        rpc.certification.validate_hours(beneficiary, dossier["id"], month)
    assert exc.value.code == "not_awaiting_validation"
    certified = rpc.certification.certify(user, dossier["id"], month, ATTEST)
    assert (certified["status"], certified["validations"]) == (
        "awaiting_beneficiary_validation", ["beneficiary", "employer"])
    event = wait_until(lambda: certified_for(received, dossier["id"]))[0]["data"]
    assert (event["funder_notification_email"], event["validations"]) == (
        "suivi@tpro.example", ["beneficiary", "employer"])

    with pytest.raises(Conflict):  # the employer comes second
        rpc.certification.validate_hours(employer, dossier["id"], month)
    with pytest.raises(Forbidden) as exc:
        rpc.certification.validate_hours(user, dossier["id"], month)
    assert exc.value.code == "not_a_party"
    stranger = actor("beneficiary", None, party_id=neighbours.dossier()["beneficiary"]["id"])
    with pytest.raises(NotFound):
        rpc.certification.validate_hours(stranger, dossier["id"], month)
    after_one = rpc.certification.validate_hours(beneficiary, dossier["id"], month)
    assert after_one["status"] == "awaiting_employer_validation"
    assert after_one["beneficiary_validated_at"]
    assert [a["month"] for a in rpc.certification.pending_actions(employer)["actions"]] == [
        month]
    done = rpc.certification.validate_hours(employer, dossier["id"], month)
    assert (done["status"], done["status_label"]) == ("validated", "Heures validées")
    assert rpc.certification.pending_actions(employer)["count"] == 0


def test_a_contest_tells_the_organisation_then_the_funder_reopens(certification, rpc,
                                                                  container_factory, neighbours):
    after = dependency(container_factory(AfterObserver), Recorded).calls
    both_validate(rpc)
    organisation, user = own_organisation()
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    beneficiary, _ = parties_of(dossier)
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    rpc.certification.certify(user, dossier["id"], month, ATTEST)
    with pytest.raises(InvalidInput):
        rpc.certification.contest_hours(beneficiary, dossier["id"], month, {"reason": ""})
    contested = rpc.certification.contest_hours(beneficiary, dossier["id"], month,
                                                {"reason": "Absente le 3"})
    assert (contested["status"], contested["contested_party"], contested["contest_reason"]) == (
        "contested", "beneficiary", "Absente le 3")
    assert contested["status_label"] == "Heures contestées par le bénéficiaire : Absente le 3"
    event = wait_until(lambda: after_events(after, dossier["id"], "hours_contested"))[0]["data"]
    assert (event["organisation_email"], event["funder_notification_email"], event["party"],
            event["reason"]) == ("contact@lac.example", "suivi@tpro.example", "beneficiary",
                                 "Absente le 3")
    with pytest.raises(Conflict):
        rpc.certification.transmit_hours(FUNDER_AGENT, dossier["id"], month)
    with pytest.raises(Conflict):  # the organisation waits for the funder's reopening
        rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    reopened = rpc.certification.reopen(FUNDER_AGENT, dossier["id"], month,
                                        {"reason": "Contestation fondée"})
    assert reopened["status"] == "reopened"
    event = wait_until(
        lambda: after_events(after, dossier["id"], "certificate_reopened"))[0]["data"]
    assert (event["month"], event["reason"], event["reopened_by"]) == (
        month, "Contestation fondée", "u-funder_agent")
    rpc.certification.enter_hours(user, dossier["id"], month, {**HOURS, "absence_hours": "7"})
    again = rpc.certification.certify(user, dossier["id"], month, ATTEST)
    assert (again["status"], again["contest_reason"]) == ("awaiting_beneficiary_validation",
                                                          None)


def test_transmit_certified_hours_once(certification, rpc, container_factory, neighbours):
    after = dependency(container_factory(AfterObserver), Recorded).calls
    rpc.certification.update_settings(FUNDER_ADMIN, {**SETTINGS, "entry_mode": "month",
                                                     "beneficiary_validation": False})
    organisation, user = own_organisation()
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    with pytest.raises(Conflict) as exc:
        rpc.certification.transmit_hours(FUNDER_AGENT, dossier["id"], month)
    assert exc.value.code == "not_transmittable"
    rpc.certification.certify(user, dossier["id"], month, ATTEST)
    with pytest.raises(Forbidden) as exc:
        rpc.certification.transmit_hours(user, dossier["id"], month)
    assert exc.value.code == "funder_staff_only"
    with pytest.raises(NotFound):
        rpc.certification.transmit_hours(actor("funder_agent", None, "f-other"),
                                         dossier["id"], month)
    first = rpc.certification.transmit_hours(FUNDER_AGENT, dossier["id"], month)
    assert first["transmitted_by"] == "u-funder_agent" and first["transmitted_at"]
    second = rpc.certification.transmit_hours(FUNDER_ADMIN, dossier["id"], month)
    assert (second["transmitted_by"], second["transmitted_at"]) == (
        first["transmitted_by"], first["transmitted_at"])
    assert outbox_count(certification, "hours_transmitted") == 1
    event = wait_until(lambda: after_events(after, dossier["id"], "hours_transmitted"))
    assert (event[0]["data"]["status"], event[0]["data"]["hours"]["training"]) == (
        "certified", "147.00")


def test_code_requests_are_limited_per_user_and_month(certification, rpc, amqp_uri, neighbours):
    from contracts.common.errors import TooManyRequests
    organisation, _ = own_organisation()
    user = actor(organisation=organisation, email=f"{organisation}@lac.example")
    dossier, month = neighbours.dossier(organisation=organisation), this_month()
    rpc.certification.enter_hours(user, dossier["id"], month, HOURS)
    neighbours.certifiers[organisation] = datetime.now(timezone.utc)
    ask = {"attest": True, "accept_ip": True}
    rpc.certification.request_code(user, dossier["id"], month, ask)
    for _ in range(4):
        rpc.certification.request_code(user, dossier["id"], month, ask)
    with pytest.raises(TooManyRequests) as exc:
        rpc.certification.request_code(user, dossier["id"], month, ask)
    assert exc.value.code == "too_many_code_requests"
    colleague = {**user, "user_id": "u-colleague"}  # the limit is per user
    assert rpc.certification.request_code(colleague, dossier["id"], month, ask)["code_length"]
