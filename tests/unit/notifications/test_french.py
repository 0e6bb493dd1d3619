"""Issue 16: emails in correct French, to the right person, signed by their funder: months
with their elision (« d'octobre »), « Bonjour Michelle DUBOIS, » to a person (first name
first), « Madame, Monsieur, » to an organisation, the funder's own name instead of any
hard-coded one."""
from __future__ import annotations

from datetime import datetime

import pytest

from contracts.common.formatting import greeting_fr, of_fr, of_month_fr, person_name_fr
from contracts.events import FunderBootstrappedV1
from contracts.notifications import DirectEmail
from services.notifications import handlers
from services.notifications.adapters import TEMPLATES, Templates
from tests.support.notifications import (ReceivedEvent, certified, contested, document_checked,
                                         document_rejected, notifications, on_event)

MONTHS = {
    "01": "de janvier", "02": "de février", "03": "de mars", "04": "d'avril", "05": "de mai",
    "06": "de juin", "07": "de juillet", "08": "d'août", "09": "de septembre",
    "10": "d'octobre", "11": "de novembre", "12": "de décembre",
}
FUNDER = "Transitions Pro Bretagne"


# ---- the words ----------------------------------------------------------------------------

@pytest.mark.parametrize("number, expected", MONTHS.items())
def test_every_month_takes_its_elision(number, expected):
    assert of_month_fr(f"2026-{number}") == f"{expected} 2026"


def test_de_is_elided_before_a_vowel_or_a_mute_h_only():
    assert [of_fr(word) for word in ("Hélène", "Éric", "Paris")] == [
        "d'Hélène", "d'Éric", "de Paris"]


@pytest.mark.parametrize("stored, addressed", [
    ("DUBOIS Michelle", "Michelle DUBOIS"),
    ("Michelle DUBOIS", "Michelle DUBOIS"),
    ("LE GALL Anne-Marie", "Anne-Marie LE GALL"),
    ("N'DIAYE Awa", "Awa N'DIAYE"),
    ("Jeanne Martin", "Jeanne Martin"),
    ("Jeanne", "Jeanne"),
    ("DURAND", "DURAND"),
])
def test_a_person_is_named_first_name_first(stored, addressed):
    assert person_name_fr(stored) == addressed


def test_greetings_by_kind_of_recipient():
    assert greeting_fr("DUBOIS Michelle") == "Bonjour Michelle DUBOIS,"
    assert greeting_fr(None) == "Bonjour,"
    assert greeting_fr(organisation=True) == "Madame, Monsieur,"


# ---- the emails ---------------------------------------------------------------------------

def funder_known(service, name: str = FUNDER) -> None:
    """identity's funder_bootstrapped, as notifications receives it."""
    data = FunderBootstrappedV1(funder_id="f1", name=name, contact_email="admin@tp.example",
                                bootstrapped_at=datetime.fromisoformat("2026-01-01T08:00:00+00:00"))
    on_event(service.db, ReceivedEvent("ev-funder", data),
             lambda uow: handlers.record_funder(uow, data))


def queued(service, handle, data, event_id: str = "ev-1") -> dict:
    with service.db.unit_of_work() as uow:
        handle(uow, service.ports, ReceivedEvent(event_id, data))
    return {email.template: email for email in service.emails.all()}


def all_certified(month: str = "2026-10", **service_state):
    service = notifications()
    if service_state.get("funder"):
        funder_known(service)
    return queued(service, handlers.notify_certified,
                  certified(month=month, funder_notification_email="suivi@tp.example"))


@pytest.mark.parametrize("number, expected", MONTHS.items())
def test_every_certified_email_elides_its_month(number, expected):
    emails = all_certified(month=f"2026-{number}")
    assert set(emails) == {"certified_beneficiary", "certified_employer", "certified_funder"}
    for email in emails.values():
        assert f"les heures {expected} 2026 " in email.body_text
    assert emails["certified_beneficiary"].subject == (
        f"Certificat de réalisation {expected} 2026 – dossier 20X000703")


def test_a_person_is_greeted_by_name_and_an_organisation_as_madame_monsieur():
    emails = all_certified()
    first_lines = {template: email.body_text.splitlines()[0]
                   for template, email in emails.items()}
    assert first_lines == {"certified_beneficiary": "Bonjour Michelle DUBOIS,",
                           "certified_employer": "Madame, Monsieur,",
                           "certified_funder": "Madame, Monsieur,"}
    assert "votre salarié(e) Michelle DUBOIS pour" in emails["certified_employer"].body_text
    assert "(Michelle DUBOIS, formation" in emails["certified_funder"].body_text


def test_a_contest_goes_to_the_organisation_as_madame_monsieur_naming_the_person():
    service = notifications()
    email = queued(service, handlers.notify_hours_contested,
                   contested(month="2026-08"))["hours_contested"]
    assert email.body_text.startswith("Madame, Monsieur,\n\nLes heures d'août 2026 du dossier")
    assert "par le bénéficiaire (Michelle DUBOIS)" in email.body_text


def test_an_employer_s_name_is_left_as_it_is():
    service = notifications()
    email = queued(service, handlers.notify_hours_contested,
                   contested(party="employer", party_name="SARL Dupont Frères"))[
        "hours_contested"]
    assert "par l'employeur (SARL Dupont Frères)" in email.body_text


def test_emails_are_signed_by_their_funder_once_identity_named_it():
    service = notifications()
    funder_known(service)
    emails = queued(service, handlers.notify_certified, certified())
    for email in emails.values():
        assert (f"\n\nCordialement,\n{FUNDER}\n\n"
                "Ce message est envoyé automatiquement, merci de ne pas y répondre.\n"
                in email.body_text)


def test_a_funder_announced_twice_keeps_its_first_name():
    service = notifications()
    funder_known(service)
    funder_known(service, "Autre nom")  # a redelivered event: the same id, handled once
    assert service.db.repositories["funders"].get("f1").name == FUNDER


def test_a_checked_document_names_its_funder_never_a_hard_coded_one():
    service = notifications()
    funder_known(service)
    email = queued(service, handlers.notify_document_checked, document_checked())[
        "document_checked"]
    assert "a été contrôlé le 01/04/2026 par Transitions Pro Bretagne." in email.body_text
    unknown = queued(notifications(), handlers.notify_document_checked, document_checked())[
        "document_checked"]
    assert "a été contrôlé le 01/04/2026 par votre financeur." in unknown.body_text
    assert ("\n\nCordialement,\nL'équipe Jalon\n\n"
            "Ce message est envoyé automatiquement, merci de ne pas y répondre.\n"
            in unknown.body_text)


def test_a_rejected_document_is_signed_by_its_funder():
    service = notifications()
    funder_known(service)
    email = queued(service, handlers.notify_document_rejected, document_rejected())[
        "document_rejected"]
    assert f"Cordialement,\n{FUNDER}\n" in email.body_text


def test_no_template_names_a_funder_of_its_own():
    for template in TEMPLATES.glob("*.txt"):
        assert "Transitions Pro" not in template.read_text(encoding="utf-8"), template.name


@pytest.mark.parametrize("template, context", [
    ("account_credentials", {"name": "DUBOIS Michelle", "identifier": "m", "password": "p"}),
    ("password_reset", {"name": "DUBOIS Michelle", "link": "https://x", "valid_minutes": 30}),
    ("identifier_change", {"name": "DUBOIS Michelle", "old_identifier": "a",
                           "new_identifier": "b", "link": "https://x"}),
    ("email_change", {"name": "DUBOIS Michelle", "taken": False, "link": "https://x"}),
    ("email_change_notice", {"name": "DUBOIS Michelle", "new_email": "n@x.example",
                             "link": "https://x"}),
    ("signup_activation", {"name": "DUBOIS Michelle", "link": "https://x", "code": "1",
                           "valid_minutes": 30}),
    ("signup_email_taken", {"name": "DUBOIS Michelle", "siret": "1", "link": "https://x"}),
    ("signup_siret_taken", {"name": "DUBOIS Michelle", "siret": "1", "link": "https://x"}),
    ("certification_code", {"name": "DUBOIS Michelle", "code": "123456",
                            "month_label": "avril 2026"}),
    ("bank_details_reviewed", {"name": "DUBOIS Michelle", "status": "validated",
                               "iban_end": "1234", "version": 2}),
])
def test_direct_emails_greet_the_person_first_name_first(template, context):
    rendered = Templates().render(template, context)
    assert rendered.body_text.startswith("Bonjour Michelle DUBOIS,\n")
    unnamed = Templates().render(template, {**context, "name": None})
    assert unnamed.body_text.startswith("Bonjour,\n")


def test_the_code_email_elides_its_month():
    rendered = Templates().render("certification_code", {"code": "1", "month_label": "avril 2026"})
    assert "certificat de réalisation d'avril 2026, saisissez" in rendered.body_text


def test_a_taken_address_is_not_greeted_by_the_name_of_the_asker():
    rendered = Templates().render("email_change", {"name": "DUBOIS Michelle", "taken": True})
    assert rendered.body_text.startswith("Bonjour,\n")


def test_a_direct_email_is_queued_with_the_greeting():
    service = notifications()
    handlers.send_direct_email(service.db, service.ports, DirectEmail(
        to="m@example.org", template="password_reset",
        context={"name": "DUBOIS Michelle", "link": "https://x", "valid_minutes": 30}))
    [email] = service.emails.all()
    assert email.body_text.startswith("Bonjour Michelle DUBOIS,\n\nVous avez demandé")
