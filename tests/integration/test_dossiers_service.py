"""dossiers with the real identity service, on RabbitMQ and PostgreSQL: creation, the checks
on what a dossier names, scoping across two organisations, two funders and the parties
(get_dossier's scope is the access check certification relies on), changes, the forecast
calendar, and both imports (an organisation's JSON batch, a funder's spreadsheet)."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from services.dossiers.service import DossiersService
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from contracts.envelope import new_envelope
from contracts.events import CertificateReopenedV1
from tests.support.documents import certified as certified_event
from tests.support.integration import bootstrap, dispatch, new_organisation, valid_siret
from tests.support.jobs import finished_over_rpc
from tools.waiting import wait_until


@pytest.fixture
def world(identity, mail, service_env, container_factory, rpc):
    """Funder GE with organisations 1 and 2 (one dossier each), and funder IDF; identity, for
    real, emails the provisional passwords to `mail`."""
    db_url = service_env("dossiers")
    container_factory(DossiersService)
    admin = bootstrap(rpc, "tpro-ge")
    other_admin = bootstrap(rpc, "tpro-idf")
    first = rpc.identity.create_organisation(admin, new_organisation(1, "first"))
    second = rpc.identity.create_organisation(admin, new_organisation(2, "second"))
    michelle = rpc.dossiers.create_beneficiary(admin, {"name": "DUBOIS Michelle",
                                                       "email": "michelle@example.org"})
    paul = rpc.dossiers.create_beneficiary(admin, {"name": "LEROY Paul",
                                                   "email": "paul@example.org"})
    employer = rpc.dossiers.create_employer(admin, {"name": "Garage Martin",
                                                    "email": "rh@garage.example.org"})
    w = SimpleNamespace(admin=admin, other_admin=other_admin, first=first, second=second,
                        michelle=michelle, paul=paul, employer=employer,
                        first_user=mail.first_login(rpc, "first"),
                        second_user=mail.first_login(rpc, "second"), db_url=db_url)
    w.d1 = rpc.dossiers.create_dossier(admin, dossier("20X000703", first, michelle, employer))
    w.d2 = rpc.dossiers.create_dossier(admin, dossier("16/0/5756", second, paul))
    return w


def dossier(number, organisation, beneficiary, employer=None, **overrides):
    return {"number": number, "organisation_id": organisation["id"],
            "beneficiary_id": beneficiary["id"],
            "employer_id": employer["id"] if employer else None,
            "training_title": "Titre professionnel soudeur", "session_start": "2026-01-05",
            "session_end": "2026-06-30", **overrides}


def party_actor(world, role, party_id):
    return {"user_id": "u-party", "role": role, "funder_id": world.admin["funder_id"],
            "party_id": party_id}


def numbers(dossiers):
    return sorted(d["number"] for d in dossiers)


def test_create_dossier(world, rpc):
    d1 = world.d1
    assert rpc.dossiers.health() == {"service": "dossiers", "status": "ok", "database": "ok"}
    assert d1["organisation_name"] == "Organisme 1"
    assert d1["beneficiary"] == world.michelle and d1["employer"] == world.employer
    assert d1["beneficiary"]["kind"] == "beneficiary"
    assert (d1["status"], d1["status_label"]) == ("in_progress", "Dossier en cours de suivi")
    assert rpc.dossiers.get_dossier(world.admin, d1["id"]) == d1
    assert world.d2["employer"] is None


def test_create_dossier_refusals(world, rpc):
    w = world
    other_beneficiary = rpc.dossiers.create_beneficiary(w.other_admin, {
        "name": "AUTRE", "email": "autre@example.org"})
    cases = [
        (dossier("N1", w.first, w.employer), InvalidInput, "unknown_beneficiary"),
        (dossier("N1", w.first, other_beneficiary), InvalidInput, "unknown_beneficiary"),
        (dossier("N1", w.first, w.michelle, w.paul), InvalidInput, "unknown_employer"),
        (dossier("N1", {"id": "no-such-organisation"}, w.michelle), InvalidInput,
         "unknown_organisation"),
        (dossier("20X000703", w.second, w.paul), Conflict, "dossier_number_taken"),
        (dossier("N1", w.first, w.michelle, session_end="2025-12-31"), InvalidInput,
         "invalid_payload"),
    ]
    for payload, kind, code in cases:
        with pytest.raises(kind) as raised:
            rpc.dossiers.create_dossier(w.admin, payload)
        assert raised.value.code == code, payload
    # Another funder neither sees GE's organisations nor clashes with its numbers.
    with pytest.raises(InvalidInput) as raised:
        rpc.dossiers.create_dossier(w.other_admin, dossier("N2", w.first, other_beneficiary))
    assert raised.value.code == "unknown_organisation"
    for create in (rpc.dossiers.create_dossier, rpc.dossiers.create_beneficiary):
        with pytest.raises(Forbidden):
            create(w.first_user, dossier("N3", w.first, w.michelle))


def test_scoping_does_not_leak(world, rpc):
    w = world
    who_sees_what = [
        (w.admin, ["16/0/5756", "20X000703"]),
        (w.first_user, ["20X000703"]),
        (w.second_user, ["16/0/5756"]),
        (w.other_admin, []),
        (party_actor(w, "beneficiary", w.michelle["id"]), ["20X000703"]),
        (party_actor(w, "beneficiary", w.paul["id"]), ["16/0/5756"]),
        (party_actor(w, "employer", w.employer["id"]), ["20X000703"]),
        (party_actor(w, "employer", w.michelle["id"]), []),
        (party_actor(w, "beneficiary", None), []),
    ]
    for actor, visible in who_sees_what:
        assert numbers(rpc.dossiers.list_dossiers(actor)) == visible, actor
        for d in (w.d1, w.d2):
            if d["number"] in visible:
                assert rpc.dossiers.get_dossier(actor, d["id"]) == d
            else:
                with pytest.raises(NotFound) as raised:
                    rpc.dossiers.get_dossier(actor, d["id"])
                assert raised.value.code == "dossier_not_found"


def test_search(world, rpc):
    w = world
    rpc.dossiers.create_dossier(w.admin, dossier("20X000999", w.second, w.paul))
    searches = [
        (w.admin, "20x", ["20X000703", "20X000999"]),
        (w.admin, "dubois", ["20X000703"]),
        (w.admin, "  Leroy ", ["16/0/5756", "20X000999"]),
        (w.admin, "16/0", ["16/0/5756"]),
        (w.admin, "%", []),
        (w.admin, "", ["16/0/5756", "20X000703", "20X000999"]),
        (w.second_user, "20x", ["20X000999"]),
        (w.second_user, "dubois", []),
    ]
    for actor, query, expected in searches:
        assert numbers(rpc.dossiers.list_dossiers(actor, query)) == expected, query


# --- commission date, forecast calendar, changes ---------------------------------------------

import base64  # noqa: E402
import io  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from services.dossiers.models import metadata  # noqa: E402
from servicekit.db import make_engine  # noqa: E402

FORECAST = [{"day": "2026-01-05", "training_hours": "7.00", "internship_hours": "0.00"},
            {"day": "2026-01-06", "training_hours": "3.50", "internship_hours": "3.50"}]


def created_events(world) -> int:
    outbox = metadata.tables["outbox"]
    with make_engine(world.db_url).connect() as conn:
        return conn.execute(select(func.count()).where(
            outbox.c.event_name == "dossier_created")).scalar()


def test_commission_date_and_forecast(world, rpc):
    w = world
    made = rpc.dossiers.create_dossier(w.admin, dossier(
        "18RCDI3114", w.first, w.paul, commission_date="2025-10-16",
        forecast=[{"day": "2026-01-06", "training_hours": "3,50", "internship_hours": "3.5"},
                  {"day": "2026-01-05", "training_hours": "7"}]))
    assert made["commission_date"] == "2025-10-16"
    assert made["forecast"] == FORECAST
    assert rpc.dossiers.get_dossier(w.first_user, made["id"]) == made
    listed = {d["number"]: d for d in rpc.dossiers.list_dossiers(w.first_user)}["18RCDI3114"]
    assert listed["commission_date"] == "2025-10-16"
    assert listed["status_label"] == "Dossier en cours de suivi" and "forecast" not in listed
    assert created_events(w) == 3  # one per dossier created (d1, d2 and this one)
    for forecast, code in [
        ([{"day": "2026-07-01", "training_hours": "7"}], "forecast_day_outside_session"),
        ([{"day": "2026-01-05", "training_hours": "7"}, {"day": "2026-01-05",
                                                         "training_hours": "1"}],
         "forecast_duplicate_day"),
        ([{"day": "2026-01-05", "training_hours": "24", "internship_hours": "1"}],
         "forecast_day_over_24_hours"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            rpc.dossiers.create_dossier(w.admin, dossier("N9", w.first, w.paul,
                                                         forecast=forecast))
        assert raised.value.code == code
    assert created_events(w) == 3


def test_update_dossier(world, rpc):
    w = world
    d1 = rpc.dossiers.update_dossier(w.admin, w.d1["id"], {"forecast": FORECAST})
    assert d1["forecast"] == FORECAST
    changed = rpc.dossiers.update_dossier(w.admin, w.d1["id"], {
        "training_title": "Chaudronnier", "session_end": "2026-05-31",
        "commission_date": "2025-11-20", "status": "closed", "employer_id": None,
        # the same day again (its row is kept) and a new one
        "forecast": [{"day": "2026-01-05", "training_hours": "6"},
                     {"day": "2026-05-29", "training_hours": "7"}]})
    assert (changed["training_title"], changed["session_end"], changed["commission_date"]) == (
        "Chaudronnier", "2026-05-31", "2025-11-20")
    assert (changed["status"], changed["status_label"]) == ("closed", "Dossier clôturé")
    assert changed["employer"] is None
    assert [(d["day"], d["training_hours"]) for d in changed["forecast"]] == [
        ("2026-01-05", "6.00"), ("2026-05-29", "7.00")]
    assert changed["number"] == w.d1["number"] and changed["beneficiary"] == w.michelle
    assert rpc.dossiers.get_dossier(w.first_user, w.d1["id"]) == changed
    back = rpc.dossiers.update_dossier(w.admin, w.d1["id"], {"employer_id": w.employer["id"],
                                                             "commission_date": None})
    assert back["employer"] == w.employer and back["commission_date"] is None
    assert back["forecast"] == changed["forecast"]
    refusals = [
        (w.admin, w.d1["id"], {"session_end": "2026-05-28"}, InvalidInput,
         "forecast_day_outside_session"),
        (w.admin, w.d1["id"], {"session_start": "2026-06-01"}, InvalidInput,
         "session_end_before_start"),
        (w.admin, w.d1["id"], {"employer_id": w.paul["id"]}, InvalidInput, "unknown_employer"),
        (w.admin, w.d1["id"], {"status": "archived"}, InvalidInput, "invalid_payload"),
        (w.admin, w.d1["id"], {"number": "X1"}, InvalidInput, "invalid_payload"),
        (w.admin, w.d1["id"], {"training_title": None}, InvalidInput, "invalid_payload"),
        (w.first_user, w.d1["id"], {"status": "closed"}, Forbidden, "funder_staff_only"),
        (w.other_admin, w.d1["id"], {"status": "closed"}, NotFound, "dossier_not_found"),
        (w.admin, "no-such-dossier", {"status": "closed"}, NotFound, "dossier_not_found"),
    ]
    for who, dossier_id, change, kind, code in refusals:
        with pytest.raises(kind) as raised:
            rpc.dossiers.update_dossier(who, dossier_id, change)
        assert raised.value.code == code, change
    assert rpc.dossiers.get_dossier(w.admin, w.d1["id"]) == back


# --- imports ---------------------------------------------------------------------------------

def batch_row(number, **overrides):
    return {"number": number,
            "beneficiary": {"name": "NOUVEAU Jean", "email": "jean@example.org"},
            "employer": {"name": "Garage Martin", "email": "RH@garage.example.org"},
            "training_title": "Mécanicien", "session_start": "2026-02-02",
            "session_end": "2026-09-30", "commission_date": "2025-12-15",
            "forecast": [{"day": "2026-02-02", "training_hours": "7,00"}], **overrides}


def outcomes(job):
    return [(r["row"], r["number"], r["outcome"], [e["code"] for e in r["errors"]])
            for r in job["items"]]


def finished_import(rpc, actor, payload, spreadsheet: bool = False) -> dict:
    """An import submitted (a job), followed to its end: its view, each row's report in
    `items`, the counts in `summary`."""
    submit = rpc.dossiers.import_spreadsheet if spreadsheet else rpc.dossiers.import_dossiers
    return finished_over_rpc(rpc.dossiers, actor, submit(actor, payload))


def test_json_import_is_idempotent_and_reports_every_row(world, rpc):
    w = world
    rows = [batch_row("IMP-1"),
            batch_row("IMP-2", beneficiary={"name": "DUBOIS Michelle",
                                            "email": "Michelle@Example.org"}, employer=None,
                      forecast=None),
            batch_row("IMP-3", session_end="2026-01-01"),
            batch_row("IMP-1", training_title="Doublon"),
            batch_row("16/0/5756"),                        # the second organisation's dossier
            batch_row("20X000703")]                        # ours, but Michelle's, not Jean's
    report = finished_import(rpc, w.first_user, {"rows": rows})
    assert outcomes(report) == [
        (1, "IMP-1", "created", []), (2, "IMP-2", "created", []),
        (3, "IMP-3", "error", ["session_end_before_start"]),
        (4, "IMP-1", "error", ["duplicate_number"]),
        (5, "16/0/5756", "error", ["dossier_number_taken"]),
        (6, "20X000703", "error", ["beneficiary_changed"])]
    assert report["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "errors": 4}
    assert report["items"][2]["errors"][0]["field"] == "session_end"
    assert report["items"][2]["errors"][0]["message"] == "La fin de session précède son début."
    imported = {d["number"]: d for d in rpc.dossiers.list_dossiers(w.first_user)}
    one = rpc.dossiers.get_dossier(w.first_user, imported["IMP-1"]["id"])
    assert one["organisation_id"] == w.first["id"] and one["organisation_name"] == "Organisme 1"
    assert one["employer"] == w.employer              # found by kind and email, any case
    assert one["forecast"] == [{"day": "2026-02-02", "training_hours": "7.00",
                                "internship_hours": "0.00"}]
    assert imported["IMP-2"]["beneficiary"] == w.michelle
    assert imported["IMP-1"]["beneficiary"]["name"] == "NOUVEAU Jean"
    assert created_events(w) == 4

    resubmitted = rpc.dossiers.import_dossiers(w.first_user, {"rows": rows})
    assert (resubmitted["id"], resubmitted["resubmitted"]) == (report["id"], True)
    again = finished_import(rpc, w.first_user, {"rows": rows[:2]})
    assert outcomes(again) == [(1, "IMP-1", "unchanged", []), (2, "IMP-2", "unchanged", [])]
    assert again["items"][0]["dossier_id"] == one["id"]
    # A row without employer or commission date leaves the dossier's as they are.
    partial = {key: value for key, value in rows[0].items()
               if key not in ("employer", "commission_date", "forecast")}
    assert outcomes(finished_import(rpc, w.first_user, {"rows": [partial]})) == [
        (1, "IMP-1", "unchanged", [])]
    changed = finished_import(rpc, w.first_user, {"rows": [
        batch_row("IMP-1", employer=None, training_title="Mécanicien auto")]})
    assert outcomes(changed) == [(1, "IMP-1", "updated", [])]
    after = rpc.dossiers.get_dossier(w.first_user, one["id"])
    assert after["employer"] is None and after["training_title"] == "Mécanicien auto"
    assert created_events(w) == 4
    # Jean was created once, though two rows named him.
    jeans = rpc.dossiers.list_dossiers(w.admin, "nouveau jean")
    assert len({d["beneficiary"]["id"] for d in jeans}) == 1


def test_json_import_refusals(world, rpc):
    w = world
    payments_only = {**w.first_user, "rights": ["payments"]}
    for who, payload, kind, code in [
        (payments_only, {"rows": [batch_row("X")]}, Forbidden, "missing_right"),
        (w.admin, {"rows": [batch_row("X")]}, Forbidden, "organisation_only"),
        (w.first_user, {"rows": []}, InvalidInput, "invalid_payload"),
        (w.first_user, {"rows": ["pas un objet"]}, InvalidInput, "invalid_payload"),
        ({**w.first_user, "restricted": True}, {"rows": [batch_row("X")]}, Forbidden,
         "account_restricted"),
    ]:
        with pytest.raises(kind) as raised:
            rpc.dossiers.import_dossiers(who, payload)
        assert raised.value.code == code
    report = finished_import(rpc, w.first_user, {"rows": [
        {"number": "X 1"}, batch_row("X2", forecast=[
            {"day": "2026-02-02", "training_hours": "25"}])]})
    assert [r["errors"][0]["code"] for r in report["items"]] == [
        "invalid_number", "forecast_day_over_24_hours"]
    assert [e["field"] for e in report["items"][0]["errors"]] == [
        "number", "beneficiary", "training_title", "session_start", "session_end"]
    assert report["summary"]["created"] == 0


HEADER = ["N° dossier", "SIRET", "Bénéficiaire", "E-mail bénéficiaire", "Employeur",
          "E-mail employeur", "Formation", "Début de session", "Fin de session",
          "Date commission"]


def sheet_rows(world):
    first, second = valid_siret(1), valid_siret(2)
    return [
        ["XL-1", first, "DUBOIS Michelle", "michelle@example.org", "Garage Martin",
         "rh@garage.example.org", "Soudeur", "05/01/2026", "30/06/2026", "16/10/2025"],
        ["XL-2", second[:3] + " " + second[3:], "PETIT Anne", "anne@example.org", "", "",
         "Boulanger", "2026-03-02", "2026-12-18", ""],
        ["XL-3", "73282932000099", "X", "x@example.org", "", "", "T", "05/01/2026",
         "30/06/2026", ""],
        ["XL-4", first, "Y", "pas-un-email", "", "", "T", "31/02/2026", "30/06/2026", ""],
        ["", "", "", "", "", "", "", "", "", ""],
        ["XL-5", "", "Z", "z@example.org", "", "", "T", "05/01/2026", "30/06/2026", ""],
    ]


def csv_file(rows, delimiter=";") -> str:
    lines = [delimiter.join(HEADER)] + [delimiter.join(row) for row in rows]
    text = "\ufeff" + "\r\n".join(lines) + "\r\n"
    return base64.b64encode(text.encode("utf-8")).decode()


def xlsx_file(rows) -> str:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(HEADER)
    for row in rows:
        workbook.active.append([cell or None for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return base64.b64encode(buffer.getvalue()).decode()


def test_spreadsheet_import(world, rpc):
    w = world
    upload = {"filename": "dossiers.csv", "content_base64": csv_file(sheet_rows(w))}
    report = finished_import(rpc, w.admin, upload, spreadsheet=True)
    assert outcomes(report) == [
        (2, "XL-1", "created", []), (3, "XL-2", "created", []),
        (4, "XL-3", "error", ["unknown_organisation"]),
        (5, "XL-4", "error", ["invalid_email", "invalid_date"]),
        (7, "XL-5", "error", ["required"])]
    errors = {(e["field"], e["column"]) for r in report["items"] for e in r["errors"]}
    assert errors == {("siret", "SIRET"), ("beneficiary.email", "E-mail bénéficiaire"),
                      ("session_start", "Début de session")}
    listed = {d["number"]: d for d in rpc.dossiers.list_dossiers(w.admin, "XL-")}
    assert listed["XL-1"]["organisation_id"] == w.first["id"]
    assert listed["XL-1"]["beneficiary"] == w.michelle
    assert listed["XL-1"]["commission_date"] == "2025-10-16"
    assert listed["XL-2"]["organisation_id"] == w.second["id"]
    assert listed["XL-2"]["employer"] is None
    assert created_events(w) == 4

    # The same rows as xlsx: the same job; one row changed: that row only is updated.
    again = rpc.dossiers.import_spreadsheet(w.admin, {"filename": "dossiers.xlsx",
                                                      "content_base64": xlsx_file(sheet_rows(w))})
    assert (again["id"], again["resubmitted"]) == (report["id"], True)
    rows = sheet_rows(w)
    rows[1][6] = "Boulanger pâtissier"
    changed = finished_import(rpc, w.admin, {"filename": "d.csv",
                                             "content_base64": csv_file(rows, ",")},
                              spreadsheet=True)
    assert changed["summary"] == {"created": 0, "updated": 1, "unchanged": 1, "errors": 3}
    assert created_events(w) == 4
    # Another funder's staff do not find GE's organisations by SIRET.
    other = finished_import(rpc, w.other_admin, upload, spreadsheet=True)
    assert [r["errors"][0]["code"] for r in other["items"]] == [
        "unknown_organisation"] * 4 + ["required"]
    assert other["summary"] == {"created": 0, "updated": 0, "unchanged": 0, "errors": 5}


def test_spreadsheet_refusals(world, rpc):
    w = world
    for who, payload, kind, code in [
        (w.first_user, {"filename": "a.csv", "content_base64": csv_file([])}, Forbidden,
         "funder_staff_only"),
        (w.admin, {"filename": "a.pdf", "content_base64": base64.b64encode(
            b"%PDF-1.4\x00\x00").decode()}, InvalidInput, "not_a_spreadsheet"),
        (w.admin, {"filename": "a.csv", "content_base64": "@@@"}, InvalidInput,
         "not_a_spreadsheet"),
        (w.admin, {"filename": "a.csv", "content_base64": base64.b64encode(
            "N° dossier;Formation\n".encode()).decode()}, InvalidInput, "missing_columns"),
    ]:
        with pytest.raises(kind) as raised:
            rpc.dossiers.import_spreadsheet(who, payload)
        assert raised.value.code == code


def test_identity_finds_the_funders_organisations_by_siret(world, rpc):
    w = world
    found = rpc.identity.find_organisations_by_siret(
        w.admin, [valid_siret(1), valid_siret(2), "123", "pas"])
    assert sorted(o["id"] for o in found) == sorted([w.first["id"], w.second["id"]])
    spaced = valid_siret(1)[:3] + " " + valid_siret(1)[3:]
    assert [o["id"] for o in rpc.identity.find_organisations_by_siret(w.admin, [spaced])] == [
        w.first["id"]]
    assert rpc.identity.find_organisations_by_siret(w.other_admin, [valid_siret(1)]) == []
    with pytest.raises(Forbidden):
        rpc.identity.find_organisations_by_siret(w.first_user, [valid_siret(1)])


def test_parties_get_their_accounts_with_the_dossier_and_a_later_employer(world, rpc, mail):
    """dossier_created opens the beneficiary's and employer's accounts (identity, for real);
    dossier_updated opens the account of an employer named later, once."""
    def credentials_to(email):
        return [e for e in mail.sent if e["template"] == "account_credentials" and e["to"] == email]

    wait_until(lambda: credentials_to("michelle@example.org") and
               credentials_to("rh@garage.example.org") and credentials_to("paul@example.org"))
    later = rpc.dossiers.create_employer(world.admin, {"name": "Boulangerie Roux",
                                                       "email": "rh@roux.example.org"})
    rpc.dossiers.update_dossier(world.admin, world.d2["id"], {"employer_id": later["id"]})
    rpc.dossiers.update_dossier(world.admin, world.d2["id"], {"training_title": "Autre titre"})
    wait_until(lambda: credentials_to("rh@roux.example.org"))
    [sent] = credentials_to("rh@roux.example.org")
    assert sent["context"]["dossier_number"] == "16/0/5756"
    assert len(credentials_to("paul@example.org")) == 1


def test_certification_events_move_the_pending_actions(world, rpc, amqp_uri):
    """certified (redelivered) and certificate_reopened, as certification publishes them:
    the month leaves the dossier's « Actions en attente », then returns."""
    d1 = world.d1["id"]

    def pending():
        found = rpc.dossiers.get_dossier(world.first_user, d1)["pending_actions"]
        return [month["month"] for month in found]

    session = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert pending() == session  # the session is over: all its months await
    envelope = new_envelope("certification", "certified", 1,
                            certified_event(dossier_id=d1, month="2026-02"))
    for _ in range(2):
        dispatch(amqp_uri, "certification", "certified", envelope)
    wait_until(lambda: pending() == [m for m in session if m != "2026-02"])
    dispatch(amqp_uri, "certification", "certificate_reopened", new_envelope(
        "certification", "certificate_reopened", 1, CertificateReopenedV1(
            certificate_id="c1", dossier_id=d1, funder_id=world.d1["funder_id"],
            organisation_id=world.first["id"], month="2026-02", reason="Erreur",
            reopened_by="agent", reopened_at=datetime.now(timezone.utc))))
    wait_until(lambda: pending() == session)
