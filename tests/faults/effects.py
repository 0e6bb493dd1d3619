"""What a burst really did, read back from the outside: each month's certificate status, its
payment lock and final PDF (through the gateway) and its two emails (from the SMTP server)."""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from email.header import decode_header, make_header

from babel.dates import format_date

from tests.faults.burst import HOURS, Month

SUBJECT_PREFIX = "Certificat de réalisation "


@dataclass(frozen=True)
class Dossier:
    id: str
    number: str
    beneficiary_email: str
    employer_email: str


def month_label(month: str) -> str:
    return format_date(date.fromisoformat(f"{month}-01"), "MMMM yyyy", locale="fr_FR").lower()


def certification_emails(smtp) -> dict[tuple[str, str], list[str]]:
    """(recipient, month label) -> the Message-ID of every delivery of a certification email."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for message in smtp.emails():
        subject = str(make_header(decode_header(message["Subject"])))
        if subject.startswith(SUBJECT_PREFIX):
            of_month = subject.removeprefix(SUBJECT_PREFIX).split(" – ")[0].lower()
            if not of_month.startswith(("de ", "d'")):  # the funder's « certifié – … »
                continue
            label = of_month.removeprefix("de ").removeprefix("d'")  # « d'octobre 2026 »
            found[(message["To"], label)].append(message["Message-ID"])
    return found


@dataclass
class MonthState:
    certified: bool = False
    locked: bool = False
    lock_hours: str | None = None
    pdfs: int = 0
    emails: dict[str, list[str]] = field(default_factory=dict)  # role -> Message-IDs

    def effects_done(self) -> bool:
        return (self.locked and self.pdfs >= 1
                and all(len(ids) >= 1 for ids in self.emails.values()))

    def any_effect(self) -> bool:
        return self.locked or self.pdfs > 0 or any(self.emails.values())


class Observer:
    """Reads the effects of `months` of `dossiers` through the gateway (as the organisation)."""

    def __init__(self, client, smtp, dossiers: list[Dossier], months: list[Month]):
        self.client, self.smtp, self.months = client, smtp, months
        self.dossiers = {dossier.id: dossier for dossier in dossiers}
        self.errors: list[str] = []
        self.deadline = float("inf")  # a broken stack must not hold a snapshot for hours

    def _get(self, path: str):
        if time.monotonic() > self.deadline:
            self.errors.append(f"GET {path}: not asked, time is up")
            return None
        try:
            response = self.client.get(path, timeout=10)
        except OSError as exc:  # the gateway is down or restarting: ask again later
            self.errors.append(f"GET {path}: {exc.__class__.__name__}")
            return None
        if response.status_code != 200:
            self.errors.append(f"GET {path} -> {response.status_code}")
            return None
        return response.json()

    def snapshot(self, known: dict[tuple[str, str], MonthState] | None = None
                 ) -> dict[tuple[str, str], MonthState]:
        """Every month's state; locks already seen in `known` are not asked again."""
        emails = certification_emails(self.smtp)
        states = {}
        for dossier in self.dossiers.values():
            certificates = self._get(f"/dossiers/{dossier.id}/certificates") or []
            status = {c["month"]: c["status"] for c in certificates}
            documents = self._get(f"/dossiers/{dossier.id}/documents") or []
            pdfs = defaultdict(int)
            for document in documents:
                if document["category"] == "completion_certificate":
                    pdfs[document["month"]] += 1
            for item in (m for m in self.months if m.dossier_id == dossier.id):
                label = month_label(item.month)
                state = MonthState(
                    certified=status.get(item.month) == "certified", pdfs=pdfs[item.month],
                    emails={"beneficiary": emails.get((dossier.beneficiary_email, label), []),
                            "employer": emails.get((dossier.employer_email, label), [])})
                previous = (known or {}).get((dossier.id, item.month))
                if previous and previous.locked:
                    state.locked, state.lock_hours = True, previous.lock_hours
                elif state.certified or known is None:
                    self._read_lock(dossier.id, item.month, state)
                states[(dossier.id, item.month)] = state
        return states

    def _read_lock(self, dossier_id: str, month: str, state: MonthState) -> None:
        lock = self._get(f"/dossiers/{dossier_id}/certificates/{month}/payment-lock")
        if lock and lock.get("locked"):
            state.locked, state.lock_hours = True, lock.get("training_hours")

    def settle(self, timeout: float, quiet: float) -> tuple[dict, float]:
        """Polls until every certified month has all its effects, then for `quiet` seconds
        more (a repeat send would come once an email's lease has run out); the last
        snapshot and the seconds it took. Bounded by `timeout`."""
        started = time.monotonic()
        self.deadline = started + timeout
        states = self.snapshot()
        while time.monotonic() - started < timeout:
            if all(s.effects_done() for s in states.values() if s.certified):
                break
            time.sleep(2)
            states = self.snapshot(states)
        settled = time.monotonic() - started
        time.sleep(quiet)
        self.errors.clear()
        self.deadline = time.monotonic() + timeout
        return self.snapshot(), settled


def expected_hours() -> float:
    return float(HOURS["training_hours"])
