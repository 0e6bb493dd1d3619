"""integration's rules: what of an internal event a funder's systems may read, and replays
(webhooks' rules are in domain/webhooks.py).

Each translation names the public fields one by one from the internal payload: a field the
internal event gains later (an email, a name, an IP) never reaches the public stream by itself.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

# uuid5 namespace of the public events' ids (a fixed, random uuid: never change it).
PUBLIC_IDS = uuid.UUID("0f1b7a52-5c3e-4d1e-9a38-17a1ee000001")

PENDING, RUNNING, DONE = "pending", "running", "done"


def public_event_id(internal_event_id: str, public_key: str) -> str:
    """The same internal event gives the same public event: a redelivery adds none."""
    return str(uuid.uuid5(PUBLIC_IDS, f"{internal_event_id}/{public_key}"))


@dataclass(frozen=True)
class Translation:
    """A public payload's fields, with the funder it belongs to and what it is about."""

    funder_id: str
    subject: str
    fields: dict


def _dossier(data) -> dict:
    return {"dossier_id": data.dossier_id, "dossier_number": data.dossier_number,
            "organisation_id": data.organisation_id}


def _month(data) -> dict:
    return {**_dossier(data), "certificate_id": data.certificate_id, "month": data.month}


def _of_month(data, fields: dict) -> Translation:
    return Translation(data.funder_id, f"{data.dossier_id}/{data.month}", fields)


def month_certified(data) -> Translation:
    hours = data.hours
    return _of_month(data, {
        **_month(data), "method": data.method, "certified_at": data.certified_at,
        "hours": {"training": hours.training, "internship": hours.internship,
                  "absence": hours.absence},
        "hours_reference": data.hours_reference})


def hours_validated(data) -> Translation:
    return _of_month(data, {**_month(data), "party": data.party, "complete": data.complete,
                            "validated_at": data.validated_at})


def hours_contested(data) -> Translation:
    return _of_month(data, {**_month(data), "party": data.party,
                            "contested_at": data.contested_at})


def month_reopened(data) -> Translation:
    """certification's reopening may not know the dossier's number (an optional field)."""
    return _of_month(data, {**_month(data), "dossier_number": data.dossier_number or "",
                            "reopened_at": data.reopened_at})


def payment_issued(data) -> Translation:
    return Translation(data.funder_id, data.payment_id, {
        "payment_id": data.payment_id, "payment_number": data.payment_number,
        "organisation_id": data.organisation_id, "advance": data.advance,
        "dossiers": [{"dossier_id": d.dossier_id, "months": list(d.months)}
                     for d in data.dossiers],
        "issued_at": data.issued_at})


def _document(data, status: str, reviewed_at: datetime, reason_code: str | None) -> Translation:
    return Translation(data.funder_id, data.document_id, {
        "document_id": data.document_id, "category": data.category,
        "organisation_id": data.organisation_id, "dossier_number": data.dossier_number,
        "status": status, "reason_code": reason_code, "reviewed_at": reviewed_at})


def document_checked(data) -> Translation:
    return _document(data, "checked", data.checked_at, None)


def document_rejected(data) -> Translation:
    """The code of the reason, never the text funder staff wrote."""
    return _document(data, "rejected", data.rejected_at, data.reason_code)


# ---- replays ---------------------------------------------------------------------------------

@dataclass
class Replay:
    """A funder's request to receive its public events again: those at positions in
    (`start_position`, `end_position`], sent in order; `sent_position` is the last one sent."""

    id: str
    funder_id: str
    since: datetime | None
    after_event_id: str | None
    start_position: int
    end_position: int
    sent_position: int
    total: int
    sent: int
    status: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None = None
    webhook_id: str | None = None
    """A replay to this webhook (its deliveries), not to the funder's replay queue."""

    @classmethod
    def start(cls, replay_id: str, funder_id: str, since: datetime | None,
              after_event_id: str | None, start_position: int, end_position: int, total: int,
              by: str, now: datetime, webhook_id: str | None = None) -> "Replay":
        replay = cls(replay_id, funder_id, since, after_event_id, start_position, end_position,
                     start_position, total, 0, PENDING, by, now, webhook_id=webhook_id)
        if total == 0:
            replay.finish(now)
        return replay

    def advance(self, last_position: int | None, count: int, now: datetime) -> None:
        """A batch of `count` events up to `last_position` was sent (None, 0: nothing left)."""
        self.status = RUNNING
        if last_position is not None:
            self.sent_position = last_position
            self.sent += count
        if last_position is None or last_position >= self.end_position \
                or self.sent >= self.total:
            self.finish(now)

    def finish(self, now: datetime) -> None:
        self.status, self.finished_at = DONE, now
