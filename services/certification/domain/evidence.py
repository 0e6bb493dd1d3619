"""Method 1: the signed certificate the organisation deposited.

Where each check on the signed certificate runs: documents, which holds the bytes, refuses at
upload a PDF with neither digital signature nor scanned page, so the draft as rendered (text,
no signature) or a copy of it never becomes a deposit (services/documents/domain/signed.py).
Certification, which knows when the month's hours last changed, refuses here a deposit older
than that change: it signs other hours. Drafts are not stored: a draft's sha256 cannot be
deposited, so no list of them is kept."""
from __future__ import annotations

import hashlib
from datetime import datetime

from contracts.common.errors import Conflict
from contracts.common.formatting import datetime_fr


def signed_certificate_sha256(documents: list[dict], month: str,
                              hours_changed_at: datetime | None = None) -> str:
    """The latest signed certificate PDF deposited for the month (method 1 requires it),
    deposited after the month's hours last changed (an older one signs other hours; None:
    no month awaiting certification, certify refuses that)."""
    candidates = [d for d in documents
                  if d.get("category") == "signed_certificate" and d.get("status") != "rejected"
                  and d.get("content_type") == "application/pdf" and _covers(d, month)]
    if not candidates:
        raise Conflict("signed_certificate_required",
                       "Joignez le certificat de réalisation signé (PDF) du mois avant de "
                       "certifier.", {"month": month})
    latest = max(candidates, key=lambda d: d["created_at"])
    deposited_at = datetime.fromisoformat(latest["created_at"])
    if hours_changed_at is not None and deposited_at <= hours_changed_at:
        raise Conflict("signed_certificate_outdated",
                       f"Le certificat signé déposé le {datetime_fr(deposited_at)} est antérieur "
                       f"à la dernière modification des heures du mois "
                       f"({datetime_fr(hours_changed_at)}) : imprimez le certificat à jour, "
                       f"signez-le et déposez-le.",
                       {"month": month, "deposited_at": deposited_at.isoformat(),
                        "hours_changed_at": hours_changed_at.isoformat()})
    return latest["sha256"]


def hours_reference(hours, days) -> str:
    """Six characters that name the hours' version (totals and days): printed on the draft
    and shown beside the hours, so that a controller matches a scan to its hours."""
    lines = [f"{hours.training:.2f}/{hours.internship:.2f}/{hours.absence:.2f}"] + [
        f"{d.day.isoformat()} {d.period} {d.training:.2f}/{d.internship:.2f}/{d.absence:.2f}"
        for d in days]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:6].upper()


def _covers(document: dict, month: str) -> bool:
    if document.get("month"):
        return document["month"] == month
    start = document.get("period_start")
    return bool(start) and start[:7] <= month <= (document.get("period_end") or start)[:7]
