"""Where an email's link leads in the space: one address per kind of object.

The space is the API until a funder puts a web front in front of it: JALON_SPACE_URL (default
JALON_PUBLIC_URL, the gateway itself) is the base, and each kind's path is the API route that
shows the object, so a front only has to answer the same paths. The gateway's root page (GET /)
lists them.
"""
from __future__ import annotations

from urllib.parse import quote

SPACE_LINKS: dict[str, tuple[str, str]] = {
    # kind: (path under the space's address, what it opens, in French)
    "dossier_month": ("/dossiers/{dossier_id}/certificates/{month}",
                      "le certificat de réalisation d'un mois d'un dossier (heures, "
                      "validation, contestation)"),
    "dossier_documents": ("/dossiers/{dossier_id}/documents/by-category",
                          "les documents d'un dossier, par catégorie"),
    "document": ("/documents/{document_id}", "un document déposé et son contrôle"),
    "payment": ("/payments/{payment_id}", "un règlement et son avis de virement"),
    "bank_details": ("/organisations/{organisation_id}/bank-details",
                     "les coordonnées bancaires d'un organisme"),
    "organisation_users": ("/organisations/{organisation_id}/users",
                           "les utilisateurs d'un organisme"),
    "organisation_profile": ("/organisations/{organisation_id}/profile",
                             "« Votre identité » d'un organisme : statut de certificateur, "
                             "pièces"),
    "user": ("/users/{user_id}", "un utilisateur : droits, statut, sessions ouvertes"),
    "account": ("/me", "votre compte"),
    "alert_settings": ("/me/alert-settings", "vos réglages d'alertes par e-mail"),
    "sign_in": ("/", "la page d'accueil de Jalon, pour vous connecter"),
}


def space_path(kind: str, **ids: object) -> str:
    """space_path("document", document_id="d1") -> "/documents/d1" (ids quoted)."""
    path, _ = SPACE_LINKS[kind]
    return path.format(**{name: quote(str(value), safe="") for name, value in ids.items()})


def space_link(space_url: str, kind: str, **ids: object) -> str:
    """space_link("https://x", "document", document_id="d1") -> "https://x/documents/d1"."""
    return space_url.rstrip("/") + space_path(kind, **ids)
