"""Issue 16: an alert through a real SMTP server (aiosmtpd): multipart text and HTML, with its
Date, Message-ID and List-Unsubscribe, as the receiving server reads it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from servicekit import config
from services.notifications import domain
from services.notifications.adapters import Mailer, Templates

pytestmark = pytest.mark.integration


def test_an_alert_reaches_the_smtp_server_as_text_and_html(smtp, monkeypatch):
    monkeypatch.setenv("JALON_SPACE_URL", "https://espace.tp.example")
    context = {"label": "Facture n° 42", "category_label": "Facture", "dossier_number": "20X1",
               "document_id": "doc-1", "reason_text": "il manque le verso",
               "funder_name": "Transitions Pro Bretagne"}
    rendered = Templates().render("document_rejected", context)
    email = domain.new_email("mp1", domain.Planned("of@example.org", "document_rejected",
                                                   context), rendered,
                             datetime(2026, 4, 1, 8, 0, tzinfo=timezone.utc))
    assert Mailer(config.load()).send(email).startswith("smtp://127.0.0.1:")
    [message] = smtp.messages
    assert message.get_content_type() == "multipart/alternative"
    assert (message["Message-ID"], message["List-Unsubscribe"]) == (
        "<mp1@jalon.local>", "<https://espace.tp.example/me/alert-settings>")
    assert message["Date"] == "Wed, 01 Apr 2026 08:00:00 +0000"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP lines
    html = message.get_body(("html",)).get_content()
    assert "Votre document « Facture n° 42 » n'est pas conforme : il manque le verso" in text
    assert "Cordialement,\nTransitions Pro Bretagne\n" in text
    assert ('<a href="https://espace.tp.example/documents/doc-1"' in html
            and "Votre document « Facture n° 42 » n&#39;est pas conforme" in html)
