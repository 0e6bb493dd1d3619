"""The notification centre (issue 16): who is notified of what, in French, with a link; only
the recipient sees it; read marks are per person."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contracts.common import ALL_RIGHTS, Actor
from contracts.common.errors import Forbidden, NotFound
from contracts.notifications import NotificationQuery
from services.notifications import domain, handlers
from tests.support.notifications import (ReceivedEvent, certified, contested, document_checked,
                                         document_rejected, notifications)

BENEFICIARY = Actor(user_id="ub", role="beneficiary", funder_id="f1", party_id="b1",
                    session_id="s1")
EMPLOYER = Actor(user_id="ue", role="employer", funder_id="f1", party_id="e1", session_id="s2")
OTHER_BENEFICIARY = Actor(user_id="ux", role="beneficiary", funder_id="f1", party_id="b9",
                          session_id="s3")
ORG_USER = Actor(user_id="u1", role="organisation_user", funder_id="f1", organisation_id="o1",
                 rights=list(ALL_RIGHTS),
                 session_id="s4")
ORG_COLLEAGUE = Actor(user_id="u2", role="organisation_user", funder_id="f1",
                      organisation_id="o1", rights=list(ALL_RIGHTS), session_id="s5")
HOURS_ONLY = Actor(user_id="u3", role="organisation_user", funder_id="f1", organisation_id="o1",
                   rights=["enter_hours"], session_id="s8")
AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1", session_id="s6")
OTHER_FUNDER_AGENT = Actor(user_id="agent2", role="funder_agent", funder_id="f2",
                           session_id="s7")
API_TOKEN = Actor(user_id="tok", role="organisation_user", funder_id="f1", organisation_id="o1")
ALL = NotificationQuery()


def handled(*calls):
    service = notifications()
    for number, (handle, data) in enumerate(calls):
        with service.db.unit_of_work() as uow:
            handle(uow, service.ports, ReceivedEvent(f"ev-{number}", data))
        service.clock.advance(seconds=60)
    return service


def listed(service, actor, **query):
    return handlers.list_notifications(service.db, actor, NotificationQuery(**query))


def test_a_certified_month_notifies_the_beneficiary_with_a_link_to_validate():
    service = handled((handlers.notify_certified, certified(validations=["beneficiary"])))
    [mine] = listed(service, BENEFICIARY)
    assert mine["kind"] == "certified_beneficiary"
    assert mine["title"] == ("Certificat de réalisation de septembre 2026 – dossier "
                             "20X000703")
    assert mine["text"] == ("Formations Exemple a certifié les heures de septembre 2026. "
                            "Merci de valider les heures depuis votre espace.")
    assert mine["object"] == {"type": "certificate", "id": "d1/2026-09",
                              "link": "/dossiers/d1/certificates/2026-09"}
    assert mine["read_at"] is None


def test_a_certified_month_notifies_the_employer_and_the_funder_staff_not_others():
    service = handled((handlers.notify_certified, certified()))
    assert [n["kind"] for n in listed(service, EMPLOYER)] == ["certified_employer"]
    assert "DUBOIS Michelle" in listed(service, EMPLOYER)[0]["text"]
    assert "Merci de valider" not in listed(service, EMPLOYER)[0]["text"]
    assert [n["kind"] for n in listed(service, AGENT)] == ["certified_funder"]
    assert listed(service, OTHER_BENEFICIARY) == []
    assert listed(service, OTHER_FUNDER_AGENT) == []
    assert listed(service, ORG_USER) == []


def test_contested_hours_notify_the_organisation_and_the_funder_with_the_reason():
    service = handled((handlers.notify_hours_contested, contested(organisation_email=None)))
    [notice] = listed(service, ORG_USER)
    assert notice["kind"] == "hours_contested"
    assert notice["text"] == ("Le bénéficiaire (DUBOIS Michelle) conteste les heures de "
                              "septembre 2026 : « J'étais absente le 12. »")
    assert [n["kind"] for n in listed(service, AGENT)] == ["hours_contested"]
    assert listed(service, BENEFICIARY) == []


def test_a_rejected_document_tells_its_organisation_why():
    service = handled((handlers.notify_document_rejected, document_rejected()))
    [notice] = listed(service, ORG_COLLEAGUE)
    assert notice["title"] == "Document non conforme : Facture n° 42"
    assert notice["text"] == ("Le document « Facture n° 42 » (Facture) n'est pas conforme : "
                              "il manque le verso")
    assert notice["object"]["link"] == "/documents/doc-1"


def test_a_checked_document_without_organisation_tells_its_uploader():
    service = handled((handlers.notify_document_checked,
                       document_checked(organisation_id=None, owner_user_id="ub")))
    [notice] = listed(service, BENEFICIARY)
    assert notice["text"] == "Le document « Facture n° 42 » (Facture) a été contrôlé."
    assert listed(service, ORG_USER) == []


def test_newest_first_paged_and_filtered_by_unread():
    service = handled((handlers.notify_document_checked, document_checked()),
                      (handlers.notify_document_rejected, document_rejected()),
                      (handlers.notify_hours_contested, contested()))
    kinds = [n["kind"] for n in listed(service, ORG_USER)]
    assert kinds == ["hours_contested", "document_rejected", "document_checked"]
    assert [n["kind"] for n in listed(service, ORG_USER, limit=1, offset=1)] == [
        "document_rejected"]
    newest = listed(service, ORG_USER)[0]
    handlers.mark_notification_read(service.db, service.ports, ORG_USER, newest["id"])
    assert [n["kind"] for n in listed(service, ORG_USER, unread=True)] == [
        "document_rejected", "document_checked"]


def test_read_marks_are_per_person_and_count_the_banner():
    service = handled((handlers.notify_document_checked, document_checked()),
                      (handlers.notify_document_rejected, document_rejected()))
    assert handlers.count_unread_notifications(service.db, ORG_USER) == {"unread": 2}
    first = listed(service, ORG_USER)[0]
    read = handlers.mark_notification_read(service.db, service.ports, ORG_USER, first["id"])
    assert datetime.fromisoformat(read["read_at"].replace("Z", "+00:00")) == service.clock()
    assert handlers.count_unread_notifications(service.db, ORG_USER) == {"unread": 1}
    assert handlers.count_unread_notifications(service.db, ORG_COLLEAGUE) == {"unread": 2}
    service.clock.advance(seconds=60)
    again = handlers.mark_notification_read(service.db, service.ports, ORG_USER, first["id"])
    assert again["read_at"] == read["read_at"]  # the first mark stays
    assert handlers.mark_all_notifications_read(service.db, service.ports, ORG_USER) == {
        "unread": 0}
    assert handlers.count_unread_notifications(service.db, ORG_USER) == {"unread": 0}
    assert all(n["read_at"] for n in listed(service, ORG_USER))
    assert handlers.count_unread_notifications(service.db, ORG_COLLEAGUE) == {"unread": 2}


def test_another_persons_notification_cannot_be_marked_read():
    service = handled((handlers.notify_certified, certified()))
    [mine] = listed(service, BENEFICIARY)
    with pytest.raises(NotFound):
        handlers.mark_notification_read(service.db, service.ports, OTHER_BENEFICIARY, mine["id"])
    assert handlers.count_unread_notifications(service.db, BENEFICIARY) == {"unread": 1}


def test_an_api_token_has_no_notification_centre():
    service = handled((handlers.notify_document_checked, document_checked()))
    with pytest.raises(Forbidden):
        listed(service, API_TOKEN)
    with pytest.raises(Forbidden):
        handlers.count_unread_notifications(service.db, API_TOKEN)


def test_notifications_are_stored_with_the_event_and_the_funder():
    service = handled((handlers.notify_certified, certified(with_employer=False)))
    stored = service.db.repositories["notifications"].all()
    assert {(n.audience_type, n.audience_id) for n in stored} == {
        (domain.PARTY, "b1"), (domain.FUNDER, "f1")}
    assert {(n.event_id, n.funder_id) for n in stored} == {("ev-0", "f1")}
    assert stored[0].created_at == service.clock() - timedelta(seconds=60)


def test_a_payment_bank_details_and_certifier_decisions_notify_the_organisation():
    from contracts.events import BankDetailsChangedV1, CertifierStatusChangedV1, PaymentIssuedV1
    at = datetime.fromisoformat("2026-10-05T09:00:00+00:00")
    service = notifications()

    def on(event_id, handle):
        with service.db.unit_of_work() as uow:
            handle(uow, event_id)
        service.clock.advance(seconds=60)

    on("ev-1", lambda uow, event_id: handlers.notify_payment_issued(
        uow, service.ports, ReceivedEvent(event_id, PaymentIssuedV1(
            payment_id="p1", payment_number="R-2026-0042", funder_id="f1", organisation_id="o1",
            dossiers=[{"dossier_id": "d1", "months": ["2026-09"]}], issued_at=at))))
    for number, status, reason in ((2, "pending", None), (3, "rejected", "RIB illisible")):
        on(f"ev-{number}", lambda uow, event_id: handlers.notify_bank_details_changed(
            uow, service.ports, ReceivedEvent(event_id, BankDetailsChangedV1(
                organisation_id="o1", funder_id="f1", version=2, status=status, reason=reason,
                changed_by="agent", changed_at=at))))
    on("ev-4", lambda uow, event_id: handlers.notify_certifier_status_changed(
        uow, service.ports, ReceivedEvent(event_id, CertifierStatusChangedV1(
            organisation_id="o1", funder_id="f1", requested=True, kbis_status="checked",
            consent_letter_status="checked", method=2, changed_at=at))))
    certifier, bank, payment = listed(service, ORG_USER)  # the pending submission: nothing
    assert (payment["title"], payment["object"]["link"]) == ("Règlement n° R-2026-0042",
                                                             "/payments/p1")
    assert "l'avis de virement est disponible" in payment["text"]
    assert bank["text"] == ("Votre financeur a refusé vos coordonnées bancaires (version 2) : "
                            "RIB illisible")
    assert bank["object"]["link"] == "/organisations/o1/bank-details"
    assert certifier["text"] == (
        "Extrait KBIS : contrôlé ; lettre de consentement : contrôlé. Vos certificats de "
        "réalisation suivent désormais la certification électronique (méthode 2).")
    assert listed(service, AGENT) == [] and listed(service, BENEFICIARY) == []
    # Payments are for the users with the payments right, as the routes they lead to.
    assert [n["kind"] for n in listed(service, HOURS_ONLY)] == ["certifier_status_changed"]
