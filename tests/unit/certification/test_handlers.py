"""certification's use cases on the in-memory database and fake neighbours: replies, stored
certificates and published events."""
from __future__ import annotations

import base64
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from contracts.certification import (CertificationSettings, Certify, CodeRequest, Contest,
                                     HoursEntry, Reopen, TemplateQuery, TemplateUpload)
from contracts.common import DossierMonth, Role
from contracts.common.errors import (Conflict, Forbidden, InvalidInput, NotFound,
                                     ServiceUnavailable, TooManyRequests)
from contracts.events import CoveredDossier, FunderBootstrappedV1, MonthUnlockedV1, \
    PaymentIssuedV1
from contracts.pdfs import AttendanceEntry
from services.certification import adapters, handlers
from services.certification.domain import Certificate, FunderSettings, Hours, Session
from tests.support.certification import (FUNDER, FakeDocuments, FakeIdentity, FakePayments,
                                         a_dossier, an_actor, certification_db, party_of,
                                         ports)
from tests.support.identity import CERTIFIER, NO_LETTERHEAD
from tests.support.jobs import Crashed

MONTH = "2026-03"
ORG_USER = an_actor(Role.organisation_user, ip="192.0.2.10", email="claire@lac.example")
AGENT, ADMIN = an_actor(Role.funder_agent), an_actor(Role.funder_admin)
HOURS = HoursEntry(training_hours="147", internship_hours="0", absence_hours="3.5")
NOW = datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)


def at_now(world):
    world.clock.now = NOW
    return world


def ref(dossier: dict, month: str = MONTH) -> DossierMonth:
    return DossierMonth(dossier_id=dossier["id"], month=month)


def entered(dossier: dict, month: str = MONTH) -> Certificate:
    certificate = Certificate.open(dossier["id"], month, FUNDER, dossier["organisation_id"],
                                   NOW)
    certificate.enter_hours(Hours.of("147", "0", "3.5"),
                            Session(date.fromisoformat(dossier["session_start"]),
                                    date.fromisoformat(dossier["session_end"])), NOW)
    return certificate


def certified(dossier: dict, validations: tuple = (), month: str = MONTH) -> Certificate:
    certificate = entered(dossier, month)
    certificate.certify("u-org", "192.0.2.10", NOW, validations=validations,
                        organisation_email="contact@lac.example")
    return certificate


def settings(**values) -> FunderSettings:
    saved = FunderSettings(FUNDER)
    saved.change({"entry_mode": "month", "code_length": 4, "code_lifetime_minutes": 15,
                  "beneficiary_validation": False, "employer_validation": False,
                  "notify_funder": False, **values}, "admin", NOW)
    return saved


# ---- reading --------------------------------------------------------------------------------

def test_the_months_of_the_session_with_payments_locks():
    dossier = a_dossier()
    db = certification_db(certified(dossier, month="2026-02"))
    world = at_now(ports(dossier, payments=FakePayments(**{dossier["id"]: ["2026-02"]})))
    listed = handlers.list_certificates(db, world, ORG_USER, dossier["id"])
    assert [c["month"] for c in listed] == ["2026-01", "2026-02", "2026-03", "2026-04",
                                            "2026-05", "2026-06"]
    assert [(c["status"], c["locked_for_payment"]) for c in listed[:4]] == [
        ("awaiting_entry", False), ("certified", True), ("awaiting_entry", False),
        ("not_available", False)]
    with pytest.raises(NotFound):
        handlers.list_certificates(db, world, an_actor(Role.funder_agent, funder_id="f-x"),
                                   dossier["id"])


def test_a_certificate_says_whether_payments_locked_it_to_whom_may_know():
    dossier = a_dossier()
    db = certification_db(certified(dossier))
    world = at_now(ports(dossier, payments=FakePayments(**{dossier["id"]: [MONTH]})))
    assert handlers.get_certificate(db, world, ORG_USER, ref(dossier))["locked_for_payment"]
    seen_by_party = handlers.get_certificate(db, world, party_of(dossier, Role.beneficiary),
                                             ref(dossier))
    assert (seen_by_party["status"], seen_by_party["locked_for_payment"]) == ("certified", False)


class SilentPayments:
    def locked_months(self, actor: dict, dossier_id: str) -> list[str]:
        raise ServiceUnavailable("rpc_timeout", "Le service ne répond pas, veuillez réessayer.")


def test_a_month_asks_dossiers_and_payments_at_once_and_a_refused_dossier_is_what_is_said():
    dossier = a_dossier()
    db = certification_db(certified(dossier))
    world = at_now(ports(dossier, payments=SilentPayments()))
    with pytest.raises(NotFound):
        handlers.get_certificate(db, world, an_actor(Role.funder_agent, funder_id="f-x"),
                                 ref(dossier))
    with pytest.raises(ServiceUnavailable):  # whoever sees the dossier hears payments' silence
        handlers.get_certificate(db, world, ORG_USER, ref(dossier))


# ---- entering hours -------------------------------------------------------------------------

def test_hours_are_entered_then_refused_once_certified():
    dossier = a_dossier()
    db, world = certification_db(), at_now(ports(dossier))
    reply = handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS)
    assert (reply["status"], reply["training_hours"], reply["version"]) == (
        "hours_entered", "147.00", 1)
    stored = db.repositories["certificates"].get(dossier["id"], MONTH)
    stored.certify("u-org", None, NOW)
    with pytest.raises(Conflict) as exc:
        handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS)
    assert exc.value.code == "certificate_already_certified"


def test_entering_hours_needs_the_right_and_an_open_dossier():
    dossier = a_dossier(status="closed")
    db, world = certification_db(), at_now(ports(dossier))
    with pytest.raises(Forbidden) as exc:
        handlers.enter_hours(db, world, an_actor(Role.organisation_user, rights=[]),
                             ref(dossier), HOURS)
    assert exc.value.code == "missing_right"
    with pytest.raises(Conflict) as exc:
        handlers.enter_hours(db, world, ORG_USER, ref(dossier), HOURS)
    assert exc.value.code == "dossier_closed"
    assert db.repositories["certificates"].rows == {}


def test_proposals_follow_the_funder_mode_and_store_nothing():
    dossier = a_dossier(forecast=[{"day": "2026-03-02", "training_hours": "7",
                                   "internship_hours": "0"}])
    db = certification_db(settings=(settings(entry_mode="half_day"),))
    world = at_now(ports(dossier))
    proposal = handlers.propose_hours(db, world, ORG_USER, ref(dossier), "forecast")
    assert [(d["period"], d["training_hours"]) for d in proposal["entry"]["days"]] == [
        ("morning", "3.50"), ("afternoon", "3.50")]
    assert handlers.propose_hours(db, world, ORG_USER, ref(dossier), "zero")["entry"][
        "training_hours"] == "0.00"
    assert db.repositories["certificates"].rows == {} and db.commits == 0
    with pytest.raises(Forbidden):
        handlers.propose_hours(db, world, AGENT, ref(dossier), "spread")


def test_the_template_lists_the_enterable_months_and_comes_back_as_entries():
    dossier, done = a_dossier(), a_dossier()
    db = certification_db(certified(done))
    world = at_now(ports(dossier, done))
    template = handlers.hours_template(db, world, ORG_USER, TemplateQuery(month=MONTH))
    content = base64.b64decode(template["content_base64"])
    rows = adapters.read_filled(content)
    assert [row.dossier_number for row in rows] == [dossier["number"]]  # not the certified one
    with pytest.raises(Forbidden):
        handlers.hours_template(db, world, AGENT, TemplateQuery(month=MONTH))

    filled = adapters.write_template("month", [adapters.TemplateLine(
        dossier["number"], "DUBOIS Marie", "PHARMACIE", MONTH)])
    upload = TemplateUpload(filename="heures.xlsx",
                            content_base64=base64.b64encode(filled).decode())
    report = imported(db, world, upload)
    assert report["summary"] == {"entered": 0, "errors": 1}  # two dossiers share the number
    world.dossiers.dossiers.pop(done["id"])
    report = imported(db, world, upload)
    assert report["summary"] == {"entered": 1, "errors": 0}
    assert db.repositories["certificates"].get(dossier["id"], MONTH).status == "hours_entered"


def test_a_name_that_looks_like_a_formula_stays_a_text_in_the_template():
    """Excel would run it when the organisation opens its template (formula injection)."""
    from openpyxl import load_workbook

    name = '=HYPERLINK("http://example.org/x";"Voir")'
    content = adapters.write_template("month", [adapters.TemplateLine(
        "20X000703", name, "=1+1", MONTH)])
    cells = next(load_workbook(io.BytesIO(content)).active.iter_rows(min_row=2, max_row=2))
    assert [(cell.value, cell.data_type) for cell in cells[1:3]] == [(name, "s"),
                                                                      ("=1+1", "s")]


def imported(db, world, upload: TemplateUpload) -> dict:
    """POST /certificates/import: submitted, then its job run to its end; the job's view. The
    job is then forgotten as past the re-submission window: the same file again is a new job."""
    jobs = db.repositories["jobs"]
    job = handlers.import_hours(db, world, ORG_USER, upload)
    done = jobs.run(job["id"], lambda step: handlers.run_import_hours(db, world, step))
    jobs.forget(job["id"])
    return done


def an_upload(*lines: adapters.TemplateLine) -> TemplateUpload:
    filled = adapters.write_template("month", list(lines))
    return TemplateUpload(filename="heures.xlsx", content_base64=base64.b64encode(filled).decode())


def test_the_hours_import_is_a_job_a_step_per_dossier_month_an_item_per_row():
    first, second = a_dossier(), a_dossier(number="20X000704")
    db, world = certification_db(), at_now(ports(first, second))
    jobs = db.repositories["jobs"]
    upload = an_upload(*(adapters.TemplateLine(number, "DUBOIS Marie", "PHARMACIE", MONTH)
                         for number in (first["number"], "INCONNU", second["number"])))
    job = handlers.import_hours(db, world, ORG_USER, upload)
    assert (job["kind"], job["status"], job["phases"]) == (
        "certification.import_hours", "queued", [{"name": "months", "done": 0, "total": 3}])
    assert db.repositories["certificates"].rows == {}  # nothing entered before the job runs
    again = handlers.import_hours(db, world, ORG_USER, upload)
    assert (again["id"], again["resubmitted"]) == (job["id"], True)
    done = jobs.run(job["id"], lambda step: handlers.run_import_hours(db, world, step))
    assert done["phases"][0]["done"] == 3 and done["summary"] == {"entered": 2, "errors": 1}
    assert [(item["row"], item["status"], item["code"]) for item in done["items"]] == [
        (2, "ok", None), (3, "error", "dossier_not_found"), (4, "ok", None)]
    assert db.repositories["certificates"].get(second["id"], MONTH).status == "hours_entered"


def test_a_resumed_hours_import_goes_on_with_the_months_not_done():
    first, second = a_dossier(), a_dossier(number="20X000704")
    db, world = certification_db(), at_now(ports(first, second))
    jobs = db.repositories["jobs"]
    upload = an_upload(*(adapters.TemplateLine(d["number"], "DUBOIS Marie", "PHARMACIE", MONTH)
                         for d in (first, second)))
    job = handlers.import_hours(db, world, ORG_USER, upload)
    with pytest.raises(Crashed):
        jobs.run(job["id"], lambda step: handlers.run_import_hours(db, world, step),
                 crash_after=1)
    # the second month was entered, the process died before recording it: entered again
    assert jobs.jobs[job["id"]]["phases"][0]["done"] == 1
    assert list(jobs.jobs[job["id"]]["outcomes"]) == [2]
    done = jobs.run(job["id"], lambda step: handlers.run_import_hours(db, world, step))
    assert done["phases"][0]["done"] == 2 and done["summary"] == {"entered": 2, "errors": 0}
    assert [item["row"] for item in done["items"]] == [2, 3]
    assert db.repositories["certificates"].get(second["id"], MONTH).status == "hours_entered"


def test_an_unreadable_upload_is_refused():
    db, world = certification_db(), at_now(ports(a_dossier()))
    with pytest.raises(InvalidInput) as exc:
        handlers.import_hours(db, world, ORG_USER,
                              TemplateUpload(filename="x.xlsx", content_base64="pas du base64!"))
    assert exc.value.code == "invalid_template"


# ---- certifying -----------------------------------------------------------------------------

def test_certify_publishes_certified_once_with_the_letterhead():
    dossier = a_dossier()
    db = certification_db(entered(dossier),
                          settings=(settings(beneficiary_validation=True),))
    world = at_now(ports(dossier))
    reply = handlers.certify(db, world, ORG_USER, ref(dossier), Certify(attest=True))
    assert (reply["status"], reply["certified_document_sha256"], reply["version"]) == (
        "awaiting_beneficiary_validation", "5" * 64, 2)
    [event] = db.events("certified")
    assert (event.organisation_siret, event.certified_from_ip, event.validations) == (
        "73282932000074", "192.0.2.10", ["beneficiary"])
    with pytest.raises(Conflict) as exc:
        handlers.certify(db, world, ORG_USER, ref(dossier), Certify(attest=True))
    assert exc.value.code == "certificate_already_certified"
    assert len(db.events("certified")) == 1


def test_method_1_needs_the_letterhead_and_the_signed_pdf():
    dossier = a_dossier()
    db = certification_db(entered(dossier))
    for world, code in ((ports(dossier, identity=FakeIdentity(**NO_LETTERHEAD)),
                         "legal_representative_missing"),
                        (ports(dossier, documents=FakeDocuments(unsigned=(MONTH,))),
                         "signed_certificate_required")):
        with pytest.raises(Conflict) as exc:
            handlers.certify(db, at_now(world), ORG_USER, ref(dossier), Certify(attest=True))
        assert exc.value.code == code
    assert db.published == []


def test_method_2_sends_a_code_that_certifies_once():
    dossier = a_dossier()
    db = certification_db(entered(dossier))
    world = at_now(ports(dossier, identity=FakeIdentity(**CERTIFIER, certifier_since=NOW)))
    sent = handlers.request_code(db, world, ORG_USER, ref(dossier),
                                 CodeRequest(attest=True, accept_ip=True))
    assert (sent["sent_to"], sent["code_length"]) == ("c***@lac.example", 4)
    code = world.notifications.sent[-1]["context"]["code"]
    wrong = "0000" if code != "0000" else "1111"
    command = {"attest": True, "method": 2, "accept_ip": True}
    with pytest.raises(InvalidInput) as exc:
        handlers.certify(db, world, ORG_USER, ref(dossier), Certify(**command, code=wrong))
    assert exc.value.details == {"attempts_left": 2}
    assert db.repositories["codes"].get(dossier["id"], MONTH).attempts == 1  # counted
    done = handlers.certify(db, world, ORG_USER, ref(dossier), Certify(**command, code=code))
    assert (done["method"], done["code_checked_at"] is not None) == (2, True)
    assert len(db.events("certified")) == 1


def test_codes_are_limited_and_only_for_certifier_organisations():
    dossier = a_dossier()
    db = certification_db(entered(dossier))
    world = at_now(ports(dossier))
    ask = CodeRequest(attest=True, accept_ip=True)
    with pytest.raises(Conflict) as exc:
        handlers.request_code(db, world, ORG_USER, ref(dossier), ask)
    assert exc.value.code == "stamp_missing"
    world.identity.facts.update(CERTIFIER)
    for _ in range(5):
        handlers.request_code(db, world, ORG_USER, ref(dossier), ask)
    with pytest.raises(TooManyRequests):
        handlers.request_code(db, world, ORG_USER, ref(dossier), ask)
    assert len(world.notifications.sent) == 5


def test_the_draft_certificate_is_rendered_from_the_entered_hours():
    dossier = a_dossier()
    db, world = certification_db(entered(dossier)), at_now(ports(dossier))
    rendered = handlers.draft_certificate(db, world, ORG_USER, ref(dossier))
    assert rendered["filename"] == "certificat.pdf"
    assert world.documents.rendered[-1]["hours"]["training"] == "147.00"
    with pytest.raises(Conflict) as exc:
        handlers.draft_certificate(db, world, ORG_USER, ref(dossier, "2026-02"))
    assert exc.value.code == "hours_not_entered"


def test_the_attendance_sheet_keeps_to_the_session():
    dossier = a_dossier()
    db, world = certification_db(), at_now(ports(dossier))
    entry = AttendanceEntry(granularity="day", days=[{"day": "2026-03-02", "hours": "7"}])
    assert handlers.attendance_sheet(db, world, ORG_USER, ref(dossier), entry)["id"] == "doc-1"
    assert world.documents.rendered[-1]["month_presence"] is None  # no hours to compare
    outside = AttendanceEntry(granularity="day", days=[{"day": "2026-02-02", "hours": "7"}])
    with pytest.raises(InvalidInput) as exc:
        handlers.attendance_sheet(db, world, ORG_USER, ref(dossier), outside)
    assert exc.value.code == "day_outside_session"


@pytest.mark.parametrize("month, is_certified", [(entered, False), (certified, True)])
def test_the_attendance_sheet_is_compared_with_the_month_s_presence_hours(month, is_certified):
    dossier = a_dossier()
    db, world = certification_db(month(dossier)), at_now(ports(dossier))
    entry = AttendanceEntry(granularity="day", days=[{"day": "2026-03-02", "hours": "7"}])
    handlers.attendance_sheet(db, world, ORG_USER, ref(dossier), entry)
    assert world.documents.rendered[-1]["month_presence"] == {"hours": "147.00",
                                                             "certified": is_certified}


# ---- after certification --------------------------------------------------------------------

def test_the_beneficiary_then_the_employer_validate():
    dossier = a_dossier()
    db = certification_db(certified(dossier, ("beneficiary", "employer")))
    world = at_now(ports(dossier))
    employer = party_of(dossier, Role.employer)
    with pytest.raises(Conflict) as exc:
        handlers.validate_hours(db, world, employer, ref(dossier))
    assert exc.value.code == "not_awaiting_validation"
    first = handlers.validate_hours(db, world, party_of(dossier, Role.beneficiary), ref(dossier))
    assert first["status"] == "awaiting_employer_validation"
    assert handlers.validate_hours(db, world, employer, ref(dossier))["status"] == "validated"
    with pytest.raises(Forbidden) as exc:
        handlers.validate_hours(db, world, ORG_USER, ref(dossier))
    assert exc.value.code == "not_a_party"


def test_a_contest_is_published_for_the_organisation_and_the_funder():
    dossier = a_dossier()
    db = certification_db(certified(dossier, ("beneficiary",)),
                          settings=(settings(notify_funder=True,
                                             funder_notification_email="suivi@tpro.example"),))
    world, beneficiary = at_now(ports(dossier)), party_of(dossier, Role.beneficiary)
    with pytest.raises(InvalidInput):
        handlers.contest_hours(db, world, beneficiary, ref(dossier), Contest(reason=" "))
    reply = handlers.contest_hours(db, world, beneficiary, ref(dossier),
                                   Contest(reason="Absente le 3"))
    assert reply["status_label"] == "Heures contestées par le bénéficiaire : Absente le 3"
    [event] = db.events("hours_contested")
    assert (event.organisation_email, event.funder_notification_email, event.party) == (
        "contact@lac.example", "suivi@tpro.example", "beneficiary")


def test_hours_are_transmitted_once_by_the_funder():
    dossier = a_dossier()
    db, world = certification_db(certified(dossier)), at_now(ports(dossier))
    with pytest.raises(Forbidden) as exc:
        handlers.transmit_hours(db, world, ORG_USER, ref(dossier))
    assert exc.value.code == "funder_staff_only"
    first = handlers.transmit_hours(db, world, AGENT, ref(dossier))
    again = handlers.transmit_hours(db, world, ADMIN, ref(dossier))
    assert (again["transmitted_by"], again["version"]) == (first["transmitted_by"],
                                                           first["version"])
    [event] = db.events("hours_transmitted")
    assert (event.transmitted_by, event.status, event.hours.training) == (
        "u-funder_agent", "certified", Decimal("147.00"))
    with pytest.raises(Conflict) as exc:
        handlers.transmit_hours(db, world, AGENT, ref(dossier, "2026-02"))
    assert exc.value.code == "not_transmittable"


def test_the_funder_reopens_a_certified_month_and_payments_is_told():
    dossier = a_dossier()
    db, world = certification_db(certified(dossier)), at_now(ports(dossier))
    with pytest.raises(Forbidden):
        handlers.reopen(db, world, ORG_USER, ref(dossier), Reopen(reason="Erreur"))
    reply = handlers.reopen(db, world, AGENT, ref(dossier), Reopen(reason="Erreur"))
    assert (reply["status"], reply["reopen_reason"]) == ("reopened", "Erreur")
    assert [e.reason for e in db.events("certificate_reopened")] == ["Erreur"]
    with pytest.raises(Conflict) as exc:
        handlers.reopen(db, world, AGENT, ref(dossier, "2026-02"), Reopen(reason="Erreur"))
    assert exc.value.code == "not_certified"


def test_pending_actions_count_what_waits_for_the_caller():
    dossier, closed = a_dossier(), a_dossier(status="closed")
    db = certification_db(certified(dossier, ("beneficiary",)))
    world = at_now(ports(dossier, closed))
    waiting = handlers.pending_actions(db, world, party_of(dossier, Role.beneficiary))
    assert (waiting["count"], waiting["label"]) == (1, "1 action en attente")
    organisation = handlers.pending_actions(db, world, ORG_USER)
    assert [a["month"] for a in organisation["actions"]] == ["2026-01", "2026-02"]
    with pytest.raises(Forbidden) as exc:
        handlers.pending_actions(db, world, AGENT)
    assert exc.value.code == "no_pending_actions"


# ---- settings -------------------------------------------------------------------------------

def test_settings_are_the_defaults_until_the_funder_admin_saves_them():
    db, world = certification_db(), at_now(ports())
    assert handlers.get_settings(db, AGENT)["entry_mode"] == "month"
    values = CertificationSettings(entry_mode="day", code_length=6, code_lifetime_minutes=10,
                                   beneficiary_validation=True, employer_validation=False,
                                   notify_funder=False)
    with pytest.raises(Forbidden) as exc:
        handlers.update_settings(db, world, AGENT, values)
    assert exc.value.code == "funder_admin_only"
    saved = handlers.update_settings(db, world, ADMIN, values)
    assert (saved["entry_mode"], saved["updated_by"]) == ("day", "u-funder_admin")
    assert handlers.get_settings(db, AGENT) == saved
    with pytest.raises(Forbidden):
        handlers.get_settings(db, ORG_USER)


def test_the_funder_is_emailed_at_certification_unless_its_settings_say_otherwise():
    """Seed 002: both methods notify the funder too. Its address given, nothing else to
    turn on; notifications emails whoever the certified event names."""
    dossier = a_dossier()
    db, world = certification_db(entered(dossier)), at_now(ports(dossier))
    assert handlers.get_settings(db, AGENT)["notify_funder"] is True
    handlers.update_settings(db, world, ADMIN, CertificationSettings(
        funder_notification_email="suivi@tpro.example"))
    handlers.certify(db, world, ORG_USER, ref(dossier), Certify(attest=True))
    assert db.events("certified")[0].funder_notification_email == "suivi@tpro.example"


# ---- events of other services ---------------------------------------------------------------

def test_the_certified_event_carries_the_dossiers_type_of_action():
    """documents ticks the final certificate's « nature de l'action » from it."""
    dossier = a_dossier(action_type="vae")
    db, world = certification_db(entered(dossier)), at_now(ports(dossier))
    handlers.certify(db, world, ORG_USER, ref(dossier), Certify(attest=True))
    assert db.events("certified")[0].action_type == "vae"


def test_a_new_funder_is_emailed_at_its_administrators_address_by_default():
    dossier = a_dossier()
    db, world = certification_db(entered(dossier)), at_now(ports(dossier))
    bootstrapped = FunderBootstrappedV1(funder_id=FUNDER, name="Transitions Pro",
                                        contact_email="admin@tpro.example", bootstrapped_at=NOW)
    with db.unit_of_work() as uow:
        handlers.on_funder_bootstrapped(uow, bootstrapped)
    handlers.certify(db, world, ORG_USER, ref(dossier), Certify(attest=True))
    assert db.events("certified")[0].funder_notification_email == "admin@tpro.example"
    handlers.update_settings(db, world, ADMIN, CertificationSettings(notify_funder=False))
    with db.unit_of_work() as uow:  # saved settings are never overwritten by a replay
        handlers.on_funder_bootstrapped(uow, bootstrapped)
    assert handlers.get_settings(db, AGENT)["notify_funder"] is False


def test_payments_unlock_reopens_a_certified_month_without_echo():
    dossier = a_dossier()
    db, world = certification_db(certified(dossier)), at_now(ports(dossier))
    unlocked = MonthUnlockedV1(dossier_id=dossier["id"], month=MONTH, reason="Heures erronées",
                               unlocked_by="agent", unlocked_at=NOW)
    with db.unit_of_work() as uow:
        handlers.on_month_unlocked(uow, world, unlocked)
    stored = db.repositories["certificates"].get(dossier["id"], MONTH)
    assert (stored.status, stored.reopen_reason) == ("reopened", "Heures erronées")
    assert db.published == []  # payments released its lock already
    with db.unit_of_work() as uow:  # a month never certified here: nothing to reopen
        handlers.on_month_unlocked(uow, world, unlocked.model_copy(update={"month": "2026-02"}))
    assert db.repositories["certificates"].get(dossier["id"], "2026-02") is None


def test_a_payment_closes_its_months_but_an_advance_closes_nothing():
    dossier = a_dossier()
    db, world = certification_db(certified(dossier)), at_now(ports(dossier))
    payment = PaymentIssuedV1(
        payment_id="p1", payment_number="R-0001", funder_id=FUNDER,
        organisation_id=dossier["organisation_id"], advance=True, issued_at=NOW,
        dossiers=[CoveredDossier(dossier_id=dossier["id"], months=[MONTH, "2026-02"])])
    with db.unit_of_work() as uow:
        handlers.on_payment_issued(uow, world, payment)
    assert db.repositories["certificates"].get(dossier["id"], "2026-02") is None
    with db.unit_of_work() as uow:
        handlers.on_payment_issued(uow, world, payment.model_copy(update={"advance": False}))
    certificates = db.repositories["certificates"]
    assert {certificates.get(dossier["id"], m).display_status for m in (MONTH, "2026-02")} == {
        "closed_by_payment"}
    assert certificates.get(dossier["id"], "2026-02").closed_by_payment_number == "R-0001"
    assert certificates.get(dossier["id"], MONTH).training_hours == Decimal("147.00")  # kept
