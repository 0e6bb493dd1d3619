"""The emails that carry a secret (issue 4): French text, the secret and the link."""
from __future__ import annotations

import pytest

from contracts.common.errors import InvalidInput
from services.notifications import domain
from services.notifications.delivery import Templates


def test_credentials_carry_identifier_password_and_the_space_link(monkeypatch):
    monkeypatch.setenv("JALON_PUBLIC_URL", "https://jalon.example.org/")
    rendered = Templates().render("account_credentials", {
        "name": "Claire", "identifier": "claire@of.example.org", "password": "Prov-1234!xy",
        "organisation_name": "Centre Horizon"})
    assert rendered.subject == "Vos identifiants de connexion"
    body = rendered.body_text
    assert "Un compte a été créé pour vous pour Centre Horizon." in body
    assert "Identifiant provisoire : claire@of.example.org" in body
    assert "Mot de passe provisoire : Prov-1234!xy" in body
    assert "https://jalon.example.org\n" in body  # the configured base, without its slash
    assert "personnaliser votre identifiant et votre mot de passe" in body


def test_credentials_use_the_link_they_are_given():
    rendered = Templates().render("account_credentials", {
        "name": "Claire", "identifier": "c", "password": "p", "link": "https://x.example/login"})
    assert "https://x.example/login" in rendered.body_text


def test_identifier_change_shows_both_identifiers_and_the_link():
    rendered = Templates().render("identifier_change", {
        "name": "Claire", "old_identifier": "of-1234", "new_identifier": "claire.martin",
        "link": "http://127.0.0.1:8000/auth/confirm-identifier?token=abc", "valid_hours": 48})
    assert rendered.subject == "Confirmez votre nouvel identifiant de connexion"
    body = rendered.body_text
    assert "identifiant actuel : of-1234" in body and "nouvel identifiant : claire.martin" in body
    assert "http://127.0.0.1:8000/auth/confirm-identifier?token=abc" in body
    assert "valable 48 heures et ne sert qu'une fois" in body
    with pytest.raises(InvalidInput):  # no link, no email
        Templates().render("identifier_change", {"old_identifier": "a", "new_identifier": "b"})


def test_password_reset_carries_its_single_use_link():
    rendered = Templates().render("password_reset", {"link": "http://h/r?token=t",
                                                     "valid_minutes": 30})
    assert rendered.subject == "Réinitialisation de votre mot de passe"
    assert "http://h/r?token=t" in rendered.body_text
    assert "valable 30 minutes et ne sert qu'une fois" in rendered.body_text


@pytest.mark.parametrize("template", ["account_credentials", "identifier_change",
                                      "password_reset"])
def test_secret_templates_are_direct_only_and_erased_once_sent(template):
    assert template in domain.DIRECT_TEMPLATES


@pytest.mark.parametrize("by_administrator, says", [
    (False, "la demande a été faite avec votre mot de passe"),
    (True, "par un administrateur de votre organisme"),
])
def test_the_old_address_is_told_who_asked_and_how_to_cancel(by_administrator, says):
    rendered = Templates().render("email_change_notice", {
        "name": "Hugo", "new_email": "nouvelle@example.org", "valid_hours": 48,
        "link": "http://127.0.0.1:8000/auth/cancel-email-change?token=abc",
        "by_administrator": by_administrator})
    body = rendered.body_text
    assert says in body and "nouvelle@example.org" in body
    assert "http://127.0.0.1:8000/auth/cancel-email-change?token=abc" in body
