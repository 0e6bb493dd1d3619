"""dossiers rules: who sees which dossier (the access check certification relies on), the
parties a dossier may name, the search pattern, changes, import rows and spreadsheets."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from contracts.common import Actor, Role
from contracts.common.access import require_funder_staff
from servicekit.db import like_pattern
from contracts.common.errors import Forbidden, InvalidInput
from services.dossiers import adapters, domain
from services.dossiers.domain import PartyKind, sheets
from services.dossiers.handlers import check_row

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def make_dossier(**overrides):
    fields = dict(id="d1", funder_id="f1", number="20X000703", organisation_id="o1",
                  organisation_name="OF", beneficiary_id="b1", employer_id="e1",
                  training_title="Soudeur", session_start=date(2026, 1, 5),
                  session_end=date(2026, 6, 30), created_at=NOW)
    return domain.Dossier(**{**fields, **overrides})


def actor(role, funder_id="f1", organisation_id=None, party_id=None):
    return Actor(user_id="u", role=role, funder_id=funder_id, organisation_id=organisation_id,
                 party_id=party_id)


@pytest.mark.parametrize("who, allowed", [
    (actor(Role.funder_admin), True),
    (actor(Role.funder_agent), True),
    (actor(Role.funder_agent, funder_id="f2"), False),
    (actor(Role.organisation_user, organisation_id="o1"), True),
    (actor(Role.organisation_user, organisation_id="o2"), False),
    (actor(Role.organisation_user, funder_id="f2", organisation_id="o1"), False),
    (actor(Role.organisation_user), False),                  # no organisation: nothing
    (actor(Role.beneficiary, party_id="b1"), True),
    (actor(Role.beneficiary, party_id="b2"), False),
    (actor(Role.beneficiary, party_id="e1"), False),         # the employer's id, wrong role
    (actor(Role.beneficiary), False),
    (actor(Role.employer, party_id="e1"), True),
    (actor(Role.employer, party_id="b1"), False),
    (actor(Role.employer, funder_id="f2", party_id="e1"), False),
])
def test_who_sees_a_dossier(who, allowed):
    assert domain.scope_for(who).allows(make_dossier()) is allowed


def test_employer_sees_no_dossier_without_employer():
    assert not domain.scope_for(actor(Role.employer, party_id="e1")).allows(
        make_dossier(employer_id=None))


def test_scope_narrowing_is_what_the_query_filters_on():
    assert domain.scope_for(actor(Role.funder_agent)).narrowing() == {}
    assert domain.scope_for(actor(Role.organisation_user, organisation_id="o1")).narrowing() \
        == {"organisation_id": "o1"}
    assert domain.scope_for(actor(Role.beneficiary, party_id="b1")).narrowing() \
        == {"beneficiary_id": "b1"}
    assert domain.scope_for(actor(Role.beneficiary)).nothing


def test_only_funder_staff_create():
    require_funder_staff(actor(Role.funder_admin))
    with pytest.raises(Forbidden):
        require_funder_staff(actor(Role.beneficiary, party_id="b1"))


def party(kind="beneficiary", funder_id="f1"):
    return domain.Party(id="p1", funder_id=funder_id, kind=kind, name="DUBOIS Michelle",
                        email="m@example.org", created_at=NOW)


def test_check_party_accepts_the_funders_own_of_the_right_kind():
    found = party()
    assert domain.check_party(found, "f1", PartyKind.beneficiary) is found


@pytest.mark.parametrize("found, kind, code", [
    (None, PartyKind.beneficiary, "unknown_beneficiary"),
    (party(funder_id="f2"), PartyKind.beneficiary, "unknown_beneficiary"),
    (party(kind="employer"), PartyKind.beneficiary, "unknown_beneficiary"),
    (None, PartyKind.employer, "unknown_employer"),
    (party(kind="beneficiary"), PartyKind.employer, "unknown_employer"),
])
def test_check_party_refuses(found, kind, code):
    with pytest.raises(InvalidInput) as raised:
        domain.check_party(found, "f1", kind)
    assert raised.value.code == code


def test_status_label():
    assert make_dossier().status == "in_progress"
    assert make_dossier().status_label == "Dossier en cours de suivi"


@pytest.mark.parametrize("query, pattern", [
    (None, None), ("", None), ("   ", None),
    ("Dubois", "%dubois%"),
    (" 20X ", "%20x%"),
    ("50%_a\\b", "%50\\%\\_a\\\\b%"),   # LIKE wildcards are searched for literally
])
def test_search_pattern(query, pattern):
    assert like_pattern(query) == pattern


# --- statuses, forecast calendar, changes ----------------------------------------------------

from decimal import Decimal  # noqa: E402
import io  # noqa: E402

from contracts.dossiers import MAX_IMPORT_ROWS, PlannedDay as PlannedDayShape  # noqa: E402


def planned(day, training="7", internship="0"):
    return PlannedDayShape(day=day, training_hours=training, internship_hours=internship)


def test_closed_status_reads_in_french():
    assert make_dossier(status="closed").status_label == "Dossier clôturé"


def test_forecast_within_the_session_is_accepted():
    days = [planned(date(2026, 1, 5)), planned(date(2026, 6, 30), "12", "12")]
    assert domain.forecast_problems(days, date(2026, 1, 5), date(2026, 6, 30)) == []


@pytest.mark.parametrize("days, code", [
    ([planned(date(2026, 1, 4))], "forecast_day_outside_session"),
    ([planned(date(2026, 7, 1))], "forecast_day_outside_session"),
    ([planned(date(2026, 2, 2)), planned(date(2026, 2, 2), "1")], "forecast_duplicate_day"),
    ([planned(date(2026, 2, 2), "20", "4.01")], "forecast_day_over_24_hours"),
])
def test_forecast_rules(days, code):
    problems = domain.forecast_problems(days, date(2026, 1, 5), date(2026, 6, 30))
    assert [problem.code for problem in problems] == [code]
    assert problems[0].field.startswith("forecast.")


def test_change_applies_only_what_was_sent_and_says_whether_anything_changed():
    dossier = make_dossier()
    later = datetime(2026, 3, 3, tzinfo=timezone.utc)
    assert dossier.change({"status": "closed", "commission_date": date(2025, 12, 1)}, later)
    assert (dossier.status, dossier.commission_date, dossier.updated_at) == (
        "closed", date(2025, 12, 1), later)
    assert dossier.training_title == "Soudeur" and dossier.employer_id == "e1"
    assert not dossier.change({"status": "closed"}, NOW)
    assert dossier.updated_at == later
    assert dossier.change({"employer_id": None}, NOW) and dossier.employer_id is None


def test_change_replaces_the_forecast_keeping_the_rows_of_the_same_days():
    dossier = make_dossier()
    dossier.change({"forecast": [planned(date(2026, 2, 2)), planned(date(2026, 2, 3))]}, NOW)
    kept = dossier.forecast[0]
    assert dossier.change({"forecast": [planned(date(2026, 2, 2), "3,5")]}, NOW)
    assert dossier.forecast == [kept] and kept.training_hours == Decimal("3.5")
    assert not dossier.change({"forecast": [planned(date(2026, 2, 2), "3.50")]}, NOW)


@pytest.mark.parametrize("changes, code", [
    ({"session_end": date(2026, 1, 4)}, "session_end_before_start"),
    ({"forecast": [planned(date(2027, 1, 4))]}, "forecast_day_outside_session"),
    ({"session_end": date(2026, 2, 1)}, "forecast_day_outside_session"),  # leaves 2 Feb out
])
def test_change_refuses_and_changes_nothing(changes, code):
    dossier = make_dossier()
    dossier.change({"forecast": [planned(date(2026, 2, 2))]}, NOW)
    before = dossier.facts()
    with pytest.raises(InvalidInput) as raised:
        dossier.change(changes, NOW)
    assert raised.value.code == code
    assert dossier.facts() == before


# --- import rows -----------------------------------------------------------------------------

def row(**overrides):
    fields = {"number": "20X000703", "beneficiary": {"name": "DUBOIS Michelle",
                                                      "email": "michelle@example.org"},
              "training_title": "Soudeur", "session_start": "2026-01-05",
              "session_end": "2026-06-30"}
    return {**fields, **overrides}


def test_a_good_row():
    checked, problems = check_row(row(forecast=[{"day": "2026-01-05",
                                                        "training_hours": "7,00"}]))
    assert problems == [] and checked.number == "20X000703"
    assert checked.forecast[0].training_hours == Decimal("7")


@pytest.mark.parametrize("raw, field, code", [
    ("not a row", None, "invalid_row"),
    (row(number=""), "number", "required"),
    (row(number="20X 703"), "number", "invalid_number"),
    (row(beneficiary=None), "beneficiary", "invalid_value"),
    (row(beneficiary={"name": "X", "email": "pas-un-email"}), "beneficiary.email",
     "invalid_email"),
    (row(employer={"name": "Garage", "email": ""}), "employer.email", "invalid_email"),
    (row(session_start="31/02/2026"), "session_start", "invalid_date"),
    (row(session_end="2025-12-31"), "session_end", "session_end_before_start"),
    (row(training_title="x" * 301), "training_title", "too_long"),
    (row(forecast=[{"day": "2027-01-01", "training_hours": "7"}]), "forecast.0",
     "forecast_day_outside_session"),
    (row(forecast=[{"day": "2026-01-05", "training_hours": "-1"}]),
     "forecast.0.training_hours", "invalid_hours"),
    (row(colour="blue"), "colour", "unknown_field"),
])
def test_bad_rows_say_which_field_and_why(raw, field, code):
    checked, problems = check_row(raw)
    assert checked is None
    assert (problems[0].field, problems[0].code) == (field, code)
    assert problems[0].message


def facts(**overrides):
    fields = dict(organisation_id="o1", beneficiary_id="b1", employer_id="e1",
                  training_title="Soudeur", session_start=date(2026, 1, 5),
                  session_end=date(2026, 6, 30), commission_date=None)
    return domain.ImportFacts(**{**fields, **overrides})


@pytest.mark.parametrize("existing, incoming, outcome", [
    (None, facts(), "created"),
    (make_dossier(), facts(), "unchanged"),
    (make_dossier(), facts(forecast=()), "unchanged"),          # no calendar either side
    (make_dossier(), facts(training_title="Chaudronnier"), "updated"),
    (make_dossier(), facts(employer_id=None), "updated"),
    (make_dossier(), facts(employer_id="new:rh@example.org"), "updated"),
    (make_dossier(), facts(commission_date=date(2025, 12, 1)), "updated"),
    (make_dossier(), facts(forecast=((date(2026, 1, 5), Decimal(7), Decimal(0)),)), "updated"),
    (make_dossier(), facts(organisation_id="o2"), "error"),
    (make_dossier(), facts(beneficiary_id="b2"), "error"),
    # What a row does not carry is not compared: it stays as it is.
    (make_dossier(commission_date=date(2025, 12, 1)),
     facts(employer_id=domain.KEEP, commission_date=domain.KEEP), "unchanged"),
    (make_dossier(), facts(employer_id=domain.KEEP, training_title="Autre"), "updated"),
])
def test_import_decision(existing, incoming, outcome):
    assert domain.import_decision(existing, incoming).outcome.value == outcome


def test_import_decision_compares_the_calendar_only_when_the_row_has_one():
    dossier = make_dossier()
    dossier.replace_forecast([planned(date(2026, 1, 5))])
    same = domain.forecast_key([planned(date(2026, 1, 5), "7.00", "0")])
    assert domain.import_decision(dossier, facts(forecast=same)).outcome.value == "unchanged"
    assert domain.import_decision(dossier, facts()).outcome.value == "unchanged"
    assert domain.import_decision(dossier, facts(forecast=())).outcome.value == "updated"


def test_only_an_organisation_with_the_hours_right_imports():
    domain.require_importer(Actor(user_id="u", role=Role.organisation_user, funder_id="f1",
                                  organisation_id="o1", rights=["enter_hours"]))
    for who, code in [
        (actor(Role.funder_admin), "organisation_only"),
        (actor(Role.organisation_user), "organisation_only"),
        (Actor(user_id="u", role=Role.organisation_user, funder_id="f1",
               organisation_id="o1", rights=["payments"]), "missing_right"),
    ]:
        with pytest.raises(Forbidden) as raised:
            domain.require_importer(who)
        assert raised.value.code == code


# --- spreadsheets ----------------------------------------------------------------------------

HEADER = ("N° dossier;SIRET;Bénéficiaire;E-mail bénéficiaire;Employeur;E-mail employeur;"
          "Formation;Début de session;Fin de session;Date commission")


def test_csv_with_semicolons_bom_and_french_dates():
    content = ("\ufeff" + HEADER + "\n"
               "20X000703;732 829 320 00074;DUBOIS Michelle;m@example.org;;;Soudeur;"
               "05/01/2026;2026-06-30;16/10/2025\n"
               ";;;;;;;;;\n"
               "16/0/5756;73282932000074;LEROY Paul;p@example.org;Garage;rh@example.org;"
               "Boulanger;5/1/2026;30/06/2026;\n").encode("utf-8")
    headings, rows = adapters.read_spreadsheet(content)
    assert headings["number"] == "N° dossier"
    assert [r.line for r in rows] == [2, 4]                      # the empty line is skipped
    assert rows[0].siret == "732 829 320 00074"
    assert rows[0].data == {
        "number": "20X000703", "beneficiary": {"name": "DUBOIS Michelle",
                                               "email": "m@example.org"},
        "training_title": "Soudeur", "session_start": "2026-01-05",
        "session_end": "2026-06-30", "commission_date": "2025-10-16",
        "employer": None}                                        # empty cells: no employer
    assert rows[1].data["employer"] == {"name": "Garage", "email": "rh@example.org"}
    assert rows[1].data["commission_date"] is None
    assert rows[1].data["session_start"] == "2026-01-05"
    assert check_row(rows[0].data)[1] == []


def test_csv_with_commas_and_the_session_as_the_list_shows_it():
    content = ("dossier,siret,beneficiaire,email beneficiaire,formation,session\n"
               "19,73282932000074,Bénéficiaire 1,b1@example.org,Formation 1,"
               "17/12/2019 au 30/11/2021\n").encode()
    headings, rows = adapters.read_spreadsheet(content)
    assert (rows[0].data["session_start"], rows[0].data["session_end"]) == (
        "2019-12-17", "2021-11-30")
    # No employer or commission columns: the import leaves those of a dossier as they are.
    assert "employer" not in rows[0].data and "commission_date" not in rows[0].data
    assert sheets.column_of("session_end", headings) == "session"
    assert sheets.column_of("beneficiary.email", headings) == "email beneficiaire"


def test_xlsx_with_date_cells_and_a_numeric_siret():
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(";"))
    sheet.append(["18RCDI3114", 1234567800019, "MARTIN Léa", "lea@example.org", None, None,
                  "CAP Boulanger", datetime(2026, 1, 5), date(2026, 6, 30), "16/10/2025"])
    sheet.append([16, None, None, None, None, None, None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    _headings, rows = adapters.read_spreadsheet(buffer.getvalue())
    assert rows[0].siret == "01234567800019"
    assert rows[0].data["session_start"] == "2026-01-05"
    assert rows[0].data["session_end"] == "2026-06-30"
    assert rows[0].data["commission_date"] == "2025-10-16"
    assert rows[1].data["number"] == "16" and rows[1].siret is None


@pytest.mark.parametrize("content, code", [
    (b"%PDF-1.4\x00\x01binary", "not_a_spreadsheet"),
    (b"PK\x03\x04 not really a zip", "not_a_spreadsheet"),
    (b"juste une phrase sans colonnes\n", "not_a_spreadsheet"),
    ("N° dossier;Formation\n".encode("cp1252"), "invalid_encoding"),
    (b"", "empty_spreadsheet"),
    ("N° dossier;SIRET;Formation\n1;2;3\n".encode(), "missing_columns"),
    ((HEADER + ";Dossier\n").encode(), "duplicate_column"),
    (b"x" * (adapters.MAX_FILE_BYTES + 1), "file_too_large"),
])
def test_files_refused_whole(content, code):
    with pytest.raises(InvalidInput) as raised:
        adapters.read_spreadsheet(content)
    assert raised.value.code == code and raised.value.message


def test_row_cap():
    line = "1;73282932000074;A;a@example.org;;;F;05/01/2026;30/06/2026;\n"
    content = (HEADER + "\n" + line * MAX_IMPORT_ROWS).encode()
    assert len(adapters.read_spreadsheet(content)[1]) == MAX_IMPORT_ROWS
    with pytest.raises(InvalidInput) as raised:
        adapters.read_spreadsheet(content + line.encode())
    assert raised.value.code == "too_many_rows"


def test_missing_columns_are_named_in_french():
    with pytest.raises(InvalidInput) as raised:
        adapters.read_spreadsheet("N° dossier;SIRET;Formation\n".encode())
    assert raised.value.details["missing"] == ["Bénéficiaire", "E-mail bénéficiaire",
                                               "Début de session", "Fin de session"]
