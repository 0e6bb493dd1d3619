"""Issue 16: every email is text and HTML from one template (the HTML with inline styles, its
links clickable, no remote image), with Date and Message-ID, and alerts with List-Unsubscribe
leading to the alert settings. Parsed back as a mail client would."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from servicekit import config
from services.notifications import domain
from services.notifications.adapters import Mailer, Templates, html_of, to_message

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)
SPACE = "https://espace.tp.example"
CERTIFIED = {
    "organisation_name": "Formations <Exemple> & Cie", "beneficiary_name": "DUBOIS Michelle",
    "employer_name": None, "dossier_number": "20X000703", "dossier_id": "d1",
    "month": "2026-10", "training_title": "Développeur web", "month_label": "octobre 2026",
    "training_hours": "147,00\u00a0h", "internship_hours": "0,00\u00a0h",
    "absence_hours": "0,00\u00a0h", "certified_at": "02/11/2026 à 16:05",
    "beneficiary_validates": True, "employer_validates": False, "funder_name": "TP Bretagne"}


@pytest.fixture(autouse=True)
def space(monkeypatch, tmp_path):
    monkeypatch.setenv("JALON_SPACE_URL", SPACE)
    monkeypatch.setenv("JALON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JALON_SMTP_HOST", "")


def written(template: str, context: dict, tmp_path, email_id: str = "id1"):
    """The email as rendered, queued and written by the mailer, then parsed back."""
    rendered = Templates().render(template, context)
    email = domain.new_email(email_id, domain.Planned("m@example.org", template, context),
                             rendered, NOW)
    Mailer(config.load()).send(email)
    return message_from_bytes((tmp_path / "mail" / f"{email_id}.eml").read_bytes(),
                              policy=default_policy)


def test_an_alert_is_text_and_html_from_one_template(tmp_path):
    message = written("certified_beneficiary", CERTIFIED, tmp_path)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Bonjour Michelle DUBOIS,\n\nFormations <Exemple> & Cie a certifié")
    assert "Formations &lt;Exemple&gt; &amp; Cie a certifié le 02/11/2026" in html
    assert "<li>heures de présence en formation : 147,00\u00a0h</li>" in html
    link = f"{SPACE}/dossiers/d1/certificates/2026-10"
    assert f'<a href="{link}" style="' in html and f">{link}</a>" in html
    assert "<img" not in html and "<style" not in html and "<script" not in html
    assert '<body style="font-family:' in html
    assert "TP Bretagne" in html


def test_an_alert_carries_its_headers_and_list_unsubscribe(tmp_path):
    message = written("document_checked", {"label": "Facture", "category_label": "Facture",
                                           "dossier_number": None, "document_id": "doc-1",
                                           "checked_on": "01/04/2026"}, tmp_path)
    assert message["Date"] == "Fri, 02 Oct 2026 14:05:00 +0000"
    assert message["Message-ID"] == "<id1@jalon.local>"
    assert message["List-Unsubscribe"] == f"<{SPACE}/me/alert-settings>"


def test_an_email_a_person_asked_for_has_no_list_unsubscribe(tmp_path):
    message = written("password_reset", {"link": "https://x.example/r?token=a&b=c",
                                         "valid_minutes": 30}, tmp_path)
    assert message["List-Unsubscribe"] is None
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    assert '<a href="https://x.example/r?token=a&amp;b=c"' in html


def test_a_sentence_s_final_dot_stays_out_of_its_link():
    html = html_of("Voir https://x.example/a. Merci\n")
    assert '<a href="https://x.example/a" style=' in html and "</a>. Merci</p>" in html


def test_a_secret_s_html_part_is_erased_with_its_text():
    rendered = Templates().render("password_reset", {"link": "https://x/secret",
                                                     "valid_minutes": 30})
    email = domain.new_email("id2", domain.Planned("m@example.org", "password_reset", {}),
                             rendered, NOW)
    assert "https://x/secret" in email.body_html
    email.claim(NOW, lease=timedelta(minutes=1))
    email.mark_sent(NOW)
    assert (email.body_text, email.body_html) == (domain.ERASED, None)


def test_alerts_are_the_emails_that_follow_events():
    assert domain.is_alert("certified_employer") and domain.is_alert("hours_contested")
    assert not domain.is_alert("account_credentials")


def test_to_message_without_an_alert_settings_address_adds_no_header():
    email = domain.new_email("id3", domain.Planned("m@example.org", "certified_funder", {}),
                             domain.Rendered("Sujet", "Corps\n", "<p>Corps</p>"), NOW)
    assert to_message(email, "ne-pas-repondre@jalon.local")["List-Unsubscribe"] is None
