"""documents' pure rules: names, labels, the certificate's wording, storage paths, scoping."""
from datetime import datetime, timezone
from pathlib import PurePosixPath

import pytest

from contracts.common import Actor
from services.documents import domain
from tests.support.documents import certified

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)


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
