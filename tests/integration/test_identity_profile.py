"""identity on RabbitMQ + PostgreSQL: the organisation profile ("votre identité"), the
certifier state followed through the documents service's events, and identity's own events."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from nameko.standalone.events import event_dispatcher

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from contracts.envelope import new_envelope
from contracts.events import DocumentCheckedV1, DocumentRejectedV1, DocumentUploadedV1
from contracts.common.errors import Forbidden, InvalidInput, NotFound
from servicekit.events import subscribe
from tests.support.integration import Recorded, bootstrap, dependency, new_organisation
from tools.waiting import wait_until


class IdentityListener:
    """Stands for any service that follows identity's events."""

    name = "identity_listener"
    received = Recorded()  # (event name, data)

    @subscribe("identity", "organisation_updated")
    def on_updated(self, event):
        self.received.append(("organisation_updated", event.data.model_dump(mode="json")))

    @subscribe("identity", "certifier_status_changed")
    def on_certifier(self, event):
        self.received.append(("certifier_status_changed", event.data.model_dump(mode="json")))


@pytest.fixture
def setup(identity, rpc, container_factory, amqp_uri, mail):
    listener = container_factory(IdentityListener)
    agent = bootstrap(rpc)
    organisation = rpc.identity.create_organisation(agent, new_organisation(1, "marie"))
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})
    return {"agent": agent, "organisation": organisation, "admin": mail.first_login(rpc, "marie"),
            "dispatch": dispatch, "received": dependency(listener, Recorded).calls}


def test_profile_update_and_siret_read_only(setup, rpc):
    admin, organisation = setup["admin"], setup["organisation"]
    profile = rpc.identity.get_organisation_profile(admin, organisation["id"])
    assert profile["siret"] == organisation["siret"] and profile["kbis"]["status"] == "missing"
    assert profile["certification_method"]["method"] == 1
    changed = rpc.identity.update_organisation_profile(admin, organisation["id"], {
        "town": "Metz", "postcode": "57000", "website": "https://of.example.org",
        "uai": "0750655e"})  # seed 004: the UAI, beside the SIRET
    assert (changed["town"], changed["postcode"], changed["uai"]) == ("Metz", "57000", "0750655E")
    assert rpc.identity.get_organisation(admin, organisation["id"])["town"] == "Metz"
    with pytest.raises(InvalidInput) as raised:
        rpc.identity.update_organisation_profile(admin, organisation["id"],
                                                 {"siret": "73282932000074"})
    assert raised.value.code == "siret_read_only"
    with pytest.raises(Forbidden):  # funder staff read, the organisation's administrator edits
        rpc.identity.update_organisation_profile(setup["agent"], organisation["id"],
                                                 {"town": "Nancy"})
    other_funder = bootstrap(rpc, "tpro-idf")
    with pytest.raises(NotFound):
        rpc.identity.get_organisation_profile(other_funder, organisation["id"])
    wait_until(lambda: any(name == "organisation_updated" for name, _ in setup["received"]))
    [(_, data)] = [r for r in setup["received"] if r[0] == "organisation_updated"]
    assert sorted(data["changed"]) == ["postcode", "town", "uai", "website"]
    actions = [r["action"] for r in rpc.identity.audit_trail(setup["agent"], organisation["id"])]
    assert "profile_updated" in actions


def document_event(setup, name, category, document_id, **extra):
    organisation = setup["organisation"]
    now = datetime.now(timezone.utc)
    if name == "document_uploaded":
        data = DocumentUploadedV1(document_id=document_id, category=category,
                                  funder_id=organisation["funder_id"],
                                  organisation_id=organisation["id"], uploaded_by="u",
                                  uploaded_at=now)
    else:
        common = dict(document_id=document_id, category=category, category_label=category,
                      label="x", funder_id=organisation["funder_id"],
                      organisation_id=organisation["id"], owner_user_id="u")
        data = (DocumentCheckedV1(**common, checked_at=now, checked_by="agent")
                if name == "document_checked" else
                DocumentRejectedV1(**common, rejected_at=now, rejected_by="agent",
                                   reason_code="illegible", reason_text="illisible"))
    setup["dispatch"]("documents", name, new_envelope("documents", name, 1, data).model_dump(
        mode="json"))


def test_certifier_method_follows_the_checks(setup, rpc):
    admin, organisation = setup["admin"], setup["organisation"]

    def profile():
        return rpc.identity.get_organisation_profile(admin, organisation["id"])

    assert rpc.identity.set_certifier(admin, organisation["id"], {"requested": True})[
        "certification_method"]["method"] == 1
    for category, document_id in (("kbis", "k1"), ("consent_letter", "c1"), ("logo", "l1"),
                                  ("stamp", "s1")):
        document_event(setup, "document_uploaded", category, document_id)
    wait_until(lambda: profile()["logo"]["status"] == "pending"
               and profile()["kbis"]["status"] == "pending"
               and profile()["consent_letter"]["status"] == "pending")
    assert profile()["kbis"]["status_label"] == "En attente de contrôle"

    document_event(setup, "document_checked", "kbis", "k1")
    document_event(setup, "document_rejected", "consent_letter", "c1")
    wait_until(lambda: profile()["consent_letter"]["status"] == "rejected"
               and profile()["kbis"]["status"] == "checked")
    current = profile()
    assert current["consent_letter"]["status_label"] == "Non conforme : illisible"
    assert current["kbis"]["status_label"].startswith("Contrôlé le ")
    assert current["certification_method"]["method"] == 1
    assert "consentement" in current["certification_method"]["reason"]

    document_event(setup, "document_uploaded", "consent_letter", "c2")
    document_event(setup, "document_checked", "consent_letter", "c2")
    wait_until(lambda: profile()["certification_method"]["method"] == 2)
    assert profile()["certification_method"]["certifier_since"]  # printed on method 2
    wait_until(lambda: any(name == "certifier_status_changed" and data["method"] == 2
                           for name, data in setup["received"]))
    assert rpc.identity.set_certifier(admin, organisation["id"], {"requested": False})[
        "certification_method"]["method"] == 1
