"""The audit trail of issue 15 on fakes: entries named at write time, the other services' acts
arriving as events, filters and pages, who reads what, and the hash chain that shows a
tampered, removed or inserted row."""
from __future__ import annotations

import re
from datetime import date, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from contracts.common import Role
from contracts.common.errors import Forbidden, NotFound
from contracts.events import (BankDetailsChangedV1, CertificateReopenedV1, CertifiedV1,
                              CoveredDossier, PaymentReconciledV1,
                              DocumentCheckedV1, DocumentRejectedV1, DocumentUploadedV1,
                              HoursEnteredV1, MonthHours, MonthUnlockedV1, Party, PaymentIssuedV1)
from contracts.identity import UserUpdate
from services.identity import domain, handlers
from services.identity.domain import audit_trail
from tests.support.identity import world


@pytest.fixture
def w():
    return world()


def entries(w):
    return w.repositories["audit"].chain("f1")


def certified(w, method=1, month="2026-02", dossier="d1", number="2026-0001", **extra):
    return CertifiedV1(
        certificate_id=f"c-{dossier}-{month}", dossier_id=dossier, dossier_number=number,
        funder_id="f1", organisation_id="o1", organisation_name="Organisme 1",
        beneficiary=Party(id="b1", name="Léa Petit", email="lea@example.org"), employer=None,
        training_title="Soudure", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month=month,
        hours=MonthHours(training=Decimal("70"), internship=Decimal("0"),
                         absence=Decimal("3.5")),
        method=method, certified_by=w.manager.id, certified_at=w.clock(),
        certified_from_ip="203.0.113.7", certified_by_name="Marie Durand",
        **extra)


def receive(w, handle):
    """`handle(uow)` in one transaction, as @idempotent runs an event's handler."""
    with w.db.unit_of_work() as uow:
        handle(uow)


def a_day_of_acts(w):
    """A user created by the funder, a certification, a document deposited and checked."""
    handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", {
        "identifier": "paul", "name": "Paul Martin", "email": "paul@example.org",
        "rights": ["enter_hours"]})
    w.clock.advance(hours=1)
    receive(w, lambda uow: handlers.audit_certified(uow, certified(w)))
    w.clock.advance(hours=1)
    receive(w, lambda uow: handlers.document_uploaded(uow, DocumentUploadedV1(
        document_id="doc1", category="attendance_sheet", funder_id="f1", organisation_id="o1",
        dossier_id="d2", uploaded_by=w.manager.id, uploaded_at=w.clock())))
    w.clock.advance(hours=1)
    receive(w, lambda uow: handlers.document_checked(uow, DocumentCheckedV1(
        document_id="doc1", category="attendance_sheet", category_label="Feuille d'émargement",
        label="Émargement février", funder_id="f1", organisation_id="o1", dossier_id="d2",
        dossier_number="2026-0002", owner_user_id=w.manager.id, checked_at=w.clock(),
        checked_by=w.admin.id)))


# --- the chain ---------------------------------------------------------------------------------

def test_each_entry_is_chained_to_the_previous_one(w):
    a_day_of_acts(w)
    chain = entries(w)
    assert [e.position for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].previous_hash == audit_trail.GENESIS
    for before, after in zip(chain, chain[1:]):
        assert after.previous_hash == before.hash
        assert after.hash == audit_trail.entry_hash(after, before.hash)
    reply = handlers.verify_audit_chain(w.db, w.actor(w.admin))
    assert reply["intact"] is True and reply["entries"] == len(chain) >= 4
    assert reply["message"] == f"La chaîne du journal est intacte : {len(chain)} entrées vérifiées."


def test_a_changed_row_is_named_by_the_verification(w):
    a_day_of_acts(w)
    tampered = entries(w)[2]
    tampered.details = {**tampered.details, "method": 2}  # what an UPDATE in the database does
    reply = handlers.verify_audit_chain(w.db, w.actor(w.admin))
    assert reply["intact"] is False
    assert reply["broken_at"]["entry_id"] == tampered.id
    assert reply["broken_at"]["position"] == 3
    assert "position 3" in reply["message"] and "modifié" in reply["message"]


def test_a_removed_row_breaks_the_chain_at_the_next_one(w):
    a_day_of_acts(w)
    chain = entries(w)
    del w.repositories["audit"].records[chain[1].id]
    broken = audit_trail.verify(entries(w), w.repositories["audit"].head("f1"))
    assert (broken.entry_id, broken.position) == (chain[2].id, 3)


def test_a_removed_tail_shows_against_the_chain_head(w):
    a_day_of_acts(w)
    last = entries(w)[-1]
    del w.repositories["audit"].records[last.id]
    broken = audit_trail.verify(entries(w), w.repositories["audit"].head("f1"))
    assert broken.position == last.position and "supprimées" in broken.reason


def test_a_rehashed_row_still_breaks_at_the_next_one(w):
    """Recomputing the changed row's own hash is not enough: the next row holds the old one."""
    a_day_of_acts(w)
    chain = entries(w)
    chain[1].person_name = "Quelqu'un d'autre"
    chain[1].hash = audit_trail.entry_hash(chain[1], chain[1].previous_hash)
    broken = audit_trail.verify(chain)
    assert (broken.entry_id, broken.position) == (chain[2].id, 3)


def test_each_funder_has_its_own_chain(w):
    other = domain.Funder(id="f2", code="myatlas", name="MyAtlas")
    w.repositories["funders"].add(other)
    w.account("zoe", Role.funder_admin, funder_id="f2")
    a_day_of_acts(w)
    with w.db.unit_of_work() as uow:
        uow.audit.add(domain.audit(w.clock(), "login_succeeded",
                                   user=w.repositories["users"].by_identifier("zoe")))
    [first] = w.repositories["audit"].chain("f2")
    assert (first.position, first.previous_hash) == (1, audit_trail.GENESIS)


def test_the_seal_reads_the_time_in_utc_whatever_its_zone(w):
    a_day_of_acts(w)
    entry = entries(w)[0]
    entry.at = entry.at.astimezone(timezone(timedelta(hours=2)))  # as a driver may give it back
    assert audit_trail.verify(entries(w)) is None


def test_only_the_funder_administrator_verifies(w):
    agent = w.account("agent", Role.funder_agent)
    with pytest.raises(Forbidden):
        handlers.verify_audit_chain(w.db, w.actor(agent))
    with pytest.raises(Forbidden):
        handlers.verify_audit_chain(w.db, w.actor(w.manager))


# --- names and objects -------------------------------------------------------------------------

def test_identity_acts_name_the_person_and_the_organisation(w):
    a_day_of_acts(w)
    [created] = [e for e in handlers.audit_trail(w.db, w.actor(w.admin), "o1")
                 if e["action"] == "user_created"]
    assert created["person_name"] == "Marie"
    assert created["person_role_label"] == "utilisateur de l'organisme"
    assert created["organisation_name"] == "Organisme 1"
    assert created["action_label"] == "Création d'un utilisateur"


def test_a_change_of_rights_names_the_user_and_says_before_and_after(w):
    a_day_of_acts(w)
    paul = w.repositories["users"].by_identifier("paul")
    handlers.update_user(w.db, w.ports, w.actor(w.manager), paul.id,
                         UserUpdate(rights=["enter_hours", "documents"]))
    [changed] = handlers.audit_trail(w.db, w.actor(w.admin), "o1", {"kind": "rights_changed"})
    assert changed["object"] == "Utilisateur Paul Martin (paul)"
    assert changed["changes"] == [{"field": "rights", "before": ["enter_hours"],
                                   "after": ["enter_hours", "documents"]}]
    assert changed["action_label"] == "Modification des droits"
    assert changed["person_name"] == "Marie"


def test_a_certification_names_its_signer_object_and_method_2_ip(w):
    receive(w, lambda uow: handlers.audit_certified(uow, certified(w, method=1)))
    receive(w, lambda uow: handlers.audit_certified(uow, certified(w, method=2,
                                                                   month="2026-03")))
    second, first = handlers.audit_trail(w.db, w.actor(w.admin), None, {"kind": "certified"})
    assert first["person_name"] == "Marie Durand"
    assert first["person_role"] == "organisation_user"
    assert first["organisation_name"] == "Organisme 1"
    assert first["object"] == "Dossier 2026-0001, mois 2026-02"
    assert first["details"] == {"method": 1, "hours": {"training": "70", "internship": "0",
                                                       "absence": "3.5"}}
    assert first["ip"] is None  # method 1: signed on paper, no IP on the record
    assert (second["ip"], second["details"]["method"]) == ("203.0.113.7", 2)
    assert second["action_label"] == "Certification des heures"


def test_hours_entered_then_changed_say_what_changed(w):
    def hours(training, absence):
        return MonthHours(training=Decimal(training), internship=Decimal("0"),
                          absence=Decimal(absence))
    first = HoursEnteredV1(certificate_id="c1", dossier_id="d1", dossier_number="2026-0001",
                           funder_id="f1", organisation_id="o1", month="2026-02",
                           after=hours("70", "3.5"), entered_by=w.manager.id,
                           entered_at=w.clock())
    receive(w, lambda uow: handlers.audit_hours_entered(uow, first))
    w.clock.advance(minutes=3)
    receive(w, lambda uow: handlers.audit_hours_entered(uow, first.model_copy(update={
        "before": hours("70", "3.5"), "after": hours("70", "7"), "entered_at": w.clock()})))
    changed, entered = handlers.audit_trail(w.db, w.actor(w.admin), "o1", {"dossier": "d1"})
    assert (entered["action_label"], changed["action_label"]) == ("Saisie des heures",
                                                                  "Modification des heures")
    assert changed["changes"] == [{"field": "absence", "before": "3.5", "after": "7"}]
    assert {c["field"]: c["after"] for c in entered["changes"]} == {
        "training": "70", "internship": "0", "absence": "3.5"}
    assert (changed["person_name"], changed["object"]) == ("Marie",
                                                           "Dossier 2026-0001, mois 2026-02")


def test_a_reopening_and_an_unlock_keep_their_reason(w):
    receive(w, lambda uow: handlers.audit_certificate_reopened(uow, CertificateReopenedV1(
        certificate_id="c1", dossier_id="d1", funder_id="f1", organisation_id="o1",
        month="2026-02", reason="Heures d'absence oubliées", reopened_by=w.admin.id,
        reopened_at=w.clock(), dossier_number="2026-0001")))
    w.clock.advance(minutes=5)
    receive(w, lambda uow: handlers.audit_month_unlocked(uow, MonthUnlockedV1(
        dossier_id="d1", month="2026-02", reason="Erreur de saisie", unlocked_by=w.admin.id,
        unlocked_at=w.clock())))  # an older event: no funder named, the unlocker's is used
    unlocked, reopened = handlers.audit_trail(w.db, w.actor(w.admin), None, {"dossier": "d1"})
    assert (reopened["object"], reopened["details"]["reason"]) == (
        "Dossier 2026-0001, mois 2026-02", "Heures d'absence oubliées")
    assert reopened["changes"] == [{"field": "status", "before": "certified",
                                    "after": "reopened"}]
    assert (reopened["person_name"], reopened["person_role_label"]) == (
        "Admin", "administrateur du financeur")
    assert (unlocked["action"], unlocked["details"]["reason"]) == ("month_unlocked",
                                                                   "Erreur de saisie")
    assert unlocked["person_name"] == "Admin"


def test_a_payment_and_a_rejected_document_are_recorded(w):
    receive(w, lambda uow: handlers.audit_payment_issued(uow, PaymentIssuedV1(
        payment_id="p1", payment_number="R-2026-0007", funder_id="f1", organisation_id="o1",
        dossiers=[CoveredDossier(dossier_id="d1", months=["2026-02"])], issued_at=w.clock(),
        recorded_by=w.admin.id)))
    receive(w, lambda uow: handlers.document_rejected(uow, DocumentRejectedV1(
        document_id="doc9", category="attendance_sheet", category_label="Feuille d'émargement",
        label="Émargement mars", funder_id="f1", organisation_id="o1", dossier_id="d1",
        dossier_number="2026-0001", owner_user_id=w.manager.id, rejected_at=w.clock(),
        rejected_by=w.admin.id, reason_code="illegible", reason_text="Illisible")))
    rejected, paid = handlers.audit_trail(w.db, w.actor(w.manager), "o1")
    assert (paid["object"], paid["person_name"]) == ("Règlement R-2026-0007", "Admin")
    assert paid["details"]["months"] == {"d1": ["2026-02"]}
    assert rejected["object"] == "Dossier 2026-0001, document « Émargement mars »"
    assert rejected["details"]["reason"] == "Illisible"


def test_a_reconciliation_and_bank_details_reviews_are_recorded(w):
    receive(w, lambda uow: handlers.audit_payment_reconciled(uow, PaymentReconciledV1(
        payment_id="p1", payment_number="R-2026-0007", funder_id="f1", organisation_id="o1",
        reconciled=True, reconciled_by=w.manager.id, reconciled_at=w.clock())))
    w.clock.advance(minutes=1)
    receive(w, lambda uow: handlers.audit_bank_details_changed(uow, BankDetailsChangedV1(
        organisation_id="o1", funder_id="f1", version=2, status="pending",
        changed_by=w.manager.id, changed_at=w.clock())))
    w.clock.advance(minutes=1)
    receive(w, lambda uow: handlers.audit_bank_details_changed(uow, BankDetailsChangedV1(
        organisation_id="o1", funder_id="f1", version=2, status="rejected",
        reason="RIB illisible", changed_by=w.admin.id, changed_at=w.clock())))
    rejected, submitted, ticked = handlers.audit_trail(w.db, w.actor(w.manager), "o1")
    assert (ticked["action_label"], ticked["object"], ticked["person_name"]) == (
        "Règlement pointé comme reçu", "Règlement R-2026-0007", "Marie")
    assert ticked["changes"] == [{"field": "reconciled", "before": False, "after": True}]
    assert (submitted["action"], submitted["object"]) == (
        "bank_details_submitted", "Coordonnées bancaires, version 2")
    assert (rejected["action_label"], rejected["details"], rejected["person_name"]) == (
        "Coordonnées bancaires refusées", {"reason": "RIB illisible"}, "Admin")


def test_a_name_is_kept_as_it_was_when_written(w):
    a_day_of_acts(w)
    w.manager.name = "Marie Nouveau-Nom"
    names = {e["person_name"] for e in handlers.audit_trail(w.db, w.actor(w.admin), "o1")}
    assert "Marie" in names and "Marie Nouveau-Nom" not in names


# --- filters, pages, who reads ---------------------------------------------------------------

def test_filters_by_dossier_person_kind_and_period(w):
    a_day_of_acts(w)
    read = lambda **query: [e["action"] for e in handlers.audit_trail(  # noqa: E731
        w.db, w.actor(w.admin), "o1", query)]
    assert read(dossier="2026-0002") == ["document_checked"]
    assert read(dossier="d2") == ["document_checked", "document_uploaded"]
    assert read(person="admin") == ["document_checked"]
    assert read(kind="certified") == ["certified"]
    assert read(since="2026-03-03") == []
    assert read(since="2026-03-02", until="2026-03-02")[-1] == "user_created"


def test_pages_newest_first(w):
    a_day_of_acts(w)
    read = lambda page: [e["action"] for e in handlers.audit_trail(  # noqa: E731
        w.db, w.actor(w.admin), "o1", {"limit": 2, "page": page})]
    assert read(1) == ["document_checked", "document_uploaded"]
    assert read(2)[0] == "certified"


def test_funder_staff_read_all_their_funder_s_trail(w):
    a_day_of_acts(w)
    agent = w.account("agent", Role.funder_agent)
    everything = handlers.audit_trail(w.db, w.actor(agent), None)
    assert {e["organisation_id"] for e in everything} >= {"o1"}
    assert [e["action"] for e in everything][:2] == ["document_checked", "document_uploaded"]


def test_an_organisation_administrator_reads_only_its_own(w):
    a_day_of_acts(w)
    other = w.other_organisation()
    other_admin = w.account("bob", organisation=other, rights=["users"])
    assert handlers.audit_trail(w.db, w.actor(other_admin), None) == []
    with pytest.raises(Forbidden):
        handlers.audit_trail(w.db, w.actor(other_admin), "o1")
    own = handlers.audit_trail(w.db, w.actor(w.manager), None)
    assert own and {e["organisation_id"] for e in own} == {"o1"}


def test_another_funder_does_not_find_the_organisation(w):
    a_day_of_acts(w)
    stranger = w.account("zed", Role.funder_admin, funder_id="f9")
    with pytest.raises(NotFound):
        handlers.audit_trail(w.db, w.actor(stranger), "o1")
    assert handlers.audit_trail(w.db, w.actor(stranger), None) == []



def test_every_act_identity_records_has_a_french_label():
    """The actions identity's handlers write."""
    source = "".join(p.read_text() for p in Path(handlers.__file__).parent.rglob("*.py"))
    written = set(re.findall(r'audit\((?:now|ports\.clock\(\)), "([a-z_]+)"', source))
    written |= set(re.findall(r'yield \(?"([a-z_]+)"', source))
    written |= {"user_activated", "user_deactivated"}
    assert len(written) > 20
    missing = sorted(a for a in written if a not in audit_trail.KIND_LABELS)
    assert not missing, missing


def test_only_the_records_an_entry_lacks_are_read_and_they_name_it_alike(w):
    """An event that names its signer's name, the organisation and the object needs only the
    signer's account (its role); naming from the needed records alone gives the same entry."""
    def entry(**named):
        return domain.AuditEvent("e1", w.clock(), "f1", "o1", w.manager.id, "certified",
                                 target="u-target", **named)
    full = dict(person_name="Marie D.", organisation_name="Org", object="Dossier 1")
    assert audit_trail.records_needed(entry(**full)) == (w.manager.id, None, None)
    assert audit_trail.records_needed(entry(**full, person_role="organisation_user")) == (
        None, None, None)
    assert audit_trail.records_needed(entry()) == (w.manager.id, "o1", "u-target")
    records = {w.manager.id: w.manager, "o1": w.organisation, "u-target": w.admin}
    for named in ({}, full, {"object": "Dossier 1"}, {"organisation_name": "Org"}):
        from_all, from_needed = entry(**named), entry(**named)
        audit_trail.name_entry(from_all, w.manager, w.organisation, w.admin)
        audit_trail.name_entry(from_needed, *(records.get(record_id) for record_id
                                               in audit_trail.records_needed(from_needed)))
        assert audit_trail.canonical(from_all, "") == audit_trail.canonical(from_needed, "")
