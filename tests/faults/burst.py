"""A burst of certifications through the gateway by concurrent clients that retry safely.

Each dossier-month is certified by method 1 (hours entered, the signed certificate deposited,
certify: no code email to wait for, yet every effect runs: two emails, the month lock, the final
PDF). Every state-changing request carries its own `Idempotency-Key`; on a 5xx, a refused
connection or a timeout the client sends the SAME request with the SAME key again (honouring
Retry-After) until a 2xx or a definitive 4xx, within a bounded time. Every answer is recorded.
"""
from __future__ import annotations

import calendar
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tools.client import Client
from tools.demo import scanned_pdf

HOURS = {"training_hours": "140.00", "internship_hours": "0.00", "absence_hours": "7.00"}
RETRIED_STATUSES = {500, 502, 503, 504}
REQUEST_TIMEOUT = 20  # seconds per attempt
BUDGET = 120  # seconds per request, all attempts together


def burst_deadline(months: int) -> float:
    """When a burst gives up (monotonic seconds): a broken stack fails the run in minutes,
    not after every request has used its whole budget."""
    return time.monotonic() + 300 + months


@dataclass
class Answer:
    """What a client finally got for one request, and what it went through."""
    key: str
    status: int | None = None  # None: no definitive answer within the budget
    body: object = None
    attempts: list[str] = field(default_factory=list)  # "503", "timeout", "refused", ...

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Month:
    dossier_id: str
    month: str
    certify: Answer | None = None
    prepared: bool = False


class RetryingClient:
    """The one HTTP client, with an Idempotency-Key per logical request, retried until
    definitive."""

    def __init__(self, base_url: str, token: str, deadline: float = float("inf")):
        self.deadline = deadline
        self.client = Client(base_url, token, timeout=REQUEST_TIMEOUT)

    def send(self, method: str, path: str, key: str | None = None, **kwargs) -> Answer:
        answer = Answer(key or str(uuid.uuid4()))
        if time.monotonic() >= self.deadline:
            answer.attempts.append("burst_over")
            return answer
        deadline = min(time.monotonic() + BUDGET, self.deadline)
        while time.monotonic() < deadline:
            wait = 0.5
            try:
                response = self.client.request(method, path, **kwargs,
                                               headers={"Idempotency-Key": answer.key})
            except requests.Timeout:
                answer.attempts.append("timeout")
            except requests.ConnectionError:
                answer.attempts.append("refused")
            else:
                answer.attempts.append(str(response.status_code))
                if response.status_code not in RETRIED_STATUSES:
                    answer.status, answer.body = response.status_code, _body(response)
                    return answer
                wait = _retry_after(response, wait)
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        return answer


def _body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return min(10.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def certify_months(client: RetryingClient, months: list[Month], signed_pdf: bytes,
                   progress) -> None:
    """One dossier's months in order: enter, deposit, certify; `progress()` after each."""
    for item in months:
        path = f"/dossiers/{item.dossier_id}/certificates/{item.month}"
        year, number = (int(part) for part in item.month.split("-"))
        first, last = f"{item.month}-01", f"{item.month}-{calendar.monthrange(year, number)[1]}"
        entered = client.send("PUT", path + "/hours", json=HOURS)
        deposited = client.send("POST", "/documents", data={
            "category": "signed_certificate", "dossier_id": item.dossier_id,
            "period_start": first, "period_end": last},
            files={"file": ("signe.pdf", signed_pdf, "application/pdf")})
        item.prepared = entered.ok and deposited.ok
        item.certify = client.send("POST", path + "/certify", json={"attest": True})
        progress()


@dataclass
class Burst:
    """Runs `months` (grouped by dossier, one client per dossier at a time) with `clients`
    threads; `on_progress(done, total)` is called after every certification."""
    base_url: str
    token: str
    clients: int = 10
    answered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, months: list[Month], on_progress) -> float:
        by_dossier: dict[str, list[Month]] = {}
        for item in months:
            by_dossier.setdefault(item.dossier_id, []).append(item)
        signed_pdf = scanned_pdf()
        total = len(months)

        def progress() -> None:
            with self._lock:
                self.answered += 1
                done = self.answered
            on_progress(done, total)

        started = time.monotonic()
        with ThreadPoolExecutor(self.clients) as pool:
            deadline = burst_deadline(total)
            futures = [pool.submit(certify_months,
                                   RetryingClient(self.base_url, self.token, deadline),
                                   items, signed_pdf, progress)
                       for items in by_dossier.values()]
            for future in futures:
                future.result()
        return time.monotonic() - started

    def replay(self, months: list[Month]) -> list[str]:
        """Every successful certify sent again with its key: what differs from the first
        answer (a retry with the same key must get the same answer)."""
        client = RetryingClient(self.base_url, self.token, burst_deadline(len(months)))
        differences = []
        for item in months:
            if not (item.certify and item.certify.ok):
                continue
            path = f"/dossiers/{item.dossier_id}/certificates/{item.month}/certify"
            again = client.send("POST", path, key=item.certify.key, json={"attest": True})
            if (again.status, again.body) != (item.certify.status, item.certify.body):
                differences.append(f"{item.dossier_id} {item.month}: first {item.certify.status}"
                                   f", replay {again.status} {str(again.body)[:120]}")
        return differences
