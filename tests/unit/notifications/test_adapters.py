"""notifications' I/O: templates (French wording, secrets, links), messages, the mailer."""
from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from contracts.common.errors import InvalidInput
from servicekit import config
from services.notifications import domain
from services.notifications.adapters import Mailer, Templates, to_message

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)


def new_email() -> domain.Email:
    planned = domain.Planned("m@example.org", "certified_beneficiary", {})
    return domain.new_email("id1", planned, domain.Rendered("Sujet", "Corps\n"), NOW)


def test_account_credentials_template_needs_its_secret():
    rendered = Templates().render("account_credentials", {
        "name": "Jeanne", "identifier": "jeanne", "password": "Provisoire-123"})
    assert rendered.subject == "Vos identifiants de connexion"
    assert "Mot de passe provisoire : Provisoire-123" in rendered.body_text
    with pytest.raises(InvalidInput) as missing:
        Templates().render("account_credentials", {"name": "Jeanne", "identifier": "jeanne"})
    assert missing.value.code == "invalid_template_context"


def test_unknown_template_is_refused():
    with pytest.raises(InvalidInput) as unknown:
        Templates().render("../service", {})
    assert unknown.value.code == "unknown_template"


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


def test_message_headers():
    message = to_message(new_email(), "Jalon <ne-pas-repondre@jalon.local>")
    assert message["To"] == "m@example.org" and message["Subject"] == "Sujet"
    assert message["Date"] == "Fri, 02 Oct 2026 14:05:00 +0000"
    assert message.get_content() == "Corps\n"


def test_message_id_is_the_same_at_every_send():
    """A repeated send (after a crash) must carry the same Message-ID for the receiver to
    drop it."""
    email = new_email()
    first, again = (to_message(email, "ne-pas-repondre@jalon.local") for _ in range(2))
    assert first["Message-ID"] == again["Message-ID"] == "<id1@jalon.local>"
    assert first["Message-ID"].defects == ()  # a valid RFC 5322 msg-id


def test_without_smtp_the_mailer_writes_eml_files(monkeypatch, tmp_path):
    monkeypatch.setenv("JALON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JALON_SMTP_HOST", "")
    where = Mailer(config.load()).send(new_email())
    assert where == str(tmp_path / "mail" / "id1.eml")
    written = message_from_bytes((tmp_path / "mail" / "id1.eml").read_bytes(),
                                 policy=default_policy)
    assert (written["To"], written["Message-ID"]) == ("m@example.org", "<id1@jalon.local>")
    assert [p.name for p in (tmp_path / "mail").iterdir()] == ["id1.eml"]  # no temp file left


def test_a_sign_up_s_activation_carries_its_link_and_code():  # issue 15
    rendered = Templates().render("signup_activation", {
        "name": "Alice DURAND", "funder_name": "MyAtlas", "code": "K7PM3QXA",
        "link": "http://h/signup/activate?email=a%40b.fr&code=K7PM3QXA", "valid_minutes": 15})
    assert rendered.subject == "Activez votre compte Jalon"
    assert "http://h/signup/activate?email=a%40b.fr&code=K7PM3QXA" in rendered.body_text
    assert "votre code d'activation est : K7PM3QXA" in rendered.body_text
    assert "valables 15 minutes" in rendered.body_text
    assert "identifiant définitif de votre compte" in rendered.body_text
    assert "signup_activation" in domain.DIRECT_TEMPLATES


def test_a_registered_siret_s_administrators_hear_of_the_sign_up():
    rendered = Templates().render("signup_siret_taken", {"name": "Marie", "siret": "73282932000074",
                                                         "link": "http://h/"})
    assert "SIRET 73282932000074, déjà inscrit au nom de votre organisme" in rendered.body_text
    assert "Aucun second compte" in rendered.body_text
