"""Organisations: SIRET, profile, the documents of the profile and the certification method
they lead to, and who sees an organisation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

from contracts.common import Actor, Role
from contracts.common.errors import InvalidInput, NotFound
from contracts.common.formatting import list_fr


def normalise_siret(raw: str) -> str:
    """14 digits with a valid check digit; spaces (as printed: 123 456 789 00012) are allowed."""
    try:
        return stdnum_siret.validate(raw)
    except StdnumError:
        raise InvalidInput("invalid_siret",
                           "Le numéro SIRET est invalide : il doit comporter 14 chiffres "
                           "et une clé de contrôle correcte.",
                           {"siret": raw}) from None


UAI_KEY_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"   # 23 letters: no I, O nor Q


def normalise_uai(raw: str) -> str:
    """UAI (code établissement): 7 digits and a check letter, the remainder of the
    7-digit number divided by 23 read in the 23-letter alphabet (0750655E)."""
    uai = raw.replace(" ", "").upper()
    digits, key = uai[:7], uai[7:]
    if not (len(uai) == 8 and digits.isdigit() and key == UAI_KEY_LETTERS[int(digits) % 23]):
        raise InvalidInput("invalid_uai",
                           "Le numéro UAI est invalide : il doit comporter 7 chiffres suivis "
                           "d'une lettre clé correcte.", {"uai": raw})
    return uai


PROFILE_FIELDS = ("name", "email", "address", "postcode", "town", "phone", "mobile", "fax",
                  "declaration_number", "website", "legal_representative", "uai")


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
                      "website", "uai"):
            setattr(self, field, profile.get(field))
        self.certifier_requested = bool(profile.get("certifier_requested", False))
        # Since when method 2 is in force (printed on its certificates); None under method 1.
        self.certifier_since: datetime | None = profile.get("certifier_since")

    def follow_method(self, method: int, at: datetime) -> None:
        """Method 2 dates from the change that completed it, until a change undoes it."""
        if method != 2:
            self.certifier_since = None
        elif self.certifier_since is None:
            self.certifier_since = at

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
            if field == "uai" and value is not None:
                value = normalise_uai(value)
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
        """A new document, or new content for this one (a rejected logo replaced), replaces
        the previous one: back to "en attente de contrôle". Events come through separate
        queues: a deposit older than the review already applied keeps the review."""
        if document_id == self.document_id and (self.reviewed_at is None
                                                 or at <= self.reviewed_at):
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


# What « Votre identité » must hold, in its order (seeds 001 and 002): the legal
# representative's name and the logo before any online entry of hours (and method 1); for the
# 100 % dematerialised certification (method 2) also the stamp, the certifier declaration, and
# the KBIS extract and the consent letter checked by the funder. (code, label, needed_for)
HOURS_ENTRY, ELECTRONIC = "hours_entry", "electronic_certification"
PIECES = (
    ("legal_representative_missing", "le nom du représentant légal", HOURS_ENTRY),
    ("logo_missing", "le logo de l'organisme", HOURS_ENTRY),
    ("stamp_missing", "le cachet de l'organisme", ELECTRONIC),
    ("certifier_not_requested", "la déclaration « Je suis certificateur »", ELECTRONIC),
    ("kbis_not_checked", "l'extrait KBIS contrôlé par votre financeur", ELECTRONIC),
    ("consent_letter_not_checked", "la lettre de consentement contrôlée par votre financeur",
     ELECTRONIC),
)


@dataclass(frozen=True)
class Readiness:
    """The certification method in force, why, and what still lacks (PIECES' rows)."""

    method: int
    reason: str
    missing: tuple[tuple[str, str, str], ...]


def readiness(legal_representative: str | None, logo_status: str, stamp_status: str,
              certifier_requested: bool, kbis_status: str, consent_status: str) -> Readiness:
    """Method 2 (fully electronic) only once every piece is there; otherwise method 1, and
    the pieces each way of working still waits for. A logo or stamp counts once deposited
    (not rejected); the KBIS and the consent letter once the funder checked them."""
    held = {"legal_representative_missing": bool((legal_representative or "").strip()),
            "logo_missing": _deposited(logo_status), "stamp_missing": _deposited(stamp_status),
            "certifier_not_requested": certifier_requested,
            "kbis_not_checked": kbis_status == "checked",
            "consent_letter_not_checked": consent_status == "checked"}
    missing = tuple(piece for piece in PIECES if not held[piece[0]])
    if not missing:
        return Readiness(2, "Méthode 2 : l'organisme est certificateur, son extrait KBIS et sa "
                            "lettre de consentement ont été contrôlés ; les certificats sont "
                            "entièrement électroniques.", ())
    if not certifier_requested:
        reason = ("Méthode 1 : l'organisme n'a pas demandé à être certificateur ; les "
                  "certificats de réalisation sont signés puis déposés.")
    else:
        reason = ("Méthode 1 : pour la certification 100 % dématérialisée, il manque encore "
                  + list_fr([label for _code, label, _needed in missing]) + ".")
    return Readiness(1, reason, missing)


def _deposited(status: str) -> bool:
    return status not in ("missing", "rejected")


def can_see_organisation(actor: Actor, organisation: Organisation) -> bool:
    """Funder staff see their funder's organisations; an organisation's users see their own."""
    if organisation.funder_id != actor.funder_id:
        return False
    if actor.is_funder_staff:
        return True
    return actor.role == Role.organisation_user and actor.organisation_id == organisation.id


def organisation_not_found() -> NotFound:
    return NotFound("organisation_not_found", "Organisme de formation introuvable.")
