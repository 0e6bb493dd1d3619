"""Issue 16: every email that mentions a place in the space links to it, under JALON_SPACE_URL
(by default the gateway's own JALON_PUBLIC_URL)."""
from __future__ import annotations

import pytest

from contracts.common.links import SPACE_LINKS, space_link
from services.notifications import handlers
from services.notifications.adapters import Templates
from tests.support.notifications import (ReceivedEvent, certified, contested, document_checked,
                                         document_rejected, notifications)

SPACE = "https://espace.tp.example"
MONTH = f"{SPACE}/dossiers/d1/certificates/2026-09"
DOCUMENT = f"{SPACE}/documents/doc-1"


@pytest.fixture(autouse=True)
def space(monkeypatch):
    monkeypatch.setenv("JALON_SPACE_URL", SPACE + "/")


def queued(handle, data) -> dict:
    service = notifications()
    with service.db.unit_of_work() as uow:
        handle(uow, service.ports, ReceivedEvent("ev-1", data))
    return {email.template: email.body_text for email in service.emails.all()}


def test_each_kind_of_object_has_its_path():
    assert space_link(SPACE, "dossier_month", dossier_id="d1", month="2026-09") == MONTH
    assert space_link(SPACE + "/", "document", document_id="a/b") == f"{SPACE}/documents/a%2Fb"
    assert space_link(SPACE, "alert_settings") == f"{SPACE}/me/alert-settings"
    assert {"dossier_month", "document", "payment", "account", "alert_settings",
            "bank_details"} <= set(SPACE_LINKS)


def test_the_space_defaults_to_the_gateway(monkeypatch):
    monkeypatch.delenv("JALON_SPACE_URL")
    monkeypatch.setenv("JALON_PUBLIC_URL", "https://jalon.example.org/")
    body = queued(handlers.notify_document_checked, document_checked())["document_checked"]
    assert "rubrique « Documents » :\nhttps://jalon.example.org/documents/doc-1\n" in body


def test_certified_emails_link_to_the_month():
    bodies = queued(handlers.notify_certified,
                    certified(funder_notification_email="suivi@tp.example"))
    assert set(bodies) == {"certified_beneficiary", "certified_employer", "certified_funder"}
    for body in bodies.values():
        assert f"\n{MONTH}\n" in body


def test_a_contest_links_to_the_month():
    body = queued(handlers.notify_hours_contested, contested())["hours_contested"]
    assert f"Ouvrir ce mois dans votre espace :\n{MONTH}\n" in body


@pytest.mark.parametrize("handle, data, template", [
    (handlers.notify_document_checked, document_checked(), "document_checked"),
    (handlers.notify_document_rejected, document_rejected(), "document_rejected"),
])
def test_a_reviewed_document_links_to_the_document(handle, data, template):
    assert f"rubrique « Documents » :\n{DOCUMENT}\n" in queued(handle, data)[template]


def test_refused_bank_details_link_to_the_organisation_s_details():
    context = {"status": "rejected", "reason": "RIB illisible", "iban_end": "•••• 2518",
               "version": 2, "organisation_id": "o1"}
    body = Templates().render("bank_details_reviewed", context).body_text
    assert f"rubrique « Coordonnées bancaires » :\n{SPACE}/organisations/o1/bank-details\n" \
        in body
    without = Templates().render("bank_details_reviewed", {
        **context, "organisation_id": None}).body_text
    assert "rubrique « Coordonnées bancaires ».\n" in without


def test_an_alert_says_where_its_alerts_are_chosen_and_a_direct_email_does_not():
    body = queued(handlers.notify_hours_contested, contested())["hours_contested"]
    assert body.endswith("merci de ne pas y répondre.\n"
                         f"Pour choisir les alertes que vous recevez par e-mail : "
                         f"{SPACE}/me/alert-settings\n")
    direct = Templates().render("password_reset", {"link": "https://x", "valid_minutes": 30})
    assert "alert-settings" not in direct.body_text
