"""notifications after certification: the funder's email (its settings) and the contest."""
from datetime import datetime, timezone

import pytest

from contracts.events import HoursContestedV1
from services.notifications import domain
from services.notifications.delivery import Templates
from tests.unit.test_notifications_domain import event_data

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)


def certified(**changes):
    return event_data(with_employer=True).model_copy(update=changes)


def test_the_funder_is_emailed_only_when_its_settings_give_an_address():
    assert "certified_funder" not in [p.template for p in domain.certified_emails(certified())]
    planned = domain.certified_emails(certified(funder_notification_email="suivi@tp.example"))
    assert [(p.recipient, p.template) for p in planned][-1] == (
        "suivi@tp.example", "certified_funder")
    assert len(planned) == 3


def test_the_funder_email_says_what_waits_for_validation():
    data = certified(validations=["beneficiary", "employer"])
    rendered = Templates().render("certified_funder", domain.certified_context(data))
    assert rendered.subject == ("Certificat de réalisation certifié – dossier 20X000703 – "
                                "septembre 2026")
    assert "attendent la validation du bénéficiaire puis de l'employeur" in rendered.body_text
    plain = Templates().render("certified_funder", domain.certified_context(certified()))
    assert "validation" not in plain.body_text


@pytest.mark.parametrize("validations, beneficiary_asked, employer_asked", [
    ([], False, False), (["beneficiary"], True, False),
    (["beneficiary", "employer"], True, True), (["employer"], False, True)])
def test_parties_are_invited_to_validate_when_the_funder_asks(validations, beneficiary_asked,
                                                             employer_asked):
    context = domain.certified_context(certified(validations=validations))
    beneficiary = Templates().render("certified_beneficiary", context).body_text
    employer = Templates().render("certified_employer", context).body_text
    assert ("valider ces heures depuis votre espace" in beneficiary) is beneficiary_asked
    assert ("valider ces heures depuis votre espace" in employer) is employer_asked
    assert ("après la validation de votre salarié(e)" in employer) is (
        beneficiary_asked and employer_asked)


def contested(**changes) -> HoursContestedV1:
    values = dict(
        certificate_id="c1", dossier_id="d1", dossier_number="20X000703", funder_id="f1",
        organisation_id="o1", organisation_name="Formations Exemple",
        organisation_email="contact@of.example", month="2026-09", party="beneficiary",
        party_name="DUBOIS Michelle", reason="J'étais absente le 12.", contested_by="u9",
        contested_at=NOW)
    return HoursContestedV1(**{**values, **changes})


def test_a_contest_emails_the_organisation_and_the_funder_per_its_settings():
    assert [(p.recipient, p.template) for p in domain.contested_emails(contested())] == [
        ("contact@of.example", "hours_contested")]
    both = domain.contested_emails(contested(funder_notification_email="suivi@tp.example"))
    assert [p.recipient for p in both] == ["contact@of.example", "suivi@tp.example"]
    same = domain.contested_emails(contested(funder_notification_email="contact@of.example"))
    assert len(same) == 1
    assert domain.contested_emails(contested(organisation_email=None)) == []


def test_the_contest_email_says_who_and_why():
    planned = domain.contested_emails(contested(party="employer", party_name="ACME"))[0]
    rendered = Templates().render(planned.template, planned.context)
    assert rendered.subject == "Heures contestées – dossier 20X000703 – septembre 2026"
    assert "contestées le 02/10/2026 à 16:05 par l'employeur (ACME)" in rendered.body_text
    assert "Motif : J'étais absente le 12." in rendered.body_text
