"""notifications' pure rules: retries, claims, erased secrets, direct emails, access."""
from datetime import datetime, timedelta, timezone

import pytest

from contracts.common import Actor
from contracts.common.errors import Forbidden, InvalidInput
from services.notifications import domain

NOW = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)
LEASE = timedelta(minutes=2)


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


@pytest.mark.parametrize("template", ["account_credentials", "identifier_change",
                                      "password_reset"])
def test_secret_templates_are_direct_only_and_erased_once_sent(template):
    assert template in domain.DIRECT_TEMPLATES
    assert domain.direct_email("m@example.org", template, {}).template == template


def test_emails_that_follow_events_cannot_be_asked_for_directly():
    with pytest.raises(InvalidInput) as refused:
        domain.direct_email("m@example.org", "certified_employer", {})
    assert refused.value.code == "unknown_template"


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
