"""Dossiers end to end, through the HTTP gateway only: the funder creates and changes a
dossier (commission date, status, forecast calendar), each role lists and searches what it may
see, an organisation's software imports its dossiers with an API token, the funder imports a
spreadsheet (xlsx, CSV) with a per-row report, and re-importing changes nothing."""
from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest

from tests.support.gateway import first_login, new_organisation

pytestmark = pytest.mark.e2e

SECOND_SIRET = "55208131766522"
HEADER = ["N° dossier", "SIRET", "Bénéficiaire", "E-mail bénéficiaire", "Employeur",
          "E-mail employeur", "Formation", "Début de session", "Fin de session",
          "Date commission"]


@pytest.fixture(scope="module")
def world(stack, smtp_server, funder_admin):
    first, first_client = new_organisation(stack, smtp_server, funder_admin)
    second, second_client = new_organisation(stack, smtp_server, funder_admin,
                                             siret=SECOND_SIRET, name="Institut Second")
    return {"funder": funder_admin, "first": first, "first_client": first_client,
            "second": second, "second_client": second_client,
            "suffix": uuid.uuid4().hex[:6]}


def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.text
    return response.json()


def problem_code(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    return response.json()["code"]


def numbers(client, q: str | None = None) -> list[str]:
    return sorted(d["number"] for d in ok(client.get("/dossiers", params={"q": q} if q else {})))


def test_create_change_and_list_for_each_role(stack, smtp_server, world):
    funder, suffix = world["funder"], world["suffix"]
    michelle = ok(funder.post("/beneficiaries", json={
        "name": f"DUBOIS Michelle {suffix}", "email": f"michelle-{suffix}@example.org"}), 201)
    employer = ok(funder.post("/employers", json={
        "name": "Garage Martin", "email": f"rh-{suffix}@garage.example.org"}), 201)
    number = f"20X{suffix}"
    created = ok(funder.post("/dossiers", json={
        "number": number, "organisation_id": world["first"]["id"],
        "beneficiary_id": michelle["id"], "employer_id": employer["id"],
        "training_title": "Titre professionnel soudeur", "session_start": "2026-01-05",
        "session_end": "2026-06-30", "commission_date": "2025-10-16",
        "forecast": [{"day": "2026-01-05", "training_hours": "7,00"},
                     {"day": "2026-01-06", "training_hours": "3,5", "internship_hours": "3,5"}]}),
        201)
    assert (created["status"], created["status_label"]) == ("in_progress",
                                                             "Dossier en cours de suivi")
    assert created["forecast"][1] == {"day": "2026-01-06", "training_hours": "3.50",
                                      "internship_hours": "3.50"}
    refused = funder.post("/dossiers", json={
        "number": f"21X{suffix}", "organisation_id": world["first"]["id"],
        "beneficiary_id": michelle["id"], "training_title": "T",
        "session_start": "2026-01-05", "session_end": "2026-06-30",
        "forecast": [{"day": "2026-07-01", "training_hours": "7"}]})
    assert problem_code(refused, 422) == "forecast_day_outside_session"

    path = f"/dossiers/{created['id']}"
    changed = ok(funder.patch(path, json={"status": "closed", "training_title": "Chaudronnier",
                                          "forecast": [{"day": "2026-01-05",
                                                        "training_hours": "6"}]}))
    assert (changed["status"], changed["status_label"]) == ("closed", "Dossier clôturé")
    assert changed["training_title"] == "Chaudronnier"
    assert changed["commission_date"] == "2025-10-16" and changed["employer"] == employer
    assert [d["day"] for d in changed["forecast"]] == ["2026-01-05"]
    assert problem_code(funder.patch(path, json={"session_end": "2025-12-31"}), 422) == \
        "session_end_before_start"
    assert problem_code(world["first_client"].patch(path, json={"status": "in_progress"}),
                        403) == "forbidden_role"

    # The organisation sees its dossier as the seed's list shows it; the other one does not.
    listed = ok(world["first_client"].get("/dossiers", params={"q": number}))
    assert [(d["number"], d["commission_date"], d["status_label"]) for d in listed] == [
        (number, "2025-10-16", "Dossier clôturé")]
    assert "forecast" not in listed[0]
    assert ok(world["first_client"].get(path))["forecast"] == changed["forecast"]
    assert numbers(world["first_client"], f"dubois michelle {suffix}") == [number]
    assert numbers(world["second_client"], number) == []
    assert problem_code(world["second_client"].get(path), 404) == "dossier_not_found"

    # The beneficiary and the employer got their accounts from the dossier's creation.
    for party in (michelle, employer):
        client = first_login(stack, smtp_server, party["email"], party["email"])
        assert numbers(client) == [number]
        assert ok(client.get(path))["number"] == number


def batch_row(number: str, suffix: str, **overrides) -> dict:
    return {"number": number,
            "beneficiary": {"name": f"NOUVEAU Jean {suffix}",
                            "email": f"jean-{suffix}@example.org"},
            "employer": {"name": "Boulangerie Dupont",
                         "email": f"rh-{suffix}@dupont.example.org"},
            "training_title": "CAP Boulanger", "session_start": "2026-02-02",
            "session_end": "2026-09-30", "commission_date": "2025-12-15",
            "forecast": [{"day": "2026-02-02", "training_hours": "7,00"}], **overrides}


def test_json_import_with_an_api_token(stack, world):
    admin, suffix = world["first_client"], world["suffix"]
    expires = str(date.today() + timedelta(days=30))
    token = ok(admin.post("/api-tokens", json={"name": "ERP", "expires_on": expires,
                                               "rights": ["enter_hours"]}), 201)["token"]
    software = type(admin)(stack.base_url, token)
    rows = [batch_row(f"IMP{suffix}-1", suffix),
            batch_row(f"IMP{suffix}-2", suffix, employer=None, forecast=None),
            batch_row(f"IMP{suffix}-3", suffix, session_end="2026-01-01"),
            {**batch_row(f"IMP{suffix}-4", suffix), "number": "mauvais numéro"}]
    report = software.finished_job(software.post("/dossiers/import", json={"rows": rows}))
    assert [(r["row"], r["outcome"]) for r in report["items"]] == [
        (1, "created"), (2, "created"), (3, "error"), (4, "error")]
    assert report["items"][2]["errors"] == [{
        "row": 3, "field": "session_end", "column": None, "code": "session_end_before_start",
        "message": "La fin de session précède son début."}]
    assert report["items"][3]["errors"][0]["code"] == "invalid_number"
    assert (report["summary"]["created"], report["summary"]["errors"]) == (2, 2)
    mine = {d["number"]: d for d in ok(admin.get("/dossiers", params={"q": f"IMP{suffix}"}))}
    assert sorted(mine) == [f"IMP{suffix}-1", f"IMP{suffix}-2"]
    assert mine[f"IMP{suffix}-1"]["organisation_id"] == world["first"]["id"]
    jean = {d["beneficiary"]["id"] for d in mine.values()}
    assert len(jean) == 1  # found by kind and email: created once for both rows

    again = software.finished_job(software.post("/dossiers/import", json={"rows": rows[:2]}))
    assert [r["outcome"] for r in again["items"]] == ["unchanged", "unchanged"]
    assert again["summary"] == {"created": 0, "updated": 0, "unchanged": 2, "errors": 0}
    moved = software.finished_job(software.post("/dossiers/import", json={"rows": [
        batch_row(f"IMP{suffix}-1", suffix, session_end="2026-10-30")]}))
    assert moved["items"][0]["outcome"] == "updated"
    assert ok(admin.get(f"/dossiers/{moved['items'][0]['dossier_id']}"))["session_end"] == \
        "2026-10-30"

    payments_only = ok(admin.post("/api-tokens", json={"name": "Compta", "expires_on": expires,
                                                       "rights": ["payments"]}), 201)["token"]
    refused = type(admin)(stack.base_url, payments_only).post("/dossiers/import",
                                                             json={"rows": rows[:1]})
    assert problem_code(refused, 403) == "missing_right"
    assert problem_code(world["funder"].post("/dossiers/import", json={"rows": rows[:1]}),
                        403) == "forbidden_role"


def sheet(world, suffix: str) -> list[list]:
    first = world["first"]["siret"]
    return [
        [f"XL{suffix}-1", first, f"PETIT Anne {suffix}", f"anne-{suffix}@example.org",
         "Garage Martin", f"rh-{suffix}@garage.example.org", "Soudeur", "05/01/2026",
         "30/06/2026", "16/10/2025"],
        [f"XL{suffix}-2", SECOND_SIRET[:3] + " " + SECOND_SIRET[3:], f"ROUX Paul {suffix}",
         f"paul-{suffix}@example.org", "", "", "Boulanger", "2026-03-02", "2026-12-18", ""],
        [f"XL{suffix}-3", "73282932000099", "X", "x@example.org", "", "", "T", "05/01/2026",
         "30/06/2026", ""],
        [f"XL{suffix}-4", first, "Y", "pas-un-email", "", "", "T", "31/02/2026", "30/06/2026",
         ""],
    ]


def as_csv(rows: list[list]) -> bytes:
    lines = [";".join(HEADER)] + [";".join(row) for row in rows]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def as_xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(HEADER)
    for row in rows:
        workbook.active.append([cell or None for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_file(client, filename: str, content: bytes):
    return client.post("/dossiers/import/spreadsheet", files={"file": (filename, content)})


def test_spreadsheet_imports_with_a_per_row_report(world):
    funder, suffix = world["funder"], world["suffix"]
    rows = sheet(world, suffix)
    report = funder.finished_job(import_file(funder, "dossiers.xlsx", as_xlsx(rows)))
    assert [(r["row"], r["outcome"], [e["code"] for e in r["errors"]])
            for r in report["items"]] == [
        (2, "created", []), (3, "created", []), (4, "error", ["unknown_organisation"]),
        (5, "error", ["invalid_email", "invalid_date"])]
    assert {(e["column"], e["code"]) for e in report["items"][3]["errors"]} == {
        ("E-mail bénéficiaire", "invalid_email"), ("Début de session", "invalid_date")}
    assert all(e["message"] for r in report["items"] for e in r["errors"])
    assert numbers(world["first_client"], f"XL{suffix}") == [f"XL{suffix}-1"]
    assert numbers(world["second_client"], f"XL{suffix}") == [f"XL{suffix}-2"]
    listed = ok(funder.get("/dossiers", params={"q": f"XL{suffix}-1"}))[0]
    assert listed["commission_date"] == "2025-10-16" and listed["employer"]["name"] == \
        "Garage Martin"

    # The same content as CSV is the same job; a changed row only is updated.
    again = import_file(funder, "dossiers.csv", as_csv(rows))
    assert (again.status_code, again.json()["id"], again.json()["resubmitted"]) == (
        200, report["id"], True)
    rows[1][6] = "Boulanger pâtissier"
    changed = funder.finished_job(import_file(funder, "dossiers.csv", as_csv(rows)))
    assert changed["summary"] == {"created": 0, "updated": 1, "unchanged": 1, "errors": 2}

    assert problem_code(import_file(funder, "photo.pdf", b"%PDF-1.4\x00\x01\x02"), 422) == \
        "not_a_spreadsheet"
    assert problem_code(import_file(funder, "vide.csv", "N° dossier;Formation\n".encode()),
                        422) == "missing_columns"
    assert problem_code(import_file(world["first_client"], "d.csv", as_csv(rows)), 403) == \
        "forbidden_role"
