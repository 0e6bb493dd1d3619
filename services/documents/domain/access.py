"""Who sees what: an actor's scope, who owns (and so may change) a document, and how its
status reads to each viewer."""
from __future__ import annotations

from dataclasses import dataclass

from contracts.common import Actor, Right, Role
from contracts.common.access import require_right
from contracts.common.errors import Forbidden, NotFound
from contracts.common.formatting import PARIS, date_fr
from services.documents.domain.documents import (CHECKED, DEPOSITED, DEPOSITED_BY_FUNDER,
                                                 GENERATED, REJECTED, Document, document_checked)
from services.documents.domain.files import SIGNED_CERTIFICATE


MISSING_DOCUMENTS = ("Vous n'avez pas le droit de gérer les documents : demandez-le à "
                     "l'administrateur de votre organisme.")


def check_deposit_right(actor: Actor, category: object) -> None:
    """Deposits need the documents right, except method 1's evidence: whoever enters and
    certifies the hours (seed 002: method 1 needs only the hours right) deposits the signed
    certificate. Judged on the category asked, before the rest of the payload is read."""
    if category == SIGNED_CERTIFICATE and Right.enter_hours.value in actor.rights:
        return
    require_right(actor, Right.documents, MISSING_DOCUMENTS)


@dataclass(frozen=True)
class Scope:
    """The documents an actor may see: always one funder's, narrowed by organisation or party.
    `nothing`: the actor's role needs an organisation or party it does not have."""

    funder_id: str
    field: str | None = None
    value: str | None = None
    nothing: bool = False

    def narrowing(self) -> dict[str, str]:
        return {self.field: self.value} if self.field else {}

    def allows(self, document: Document) -> bool:
        if self.nothing or document.funder_id != self.funder_id:
            return False
        return all(getattr(document, name) == value for name, value in self.narrowing().items())


_NARROWED_BY = {
    Role.organisation_user: ("organisation_id", "organisation_id"),
    Role.beneficiary: ("beneficiary_id", "party_id"),
    Role.employer: ("employer_id", "party_id"),
}


def scope_for(actor: Actor) -> Scope:
    """Funder staff: their funder's documents; an organisation user: its organisation's; a
    beneficiary: theirs; an employer: its employees' (the documents naming it)."""
    if actor.is_funder_staff:
        return Scope(actor.funder_id)
    document_field, actor_field = _NARROWED_BY.get(actor.role, (None, None))
    value = getattr(actor, actor_field) if actor_field else None
    if not value:
        return Scope(actor.funder_id, nothing=True)
    return Scope(actor.funder_id, document_field, value)


def can_see(actor: Actor, document: Document) -> bool:
    return scope_for(actor).allows(document)


def document_not_found(document_id: str) -> NotFound:
    return NotFound("document_not_found", "Document introuvable.", {"document_id": document_id})


def seen_by(actor: Actor, document: Document | None, document_id: str) -> Document:
    """The document if the actor may see it; NotFound otherwise, even if it exists."""
    if document is None or not can_see(actor, document):
        raise document_not_found(document_id)
    return document


def is_owner(actor: Actor, document: Document) -> bool:
    """Who deposited it acts on it: funder staff for their funder's deposits, an organisation's
    users for their organisation's, a beneficiary or employer for their own. Nobody owns a
    generated document."""
    if document.generated or not can_see(actor, document):
        return False
    if actor.is_funder_staff:
        return document.by_funder
    if actor.role == Role.organisation_user:
        return (document.uploaded_by_role == Role.organisation_user.value
                and document.uploader_organisation_id == actor.organisation_id)
    return document.uploaded_by == actor.user_id


def check_owner(actor: Actor, document: Document) -> None:
    if not is_owner(actor, document):
        raise Forbidden("not_owner", "Seul le déposant peut modifier ou supprimer ce document.",
                        {"document_id": document.id})


def check_deletable(actor: Actor, document: Document) -> None:
    check_owner(actor, document)
    if document.status == CHECKED:
        raise document_checked()


# ---- status as users read it ----------------------------------------------------------------

def status_of(document: Document, viewer: Actor) -> tuple[str, str]:
    """(stable code, French label) of the document as `viewer` reads it."""
    if document.superseded:
        return GENERATED, (f"Remplacé le {date_fr(document.superseded_at.astimezone(PARIS))} "
                           "(mois rouvert) : ce certificat n'est plus valable")
    if document.status == CHECKED:
        return CHECKED, f"Contrôlé le {date_fr(document.reviewed_at.astimezone(PARIS))}"
    if document.status == REJECTED:
        return REJECTED, f"Non conforme : {document.reason_text}"
    if document.by_funder and document.status in (DEPOSITED, GENERATED):
        # The funder's deposits and what its staff issued (remittance advices), as seed 000.
        return DEPOSITED_BY_FUNDER, "Inscrit par votre AT Pro"
    if document.status == DEPOSITED:
        return DEPOSITED, "Déposé par vous" if is_owner(viewer, document) else "Déposé"
    return GENERATED, "Produit automatiquement"
