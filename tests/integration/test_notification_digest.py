"""The daily digest on PostgreSQL (issue 16): two replicas (two engines) run it at the same
moment; the (person, day) row each claims keeps every digest to one email."""
from __future__ import annotations

from servicekit import migrate
from tests.support.digests import digest_emails, replica, run_concurrently, seed


def test_two_replicas_at_once_send_each_digest_once(postgres):
    url = postgres.create("notifications_digest")
    migrate.upgrade("notifications", url)
    first, second = replica(url), replica(url)
    seed(first, persons=4)
    results = run_concurrently(first, second)
    assert sum(result["queued"] for result in results) == 4
    assert [recipient for recipient, _ in digest_emails(first)] == [
        f"personne{number}@example.org" for number in range(4)]
    assert run_concurrently(first, second) == [{"day": "2026-10-02", "queued": 0}] * 2
