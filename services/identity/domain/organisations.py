"""Organisations: SIRET, profile, the documents of the profile and the certification method
they lead to, and who sees an organisation."""
from __future__ import annotations

from datetime import datetime

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

from contracts.common import Actor, Role
from contracts.common.errors import InvalidInput, NotFound


def normalise_siret(raw: str) -> str:
    """14 digits with a valid check digit; spaces (as printed: 123 456 789 00012) are allowed."""
    try:
        return stdnum_siret.validate(raw)
    except StdnumError:
        raise InvalidInput("invalid_siret",
                           "Le numéro SIRET est invalide : il doit comporter 14 chiffres "
                           "et une clé de contrôle correcte.",
                           {"siret": raw}) from None


PROFILE_FIELDS = ("name", "email", "address", "postcode", "town", "phone", "mobile", "fax",
                  "declaration_number", "website", "legal_representative")


class Organisation:
    def __init__(self, id: str, funder_id: str, name: str, siret: str, email: str,
                 legal_representative: str | None, address: str | None, created_at: datetime,
                 **profile):
        self.id = id
        self.funder_id = funder_id
        self.name = name
        self.siret = siret
        self.email = email
        self.legal_representative = legal_representative
        self.address = address
        self.created_at = created_at
        for field in ("postcode", "town", "phone", "mobile", "fax", "declaration_number",
                      "website"):
            setattr(self, field, profile.get(field))
        self.certifier_requested = bool(profile.get("certifier_requested", False))

    def update_profile(self, changes: dict) -> list[str]:
        """Apply the given fields ("" clears an optional one); return the names that changed.
        The SIRET is not among them: it never changes."""
        if changes.get("siret") is not None:
            raise InvalidInput("siret_read_only", "Le numéro SIRET ne peut pas être modifié.")
        changed = []
        for field in PROFILE_FIELDS:
            if field not in changes or changes[field] is None:
                continue
            value = str(changes[field]).strip() or None
            if value is None and field in ("name", "email"):
                raise InvalidInput("required_field", "Ce champ est obligatoire.",
                                   {"field": field})
            if getattr(self, field) != value:
                setattr(self, field, value)
                changed.append(field)
        return changed


PROFILE_CATEGORIES = ("kbis", "consent_letter", "logo", "stamp")


class OrganisationDocument:
    """The latest document of one category (kbis, consent_letter, logo, stamp) of an
    organisation, as the documents service's events told it."""

    def __init__(self, organisation_id: str, category: str, document_id: str, status: str,
                 updated_at: datetime, reason: str | None = None,
                 reviewed_at: datetime | None = None):
        self.organisation_id = organisation_id
        self.category = category
        self.document_id = document_id
        self.status = status
        self.reason = reason
        self.reviewed_at = reviewed_at
        self.updated_at = updated_at

    def uploaded(self, document_id: str, at: datetime) -> bool:
        """A new document replaces the previous one: back to "en attente de contrôle".
        Events come through separate queues: if its review came first, keep the review."""
        if document_id == self.document_id:
            return False
        self.document_id, self.status, self.reason, self.reviewed_at = document_id, "pending", \
            None, None
        self.updated_at = at
        return True

    def reviewed(self, document_id: str, status: str, at: datetime,
                 reason: str | None = None) -> bool:
        """Apply a check or rejection. The review of another document counts only when it is
        newer than what we know (its upload event may still be on its way); an older one is
        the review of a document since replaced and changes nothing."""
        if document_id != self.document_id and at <= self.updated_at:
            return False
        self.document_id = document_id
        self.status, self.reason, self.reviewed_at, self.updated_at = status, reason, at, at
        return True

    @property
    def status_label(self) -> str:
        return document_status_label(self.status, self.reviewed_at, self.reason)


def document_status_label(status: str, reviewed_at: datetime | None, reason: str | None) -> str:
    if status == "pending":
        return "En attente de contrôle"
    if status == "checked" and reviewed_at is not None:
        return f"Contrôlé le {reviewed_at.strftime('%d/%m/%Y')}"
    if status == "rejected":
        return f"Non conforme : {reason}" if reason else "Non conforme"
    return "Non déposé"


def certification_method(requested: bool, kbis_status: str, consent_status: str
                         ) -> tuple[int, str]:
    """Method 2 (fully electronic) only when the organisation asked to be a certifier AND
    the funder checked both its KBIS extract and its consent letter; otherwise method 1."""
    if not requested:
        return 1, ("Méthode 1 : l'organisme n'a pas demandé à être certificateur ; les "
                   "certificats de réalisation sont signés puis déposés.")
    missing = [label for label, status in (("l'extrait KBIS", kbis_status),
                                           ("la lettre de consentement", consent_status))
               if status != "checked"]
    if missing:
        return 1, ("Méthode 1 : en attente du contrôle par le financeur de "
                   + " et de ".join(missing) + ".")
    return 2, ("Méthode 2 : l'organisme est certificateur, son extrait KBIS et sa lettre de "
               "consentement ont été contrôlés ; les certificats sont entièrement "
               "électroniques.")


def can_see_organisation(actor: Actor, organisation: Organisation) -> bool:
    """Funder staff see their funder's organisations; an organisation's users see their own."""
    if organisation.funder_id != actor.funder_id:
        return False
    if actor.is_funder_staff:
        return True
    return actor.role == Role.organisation_user and actor.organisation_id == organisation.id


def organisation_not_found() -> NotFound:
    return NotFound("organisation_not_found", "Organisme de formation introuvable.")
