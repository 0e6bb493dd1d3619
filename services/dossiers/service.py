"""dossiers RPC entrypoints: beneficiaries, employers, dossiers.

get_dossier and list_dossiers are scoped to the actor: other services (certification) call
them with the end user's actor, so that scope is their access check too.
"""
from __future__ import annotations

from nameko.rpc import rpc
from sqlalchemy.exc import IntegrityError

from contracts.common import Actor
from contracts.dossiers import Dossier as DossierShape, NewDossier, NewParty, Party as PartyShape
from contracts.events import DossierCreatedV1, DossierParty
from services.dossiers import domain, models
from services.dossiers.domain import Dossier, Party, PartyKind
from servicekit.access import require_funder_staff
from servicekit.base import ServiceBase
from servicekit.db import Database, like_pattern, utcnow
from servicekit.errors import Conflict, InvalidInput, NotFound
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse

log = get_logger(__name__)

MAX_LIST = 500


def _party_shape(party: Party) -> PartyShape:
    return PartyShape(id=party.id, kind=party.kind, funder_id=party.funder_id, name=party.name,
                      email=party.email)


def _dossier_shape(dossier: Dossier, parties: dict[str, Party]) -> DossierShape:
    employer = parties.get(dossier.employer_id) if dossier.employer_id else None
    return DossierShape(
        id=dossier.id, number=dossier.number, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id, organisation_name=dossier.organisation_name,
        beneficiary=_party_shape(parties[dossier.beneficiary_id]),
        employer=_party_shape(employer) if employer else None,
        training_title=dossier.training_title, session_start=dossier.session_start,
        session_end=dossier.session_end, status=dossier.status,
        status_label=dossier.status_label)


def _event_party(party: Party | None) -> DossierParty | None:
    return party and DossierParty(id=party.id, kind=party.kind, name=party.name,
                                  email=party.email)


def _created_event(dossier: Dossier, parties: dict[str, Party], actor: Actor) -> DossierCreatedV1:
    return DossierCreatedV1(
        dossier_id=dossier.id, dossier_number=dossier.number, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id,
        beneficiary=_event_party(parties[dossier.beneficiary_id]),
        employer=_event_party(parties.get(dossier.employer_id)) if dossier.employer_id else None,
        created_by=actor.user_id, created_at=dossier.created_at)


def _number_taken() -> Conflict:
    return Conflict("dossier_number_taken", "Ce numéro de dossier existe déjà.")


class DossiersService(ServiceBase):
    name = "dossiers"
    db = Database(models.metadata, models.start_mappers)
    relay = OutboxRelay()
    identity = RpcClient("identity")

    @rpc
    def create_beneficiary(self, actor, payload):
        return self._create_party(actor, payload, PartyKind.beneficiary)

    @rpc
    def create_employer(self, actor, payload):
        return self._create_party(actor, payload, PartyKind.employer)

    def _create_party(self, actor, payload, kind: PartyKind):
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        new = parse(NewParty, payload)
        party = Party(id=domain.new_id(), funder_id=actor.funder_id, kind=kind.value,
                      name=new.name, email=str(new.email), created_at=utcnow())
        with self.db.unit_of_work() as uow:
            uow.session.add(party)
        log.info("party_created", party_id=party.id, kind=kind.value, by=actor.user_id)
        return _party_shape(party).model_dump(mode="json")

    @rpc
    def create_dossier(self, actor, payload):
        actor = parse(Actor, actor)
        require_funder_staff(actor)
        new = parse(NewDossier, payload)
        organisation_name = self._organisation_name(actor, new.organisation_id)
        try:
            with self.db.unit_of_work() as uow:
                parties = self._dossier_parties(uow.session, actor.funder_id, new)
                if models.number_taken(uow.session, actor.funder_id, new.number):
                    raise _number_taken()
                dossier = Dossier(
                    id=domain.new_id(), funder_id=actor.funder_id, number=new.number,
                    organisation_id=new.organisation_id, organisation_name=organisation_name,
                    beneficiary_id=new.beneficiary_id, employer_id=new.employer_id,
                    training_title=new.training_title, session_start=new.session_start,
                    session_end=new.session_end, created_at=utcnow())
                uow.session.add(dossier)
                uow.publish("dossier_created", _created_event(dossier, parties, actor),
                            subject=dossier.id)
        except IntegrityError:  # a concurrent twin with the same number committed first
            raise _number_taken() from None
        log.info("dossier_created", dossier_id=dossier.id, by=actor.user_id)
        return _dossier_shape(dossier, parties).model_dump(mode="json")

    def _organisation_name(self, actor: Actor, organisation_id: str) -> str:
        """Ask identity (as the caller, so its own scoping applies) before opening a
        transaction: no database transaction waits on a remote call."""
        try:
            organisation = self.identity.get_organisation(actor.model_dump(mode="json"),
                                                          organisation_id)
        except NotFound:
            raise InvalidInput("unknown_organisation", "Organisme de formation inconnu.") from None
        return organisation["name"]

    @staticmethod
    def _dossier_parties(session, funder_id: str, new: NewDossier) -> dict[str, Party]:
        beneficiary = domain.check_party(session.get(Party, new.beneficiary_id), funder_id,
                                         PartyKind.beneficiary)
        found = {beneficiary.id: beneficiary}
        if new.employer_id:
            employer = domain.check_party(session.get(Party, new.employer_id), funder_id,
                                          PartyKind.employer)
            found[employer.id] = employer
        return found

    @rpc
    def get_dossier(self, actor, dossier_id):
        actor = parse(Actor, actor)
        with self.db.read() as session:
            dossier = session.get(Dossier, str(dossier_id))
            if dossier is None or not domain.scope_for(actor).allows(dossier):
                raise domain.dossier_not_found()
            parties = models.parties_by_id(session, {dossier.beneficiary_id, dossier.employer_id})
        return _dossier_shape(dossier, parties).model_dump(mode="json")

    @rpc
    def list_dossiers(self, actor, query=None, limit=200):
        actor = parse(Actor, actor)
        limit = max(1, min(int(limit), MAX_LIST))
        with self.db.read() as session:
            found = models.visible_dossiers(session, domain.scope_for(actor),
                                            like_pattern(query), limit)
            parties = models.parties_by_id(
                session, {pid for d in found for pid in (d.beneficiary_id, d.employer_id)})
        return [_dossier_shape(dossier, parties).model_dump(mode="json") for dossier in found]
