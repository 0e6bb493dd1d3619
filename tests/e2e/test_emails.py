"""Emails people can act on, on the real stack (issue 16): the gateway's root page where the
credentials link leads; a review email signed by the funder, multipart with its link to the
document and List-Unsubscribe; funder staff read its delivery and send it again."""
from __future__ import annotations

import io

import pytest
import requests
from pypdf import PdfWriter

from tools.waiting import wait_until

pytestmark = pytest.mark.e2e


def a_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_the_root_page_is_french_html(stack):
    response = requests.get(stack.base_url + "/", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Jalon est l'espace où les organismes de formation" in response.text
    assert "<code>GET /documents/{document_id}</code>" in response.text


def test_a_rejected_document_s_email_is_signed_linked_and_resent(stack, smtp_server, dossier,
                                                                funder_admin):
    org = dossier["organisation"]
    owner = org.get("/me").json()["user"]["email"]
    uploaded = org.post("/documents", files={"file": ("kbis.pdf", a_pdf())},
                        data={"category": "kbis"})
    assert uploaded.status_code == 201, uploaded.text
    document_id = uploaded.json()["document_id"]
    rejected = funder_admin.post(f"/documents/{document_id}/reject", json={
        "reason_code": "illegible", "reason_text": "Page illisible"})
    assert rejected.status_code == 200, rejected.text

    def rejections():
        return [m for m in smtp_server.emails() if m["To"] == owner
                and str(m["Subject"]).startswith("Document non conforme")] or None
    [message] = wait_until(rejections)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    space = stack.env.get("JALON_SPACE_URL", stack.env.get("JALON_PUBLIC_URL",
                                                           "http://127.0.0.1:8000"))
    link = f"{space}/documents/{document_id}"
    assert text.startswith("Bonjour,\n") and f"\n{link}\n" in text
    assert "Cordialement,\nTransitions Pro Test\n" in text  # the funder's own name
    assert f'<a href="{link}"' in html
    assert message["List-Unsubscribe"] == f"<{space}/me/alert-settings>"
    assert message["Message-ID"] and message["Date"]

    def logged():
        listed = funder_admin.get("/emails")
        assert listed.status_code == 200, listed.text
        return [e for e in listed.json() if e["template"] == "document_rejected"
                and e["to"] == owner and e["delivery"] == "sent"] or None
    [email] = wait_until(logged)
    assert email["delivery_label"] == "envoyé"
    assert org.post(f"/emails/{email['id']}/resend").status_code == 403
    resent = funder_admin.post(f"/emails/{email['id']}/resend")
    assert resent.status_code == 202, resent.text
    assert resent.json()["resent_from"] == email["id"]
    both = wait_until(lambda: (lambda found: found if len(found) == 2 else None)(rejections()))
    assert both[0]["Message-ID"] != both[1]["Message-ID"]  # not dropped as a duplicate
