"""Hours that make sense, through the gateway: PUT replaces the whole month and requires its
values, PATCH changes only those sent, a month outside the session or an impossible month is
a 422 with a stable code (the README's example month runs on the demo data:
test_readme_core_flow.py)."""
from __future__ import annotations

from datetime import date

import pytest

from tests.support.gateway import month_shift

pytestmark = pytest.mark.e2e

def test_put_requires_every_total_and_patch_changes_only_those_sent(dossier):
    org = dossier["organisation"]
    url = f"/dossiers/{dossier['id']}/certificates/{month_shift(date.today(), -1):%Y-%m}/hours"
    empty = org.put(url, json={})
    assert empty.status_code == 422, empty.text
    assert (empty.json()["code"], empty.json()["details"]["fields"]) == (
        "hours_missing", ["training_hours", "internship_hours", "absence_hours"])
    entered = org.put(url, json={"training_hours": "140", "internship_hours": "7",
                                 "absence_hours": "3,5"})
    assert entered.status_code == 200, entered.text
    partial = org.put(url, json={"training_hours": "100"})
    assert partial.status_code == 422 and partial.json()["details"]["fields"] == [
        "internship_hours", "absence_hours"]
    changed = org.patch(url, json={"absence_hours": "7"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["training_hours"], body["internship_hours"], body["absence_hours"]) == (
        "140.00", "7.00", "7.00")


def test_a_month_outside_the_session_names_the_session(dossier):
    org, today = dossier["organisation"], date.today()
    start, end = month_shift(today, -3), month_shift(today, 4)
    before = month_shift(today, -4).strftime("%Y-%m")
    for method in (org.put, org.patch):
        refused = method(f"/dossiers/{dossier['id']}/certificates/{before}/hours",
                         json={"training_hours": "1", "internship_hours": "0",
                               "absence_hours": "0"})
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["code"] == "month_outside_session"
        assert (problem["details"]["session_start"], problem["details"]["session_end"]) == (
            start.isoformat(), end.isoformat())
        assert f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}" in problem["detail"]


@pytest.mark.parametrize("month", ["0000-01", "2026-13", "2026-00", "abc", "2026-1"])
def test_an_impossible_month_is_a_422(dossier, month):
    org = dossier["organisation"]
    url = f"/dossiers/{dossier['id']}/certificates/{month}"
    hours = {"training_hours": "1", "internship_hours": "0", "absence_hours": "0"}
    for answer in (org.get(url), org.put(f"{url}/hours", json=hours),
                   org.patch(f"{url}/hours", json=hours)):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_path"
