"""The audit trail as people read it and as a controller trusts it (issue 15).

Each entry names who acted (their name and role, as known when it was written), the
organisation, the object (dossier number, month, document, payment) and what changed. Entries
are chained per funder: an entry holds its position, the previous entry's hash and its own, a
sha256 over a canonical JSON of its content and that previous hash. Changing, removing or
inserting a row breaks the chain at that row, and `verify` says where.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone

from contracts.common import Actor, Right, Role
from contracts.common.errors import Forbidden

GENESIS = "0" * 64  # the "previous hash" of a funder's first entry
NO_FUNDER = ""      # the chain of rows no funder owns (a login with an unknown identifier)

ROLE_LABELS = {
    Role.funder_admin.value: "administrateur du financeur",
    Role.funder_agent.value: "agent du financeur",
    Role.organisation_user.value: "utilisateur de l'organisme",
    Role.beneficiary.value: "bénéficiaire",
    Role.employer.value: "employeur",
}

# What each kind of entry is, in French, for the reader of the trail.
KIND_LABELS = {
    "hours_entered": "Saisie des heures",
    "hours_changed": "Modification des heures",
    "certified": "Certification des heures",
    "certificate_reopened": "Réouverture d'un mois certifié",
    "month_unlocked": "Déverrouillage d'un mois",
    "payment_issued": "Règlement enregistré",
    "payment_reconciled": "Règlement pointé comme reçu",
    "payment_unreconciled": "Pointage d'un règlement annulé",
    "bank_details_submitted": "Coordonnées bancaires déposées",
    "bank_details_validated": "Coordonnées bancaires validées",
    "bank_details_rejected": "Coordonnées bancaires refusées",
    "document_uploaded": "Dépôt d'un document",
    "document_checked": "Document contrôlé",
    "document_rejected": "Document non conforme",
    "user_created": "Création d'un utilisateur",
    "user_updated": "Modification d'un utilisateur",
    "rights_changed": "Modification des droits",
    "user_activated": "Réactivation d'un utilisateur",
    "user_deactivated": "Désactivation d'un utilisateur",
    "funder_user_created": "Création d'un utilisateur du financeur",
    "party_account_created": "Création du compte d'un bénéficiaire ou d'un employeur",
    "credentials_resent": "Nouvel envoi des identifiants",
    "organisation_created": "Création de l'organisme",
    "profile_updated": "Modification de « Votre identité »",
    "certifier_changed": "Choix « Je suis certificateur »",
    "account_settings_changed": "Modification des réglages des comptes",
    "login_succeeded": "Connexion",
    "login_failed": "Échec de connexion",
    "logout": "Déconnexion",
    "account_personalised": "Première connexion : compte personnalisé",
    "privacy_policy_accepted": "Politique de confidentialité acceptée",
    "account_updated": "Modification du compte",
    "identifier_change_requested": "Demande de changement d'identifiant",
    "identifier_changed": "Changement d'identifiant",
    "email_change_requested": "Demande de changement d'adresse e-mail",
    "email_changed": "Changement d'adresse e-mail",
    "email_change_cancelled": "Changement d'adresse e-mail annulé",
    "password_changed": "Changement de mot de passe",
    "password_reset_requested": "Demande de réinitialisation du mot de passe",
    "password_reset": "Mot de passe réinitialisé",
    "reset_link_sent": "Lien de réinitialisation envoyé par un administrateur",
    "api_token_issued": "Création d'un jeton d'API",
    "api_token_revoked": "Révocation d'un jeton d'API",
    "signup_requested": "Demande d'inscription",
    "signup_siret_taken": "Inscription refusée : SIRET déjà inscrit",
    "signup_email_taken": "Inscription refusée : adresse déjà utilisée",
    "signup_activated": "Inscription activée",
    "signup_suspended": "Inscription suspendue",
}

# The fields a seal covers, in this order (the order does not matter to the hash: keys are
# sorted; the list says what is covered).
SEALED = ("id", "funder_id", "position", "at", "organisation_id", "organisation_name",
          "user_id", "person_name", "person_role", "action", "target", "object", "dossier_id",
          "ip", "details", "changes")


@dataclass(frozen=True)
class ChainHead:
    """The last sealed entry of a funder's chain (position 0 and GENESIS: none yet)."""
    position: int = 0
    hash: str = GENESIS


@dataclass(frozen=True)
class ChainBreak:
    entry_id: str
    position: int
    reason: str


@dataclass(frozen=True)
class TrailFilter:
    """What a reader asks for: all optional; `since`/`until` are days, both included."""
    organisation_id: str | None = None
    dossier: str | None = None      # a dossier's id or number
    person: str | None = None       # part of a person's name, or their user id
    kind: str | None = None
    since: date | None = None
    until: date | None = None


def chain_of(funder_id: str | None) -> str:
    return funder_id or NO_FUNDER


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return value


def canonical(entry, previous_hash: str) -> bytes:
    """The bytes an entry's hash covers: its sealed fields and the previous hash."""
    content = {name: _plain(getattr(entry, name, None)) for name in SEALED}
    content["previous_hash"] = previous_hash
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def entry_hash(entry, previous_hash: str) -> str:
    return hashlib.sha256(canonical(entry, previous_hash)).hexdigest()


def seal(entry, head: ChainHead) -> ChainHead:
    """Put `entry` after `head` in its funder's chain; the new head."""
    entry.position = head.position + 1
    entry.previous_hash = head.hash
    entry.hash = entry_hash(entry, head.hash)
    return ChainHead(entry.position, entry.hash)


def verify(entries, head: ChainHead | None = None) -> ChainBreak | None:
    """The first place where a funder's chain (`entries` in position order) breaks, or None.

    `head`, when given, is what the chain's head row says: a tail removed after it shows."""
    expected = ChainHead()
    for entry in entries:
        if entry.position != expected.position + 1:
            return ChainBreak(entry.id, entry.position,
                              f"position {expected.position + 1} attendue : une entrée manque "
                              "ou a été insérée")
        if entry.previous_hash != expected.hash:
            return ChainBreak(entry.id, entry.position,
                              "l'empreinte de l'entrée précédente ne correspond pas")
        if entry.hash != entry_hash(entry, expected.hash):
            return ChainBreak(entry.id, entry.position, "le contenu de l'entrée a été modifié")
        expected = ChainHead(entry.position, entry.hash)
    if head is not None and head != expected:
        return ChainBreak("", expected.position + 1,
                          f"la chaîne s'arrête à la position {expected.position} alors que "
                          f"sa tête indique {head.position} : des entrées ont été supprimées")
    return None


# Identity's acts whose details say a field's before and after (domain.user_changes).
CHANGED_FIELD = {"rights_changed": "rights"}


def records_needed(entry) -> tuple[str | None, str | None, str | None]:
    """The ids of the records `name_entry` would read for `entry`: the acting user, the
    organisation, the user acted upon. None where the entry already says what that record
    would give (an event naming its signer and organisation): not worth a query."""
    person = None if entry.person_name and entry.person_role and entry.organisation_id \
        else entry.user_id
    organisation = None if entry.organisation_name else entry.organisation_id
    target = None if entry.object else entry.target
    return person or None, organisation or None, target or None


def name_entry(entry, person=None, organisation=None, target_user=None) -> None:
    """Fill the names an entry lacks from the records (resolved at write time, so that the
    trail still reads right after a rename or a removal): who acted, the organisation, the
    user acted upon as its object, and a before/after its details hold as its changes."""
    if person is not None:
        entry.person_name = entry.person_name or person.name
        entry.person_role = entry.person_role or person.role
        entry.organisation_id = entry.organisation_id or person.organisation_id
    if organisation is not None:
        entry.organisation_name = entry.organisation_name or organisation.name
    if target_user is not None and not entry.object:
        entry.object = f"Utilisateur {target_user.name} ({target_user.identifier})"
    field = CHANGED_FIELD.get(entry.action)
    if field and not entry.changes and {"before", "after"} <= entry.details.keys():
        entry.changes = [{"field": field, "before": entry.details["before"],
                          "after": entry.details["after"]}]


def scope(actor: Actor, organisation_id: str | None) -> str | None:
    """The organisation whose trail `actor` may read (None: all of the funder's), or Forbidden.

    Funder staff read all of their funder's; an organisation's administrator (the users right)
    only its own."""
    if actor.is_funder_staff:
        return organisation_id
    if actor.role == Role.organisation_user and Right.users.value in actor.rights \
            and organisation_id in (None, actor.organisation_id):
        return actor.organisation_id
    raise Forbidden("audit_forbidden",
                    "Seuls le financeur et l'administrateur de l'organisme lisent son journal.")


def matches(entry, wanted: TrailFilter) -> bool:
    """The filter as the in-memory repository applies it (models.py says it in SQL)."""
    day = entry.at.astimezone(timezone.utc).date()
    return ((wanted.organisation_id is None or entry.organisation_id == wanted.organisation_id)
            and (wanted.dossier is None or wanted.dossier in (entry.dossier_id, entry.object)
                 or (entry.object or "").startswith(f"Dossier {wanted.dossier},"))
            and (wanted.person is None or entry.user_id == wanted.person
                 or wanted.person.lower() in (entry.person_name or "").lower())
            and (wanted.kind is None or entry.action == wanted.kind)
            and (wanted.since is None or day >= wanted.since)
            and (wanted.until is None or day <= wanted.until))


def role_label(role: str | None) -> str | None:
    return ROLE_LABELS.get(role, role) if role else None


def kind_label(action: str) -> str:
    """In French; an act without a label yet shows its code rather than English words."""
    return KIND_LABELS.get(action, action)


def dossier_object(number: str | None, month: str | None = None) -> str | None:
    """"Dossier 2026-0001, mois 2026-03": how an entry names a dossier's month."""
    if not number:
        return None
    return f"Dossier {number}" + (f", mois {month}" if month else "")


def document_object(label: str, dossier_number: str | None = None) -> str:
    """"Dossier 2026-0001, document « Émargement mars »": the dossier first, as the filter
    by dossier number reads it."""
    if dossier_number:
        return f"Dossier {dossier_number}, document « {label} »"
    return f"Document « {label} »"
