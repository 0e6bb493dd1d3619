"""An email change on plain objects (issue 11): held until its link is followed, two
single-use links, and the emails that carry them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.identity import domain
from services.identity.adapters import AfterReply
from services.notifications.adapters import Templates

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=timezone.utc)


def account() -> domain.UserAccount:
    return domain.UserAccount(id="u1", funder_id="f1", role="organisation_user",
                              identifier="marie", name="Marie", email="marie@example.org",
                              password_hash="x", created_at=NOW)


def test_the_new_address_waits_for_its_link_and_only_hashes_are_kept():
    user = account()
    change = domain.start_email_change(user, "md@example.org", NOW, timedelta(hours=48),
                                       session_id="s1", taken=False)
    assert (user.email, user.pending_email) == ("marie@example.org", "md@example.org")
    confirm, cancel = change.links
    assert (confirm.purpose, cancel.purpose) == (domain.EMAIL_CHANGE, domain.EMAIL_CHANGE_CANCEL)
    assert confirm.session_id == "s1" and cancel.session_id is None
    assert confirm.token_hash == domain.hash_token(change.confirm_token)
    assert change.confirm_token not in vars(confirm).values()
    assert domain.start_email_change(user, "MARIE@example.org", NOW, timedelta(hours=1),
                                     "s1", False) is None  # the same address, whatever the case


def test_a_taken_address_gets_no_link_nor_the_requesters_name():
    rendered = Templates().render("email_change", {"name": "Paul", "taken": True, "link": None,
                                                   "valid_hours": 48})
    assert rendered.subject == "Adresse e-mail déjà utilisée"
    assert "Paul" not in rendered.body_text and "http" not in rendered.body_text
    free = Templates().render("email_change", {"name": "Paul", "taken": False,
                                               "link": "http://h/auth/confirm-email?token=t",
                                               "valid_hours": 48})
    assert "http://h/auth/confirm-email?token=t" in free.body_text
    notice = Templates().render("email_change_notice", {
        "name": "Paul", "new_email": "p@x.org", "valid_hours": 48,
        "link": "http://h/auth/cancel-email-change?token=c"})
    assert "p@x.org" in notice.body_text and "cancel-email-change?token=c" in notice.body_text


def test_work_after_the_reply_runs_at_the_workers_teardown():
    after_reply, done = AfterReply(), []
    after_reply.setup()
    worker = object()
    after_reply.get_dependency(worker)(done.append, "email")
    assert done == []
    after_reply.worker_teardown(worker)
    after_reply.worker_teardown(worker)  # once only
    assert done == ["email"]
