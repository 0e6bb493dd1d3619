"""identity's use cases on fakes (tests/support/identity.py): replies, what the repositories
hold afterwards, the events published and the emails asked for. No broker, no database."""
from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.common import ALL_RIGHTS, Role
from contracts.common.errors import (Conflict, Forbidden, InvalidInput, NotFound,
                                     TooManyRequests, Unauthenticated)
from contracts.events import (DocumentCheckedV1, DocumentRejectedV1, DocumentUploadedV1,
                              DossierCreatedV1)
from contracts.identity import (AcceptPrivacyPolicy, ChangeIdentifier, ChangePassword,
                                Credentials, NewFunder, PasswordReset, PasswordResetRequest,
                                Personalise, UpdateMe, UserUpdate)
from services.identity import domain, handlers
from tests.support.identity import OTHER_SIRET, PASSWORD, SIRET, world

NEW_PASSWORD = "Nouveau_2027"


@pytest.fixture
def w():
    return world()


def users(w):
    return w.repositories["users"]


def audit_actions(w):
    return w.repositories["audit"].actions()


TYPED = {"new_password": NEW_PASSWORD, "new_password_confirmation": NEW_PASSWORD}


def new_password(current=PASSWORD, **extra):
    return {"current_password": current, **TYPED, **extra}


def login(w, identifier="marie", password=PASSWORD, ip=None):
    return handlers.login(w.db, w.ports, Credentials(identifier=identifier, password=password), ip)


def in_transaction(w):
    """What @idempotent gives open_party_accounts: the event's unit of work."""
    def once(add):
        with w.db.unit_of_work() as uow:
            return add(uow)
    return once


# --- funders and organisations ----------------------------------------------------------------

def new_funder(code="tpro-idf"):
    return NewFunder(code=code, name="Transitions Pro IDF",
                     admin={"identifier": f"Admin-{code}", "name": "Admin",
                            "email": "admin@idf.example.org", "password": PASSWORD})


def test_a_funder_starts_with_its_administrator(w):
    reply = handlers.bootstrap_funder(w.db, w.ports, new_funder())
    admin = users(w).get(reply["admin"]["id"])
    assert (admin.identifier, admin.role, admin.funder_id) == ("admin-tpro-idf", "funder_admin",
                                                               reply["funder_id"])
    assert not admin.restricted and admin.password_hash == f"hashed:{PASSWORD}"
    [bootstrapped] = w.db.events("funder_bootstrapped")
    assert (bootstrapped.funder_id, bootstrapped.contact_email) == (reply["funder_id"],
                                                                    "admin@idf.example.org")


def test_the_funders_directory_names_each_funder_by_its_code(w):
    reply = handlers.bootstrap_funder(w.db, w.ports, new_funder("tpro-bzh"))
    directory = handlers.funders_directory(w.db)
    assert {"id": reply["funder_id"], "code": "tpro-bzh",
            "name": "Transitions Pro IDF"} in directory
    assert [f["code"] for f in directory] == sorted(f["code"] for f in directory)


def test_a_funder_code_is_bootstrapped_once(w):
    with pytest.raises(Conflict) as raised:
        handlers.bootstrap_funder(w.db, w.ports, new_funder("tpro-ge"))
    assert raised.value.code == "funder_exists"


def test_a_weak_admin_password_is_refused(w):
    with pytest.raises(InvalidInput):
        handlers.bootstrap_funder(w.db, w.ports, new_funder().model_copy(
            update={"admin": new_funder().admin.model_copy(update={"password": "short"})}))


def new_organisation(siret=OTHER_SIRET, identifier="paul"):
    return {"name": "Organisme 2", "siret": siret, "email": "of2@example.org",
            "user": {"identifier": identifier, "name": "Paul", "email": "paul@example.org"}}


def test_an_organisation_comes_with_its_first_user_and_credentials(w):
    reply = handlers.create_organisation(w.db, w.ports, w.actor(w.admin), new_organisation())
    paul = users(w).by_identifier("paul")
    assert reply["siret"] == OTHER_SIRET and paul.organisation_id == reply["id"]
    assert paul.must_personalise and sorted(paul.rights) == sorted(ALL_RIGHTS)
    [email] = w.emails.of("account_credentials")
    assert paul.password_hash == f"hashed:{email['password']}"
    assert email["organisation_name"] == "Organisme 2"
    assert "organisation_created" in audit_actions(w)


def test_an_organisation_siret_is_unique_within_the_funder(w):
    with pytest.raises(Conflict) as raised:
        handlers.create_organisation(w.db, w.ports, w.actor(w.admin), new_organisation(SIRET))
    assert raised.value.code == "siret_taken" and w.emails.sent == []


def test_organisation_users_create_no_organisation(w):
    with pytest.raises(Forbidden):
        handlers.create_organisation(w.db, w.ports, w.actor(w.manager), new_organisation())


def test_a_failed_credentials_email_leaves_the_organisation(w):
    w.emails.failing = True
    reply = handlers.create_organisation(w.db, w.ports, w.actor(w.admin), new_organisation())
    assert w.repositories["organisations"].get(reply["id"]) is not None


def test_an_organisation_is_seen_by_its_funder_and_its_users(w):
    for viewer in (w.admin, w.manager):
        assert handlers.get_organisation(w.db, w.actor(viewer), "o1")["name"] == "Organisme 1"
    stranger = w.account("zoe", organisation=w.other_organisation())
    with pytest.raises(NotFound):
        handlers.get_organisation(w.db, w.actor(stranger), "o1")


def test_organisations_are_found_by_valid_sirets_only(w):
    found = handlers.find_organisations_by_siret(w.db, w.actor(w.admin),
                                                 ["732 829 320 00074", "123", OTHER_SIRET])
    assert [o["id"] for o in found] == ["o1"]
    with pytest.raises(Forbidden):
        handlers.find_organisations_by_siret(w.db, w.actor(w.manager), [SIRET])


def test_a_new_profile_is_method_1_with_no_documents(w):
    profile = handlers.get_organisation_profile(w.db, w.actor(w.manager), "o1")
    assert profile["certification_method"]["method"] == 1
    assert profile["kbis"]["status"] == "missing"


def test_a_profile_update_is_audited_and_published(w):
    profile = handlers.update_organisation_profile(w.db, w.ports, w.actor(w.manager), "o1",
                                                   {"town": "Metz"})
    assert profile["town"] == "Metz"
    [event] = w.db.events("organisation_updated")
    assert event.changed == ["town"] and "profile_updated" in audit_actions(w)


def test_an_unchanged_profile_publishes_nothing(w):
    handlers.update_organisation_profile(w.db, w.ports, w.actor(w.manager), "o1",
                                         {"name": "Organisme 1"})
    assert w.db.published == []


def test_the_siret_of_a_profile_never_changes(w):
    with pytest.raises(InvalidInput) as raised:
        handlers.update_organisation_profile(w.db, w.ports, w.actor(w.manager), "o1",
                                             {"siret": OTHER_SIRET})
    assert raised.value.code == "siret_read_only"


def test_asking_to_be_certifier_publishes_the_status(w):
    profile = handlers.set_certifier(w.db, w.ports, w.actor(w.manager), "o1",
                                     {"requested": True})
    assert profile["certifier_requested"]
    [event] = w.db.events("certifier_status_changed")
    assert event.requested and event.method == 1 and event.kbis_status == "missing"


def test_the_same_certifier_choice_changes_nothing(w):
    handlers.set_certifier(w.db, w.ports, w.actor(w.manager), "o1",
                           {"requested": False})
    assert w.db.published == [] and "certifier_changed" not in audit_actions(w)


def test_funder_staff_do_not_choose_for_the_organisation(w):
    with pytest.raises(Forbidden):
        handlers.set_certifier(w.db, w.ports, w.actor(w.admin), "o1",
                               {"requested": True})


# --- documents of the profile -----------------------------------------------------------------

def uploaded(w, category="kbis", document_id="d1", organisation_id="o1"):
    return DocumentUploadedV1(document_id=document_id, category=category, funder_id="f1",
                              organisation_id=organisation_id, uploaded_by="u",
                              uploaded_at=w.clock())


def reviewed(w, model, document_id="d1", category="kbis", **extra):
    return model(document_id=document_id, category=category, category_label="KBIS",
                 label="KBIS", funder_id="f1", organisation_id="o1", owner_user_id="u",
                 **extra)


def upload(w, category="kbis", document_id="d1", organisation_id="o1"):
    with w.db.unit_of_work() as uow:
        handlers.document_uploaded(uow, uploaded(w, category, document_id,
                                                          organisation_id))


def check(w, document_id="d1", category="kbis", at=None):
    with w.db.unit_of_work() as uow:
        handlers.document_checked(uow, reviewed(
            w, DocumentCheckedV1, document_id, category, checked_at=at or w.clock(),
            checked_by="a"))


def test_an_uploaded_kbis_is_pending_and_published(w):
    upload(w)
    assert w.repositories["documents"].locked("o1", "kbis").status == "pending"
    assert w.db.events("certifier_status_changed")[0].kbis_status == "pending"


def test_a_logo_is_recorded_without_event(w):
    upload(w, "logo")
    assert w.repositories["documents"].locked("o1", "logo") is not None
    assert w.db.published == []


def test_a_document_of_an_unknown_organisation_is_ignored(w):
    upload(w, organisation_id="nowhere")
    assert w.repositories["documents"].all() == []


def test_both_documents_checked_make_method_2(w):
    handlers.set_certifier(w.db, w.ports, w.actor(w.manager), "o1",
                           {"requested": True})
    upload(w, "logo", "d-logo")
    upload(w, "stamp", "d-stamp")
    for number, category in enumerate(("kbis", "consent_letter")):
        upload(w, category, f"d{number}")
        w.clock.advance(minutes=1)
        check(w, f"d{number}", category)
    assert w.db.events("certifier_status_changed")[-1].method == 2


def test_a_rejected_document_says_why(w):
    upload(w)
    w.clock.advance(minutes=1)
    with w.db.unit_of_work() as uow:
        handlers.document_rejected(uow, reviewed(
            w, DocumentRejectedV1, rejected_at=w.clock(), rejected_by="a",
            reason_code="expired", reason_text="Périmé"))
    document = w.repositories["documents"].locked("o1", "kbis")
    assert (document.status, document.status_label) == ("rejected", "Non conforme : Périmé")


def test_new_content_for_a_rejected_document_awaits_its_check_again(w):
    """A rejected logo replaced (same document, new file): no longer rejected, so hours
    entry opens again; an upload event arriving after its own review changes nothing."""
    upload(w, "logo", "d-logo")
    w.clock.advance(minutes=1)
    with w.db.unit_of_work() as uow:
        handlers.document_rejected(uow, reviewed(
            w, DocumentRejectedV1, "d-logo", "logo", rejected_at=w.clock(), rejected_by="a",
            reason_code="illegible", reason_text="Flou"))
    upload(w, "logo", "d-logo")  # the first deposit's event, redelivered late
    assert w.repositories["documents"].locked("o1", "logo").status == "rejected"
    w.clock.advance(minutes=1)
    upload(w, "logo", "d-logo")  # new content
    assert w.repositories["documents"].locked("o1", "logo").status == "pending"


def test_the_review_of_a_replaced_document_changes_nothing(w):
    upload(w, document_id="d2")
    check(w, "d1", at=w.clock() - timedelta(hours=1))
    assert w.repositories["documents"].locked("o1", "kbis").status == "pending"


# --- party accounts ---------------------------------------------------------------------------

def dossier(employer=True):
    party = {"id": "p-employer-1", "name": "Acme", "email": "rh@acme.example.org",
             "kind": "employer"}
    return DossierCreatedV1(
        dossier_id="d1", dossier_number="2026-0001", funder_id="f1", organisation_id="o1",
        beneficiary={"id": "p-beneficiary-1", "name": "Léa", "email": "lea@example.org",
                     "kind": "beneficiary"},
        employer=party if employer else None, created_by="u", created_at="2026-03-02T09:00:00Z")


def test_each_party_of_a_new_dossier_gets_an_account_and_its_credentials(w):
    handlers.open_party_accounts(w.db, w.ports, dossier(), "u", in_transaction(w))
    lea, acme = users(w).of_party("p-beneficiary-1"), users(w).of_party("p-employer-1")
    assert (lea.identifier, lea.role) == ("lea@example.org", Role.beneficiary.value)
    assert acme.role == Role.employer.value and acme.must_personalise
    assert {e["to"] for e in w.emails.of("account_credentials")} == {
        "lea@example.org", "rh@acme.example.org"}
    assert w.emails.sent[0]["dossier_number"] == "2026-0001"


def test_a_party_with_an_account_gets_no_second_one(w):
    handlers.open_party_accounts(w.db, w.ports, dossier(employer=False), "u", in_transaction(w))
    handlers.open_party_accounts(w.db, w.ports, dossier(), "u", in_transaction(w))
    assert len([u for u in users(w).all() if u.party_id]) == 2
    assert len(w.emails.of("account_credentials")) == 2


def test_a_taken_email_gives_the_party_another_identifier(w):
    w.account("lea@example.org")
    handlers.open_party_accounts(w.db, w.ports, dossier(employer=False), "u", in_transaction(w))
    assert users(w).of_party("p-beneficiary-1").identifier == "lea-p-benefi"


def test_an_event_already_processed_sends_nothing(w):
    handlers.open_party_accounts(w.db, w.ports, dossier(), "u", lambda add: None)
    assert w.emails.sent == [] and not any(u.party_id for u in users(w).all())


# --- sessions ---------------------------------------------------------------------------------

def test_a_login_opens_a_session(w):
    reply = login(w, "MARIE")
    [session] = w.repositories["sessions"].open_of(w.manager.id)
    assert session.token_hash == domain.hash_token(reply["access_token"])
    assert not reply["must_personalise"] and "login_succeeded" in audit_actions(w)


def test_a_wrong_password_is_counted_then_refused(w):
    with pytest.raises(Unauthenticated) as raised:
        login(w, password="Wrong_2026", ip="203.0.113.7")
    assert raised.value.code == "invalid_credentials"
    assert w.manager.failed_logins == 1
    assert w.repositories["failures"].count("203.0.113.7", w.clock() - timedelta(hours=1)) == 1
    assert audit_actions(w)[-1] == "login_failed"


def test_an_unknown_identifier_hears_the_same(w):
    with pytest.raises(Unauthenticated) as raised:
        login(w, "nobody")
    assert raised.value.code == "invalid_credentials"


def test_too_many_failures_lock_the_account(w):
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            login(w, password="Wrong_2026")
    with pytest.raises(Unauthenticated):
        login(w)  # the right password, but locked
    w.clock.advance(minutes=16)
    login(w)


def test_too_many_failures_from_one_address_are_throttled():
    w = world(ip_max_failures=2)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            login(w, "nobody", ip="203.0.113.7")
    with pytest.raises(TooManyRequests):
        login(w, ip="203.0.113.7")
    login(w, ip="203.0.113.8")


def test_an_old_hash_is_replaced_at_login(w):
    w.manager.password_hash = f"old:{PASSWORD}"
    login(w)
    assert w.manager.password_hash == f"hashed:{PASSWORD}"


def test_a_session_token_authenticates_its_user(w):
    token, session = w.session(w.manager)
    w.clock.advance(minutes=5)
    actor = handlers.authenticate(w.db, w.ports, token)
    assert (actor["user_id"], actor["session_id"]) == (w.manager.id, session.id)
    assert session.last_seen_at == w.clock()


def test_an_idle_session_expires(w):
    token, _session = w.session(w.manager)
    w.clock.advance(minutes=31)
    with pytest.raises(Unauthenticated) as raised:
        handlers.authenticate(w.db, w.ports, token)
    assert raised.value.code == "session_expired"


def test_an_unknown_token_is_invalid(w):
    with pytest.raises(Unauthenticated) as raised:
        handlers.authenticate(w.db, w.ports, "nope")
    assert raised.value.code == "invalid_token"


def test_a_logout_revokes_the_session_once(w):
    token, session = w.session(w.manager)
    handlers.logout(w.db, w.ports, token)
    handlers.logout(w.db, w.ports, token)
    assert session.revoked_at == w.clock() and audit_actions(w).count("logout") == 1


# --- first login and "mon compte" -------------------------------------------------------------

def provisional(w):
    """Paul, fresh from his credentials email: (his account, his provisional password)."""
    handlers.create_organisation(w.db, w.ports, w.actor(w.admin), new_organisation())
    return users(w).by_identifier("paul"), w.emails.of("account_credentials")[-1]["password"]


def test_me_shows_the_account_and_its_organisation(w):
    reply = handlers.me(w.db, w.actor(w.manager))
    assert reply["user"]["identifier"] == "marie" and reply["organisation"]["id"] == "o1"


def test_an_api_token_has_no_me(w):
    with pytest.raises(Forbidden):
        handlers.me(w.db, w.actor(w.manager).model_copy(update={"user_id": "api-token:x"}))


def test_personalising_sets_the_password_and_holds_the_new_identifier(w):
    paul, password = provisional(w)
    reply = handlers.personalise(w.db, w.ports, w.actor(paul), Personalise(
        **new_password(password, new_identifier="P.Durand")))
    assert not paul.must_personalise and paul.password_hash == f"hashed:{NEW_PASSWORD}"
    assert reply["pending_identifier"] == "p.durand"
    assert w.emails.of("identifier_change")[-1]["new_identifier"] == "p.durand"


def test_personalising_asks_the_provisional_password(w):
    paul, _password = provisional(w)
    with pytest.raises(InvalidInput) as raised:
        handlers.personalise(w.db, w.ports, w.actor(paul), Personalise(
            **new_password("Wrong_2026", new_identifier="paul")))
    assert raised.value.code == "wrong_password" and paul.must_personalise


def test_a_personalised_account_is_not_personalised_again(w):
    with pytest.raises(Conflict) as raised:
        handlers.personalise(w.db, w.ports, w.actor(w.manager), Personalise(
            **new_password(new_identifier="marie")))
    assert raised.value.code == "already_personalised"


def test_a_confirmed_identifier_replaces_the_old_one(w):
    handlers.change_identifier(w.db, w.ports, w.actor(w.manager), ChangeIdentifier(
        current_password=PASSWORD, new_identifier="m.durand"))
    token = w.emails.token("identifier_change")
    assert handlers.confirm_identifier(w.db, w.ports, token) == {"identifier": "m.durand"}
    assert w.manager.pending_identifier is None
    with pytest.raises(InvalidInput) as raised:
        handlers.confirm_identifier(w.db, w.ports, token)
    assert raised.value.code == "invalid_link"


def test_an_identifier_in_use_cannot_be_asked_for(w):
    with pytest.raises(Conflict) as raised:
        handlers.change_identifier(w.db, w.ports, w.actor(w.manager), ChangeIdentifier(
            current_password=PASSWORD, new_identifier="ADMIN"))
    assert raised.value.code == "identifier_taken" and w.emails.sent == []


def test_the_privacy_policy_in_force_is_accepted(w):
    paul, password = provisional(w)
    handlers.personalise(w.db, w.ports, w.actor(paul), Personalise(
        **new_password(password, new_identifier="paul")))
    reply = handlers.accept_privacy_policy(w.db, w.ports, w.actor(paul),
                                           AcceptPrivacyPolicy(version="2026-01"))
    assert not reply["privacy_policy_pending"] and not paul.restricted


def test_another_privacy_policy_version_is_refused(w):
    with pytest.raises(InvalidInput) as raised:
        handlers.accept_privacy_policy(w.db, w.ports, w.actor(w.manager),
                                       AcceptPrivacyPolicy(version="2020-01"))
    assert raised.value.details == {"current": "2026-01"}


def test_a_name_changes_at_once(w):
    reply = handlers.update_me(w.db, w.ports, w.actor(w.manager), UpdateMe(name="Marie D."))
    assert reply["user"]["name"] == "Marie D." and "account_updated" in audit_actions(w)


def test_a_new_email_waits_for_its_link_and_the_old_address_is_told(w):
    reply = handlers.update_me(w.db, w.ports, w.actor(w.manager, "s1"), UpdateMe(
        email="md@example.org", current_password=PASSWORD))
    assert (reply["user"]["email"], reply["pending_email"]) == ("marie@example.org",
                                                                 "md@example.org")
    assert w.emails.of("email_change")[-1]["to"] == "md@example.org"
    assert w.emails.of("email_change_notice")[-1]["to"] == "marie@example.org"


def test_a_new_email_needs_the_current_password(w):
    with pytest.raises(InvalidInput) as raised:
        handlers.update_me(w.db, w.ports, w.actor(w.manager), UpdateMe(email="md@example.org"))
    assert raised.value.code == "current_password_required"


def test_a_confirmed_email_changes_and_other_sessions_end(w):
    _token, mine = w.session(w.manager)
    _token, other = w.session(w.manager)
    handlers.update_me(w.db, w.ports, w.actor(w.manager, mine.id), UpdateMe(
        email="md@example.org", current_password=PASSWORD))
    handlers.confirm_email_change(w.db, w.ports, w.emails.token("email_change"))
    assert (w.manager.email, w.manager.pending_email) == ("md@example.org", None)
    assert mine.revoked_at is None and other.revoked_at is not None
    assert w.repositories["funders"].locked == ["f1"]


def test_an_email_taken_since_the_request_is_not_confirmed(w):
    handlers.update_me(w.db, w.ports, w.actor(w.manager), UpdateMe(
        email="md@example.org", current_password=PASSWORD))
    w.account("md", email="MD@example.org")
    with pytest.raises(Conflict) as raised:
        handlers.confirm_email_change(w.db, w.ports, w.emails.token("email_change"))
    assert raised.value.code == "email_taken" and w.manager.email == "marie@example.org"


def test_a_cancelled_email_change_voids_its_confirmation(w):
    _token, session = w.session(w.manager)
    handlers.update_me(w.db, w.ports, w.actor(w.manager, session.id), UpdateMe(
        email="md@example.org", current_password=PASSWORD))
    handlers.cancel_email_change(w.db, w.ports, w.emails.token("email_change_notice"))
    assert w.manager.pending_email is None and session.revoked_at is not None
    with pytest.raises(InvalidInput):
        handlers.confirm_email_change(w.db, w.ports, w.emails.token("email_change"))


def test_a_changed_password_ends_the_other_sessions(w):
    _token, mine = w.session(w.manager)
    _token, other = w.session(w.manager)
    handlers.change_password(w.db, w.ports, w.actor(w.manager, mine.id),
                             ChangePassword(**new_password()))
    assert w.manager.password_hash == f"hashed:{NEW_PASSWORD}"
    assert mine.revoked_at is None and other.revoked_at is not None


def test_a_password_change_needs_the_current_password(w):
    with pytest.raises(InvalidInput) as raised:
        handlers.change_password(w.db, w.ports, w.actor(w.manager),
                                 ChangePassword(**new_password("Wrong_2026")))
    assert raised.value.code == "wrong_password"
    assert "password_changed" not in audit_actions(w)


# --- password reset ---------------------------------------------------------------------------

def reset_request(identifier="marie", captcha_token=None):
    return PasswordResetRequest(identifier=identifier, captcha_token=captcha_token)


def test_a_reset_link_is_made_after_the_reply(w):
    reply = handlers.request_password_reset(w.db, w.ports, reset_request(), "203.0.113.7")
    assert reply["status"] == "accepted" and w.emails.sent == []
    w.after_reply.run()
    [email] = w.emails.of("password_reset")
    assert email["to"] == "marie@example.org" and email["valid_minutes"] == 60


def test_an_unknown_identifier_gets_the_same_answer_and_no_email(w):
    known = handlers.request_password_reset(w.db, w.ports, reset_request())
    unknown = handlers.request_password_reset(w.db, w.ports, reset_request("nobody"))
    assert known == unknown and len(w.after_reply.queued) == 1


def test_reset_requests_from_one_address_are_limited():
    w = world(reset_max_per_address=2)
    for identifier in ("marie", "nobody"):
        handlers.request_password_reset(w.db, w.ports, reset_request(identifier), "203.0.113.7")
    with pytest.raises(TooManyRequests):
        handlers.request_password_reset(w.db, w.ports, reset_request(), "203.0.113.7")


def test_a_refused_captcha_is_counted_and_sends_nothing(w):
    w.captcha.required = True
    with pytest.raises(InvalidInput) as raised:
        handlers.request_password_reset(w.db, w.ports, reset_request(captcha_token="robot"),
                                        "203.0.113.7")
    assert raised.value.code == "captcha_failed" and w.after_reply.queued == []
    assert w.repositories["failures"].count("203.0.113.7", w.clock(), "password_reset") == 1


def test_the_reset_link_sets_a_new_password_once(w):
    handlers.send_reset_link(w.db, w.ports, w.manager.id)
    token = w.emails.token("password_reset")
    handlers.reset_password(w.db, w.ports, PasswordReset(token=token, **TYPED))
    assert w.manager.password_hash == f"hashed:{NEW_PASSWORD}"
    with pytest.raises(InvalidInput) as raised:
        handlers.reset_password(w.db, w.ports, PasswordReset(token=token, **TYPED))
    assert raised.value.code == "invalid_link"


def test_an_expired_reset_link_is_refused(w):
    handlers.send_reset_link(w.db, w.ports, w.manager.id)
    w.clock.advance(minutes=61)
    with pytest.raises(InvalidInput):
        handlers.reset_password(w.db, w.ports, PasswordReset(
            token=w.emails.token("password_reset"), **TYPED))
    assert w.manager.password_hash == f"hashed:{PASSWORD}"


# --- users and rights -------------------------------------------------------------------------

def new_member(identifier="hugo", active=True):
    return {"identifier": identifier, "name": identifier.title(),
            "email": f"{identifier}@example.org", "rights": ["enter_hours"], "active": active}


def test_an_administrator_adds_a_user_who_gets_credentials(w):
    reply = handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", new_member())
    assert reply["credentials_sent"] and reply["rights"] == ["enter_hours"]
    assert users(w).get(reply["id"]).must_personalise
    assert w.emails.of("account_credentials")[-1]["to"] == "hugo@example.org"


def test_an_inactive_new_user_gets_no_email(w):
    reply = handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", new_member(active=False))
    assert reply["credentials_sent"] is False and w.emails.sent == []


def test_a_user_without_the_users_right_adds_nobody(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    with pytest.raises(Forbidden):
        handlers.create_user(w.db, w.ports, w.actor(hugo), "o1", new_member("xavier"))


def test_a_refused_caller_hears_refused_whatever_it_sent(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    with pytest.raises(Forbidden):
        handlers.create_user(w.db, w.ports, w.actor(hugo), "o1", {"identifier": "x"})
    with pytest.raises(InvalidInput):
        handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", {"identifier": "x"})


def test_an_identifier_in_use_is_refused_for_a_new_user(w):
    with pytest.raises(Conflict) as raised:
        handlers.create_user(w.db, w.ports, w.actor(w.manager), "o1", new_member("marie"))
    assert raised.value.code == "identifier_taken"


def test_users_are_listed_by_name_for_staff_and_administrators(w):
    w.account("hugo")
    for viewer in (w.manager, w.admin):
        assert [u["identifier"] for u in handlers.list_users(w.db, w.actor(viewer), "o1")] == [
            "hugo", "marie"]


def test_a_user_without_the_users_right_lists_nobody(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    with pytest.raises(Forbidden):
        handlers.list_users(w.db, w.actor(hugo), "o1")


def test_a_deactivated_user_loses_its_sessions_and_the_change_is_audited(w):
    hugo = w.account("hugo", rights=["enter_hours"])
    _token, session = w.session(hugo)
    reply = handlers.update_user(w.db, w.ports, w.actor(w.manager), hugo.id,
                                 UserUpdate(active=False))
    assert reply["active"] is False and session.revoked_at == w.clock()
    assert "user_deactivated" in audit_actions(w)


def test_the_last_administrator_keeps_the_users_right(w):
    with pytest.raises(Conflict) as raised:
        handlers.update_user(w.db, w.ports, w.actor(w.manager), w.manager.id,
                             UserUpdate(rights=["enter_hours"]))
    assert raised.value.code == "last_administrator"
    assert sorted(users(w).get(w.manager.id).rights) == sorted(ALL_RIGHTS)  # rolled back


def test_an_administrator_changes_a_used_accounts_email_through_a_link(w):
    hugo = w.account("hugo")
    handlers.update_user(w.db, w.ports, w.actor(w.manager), hugo.id,
                         UserUpdate(email="hugo.b@example.org"))
    assert (hugo.email, hugo.pending_email) == ("hugo@example.org", "hugo.b@example.org")
    assert w.emails.of("email_change_notice")[-1]["by_administrator"] is True


def test_resent_credentials_make_the_account_personalise_again(w):
    hugo = w.account("hugo")
    _token, session = w.session(hugo)
    reply = handlers.resend_credentials(w.db, w.ports, w.actor(w.admin), hugo.id)
    assert reply["credentials_sent"] and hugo.must_personalise and session.revoked_at
    assert hugo.password_hash == f"hashed:{w.emails.sent[-1]['password']}"


def test_credentials_are_not_resent_for_another_organisation(w):
    other = w.account("zoe", organisation=w.other_organisation())
    with pytest.raises(NotFound):
        handlers.resend_credentials(w.db, w.ports, w.actor(w.manager), other.id)


def test_staff_resend_a_partys_credentials_by_its_party(w):
    handlers.open_party_accounts(w.db, w.ports, dossier(employer=False), "u", in_transaction(w))
    reply = handlers.resend_party_credentials(w.db, w.ports, w.actor(w.admin), "p-beneficiary-1")
    assert reply["credentials_sent"] and len(w.emails.of("account_credentials")) == 2
    with pytest.raises(Forbidden):
        handlers.resend_party_credentials(w.db, w.ports, w.actor(w.manager), "p-beneficiary-1")


def test_a_funder_administrator_adds_an_agent(w):
    reply = handlers.create_funder_user(w.db, w.ports, w.actor(w.admin), {
        "identifier": "lucie", "name": "Lucie", "email": "lucie@example.org",
        "role": "funder_agent"})
    assert reply["role"] == Role.funder_agent.value and reply["credentials_sent"]
    assert users(w).get(reply["id"]).organisation_id is None


def test_an_agent_adds_no_funder_user(w):
    agent = w.account("agent", Role.funder_agent)
    with pytest.raises(Forbidden) as raised:
        handlers.create_funder_user(w.db, w.ports, w.actor(agent), {
            "identifier": "xavier", "name": "X", "email": "x@example.org",
            "role": "funder_agent"})
    assert raised.value.code == "funder_admin_only"


# --- API tokens and audit ---------------------------------------------------------------------

def issue(w, **extra):
    return handlers.issue_api_token(w.db, w.ports, w.actor(w.manager), {
        "name": "ERP", "expires_on": (w.clock().date() + timedelta(days=30)).isoformat(),
        **extra})


def test_an_issued_api_token_authenticates_as_the_organisation(w):
    issued = issue(w, rights=["enter_hours"])
    actor = handlers.authenticate(w.db, w.ports, issued["token"])
    assert actor["organisation_id"] == "o1" and actor["rights"] == ["enter_hours"]
    assert actor["user_id"] == f"api-token:{issued['id']}"


def test_an_api_token_grants_no_more_than_its_issuers_rights(w):
    w.manager.rights = ["users"]
    with pytest.raises(Forbidden) as raised:
        issue(w, rights=["enter_hours"])
    assert raised.value.code == "rights_exceeded"


def test_api_tokens_are_listed_with_their_state(w):
    issued = issue(w)
    [listed] = handlers.list_api_tokens(w.db, w.ports, w.actor(w.manager))
    assert (listed["id"], listed["active"]) == (issued["id"], True)
    assert "token" not in listed


def test_a_revoked_api_token_no_longer_authenticates(w):
    issued = issue(w)
    reply = handlers.revoke_api_token(w.db, w.ports, w.actor(w.manager), issued["id"])
    assert reply["active"] is False
    with pytest.raises(Unauthenticated):
        handlers.authenticate(w.db, w.ports, issued["token"])


def test_another_organisations_token_is_not_found(w):
    with pytest.raises(NotFound):
        handlers.revoke_api_token(w.db, w.ports, w.actor(w.manager), "nope")


def test_the_audit_trail_is_for_funder_staff_newest_first(w):
    handlers.update_me(w.db, w.ports, w.actor(w.manager), UpdateMe(name="Marie D."))
    w.clock.advance(minutes=1)
    issue(w)
    trail = handlers.audit_trail(w.db, w.actor(w.admin), "o1", {"limit": 1})
    assert [row["action"] for row in trail] == ["api_token_issued"]
    payer = w.account("paul", rights=["payments"])  # no users right: not its administrator
    with pytest.raises(Forbidden):
        handlers.audit_trail(w.db, w.actor(payer), "o1")


# --- the organisation's readiness (identity alone judges it) ----------------------------------

def become_certifier(w):
    """Certifier requested, logo and stamp deposited, KBIS and consent letter checked."""
    handlers.set_certifier(w.db, w.ports, w.actor(w.manager), "o1", {"requested": True})
    for category in ("logo", "stamp", "kbis", "consent_letter"):
        upload(w, category, f"d-{category}")
    w.clock.advance(minutes=1)
    for category in ("kbis", "consent_letter"):
        check(w, f"d-{category}", category)


def readiness(w) -> dict:
    return handlers.get_organisation_profile(w.db, w.actor(w.manager), "o1")[
        "certification_method"]


def test_the_profile_lists_the_missing_pieces_in_order(w):
    handlers.update_organisation_profile(w.db, w.ports, w.actor(w.manager), "o1",
                                         {"legal_representative": ""})
    found = readiness(w)
    assert [p["code"] for p in found["missing"]] == [
        "legal_representative_missing", "logo_missing", "stamp_missing",
        "certifier_not_requested", "kbis_not_checked", "consent_letter_not_checked"]
    assert found["missing"][1] == {"code": "logo_missing", "label": "le logo de l'organisme",
                                   "needed_for": "hours_entry"}
    assert found["certifier_since"] is None


def test_method_2_is_dated_by_the_check_that_completed_it(w):
    become_certifier(w)
    found = readiness(w)
    assert (found["method"], found["missing"]) == (2, [])
    assert found["certifier_since"] == w.clock().isoformat().replace("+00:00", "Z")
    assert w.db.events("certifier_status_changed")[-1].method == 2


def test_a_piece_undone_ends_method_2_with_an_event(w):
    become_certifier(w)
    w.clock.advance(minutes=1)
    handlers.update_organisation_profile(w.db, w.ports, w.actor(w.manager), "o1",
                                         {"legal_representative": ""})
    found = readiness(w)
    assert found["method"] == 1 and found["certifier_since"] is None
    assert [p["code"] for p in found["missing"]] == ["legal_representative_missing"]
    assert w.db.events("certifier_status_changed")[-1].method == 1


def test_the_stamp_completing_method_2_is_announced(w):
    handlers.set_certifier(w.db, w.ports, w.actor(w.manager), "o1", {"requested": True})
    for category in ("logo", "kbis", "consent_letter"):
        upload(w, category, f"d-{category}")
    for category in ("kbis", "consent_letter"):
        check(w, f"d-{category}", category)
    assert readiness(w)["method"] == 1
    published = len(w.db.published)
    upload(w, "stamp", "d-stamp")
    assert readiness(w)["method"] == 2
    [event] = w.db.published[published:]
    assert event.data.method == 2
