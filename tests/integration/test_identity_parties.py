"""identity on RabbitMQ + PostgreSQL: beneficiary and employer accounts opened from dossiers'
dossier_created event (once, whatever the redeliveries), their credentials resent by funder
staff, and password-reset requests limited per address."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from nameko.standalone.events import event_dispatcher

import servicekit.rpc  # noqa: F401  registers the business errors for the RPC client
from contracts.envelope import new_envelope
from contracts.events import DossierCreatedV1
from contracts.common.errors import Forbidden, NotFound, TooManyRequests
from tests.support.integration import bootstrap, new_organisation
from tools.waiting import wait_until


def party(kind: str, email: str, name: str = "DUBOIS Michelle") -> dict:
    return {"id": str(uuid.uuid4()), "kind": kind, "name": name, "email": email}


@pytest.fixture
def setup(identity, rpc, amqp_uri):
    agent = bootstrap(rpc)
    organisation = rpc.identity.create_organisation(agent, new_organisation(1, "marie"))
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})

    def dossier_created(beneficiary: dict, employer: dict | None = None,
                        number: str = "20X000703") -> dict:
        data = DossierCreatedV1(
            dossier_id=str(uuid.uuid4()), dossier_number=number,
            funder_id=organisation["funder_id"], organisation_id=organisation["id"],
            beneficiary=beneficiary, employer=employer, created_by=agent["user_id"],
            created_at=datetime.now(timezone.utc))
        envelope = new_envelope("dossiers", "dossier_created", 1, data).model_dump(mode="json")
        dispatch("dossiers", "dossier_created", envelope)
        return envelope

    return {"agent": agent, "organisation": organisation, "dossier_created": dossier_created,
            "dispatch": dispatch}


def credentials_to(mail, email: str) -> list[dict]:
    return [e for e in mail.emails("account_credentials") if e["to"] == email]


def test_a_dossier_opens_its_parties_accounts_once(setup, rpc, mail):
    beneficiary = party("beneficiary", "michelle.dubois@example.org")
    employer = party("employer", "rh@acme.example.org", "ACME SARL")
    envelope = setup["dossier_created"](beneficiary, employer)
    wait_until(lambda: credentials_to(mail, "rh@acme.example.org")
               and credentials_to(mail, "michelle.dubois@example.org"))
    [sent] = credentials_to(mail, "michelle.dubois@example.org")
    assert sent["context"]["identifier"] == "michelle.dubois@example.org"
    assert sent["context"]["dossier_number"] == "20X000703"

    actor = mail.first_login(rpc, "michelle.dubois@example.org")
    assert actor["role"] == "beneficiary" and actor["party_id"] == beneficiary["id"]
    assert actor["organisation_id"] is None and actor["rights"] == []
    employer_actor = mail.first_login(rpc, "rh@acme.example.org")
    assert employer_actor["role"] == "employer" and employer_actor["party_id"] == employer["id"]
    with pytest.raises(NotFound):  # a party administers no organisation
        rpc.identity.list_api_tokens(actor)

    # The same event again, and a second dossier of the same beneficiary: no new account.
    setup["dispatch"]("dossiers", "dossier_created", envelope)
    setup["dossier_created"](beneficiary, None, number="16/0/5756")
    marker = party("beneficiary", "marker@example.org")
    setup["dossier_created"](marker)  # handled after the two above (one queue, in order)
    wait_until(lambda: credentials_to(mail, "marker@example.org"))
    assert len(credentials_to(mail, "michelle.dubois@example.org")) == 1
    assert len(credentials_to(mail, "rh@acme.example.org")) == 1
    trail = rpc.identity.audit_trail(setup["agent"], setup["organisation"]["id"])
    assert all(row["action"] != "party_account_created" or row["organisation_id"] is None
               for row in trail)  # not in an organisation's trail: parties are the funder's


def test_an_identifier_already_taken_gets_a_variant(setup, rpc, mail):
    taken = party("beneficiary", "marie@example.org")  # the email of the user "marie"
    setup["dossier_created"](taken)
    wait_until(lambda: any(e["context"].get("dossier_number") for e in
                           credentials_to(mail, "marie@example.org")))
    [sent] = [e for e in credentials_to(mail, "marie@example.org")
              if e["context"].get("dossier_number")]
    assert sent["context"]["identifier"] == "marie@example.org"  # free: she is "marie"
    mail.first_login(rpc, "marie@example.org")
    again = party("employer", "marie@example.org", "Marie Conseil")
    setup["dossier_created"](again)
    wait_until(lambda: len([e for e in credentials_to(mail, "marie@example.org")
                            if e["context"].get("dossier_number")]) == 2)
    variant = [e for e in credentials_to(mail, "marie@example.org")
               if e["context"].get("dossier_number")][-1]["context"]["identifier"]
    assert variant == f"marie-{again['id'][:8]}"
    assert mail.first_login(rpc, variant)["role"] == "employer"


def test_funder_staff_resend_a_partys_credentials(setup, rpc, mail):
    beneficiary = party("beneficiary", "paul.martin@example.org", "MARTIN Paul")
    setup["dossier_created"](beneficiary)
    wait_until(lambda: credentials_to(mail, "paul.martin@example.org"))
    first = credentials_to(mail, "paul.martin@example.org")[0]["context"]["password"]
    details = rpc.identity.resend_party_credentials(setup["agent"], beneficiary["id"])
    assert details["credentials_sent"] and details["must_personalise"]
    second = credentials_to(mail, "paul.martin@example.org")[-1]["context"]["password"]
    assert second != first
    assert mail.first_login(rpc, "paul.martin@example.org")["party_id"] == beneficiary["id"]
    with pytest.raises(NotFound):  # another funder's staff know no such party
        rpc.identity.resend_party_credentials(bootstrap(rpc, "tpro-idf"), beneficiary["id"])
    admin = mail.first_login(rpc, "marie")
    with pytest.raises(Forbidden):
        rpc.identity.resend_party_credentials(admin, beneficiary["id"])


def test_password_reset_requests_are_limited_per_address(setup, rpc, monkeypatch, mail):
    monkeypatch.setenv("JALON_RESET_MAX_PER_ADDRESS", "3")
    mail.sent.clear()
    for identifier in ("marie", "nobody", "marie"):
        rpc.identity.request_password_reset({"identifier": identifier}, "198.51.100.20")
    for identifier in ("marie", "nobody"):  # the same refusal, account or not
        with pytest.raises(TooManyRequests) as raised:
            rpc.identity.request_password_reset({"identifier": identifier}, "198.51.100.20")
        assert raised.value.code == "too_many_reset_requests"
    assert len(mail.arrived("password_reset", count=2)) == 2
    rpc.identity.request_password_reset({"identifier": "marie"}, "198.51.100.21")
    assert len(mail.arrived("password_reset", count=3)) == 3
    # Failed logins and reset requests are counted apart.
    rpc.identity.login({"identifier": "admin-tpro-ge", "password": "Secret_2026"},
                       "198.51.100.20")
