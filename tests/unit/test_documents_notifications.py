"""notifications' rules for the documents' review events: whom to email, in French."""
from __future__ import annotations

from datetime import datetime, timezone

from contracts.events import DocumentCheckedV1, DocumentRejectedV1
from services.notifications import domain
from services.notifications.delivery import Templates

REVIEWED = dict(document_id="doc-1", category="invoice", category_label="Facture",
                label="Facture n° 42", funder_id="f1", organisation_id="o1",
                dossier_number="20X000703", owner_user_id="u1")
LATE_EVENING = datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)  # 1 April in Paris


def test_checked_owner_is_emailed_with_the_french_date():
    data = DocumentCheckedV1(**REVIEWED, owner_email="of@example.org", checked_at=LATE_EVENING,
                             checked_by="agent")
    [planned] = domain.document_checked_emails(data)
    assert (planned.recipient, planned.template) == ("of@example.org", "document_checked")
    rendered = Templates().render(planned.template, planned.context)
    assert rendered.subject == "Document contrôlé : Facture n° 42"
    assert "Votre document « Facture n° 42 » a été contrôlé le 01/04/2026" in rendered.body_text
    assert "Dossier : 20X000703" in rendered.body_text


def test_rejected_owner_is_told_why():
    data = DocumentRejectedV1(**REVIEWED, owner_email="of@example.org", rejected_at=LATE_EVENING,
                              rejected_by="agent", reason_code="incomplete",
                              reason_text="il manque le verso")
    [planned] = domain.document_rejected_emails(data)
    rendered = Templates().render(planned.template, planned.context)
    assert "Votre document « Facture n° 42 » n'est pas conforme : il manque le verso" in \
        rendered.body_text


def test_an_owner_without_email_gets_none():
    checked = DocumentCheckedV1(**REVIEWED, checked_at=LATE_EVENING, checked_by="agent")
    rejected = DocumentRejectedV1(**REVIEWED, rejected_at=LATE_EVENING, rejected_by="agent",
                                  reason_code="other", reason_text="x")
    assert domain.document_checked_emails(checked) == []
    assert domain.document_rejected_emails(rejected) == []
