"""Who may do what on a dossier's certificates, beyond the dossiers service's own scoping."""
from __future__ import annotations

from contracts.common import FUNDER_ROLES, Role
from contracts.common.errors import Conflict, Forbidden
from services.certification.domain.certificate import BENEFICIARY, EMPLOYER

CLOSED_DOSSIER = "closed"  # dossiers' status code of « Dossier clôturé »


def ensure_dossier_open(dossier_status: str) -> None:
    """A closed dossier's months take no more hours nor certification."""
    if dossier_status == CLOSED_DOSSIER:
        raise Conflict("dossier_closed", "Ce dossier est clôturé : les heures ne peuvent plus "
                                         "être saisies ni certifiées.")


def ensure_may_change(role: Role, actor_organisation_id: str | None,
                      dossier_organisation_id: str) -> None:
    """Only a user of the dossier's training organisation enters and certifies hours."""
    if role != Role.organisation_user or actor_organisation_id != dossier_organisation_id:
        raise Forbidden("not_allowed",
                        "Seul l'organisme de formation du dossier peut saisir et certifier "
                        "les heures.")


def ensure_funder_staff_of(role: Role, actor_funder_id: str, dossier_funder_id: str,
                           action: str = "rouvrir un mois") -> None:
    """Only the dossier's funder reopens a month, or transmits its hours for payment."""
    if role not in FUNDER_ROLES or actor_funder_id != dossier_funder_id:
        raise Forbidden("funder_staff_only", f"Seul le financeur du dossier peut {action}.")


def ensure_funder_admin(role: Role) -> None:
    if role != Role.funder_admin:
        raise Forbidden("funder_admin_only",
                        "Seul un administrateur du financeur peut modifier ces réglages.")


def party_of(role: Role, party_id: str | None, beneficiary_id: str,
             employer_id: str | None) -> str:
    """Which party of the dossier the caller is; only its own beneficiary or employer
    validates or contests its hours."""
    if role == Role.beneficiary and party_id and party_id == beneficiary_id:
        return BENEFICIARY
    if role == Role.employer and party_id and party_id == employer_id:
        return EMPLOYER
    raise Forbidden("not_a_party",
                    "Seuls le bénéficiaire et l'employeur du dossier peuvent valider ou "
                    "contester ses heures.")
