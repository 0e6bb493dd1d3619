"""dossiers use cases on the in-memory store (tests/support/dossiers.py): replies, what is
stored, and the events committed; no broker, no database."""
from __future__ import annotations

import base64
from datetime import date

import pytest

from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.dossiers import MAX_IMPORT_ROWS, PlannedDay
from services.dossiers import handlers
from services.dossiers.domain import PartyKind
from tests.support.dossiers import (database, dossier, import_row, imported, new_dossier,
                                    organisation, organisation_user, party, ports,
                                    spreadsheet_imported, staff)
from tests.support.fakes import FakeClock
from tests.support.jobs import Crashed

MICHELLE = party("b1", name="DUBOIS Michelle")
GARAGE = party("e1", PartyKind.employer, name="Garage Martin", email="rh@garage.example.org")
PAUL = party("b2", name="LEROY Paul")


def store(db):
    return db.repositories["dossiers"].store


# --- parties ---------------------------------------------------------------------------------

def test_funder_staff_create_a_party_of_the_kind_asked():
    db = database()
    made = handlers.create_party(db, ports(), staff(), {"name": "Garage Roux",
                                                        "email": "rh@roux.example.org"},
                                 PartyKind.employer)
    assert (made["kind"], made["funder_id"], made["name"]) == ("employer", "f1", "Garage Roux")
    assert store(db).parties[made["id"]].email == "rh@roux.example.org"


def test_only_funder_staff_create_a_party_whatever_they_send():
    db = database()
    with pytest.raises(Forbidden) as raised:
        handlers.create_party(db, ports(), organisation_user(), {"not": "a party"},
                              PartyKind.beneficiary)
    assert raised.value.code == "funder_staff_only" and store(db).parties == {}


# --- creation --------------------------------------------------------------------------------

def test_a_dossier_is_created_with_its_organisation_name_and_announced():
    db = database(MICHELLE, GARAGE)
    clock = FakeClock()
    made = handlers.create_dossier(db, ports(clock=clock), staff(), new_dossier(
        commission_date="2025-10-16",
        forecast=[{"day": "2026-01-06", "training_hours": "3,5"},
                  {"day": "2026-01-05", "training_hours": "7"}]))
    assert made["organisation_name"] == "Organisme 1"
    assert (made["beneficiary"]["id"], made["employer"]["id"]) == ("b1", "e1")
    assert [day["day"] for day in made["forecast"]] == ["2026-01-05", "2026-01-06"]
    assert store(db).dossiers[made["id"]].created_at == clock.now
    [created] = db.events("dossier_created")
    assert (created.dossier_number, created.beneficiary.email, created.employer.name,
            created.created_by) == ("N1", "b1@example.org", "Garage Martin", "agent")


@pytest.mark.parametrize("payload, kind, code", [
    (new_dossier("20X000703"), Conflict, "dossier_number_taken"),
    (new_dossier(beneficiary_id="e1"), InvalidInput, "unknown_beneficiary"),
    (new_dossier(employer_id="b2"), InvalidInput, "unknown_employer"),
    (new_dossier(organisation_id="o3"), InvalidInput, "unknown_organisation"),
    (new_dossier(forecast=[{"day": "2026-07-01", "training_hours": "7"}]), InvalidInput,
     "forecast_day_outside_session"),
    (new_dossier(session_end="2025-12-31"), InvalidInput, "invalid_payload"),
])
def test_dossier_creation_refusals_store_and_announce_nothing(payload, kind, code):
    db = database(MICHELLE, GARAGE, PAUL, dossiers=[dossier()])
    with pytest.raises(kind) as raised:
        handlers.create_dossier(db, ports(), staff(), payload)
    assert raised.value.code == code
    assert (list(store(db).dossiers), db.published) == (["d1"], [])


def test_a_twin_that_took_the_number_first_is_the_same_conflict():
    db = database(MICHELLE, GARAGE, dossiers=[dossier()])
    db.repositories["dossiers"].number_taken = lambda funder_id, number: False  # it raced us
    with pytest.raises(Conflict) as raised:
        handlers.create_dossier(db, ports(), staff(), new_dossier("20X000703"))
    assert raised.value.code == "dossier_number_taken" and db.published == []


def test_another_funder_neither_creates_for_nor_names_our_organisations():
    with pytest.raises(InvalidInput) as raised:
        handlers.create_dossier(database(party("b9", funder_id="f2")), ports(), staff("f2"),
                                new_dossier(beneficiary_id="b9", employer_id=None))
    assert raised.value.code == "unknown_organisation"


# --- changes ---------------------------------------------------------------------------------

def test_a_change_is_replied_and_announced_with_the_fields_that_changed():
    db = database(MICHELLE, GARAGE, dossiers=[dossier()])
    changed = handlers.update_dossier(db, ports(), staff(), "d1", {
        "status": "closed", "employer_id": None, "training_title": "Soudeur"})
    assert (changed["status_label"], changed["employer"]) == ("Dossier clôturé", None)
    [event] = db.events("dossier_updated")
    assert (event.changed, event.employer) == (["status", "employer_id"], None)
    handlers.update_dossier(db, ports(), staff(), "d1", {"status": "closed"})
    assert len(db.events("dossier_updated")) == 1  # nothing changed, nothing announced


@pytest.mark.parametrize("who, dossier_id, change, kind, code", [
    (staff(), "d1", {"session_end": "2026-01-31"}, InvalidInput,
     "forecast_day_outside_session"),
    (staff(), "d1", {"employer_id": "b1"}, InvalidInput, "unknown_employer"),
    (staff(), "d1", {"number": "X1"}, InvalidInput, "invalid_payload"),
    (organisation_user(), "d1", {"status": "closed"}, Forbidden, "funder_staff_only"),
    (staff("f2"), "d1", {"status": "closed"}, NotFound, "dossier_not_found"),
    (staff(), "no-such-dossier", {"status": "closed"}, NotFound, "dossier_not_found"),
])
def test_change_refusals_leave_the_dossier_as_it_was(who, dossier_id, change, kind, code):
    planned = dossier()
    planned.replace_forecast([PlannedDay(day=date(2026, 2, 2), training_hours=7)])
    db = database(MICHELLE, GARAGE, dossiers=[planned])
    with pytest.raises(kind) as raised:
        handlers.update_dossier(db, ports(), who, dossier_id, change)
    assert raised.value.code == code
    kept = store(db).dossiers["d1"]
    assert (kept.session_end, kept.employer_id, len(kept.forecast)) == (
        date(2026, 6, 30), "e1", 1)
    assert db.published == []


# --- reading ---------------------------------------------------------------------------------

def test_a_dossier_reads_within_the_actors_scope_only():
    db = database(MICHELLE, GARAGE, dossiers=[dossier()])
    assert handlers.get_dossier(db, ports(), organisation_user("o1"), "d1")["number"] == "20X000703"
    with pytest.raises(NotFound) as raised:
        handlers.get_dossier(db, ports(), organisation_user("o2"), "d1")
    assert raised.value.code == "dossier_not_found"


def test_the_list_is_scoped_searched_newest_first_and_capped():
    later = dossier("d2", "16/0/5756", "o2", "b2", None,
                    created_at=dossier().created_at.replace(month=2))
    db = database(MICHELLE, GARAGE, PAUL, dossiers=[dossier(), later])

    def numbers(actor, query=None, limit=200):
        return [d["number"] for d in handlers.list_dossiers(db, ports(), actor, query, limit)]

    assert numbers(staff()) == ["16/0/5756", "20X000703"]
    assert numbers(staff(), " leroy ") == ["16/0/5756"]
    assert numbers(staff(), "20x") == ["20X000703"]
    assert numbers(organisation_user("o1")) == ["20X000703"]
    assert numbers(staff("f2")) == []
    assert numbers(staff(), limit=0) == ["16/0/5756"]  # at least one


# --- imports, as jobs (docs/jobs.md) ---------------------------------------------------------

def outcomes(job):
    return [(r["row"], r["number"], r["outcome"], [e["code"] for e in r["errors"]])
            for r in job["items"]]


def test_a_json_batch_reports_every_row_and_creates_each_party_once():
    db = database(MICHELLE, GARAGE, dossiers=[dossier("d2", "16/0/5756", "o2")])
    rows = [import_row("IMP-1", forecast=[{"day": "2026-02-02", "training_hours": "7,00"}]),
            import_row("IMP-2", employer=None),
            import_row("IMP-1"),
            import_row("IMP-3", session_end="2026-01-01"),
            import_row("16/0/5756"),
            {"number": "X 6"}]
    job = imported(db, ports(), organisation_user(), {"rows": rows})
    assert outcomes(job) == [
        (1, "IMP-1", "created", []), (2, "IMP-2", "created", []),
        (3, "IMP-1", "error", ["duplicate_number"]),
        (4, "IMP-3", "error", ["session_end_before_start"]),
        (5, "16/0/5756", "error", ["dossier_number_taken"]),
        (6, "X 6", "error", ["invalid_number", "required", "required", "required",
                             "required"])]
    assert (job["status"], job["summary"]) == ("succeeded", {
        "created": 2, "updated": 0, "unchanged": 0, "errors": 4})
    assert job["phases"] == [{"name": "rows", "done": 6, "total": 6}]
    jeans = [p for p in store(db).parties.values() if p.email == "jean@example.org"]
    assert len(jeans) == 1
    created = db.events("dossier_created")
    assert [(e.dossier_number, e.employer and e.employer.id) for e in created] == [
        ("IMP-1", "e1"), ("IMP-2", None)]          # the employer found by its email
    assert {e.organisation_id for e in created} == {"o1"}


def test_a_batch_is_a_job_submitted_once_and_its_rows_are_read_by_the_job():
    db = database()
    batch = {"rows": [import_row("IMP-1"), {"number": "not checked yet"}]}
    job = handlers.import_dossiers(db, ports(), organisation_user(), batch)
    assert (job["kind"], job["status"], job["phases"]) == (
        "dossiers.import", "queued", [{"name": "rows", "done": 0, "total": 2}])
    assert store(db).dossiers == {} and db.published == []
    again = handlers.import_dossiers(db, ports(), organisation_user(), batch)
    assert (again["id"], again["resubmitted"]) == (job["id"], True)
    colleague = organisation_user(rights=["enter_hours", "payments"])
    assert handlers.import_dossiers(db, ports(), colleague, batch)["id"] == job["id"]
    elsewhere = handlers.import_dossiers(db, ports(), organisation_user("o2"), batch)
    assert elsewhere["id"] != job["id"]  # the same rows for another organisation
    jobs = db.repositories["jobs"]
    jobs.run(job["id"], lambda step: handlers.run_import(db, ports(), step))
    assert [r["outcome"] for r in jobs.view(job["id"])["items"]] == ["created", "error"]


def test_a_batch_imported_again_changes_nothing_and_a_changed_row_updates_its_dossier():
    db = database(MICHELLE, GARAGE)
    rows = [import_row("IMP-1"), import_row("IMP-2")]
    imported(db, ports(), organisation_user(), {"rows": rows})
    again = imported(db, ports(), organisation_user(), {"rows": rows})
    assert [r["outcome"] for r in again["items"]] == ["unchanged", "unchanged"]
    changed = imported(db, ports(), organisation_user(), {"rows": [
        import_row("IMP-2", employer={"name": "Roux", "email": "rh@roux.example.org"})]})
    assert outcomes(changed) == [(1, "IMP-2", "updated", [])]
    [event] = db.events("dossier_updated")
    assert (event.changed, event.employer.name) == (["employer_id"], "Roux")
    assert len(db.events("dossier_created")) == 2


@pytest.mark.parametrize("who, batch, kind, code", [
    (staff(), {"rows": [import_row("X")]}, Forbidden, "organisation_only"),
    (organisation_user(rights=["payments"]), {"rows": [import_row("X")]}, Forbidden,
     "missing_right"),
    (organisation_user(), {"rows": [import_row(f"X{n}") for n in range(MAX_IMPORT_ROWS + 1)]},
     InvalidInput, "invalid_payload"),
    (organisation_user(), {"rows": []}, InvalidInput, "invalid_payload"),
    (organisation_user("o3"), {"rows": [import_row("X")]}, InvalidInput,
     "unknown_organisation"),
])
def test_a_batch_known_bad_at_once_is_refused_at_once_never_a_job(who, batch, kind, code):
    db = database()
    with pytest.raises(kind) as raised:
        handlers.import_dossiers(db, ports(), who, batch)
    assert raised.value.code == code and db.repositories["jobs"].jobs == {}


def test_rows_are_written_a_chunk_at_a_time_and_a_resumed_job_goes_on_from_the_last(
        monkeypatch):
    """Each chunk's dossiers and reports commit together: a process dying in the second
    chunk leaves the first one's, and the job resumed reports every row once, as created,
    a duplicate of a row in an earlier chunk included."""
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    db = database()
    rows = [import_row(f"IMP-{n}") for n in range(1, 6)] + [import_row("IMP-1")]
    job = handlers.import_dossiers(db, ports(), organisation_user(), {"rows": rows})
    jobs = db.repositories["jobs"]
    with pytest.raises(Crashed):
        jobs.run(job["id"], lambda step: handlers.run_import(db, ports(), step),
                 crash_after=1)
    assert jobs.view(job["id"])["phases"][0]["done"] == 2
    assert sorted(d.number for d in store(db).dossiers.values()) == ["IMP-1", "IMP-2"]
    resumed = jobs.run(job["id"], lambda step: handlers.run_import(db, ports(), step))
    assert outcomes(resumed) == [(n, f"IMP-{n}", "created", []) for n in range(1, 6)] + [
        (6, "IMP-1", "error", ["duplicate_number"])]
    assert resumed["phases"] == [{"name": "rows", "done": 6, "total": 6}]
    assert len(db.events("dossier_created")) == 5


def test_a_cancelled_import_stops_after_the_chunk_under_way(monkeypatch):
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    db = database()
    rows = [import_row(f"IMP-{n}") for n in range(1, 6)]
    job = handlers.import_dossiers(db, ports(), organisation_user(), {"rows": rows})
    jobs = db.repositories["jobs"]
    jobs.jobs[job["id"]]["cancel_requested"] = True
    ended = jobs.run(job["id"], lambda step: handlers.run_import(db, ports(), step))
    assert (ended["status"], ended["phases"][0]["done"], len(store(db).dossiers)) == (
        "cancelled", 2, 2)


def test_a_chunk_that_meets_a_concurrent_creation_fails_the_job_and_stores_nothing_of_it(
        monkeypatch):
    monkeypatch.setattr(handlers, "IMPORT_CHUNK", 2)
    db = database(MICHELLE, GARAGE, dossiers=[dossier("d9", "IMP-3")])
    by_numbers = db.repositories["dossiers"].by_numbers
    db.repositories["dossiers"].by_numbers = (  # IMP-3 created meanwhile
        lambda funder_id, numbers: {} if "IMP-3" in numbers else by_numbers(funder_id, numbers))
    job = handlers.import_dossiers(db, ports(), organisation_user(), {"rows": [
        import_row("IMP-1"), import_row("IMP-2"), import_row("IMP-3"), import_row("IMP-4")]})
    jobs = db.repositories["jobs"]
    with pytest.raises(Conflict) as raised:
        jobs.run(job["id"], lambda step: handlers.run_import(db, ports(), step))
    assert raised.value.code == "import_conflict"
    assert sorted(d.number for d in store(db).dossiers.values()) == ["IMP-1", "IMP-2", "IMP-3"]
    assert jobs.view(job["id"])["phases"][0]["done"] == 2  # the first chunk stays recorded


HEADER = ("N° dossier;SIRET;Bénéficiaire;E-mail bénéficiaire;Employeur;E-mail employeur;"
          "Formation;Début de session;Fin de session")


def upload(*lines: str, filename: str = "dossiers.csv") -> dict:
    content = "\n".join([HEADER, *lines]).encode()
    return {"filename": filename, "content_base64": base64.b64encode(content).decode()}


def test_a_spreadsheet_names_each_rows_organisation_by_its_siret():
    db = database(MICHELLE, GARAGE)
    job = spreadsheet_imported(db, ports(), staff(), upload(
        "XL-1;000 000 000 00001;DUBOIS Michelle;b1@example.org;;;Soudeur;05/01/2026;30/06/2026",
        "XL-2;00000000000002;PETIT Anne;anne@example.org;;;Boulanger;02/03/2026;18/12/2026",
        "XL-3;73282932000099;X;x@example.org;;;T;05/01/2026;30/06/2026",
        "XL-4;;Y;pas-un-email;;;T;31/02/2026;30/06/2026"))
    assert outcomes(job) == [
        (2, "XL-1", "created", []), (3, "XL-2", "created", []),
        (4, "XL-3", "error", ["unknown_organisation"]),
        (5, "XL-4", "error", ["required", "invalid_email", "invalid_date"])]
    assert [e["column"] for e in job["items"][3]["errors"]] == [
        "SIRET", "E-mail bénéficiaire", "Début de session"]
    assert job["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "errors": 2}
    by_number = {d.number: d for d in store(db).dossiers.values()}
    assert (by_number["XL-1"].organisation_id, by_number["XL-1"].beneficiary_id) == ("o1", "b1")
    assert by_number["XL-2"].organisation_name == "Organisme 2"


def test_a_spreadsheet_is_read_at_once_and_the_same_rows_again_are_the_same_job():
    db = database()
    line = "XL-1;00000000000001;DUBOIS Michelle;m@example.org;;;Soudeur;05/01/2026;30/06/2026"
    job = handlers.import_spreadsheet(db, ports(), staff(), upload(line, "", line))
    assert (job["kind"], job["phases"]) == ("dossiers.import_spreadsheet",
                                            [{"name": "rows", "done": 0, "total": 2}])
    renamed = handlers.import_spreadsheet(db, ports(), staff(),
                                          upload(line, "", line, filename="copie.csv"))
    assert (renamed["id"], renamed["resubmitted"]) == (job["id"], True)
    jobs = db.repositories["jobs"]
    done = jobs.run(job["id"], lambda step: handlers.run_spreadsheet_import(db, ports(), step))
    assert outcomes(done) == [(2, "XL-1", "created", []),
                              (4, "XL-1", "error", ["duplicate_number"])]


@pytest.mark.parametrize("who, payload, kind, code", [
    (organisation_user(), upload(), Forbidden, "funder_staff_only"),
    (staff(), {"filename": "a.csv", "content_base64": "@@@"}, InvalidInput,
     "not_a_spreadsheet"),
    (staff(), {"filename": "a.pdf", "content_base64": base64.b64encode(
        b"%PDF-1.4\x00\x01").decode()}, InvalidInput, "not_a_spreadsheet"),
    (staff(), {"filename": "a.csv", "content_base64": base64.b64encode(
        "N° dossier;Formation\n".encode()).decode()}, InvalidInput, "missing_columns"),
    (staff(), upload(*["XL;1;B;b@example.org;;;T;05/01/2026;30/06/2026"] *
                     (MAX_IMPORT_ROWS + 1)), InvalidInput, "too_many_rows"),
])
def test_spreadsheet_refusals_are_at_once_never_a_job(who, payload, kind, code):
    db = database()
    with pytest.raises(kind) as raised:
        handlers.import_spreadsheet(db, ports(), who, payload)
    assert raised.value.code == code and db.repositories["jobs"].jobs == {}


def test_another_funder_finds_none_of_our_organisations_by_siret():
    job = spreadsheet_imported(database(), ports(organisation(1)), staff("f2"), upload(
        "XL-1;00000000000001;DUBOIS Michelle;m@example.org;;;Soudeur;05/01/2026;30/06/2026"))
    assert outcomes(job) == [(2, "XL-1", "error", ["unknown_organisation"])]
