"""Notifications of what waits for an organisation (a month to certify, a month reopened),
of validated hours, and of a person's account (issue 16): to the right people only, by email
when their settings say so, and the persons' copy that the digest reads kept true."""
from __future__ import annotations

from datetime import timedelta

from contracts.common import ALL_RIGHTS, Actor
from contracts.notifications import AlertSettingsChange, NotificationQuery
from services.notifications import handlers
from tests.support.notifications import (CERTIFIED_AT, ReceivedEvent, account_changed,
                                         month_to_certify, notifications, reopened, validated)

ORG_ADMIN = Actor(user_id="u0", role="organisation_user", funder_id="f1", organisation_id="o1",
                  rights=list(ALL_RIGHTS), session_id="s1", email="admin@of.example")
HOURS_ONLY = Actor(user_id="u1", role="organisation_user", funder_id="f1", organisation_id="o1",
                   rights=["enter_hours"], session_id="s2", email="claire@of.example")
OTHER_ORG = Actor(user_id="u9", role="organisation_user", funder_id="f1", organisation_id="o2",
                  rights=list(ALL_RIGHTS), session_id="s3", email="x@other.example")
AGENT = Actor(user_id="agent", role="funder_agent", funder_id="f1", session_id="s4",
              email="agent@funder.example")
BENEFICIARY = Actor(user_id="ub", role="beneficiary", funder_id="f1", party_id="b1",
                    session_id="s5", email="michelle@example.org")


def handled(service, *datas, handle=None):
    for number, data in enumerate(datas):
        with service.db.unit_of_work() as uow:
            (handle or HANDLERS[type(data).__name__])(
                uow, service.ports, ReceivedEvent(f"ev-{len(service.emails.all())}-{number}-"
                                                  f"{service.clock().timestamp()}", data))
        service.clock.advance(seconds=60)
    return service


HANDLERS = {  # each event's entrypoint, as the service calls it
    "MonthToCertifyV1": lambda uow, ports, e: handlers.notify_month_to_certify(uow, ports, e),
    "CertificateReopenedV1":
        lambda uow, ports, e: handlers.notify_certificate_reopened(uow, ports, e),
    "HoursValidatedV1": lambda uow, ports, e: handlers.notify_hours_validated(uow, ports, e),
    "AccountChangedV1": lambda uow, ports, e: handlers.follow_account(uow, ports, e)}


def known(service, *actors):
    """The persons as identity's account_changed made them known to notifications."""
    for actor in actors:
        handled(service, account_changed(
            "credentials_sent", user_id=actor.user_id, role=actor.role.value,
            organisation_id=actor.organisation_id, party_id=actor.party_id,
            email=actor.email, rights=[getattr(r, "value", r) for r in actor.rights],
            name=actor.user_id, changed_by=None))  # as a sign-up's activation: nobody told
    return service


def listed(service, actor):
    return handlers.list_notifications(service.db, actor, NotificationQuery())


def kinds(service, actor):
    return [n["kind"] for n in listed(service, actor)]


def emails_to(service, address):
    return [e for e in service.emails.all() if e.recipient == address]


def test_a_month_to_certify_goes_to_the_organisation_s_users_only():
    service = handled(notifications(), month_to_certify())
    [notice] = listed(service, HOURS_ONLY)
    assert notice["title"] == "Mois à certifier – dossier 20X000703, octobre 2026"
    assert notice["text"] == ("Les heures d'ANDRE Élise pour octobre 2026 sont à saisir et à "
                              "certifier.")
    assert notice["object"]["link"] == "/dossiers/d1/certificates/2026-10"
    assert kinds(service, ORG_ADMIN) == ["month_to_certify"]
    assert kinds(service, OTHER_ORG) == [] and kinds(service, AGENT) == []
    assert kinds(service, BENEFICIARY) == []


def test_a_month_to_certify_comes_in_the_digest_by_default_or_at_once_when_chosen():
    service = known(notifications(), ORG_ADMIN, HOURS_ONLY)
    handlers.update_alert_settings(service.db, service.ports, HOURS_ONLY, AlertSettingsChange(
        settings=[{"kind": "month_to_certify", "frequency": "immediate"}]))
    handled(service, month_to_certify())
    [email] = [e for e in service.emails.all() if e.template == "notification"]
    assert email.recipient == "claire@of.example"
    assert email.subject == "Mois à certifier – dossier 20X000703, octobre 2026"
    assert "/dossiers/d1/certificates/2026-10" in email.body_text
    # The administrator left the default: tomorrow's digest lists it.
    result = handlers.send_daily_digests(service.db, service.ports,
                                         (service.clock() + timedelta(hours=1)).date())
    assert result["queued"] == 1
    [digest] = [e for e in service.emails.all() if e.template == "daily_digest"]
    assert digest.recipient == "admin@of.example"
    assert "Mois à certifier – dossier 20X000703" in digest.body_text


def test_a_reopened_month_tells_the_organisation_why():
    service = handled(notifications(), reopened())
    [notice] = listed(service, HOURS_ONLY)
    assert notice["kind"] == "certificate_reopened"
    assert notice["title"] == "Mois rouvert – dossier 20X000703, août 2026"
    assert notice["text"] == ("Votre financeur a rouvert août 2026 pour que vous corrigiez les "
                              "heures et les certifiiez à nouveau : « Heures de stage "
                              "manquantes »")
    assert kinds(service, OTHER_ORG) == [] and kinds(service, BENEFICIARY) == []


def test_validated_hours_reach_the_organisation_and_the_funder_staff():
    service = handled(notifications(), validated(complete=True))
    [notice] = listed(service, ORG_ADMIN)
    assert notice["title"] == "Heures validées – dossier 20X000703, octobre 2026"
    assert notice["text"] == ("Le bénéficiaire (DUBOIS Michelle) a validé les heures "
                              "d'octobre 2026. Toutes les validations demandées sont données.")
    assert kinds(service, AGENT) == ["hours_validated"]
    assert kinds(service, OTHER_ORG) == [] and kinds(service, BENEFICIARY) == []
    employer = handled(notifications(), validated(party="employer", party_name="ACME"))
    assert listed(employer, AGENT)[0]["text"] == ("L'employeur (ACME) a validé les heures "
                                                  "d'octobre 2026.")


def test_a_password_change_is_a_security_notice_by_email_that_cannot_be_turned_off():
    service = known(notifications(), HOURS_ONLY)
    handled(service, account_changed("password_changed"))
    assert kinds(service, HOURS_ONLY) == ["account_changed"]  # none for the credentials
    assert listed(service, HOURS_ONLY)[0]["title"] == "Mot de passe modifié"
    assert kinds(service, ORG_ADMIN) == []
    [email] = [e for e in service.emails.all() if e.template == "password_changed"]
    assert email.recipient == "claire@of.example"
    assert email.subject == "Votre mot de passe Jalon a été modifié"
    assert "Bonjour Claire MARTIN," in email.body_text
    assert "réglages d'alertes" not in email.body_text  # no way to turn it off


def test_a_deactivated_user_is_told_by_email_and_the_user_managers_by_a_notification():
    service = known(notifications(), ORG_ADMIN, HOURS_ONLY)
    handled(service, account_changed("deactivated", active=False))
    assert kinds(service, ORG_ADMIN) == ["user_deactivated"]
    assert listed(service, ORG_ADMIN)[0]["title"] == "Utilisateur désactivé : Claire MARTIN"
    assert "user_deactivated" not in kinds(service, HOURS_ONLY)  # no right « utilisateurs »
    assert [e.template for e in emails_to(service, "claire@of.example")] == [
        "account_deactivated"]
    # Deactivated, they keep no address: no digest reaches them.
    assert service.db.repositories["alert_settings"].person("u1").email is None


def test_the_persons_copy_follows_the_account_but_not_an_older_change():
    service = known(notifications(), HOURS_ONLY)
    handled(service, account_changed("email_changed", email="new@of.example",
                                     changed_at=CERTIFIED_AT + timedelta(hours=1)))
    handled(service, account_changed("rights_changed", rights=["enter_hours", "payments"],
                                     changed_at=CERTIFIED_AT + timedelta(minutes=30)))
    person = service.db.repositories["alert_settings"].person("u1")
    assert person.email == "new@of.example" and person.rights == ["enter_hours"]
    assert listed(service, HOURS_ONLY)[0]["text"] == ("Vos droits dans Jalon ont été "
                                                      "modifiés.")


def test_an_organisation_notice_by_email_needs_the_right_it_is_about():
    service = known(notifications(), HOURS_ONLY)
    handlers.update_alert_settings(service.db, service.ports, HOURS_ONLY, AlertSettingsChange(
        settings=[{"kind": "organisation", "frequency": "immediate"}]))
    handled(service, account_changed("deactivated", user_id="u7", name="Paul ROUX",
                                     email="paul@of.example", active=False))
    assert [e.template for e in service.emails.all()] == ["account_deactivated"]


def test_the_credentials_and_the_first_login_s_choices_leave_no_notice_nor_email():
    service = known(notifications(), HOURS_ONLY)
    handled(service, account_changed("personalised", changed_by=None))
    assert kinds(service, HOURS_ONLY) == [] and service.emails.all() == []
    assert service.db.repositories["alert_settings"].person("u1").email == "claire@of.example"


def test_credentials_sent_by_an_administrator_are_told_to_those_who_manage_the_accounts():
    service = known(notifications(), ORG_ADMIN, HOURS_ONLY, AGENT)
    handled(service, account_changed("credentials_sent", user_id="u7", name="Paul ROUX",
                                     email="paul@of.example"))
    [notice] = listed(service, ORG_ADMIN)
    assert (notice["kind"], notice["title"]) == ("credentials_sent",
                                                  "Identifiants envoyés : Paul ROUX")
    assert notice["object"]["link"] == "/users/u7"
    assert kinds(service, HOURS_ONLY) == [] and kinds(service, AGENT) == []
    # A funder user's credentials: the funder's staff; a beneficiary's: nobody (one per dossier).
    handled(service, account_changed("credentials_sent", user_id="a2", role="funder_agent",
                                     organisation_id=None, rights=[], name="Luc PETIT"))
    assert kinds(service, AGENT) == ["credentials_sent"]
    handled(service, account_changed("credentials_sent", user_id="b7", role="beneficiary",
                                     organisation_id=None, party_id="b7", rights=[]))
    assert kinds(service, AGENT) == ["credentials_sent"] and len(listed(service, ORG_ADMIN)) == 1
