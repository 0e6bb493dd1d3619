"""notifications' pure rules and templates: who is emailed, wording, retries, secrets, access."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from contracts.common import Actor
from contracts.events import CertifiedV1, MonthHours, Party
from contracts.common.errors import Forbidden, InvalidInput
from services.notifications import domain
from services.notifications.delivery import Templates, to_message

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)


def event_data(with_employer: bool) -> CertifiedV1:
    employer = Party(id="e1", name="ACME", email="rh@acme.example") if with_employer else None
    return CertifiedV1(
        certificate_id="c1", dossier_id="d1", dossier_number="20X000703", funder_id="f1",
        organisation_id="o1", organisation_name="Formations Exemple",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="michelle@example.org"),
        employer=employer, training_title="Développeur web", session_start=date(2026, 1, 5),
        session_end=date(2026, 12, 18), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"), absence=Decimal("0")),
        method=2, certified_by="u1", certified_at=NOW)


def test_certified_emails_the_beneficiary_and_the_employer():
    planned = domain.certified_emails(event_data(with_employer=True))
    assert [(p.recipient, p.template) for p in planned] == [
        ("michelle@example.org", "certified_beneficiary"), ("rh@acme.example", "certified_employer")]


def test_certified_without_employer_emails_the_beneficiary_only():
    planned = domain.certified_emails(event_data(with_employer=False))
    assert [p.recipient for p in planned] == ["michelle@example.org"]


@pytest.mark.parametrize("template", ["certified_beneficiary", "certified_employer"])
def test_certified_templates_say_what_was_certified(template):
    context = domain.certified_context(event_data(with_employer=True))
    rendered = Templates().render(template, context)
    assert rendered.subject == "Certificat de réalisation de septembre 2026 – dossier 20X000703"
    assert "Formations Exemple a certifié le 02/10/2026 à 16:05" in rendered.body_text
    assert "heures de présence en formation : 147,00\u00a0h" in rendered.body_text
    assert "DUBOIS Michelle" in rendered.body_text


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


def new_email(template: str = "certified_beneficiary") -> domain.Email:
    planned = domain.Planned("m@example.org", template, {})
    return domain.new_email("id1", planned, domain.Rendered("Sujet", "Corps\n"), NOW)


def test_failed_attempts_back_off_then_give_up():
    email = new_email()
    waits = []
    for _ in domain.RETRY_DELAYS:
        email.mark_failed_attempt("ConnectionRefusedError", NOW)
        assert email.status == domain.PENDING
        waits.append(email.next_attempt_at - NOW)
    assert waits == list(domain.RETRY_DELAYS) and waits == sorted(waits)
    email.mark_failed_attempt("ConnectionRefusedError", NOW)
    assert (email.status, email.attempts) == (domain.FAILED, len(domain.RETRY_DELAYS) + 1)
    assert email.last_error == "ConnectionRefusedError"


def test_sent_email_keeps_its_body_unless_it_carried_a_secret():
    ordinary, secret = new_email(), new_email("account_credentials")
    for email in (ordinary, secret):
        email.mark_sent(NOW + timedelta(seconds=1))
        assert (email.status, email.attempts) == (domain.SENT, 1)
    assert ordinary.body_text == "Corps\n"
    assert secret.body_text == domain.ERASED


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


LEASE = timedelta(minutes=2)


def test_a_claimed_email_is_not_due_while_its_lease_runs():
    email = new_email()
    assert email.is_due(NOW)
    assert email.claim(NOW, LEASE)
    assert (email.status, email.claimed_until) == (domain.SENDING, NOW + LEASE)
    assert not email.is_due(NOW + LEASE - timedelta(seconds=1))
    with pytest.raises(domain.EmailNotDue):
        email.claim(NOW + timedelta(seconds=1), LEASE)


def test_an_email_not_yet_due_cannot_be_claimed():
    email = new_email()
    email.mark_failed_attempt("SMTPServerDisconnected", NOW)
    assert not email.is_due(NOW + domain.RETRY_DELAYS[0] - timedelta(seconds=1))
    with pytest.raises(domain.EmailNotDue):
        email.claim(NOW, LEASE)
    assert email.claim(NOW + domain.RETRY_DELAYS[0], LEASE)


def test_an_expired_claim_is_claimed_again_and_its_lost_attempt_counts():
    """Its sender died mid-send: the next sender sends it once more."""
    email = new_email()
    email.claim(NOW, LEASE)
    later = NOW + LEASE
    assert email.is_due(later)
    assert email.claim(later, LEASE)
    assert (email.status, email.claimed_until) == (domain.SENDING, later + LEASE)
    assert (email.attempts, email.last_error) == (1, "claim_expired")
    assert not email.holds_claim(NOW + LEASE)  # the first sender's claim is over
    assert email.holds_claim(later + LEASE)


def test_claims_that_keep_expiring_use_up_the_retry_budget():
    email, now = new_email(), NOW
    email.claim(now, LEASE)
    for _ in domain.RETRY_DELAYS:
        now += LEASE
        assert email.claim(now, LEASE)
    now += LEASE
    assert not email.claim(now, LEASE)
    assert (email.status, email.claimed_until) == (domain.FAILED, None)
    assert email.attempts == len(domain.RETRY_DELAYS) + 1
    assert not email.is_due(now + timedelta(days=1))


def test_a_claim_ends_with_its_outcome():
    sent, failed = new_email(), new_email()
    for email in (sent, failed):
        email.claim(NOW, LEASE)
    sent.mark_sent(NOW)
    failed.mark_failed_attempt("SMTPServerDisconnected", NOW)
    assert (sent.status, sent.claimed_until) == (domain.SENT, None)
    assert (failed.status, failed.claimed_until) == (domain.PENDING, None)
    assert failed.next_attempt_at == NOW + domain.RETRY_DELAYS[0]
    for email in (sent, failed):
        assert not email.holds_claim(NOW + LEASE)
        assert not email.is_due(NOW + timedelta(seconds=30))


@pytest.mark.parametrize("role, allowed", [
    ("funder_agent", True), ("funder_admin", True), ("organisation_user", False),
    ("beneficiary", False), ("employer", False)])
def test_only_funder_staff_read_the_email_log(role, allowed):
    actor = Actor(user_id="u", role=role, funder_id="f1")
    if allowed:
        domain.check_can_list(actor)
    else:
        with pytest.raises(Forbidden):
            domain.check_can_list(actor)


def test_subject_is_one_line():
    assert domain.one_line("  Certificat\n de   réalisation ") == "Certificat de réalisation"
