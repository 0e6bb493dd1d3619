"""Method 1: the organisation's letterhead and the signed certificate it deposited."""
from __future__ import annotations

from contracts.common.errors import Conflict


def check_letterhead(legal_representative: str | None, logo_status: str,
                     stamp_status: str) -> list[dict]:
    """Refuse when the legal representative's name or the logo is missing (the certificate
    prints them); a missing stamp only warns."""
    missing = [label for label, ok in (
        ("le nom du représentant légal", bool((legal_representative or "").strip())),
        ("le logo de l'organisme", logo_status not in ("missing", "rejected"))) if not ok]
    if missing:
        raise Conflict("identity_incomplete",
                       "Avant de certifier, complétez « Votre identité » : "
                       + " et ".join(missing) + ".", {"missing": missing})
    if stamp_status in ("missing", "rejected"):
        return [{"code": "stamp_missing",
                 "message": "Votre cachet n'est pas renseigné dans « Votre identité » : "
                            "la certification est valide, pensez à l'ajouter."}]
    return []


def signed_certificate_sha256(documents: list[dict], month: str) -> str:
    """The latest signed certificate PDF deposited for the month (method 1 requires it)."""
    candidates = [d for d in documents
                  if d.get("category") == "signed_certificate" and d.get("status") != "rejected"
                  and d.get("content_type") == "application/pdf" and _covers(d, month)]
    if not candidates:
        raise Conflict("signed_certificate_required",
                       "Joignez le certificat de réalisation signé (PDF) du mois avant de "
                       "certifier.", {"month": month})
    return max(candidates, key=lambda d: d["created_at"])["sha256"]


def _covers(document: dict, month: str) -> bool:
    if document.get("month"):
        return document["month"] == month
    start = document.get("period_start")
    return bool(start) and start[:7] <= month <= (document.get("period_end") or start)[:7]
