"""A reopened month's final certificate stops verifying as valid: its reference answers
superseded (when, why), and the month's next certification files a new certificate, with a new
reference, that verifies as valid."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.common.errors import ServiceUnavailable
from contracts.events import CertificateReopenedV1
from services.documents import handlers
from tests.support.documents import (InMemoryCategories, InMemoryDocuments, actor, certified,
                                     file_certificate, ports)
from tests.support.fakes import FakeDatabase

REOPENED_AT = datetime(2026, 10, 5, 9, 30, tzinfo=timezone.utc)


def database() -> FakeDatabase:
    return FakeDatabase("documents", categories=InMemoryCategories(),
                        documents=InMemoryDocuments())


def reopened(reason: str = "Absences à corriger", **extra) -> CertificateReopenedV1:
    fields = dict(certificate_id="c1", dossier_id="d1", funder_id="f1", organisation_id="o1",
                  month="2026-09", reason=reason, reopened_by="agent-1", reopened_at=REOPENED_AT)
    return CertificateReopenedV1(**{**fields, **extra})


def certify(db, fakes) -> str:
    """Files the month's certificate; its verification reference."""
    file_certificate(db, fakes, certified())
    return fakes.renderer.calls[-1][1]["reference"]


def reopen(db, event: CertificateReopenedV1) -> None:
    with db.unit_of_work() as uow:
        handlers.supersede_certificate(uow, event)


def test_a_reopened_month_s_certificate_verifies_as_superseded_with_when_and_why():
    db, fakes = database(), ports()
    reference = certify(db, fakes)
    assert handlers.verify_certificate(db, reference)["valid"] is True
    reopen(db, reopened())
    answer = handlers.verify_certificate(db, reference)
    assert (answer["valid"], answer["superseded"], answer["superseded_reason"]) == (
        False, True, "Absences à corriger")
    assert answer["superseded_at"] == "2026-10-05T09:30:00Z"
    assert (answer["dossier_number"], answer["month"]) == ("16/0/5756", "2026-09")


def test_the_next_certification_files_a_new_certificate_with_a_new_valid_reference():
    db, fakes = database(), ports()
    old = certify(db, fakes)
    reopen(db, reopened())
    fakes.clock.advance(days=1)
    new = certify(db, fakes)
    assert new != old
    assert handlers.verify_certificate(db, new)["valid"] is True
    assert handlers.verify_certificate(db, new)["superseded"] is False
    assert handlers.verify_certificate(db, old)["superseded"] is True
    kept = sorted(db.repositories["documents"].items.values(), key=lambda d: d.created_at)
    assert [(d.verification_reference, d.superseded) for d in kept] == [
        (old, True), (new, False)]


def test_a_second_reopening_supersedes_the_second_certificate_and_keeps_the_first_s_facts():
    db, fakes = database(), ports()
    first = certify(db, fakes)
    reopen(db, reopened())
    second = certify(db, fakes)
    later = REOPENED_AT.replace(day=20)
    reopen(db, reopened("Contestation fondée", reopened_at=later))
    assert handlers.verify_certificate(db, first)["superseded_reason"] == "Absences à corriger"
    assert handlers.verify_certificate(db, second)["superseded_reason"] == "Contestation fondée"


def test_a_reopening_handled_before_its_certificate_is_filed_is_retried():
    db, fakes = database(), ports()
    with pytest.raises(ServiceUnavailable) as refused:  # retryable: the event comes back
        reopen(db, reopened())
    assert refused.value.code == "certificate_not_filed_yet"
    reference = certify(db, fakes)
    reopen(db, reopened())
    assert handlers.verify_certificate(db, reference)["superseded"] is True


def test_only_the_reopened_month_is_superseded():
    db, fakes = database(), ports()
    reference = certify(db, fakes)
    for other in (reopened(month="2026-10"), reopened(dossier_id="d2")):
        with pytest.raises(ServiceUnavailable):  # their own certificates are not filed yet
            reopen(db, other)
    assert handlers.verify_certificate(db, reference)["valid"] is True


def test_the_document_list_flags_the_superseded_certificate_with_when_and_why():
    db, fakes = database(), ports()
    certify(db, fakes)
    reopen(db, reopened())
    fakes.clock.advance(days=1)
    certify(db, fakes)
    listed = sorted(handlers.list_documents(db, actor(), dossier_id="d1"),
                    key=lambda d: d["created_at"])
    old, new = ({key: d[key] for key in ("superseded", "superseded_at", "superseded_reason")}
                for d in listed)
    assert old == {"superseded": True, "superseded_at": "2026-10-05T09:30:00Z",
                   "superseded_reason": "Absences à corriger"}
    assert new == {"superseded": False, "superseded_at": None, "superseded_reason": None}
    assert listed[0]["status_label"] == ("Remplacé le 05/10/2026 (mois rouvert) : ce "
                                         "certificat n'est plus valable")
