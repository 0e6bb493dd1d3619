"""documents' pure rules: names, labels, the certificate's wording, storage paths, scoping."""
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import PurePosixPath

import pytest

from contracts.common import Actor
from contracts.events import CertifiedV1, MonthHours, Party
from services.documents import domain

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)


def certified(employer: bool = True, number: str = "20X000703") -> CertifiedV1:
    return CertifiedV1(
        certificate_id="c1", dossier_id="d1", dossier_number=number, funder_id="f1",
        organisation_id="o1", organisation_name="Formations Exemple",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="michelle@example.org"),
        employer=Party(id="e1", name="ACME", email="rh@example.org") if employer else None,
        training_title="Développeur web", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"),
                         absence=Decimal("3.5")),
        method=1, certified_by="u1", certified_at=NOW)


@pytest.mark.parametrize("number, expected", [
    ("20X000703", "certificat-realisation-20X000703-2026-09.pdf"),
    ("16/0/5756", "certificat-realisation-16-0-5756-2026-09.pdf"),
    ("../../etc/passwd", "certificat-realisation-etc-passwd-2026-09.pdf"),
    ("///", "certificat-realisation-document-2026-09.pdf"),
])
def test_certificate_filename_is_safe(number, expected):
    assert domain.certificate_filename(number, "2026-09") == expected


def test_certificate_label_names_the_month_in_french():
    assert domain.certificate_label("2026-09") == "Certificat de réalisation – septembre 2026"


def test_new_certificate_records_who_may_see_it():
    document = domain.new_certificate("id1", certified(), "a" * 64, 1234, NOW)
    assert (document.category, document.content_type) == ("completion_certificate", "application/pdf")
    assert (document.funder_id, document.organisation_id) == ("f1", "o1")
    assert (document.beneficiary_id, document.employer_id) == ("b1", "e1")


def test_blob_path_is_content_addressed_and_refuses_anything_else():
    sha = domain.sha256_of(b"pdf")
    assert domain.blob_path(PurePosixPath("/files"), sha) == PurePosixPath(f"/files/{sha[:2]}/{sha}")
    with pytest.raises(ValueError):
        domain.blob_path(PurePosixPath("/files"), "../../etc/passwd")


def actor(role: str, funder: str = "f1", organisation: str | None = None,
          party: str | None = None) -> Actor:
    return Actor(user_id="u", role=role, funder_id=funder, organisation_id=organisation,
                 party_id=party)


DOCUMENT = domain.new_certificate("id1", certified(), "a" * 64, 1, NOW)


@pytest.mark.parametrize("who, allowed", [
    (actor("funder_agent"), True),
    (actor("funder_admin"), True),
    (actor("funder_agent", funder="f2"), False),
    (actor("organisation_user", organisation="o1"), True),
    (actor("organisation_user", organisation="o2"), False),
    (actor("organisation_user"), False),
    (actor("beneficiary", party="b1"), True),
    (actor("beneficiary", party="e1"), False),
    (actor("employer", party="e1"), True),
    (actor("employer", party="b1"), False),
    (actor("employer"), False),
    (actor("beneficiary", funder="f2", party="b1"), False),
])
def test_who_may_see_a_certificate(who, allowed):
    assert domain.can_see(who, DOCUMENT) is allowed
    assert domain.visible(who, [DOCUMENT]) == ([DOCUMENT] if allowed else [])
