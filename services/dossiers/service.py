"""dossiers RPC entrypoints: beneficiaries, employers, dossiers, their imports.

get_dossier and list_dossiers are scoped to the actor: other services (certification) call
them with the end user's actor, so that scope is their access check too.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Callable

from eventlet import tpool
from nameko.rpc import rpc
from sqlalchemy.exc import IntegrityError

from contracts.common import Actor
from contracts.dossiers import (Dossier as DossierShape, DossierBatch, DossierChange,
                                DossierImportError, DossierImportReport, DossierImportRow,
                                DossierSummary, ImportedDossier, NewDossier, NewParty,
                                Party as PartyShape, PlannedDay as PlannedDayShape,
                                SpreadsheetImport)
from contracts.events import DossierCreatedV1, DossierParty, DossierUpdatedV1
from services.dossiers import domain, models, spreadsheet
from services.dossiers.domain import (Dossier, ImportFacts, Outcome, Party, PartyKind,
                                      Problem)
from servicekit.access import acting
from contracts.common.access import require_funder_staff
from servicekit.base import ServiceBase
from servicekit.db import Database, concurrent_change_is_conflict, like_pattern, utcnow
from contracts.common.errors import Conflict, InvalidInput, NotFound
from servicekit.idempotency import replayable
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse

log = get_logger(__name__)

MAX_LIST = 500
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def _party_shape(party: Party) -> PartyShape:
    return PartyShape(id=party.id, kind=party.kind, funder_id=party.funder_id, name=party.name,
                      email=party.email)


def _summary_fields(dossier: Dossier, parties: dict[str, Party]) -> dict:
    employer = parties.get(dossier.employer_id) if dossier.employer_id else None
    return dict(
        id=dossier.id, number=dossier.number, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id, organisation_name=dossier.organisation_name,
        beneficiary=_party_shape(parties[dossier.beneficiary_id]),
        employer=_party_shape(employer) if employer else None,
        training_title=dossier.training_title, session_start=dossier.session_start,
        session_end=dossier.session_end, commission_date=dossier.commission_date,
        status=dossier.status, status_label=dossier.status_label)


def _dossier_shape(dossier: Dossier, parties: dict[str, Party]) -> DossierShape:
    """The whole dossier, its calendar included: call it while the dossier's session is open."""
    forecast = [PlannedDayShape(day=day.day, training_hours=day.training_hours,
                                internship_hours=day.internship_hours)
                for day in sorted(dossier.forecast, key=lambda planned: planned.day)]
    return DossierShape(**_summary_fields(dossier, parties), forecast=forecast)


def _event_party(party: Party | None) -> DossierParty | None:
    return party and DossierParty(id=party.id, kind=party.kind, name=party.name,
                                  email=party.email)


def _named_parties(dossier: Dossier, parties: dict[str, Party]) -> dict:
    return dict(
        dossier_id=dossier.id, dossier_number=dossier.number, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id,
        beneficiary=_event_party(parties[dossier.beneficiary_id]),
        employer=_event_party(parties.get(dossier.employer_id)) if dossier.employer_id else None)


def _created_event(dossier: Dossier, parties: dict[str, Party], actor: Actor) -> DossierCreatedV1:
    return DossierCreatedV1(**_named_parties(dossier, parties), created_by=actor.user_id,
                            created_at=dossier.created_at)


def _updated_event(dossier: Dossier, parties: dict[str, Party], changed: list[str],
                   actor: Actor) -> DossierUpdatedV1:
    return DossierUpdatedV1(**_named_parties(dossier, parties), changed=changed,
                            updated_by=actor.user_id, updated_at=dossier.updated_at)


def _number_taken() -> Conflict:
    return Conflict("dossier_number_taken", "Ce numéro de dossier existe déjà.")


@dataclass
class ImportLine:
    """One row of an import on its way: where it came from, for which organisation, and
    what is wrong with it so far."""

    line: int
    raw: dict | None
    organisation: dict | None = None
    number: str | None = None
    problems: list[Problem] = field(default_factory=list)
    row: ImportedDossier | None = None
    outcome: Outcome = Outcome.error
    dossier_id: str | None = None


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
        actor = acting(actor)
        require_funder_staff(actor)
        new = parse(NewParty, payload)
        party = Party(id=domain.new_id(), funder_id=actor.funder_id, kind=kind.value,
                      name=new.name, email=str(new.email), created_at=utcnow())
        with self.db.unit_of_work() as uow:
            uow.session.add(party)
        log.info("party_created", party_id=party.id, kind=kind.value, by=actor.user_id)
        return _party_shape(party).model_dump(mode="json")

    @rpc
    @replayable
    def create_dossier(self, actor, payload):
        actor = acting(actor)
        require_funder_staff(actor)
        new = parse(NewDossier, payload)
        domain.raise_problems(domain.forecast_problems(new.forecast, new.session_start,
                                                       new.session_end))
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
                    session_end=new.session_end, commission_date=new.commission_date,
                    created_at=utcnow())
                dossier.replace_forecast(new.forecast)
                uow.session.add(dossier)
                uow.publish("dossier_created", _created_event(dossier, parties, actor),
                            subject=dossier.id)
                reply = _dossier_shape(dossier, parties).model_dump(mode="json")
                uow.keep_reply(reply)  # a redelivery after commit answers it, not a 409
        except IntegrityError:  # a concurrent twin with the same number committed first
            raise _number_taken() from None
        log.info("dossier_created", dossier_id=dossier.id, by=actor.user_id)
        return reply

    def _organisation_name(self, actor: Actor, organisation_id: str) -> str:
        """Ask identity (as the caller, so its own scoping applies) before opening a
        transaction: no database transaction waits on a remote call."""
        return self._organisation(actor, organisation_id)["name"]

    def _organisation(self, actor: Actor, organisation_id: str) -> dict:
        try:
            return self.identity.get_organisation(actor.model_dump(mode="json"), organisation_id)
        except NotFound:
            raise InvalidInput("unknown_organisation", "Organisme de formation inconnu.") from None

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
    def update_dossier(self, actor, dossier_id, payload):
        """Funder staff change a dossier's training, session, commission date, status,
        employer or calendar; never its number, funder, organisation or beneficiary."""
        actor = acting(actor)
        require_funder_staff(actor)
        change = parse(DossierChange, payload)
        changes = {name: getattr(change, name) for name in change.model_fields_set}
        with concurrent_change_is_conflict("Ce dossier vient d'être modifié par ailleurs : "
                                           "rechargez-le puis recommencez."), \
                self.db.unit_of_work() as uow:
            dossier = uow.session.get(Dossier, str(dossier_id))
            if dossier is None or not domain.scope_for(actor).allows(dossier):
                raise domain.dossier_not_found()
            if changes.get("employer_id"):
                domain.check_party(uow.session.get(Party, changes["employer_id"]),
                                   actor.funder_id, PartyKind.employer)
            changed = dossier.change(changes, utcnow())
            uow.session.flush()
            parties = models.parties_by_id(uow.session,
                                           {dossier.beneficiary_id, dossier.employer_id})
            if changed:
                uow.publish("dossier_updated", _updated_event(dossier, parties, changed, actor),
                            subject=dossier.id)
            shape = _dossier_shape(dossier, parties)
        log.info("dossier_updated", dossier_id=dossier.id, changed=changed, by=actor.user_id,
                 fields=sorted(changes))
        return shape.model_dump(mode="json")

    @rpc
    def get_dossier(self, actor, dossier_id):
        actor = acting(actor)
        with self.db.read() as session:
            dossier = session.get(Dossier, str(dossier_id))
            if dossier is None or not domain.scope_for(actor).allows(dossier):
                raise domain.dossier_not_found()
            parties = models.parties_by_id(session, {dossier.beneficiary_id, dossier.employer_id})
            return _dossier_shape(dossier, parties).model_dump(mode="json")

    @rpc
    def list_dossiers(self, actor, query=None, limit=200):
        actor = acting(actor)
        limit = max(1, min(int(limit), MAX_LIST))
        with self.db.read() as session:
            found = models.visible_dossiers(session, domain.scope_for(actor),
                                            like_pattern(query), limit)
            parties = models.parties_by_id(
                session, {pid for d in found for pid in (d.beneficiary_id, d.employer_id)})
        return [DossierSummary(**_summary_fields(dossier, parties)).model_dump(mode="json")
                for dossier in found]

    # ---- imports ------------------------------------------------------------------------

    @rpc
    @replayable
    def import_dossiers(self, actor, payload):
        """An organisation's JSON batch (its software, with an API token) for its own
        organisation; see domain.require_importer for the right it needs."""
        actor = acting(actor)
        domain.require_importer(actor)
        batch = parse(DossierBatch, payload)
        organisation = self._organisation(actor, actor.organisation_id)
        lines = [ImportLine(line=index, raw=raw, organisation=organisation)
                 for index, raw in enumerate(batch.rows, start=1)]
        return self._import(actor, lines, headings=None)

    @rpc
    @replayable
    def import_spreadsheet(self, actor, payload):
        """Funder staff's xlsx or CSV file, the organisation of each row by its SIRET."""
        actor = acting(actor)
        require_funder_staff(actor)
        upload = parse(SpreadsheetImport, payload)
        try:
            content = base64.b64decode(upload.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise spreadsheet.not_a_spreadsheet() from None
        # openpyxl is CPU-bound: read in a thread so that the service keeps answering.
        headings, sheet_rows = tpool.execute(spreadsheet.read, content)
        organisations = self._organisations_by_siret(
            actor, {row.siret for row in sheet_rows if row.siret})
        lines = []
        for sheet_row in sheet_rows:
            line = ImportLine(line=sheet_row.line, raw=sheet_row.data)
            siret = _SPACES.sub("", sheet_row.siret or "")
            line.organisation = organisations.get(siret)
            if not siret:
                line.problems.append(Problem("siret", "required", "Valeur obligatoire manquante."))
            elif line.organisation is None:
                line.problems.append(Problem(
                    "siret", "unknown_organisation",
                    "Aucun organisme de formation de votre financeur n'a ce SIRET."))
            lines.append(line)
        report = self._import(actor, lines, headings=headings)
        log.info("spreadsheet_imported", rows=len(lines), by=actor.user_id)
        return report

    def _organisations_by_siret(self, actor: Actor, sirets: set[str]) -> dict[str, dict]:
        if not sirets:
            return {}
        found = self.identity.find_organisations_by_siret(actor.model_dump(mode="json"),
                                                          sorted(sirets))
        return {organisation["siret"]: organisation for organisation in found}

    def _import(self, actor: Actor, lines: list[ImportLine], headings: dict | None) -> dict:
        _check_rows(lines)
        valid = [line for line in lines if line.row is not None]
        try:
            with self.db.unit_of_work() as uow:
                _Importer(uow, actor).run(valid)
        except IntegrityError:  # a concurrent import or creation took a number first
            raise Conflict("import_conflict",
                           "Des dossiers de ce fichier viennent d'être créés par ailleurs : "
                           "relancez l'import, rien n'a été enregistré.") from None
        report = _report(lines, headings)
        log.info("dossiers_imported", by=actor.user_id, created=report.created,
                 updated=report.updated, unchanged=report.unchanged, errors=report.errors)
        return report.model_dump(mode="json")


def _check_rows(lines: list[ImportLine]) -> None:
    """The pure checks of every row; a number already seen on a good row is a duplicate."""
    seen: set[str] = set()
    for line in lines:
        number = line.raw.get("number") if isinstance(line.raw, dict) else None
        if isinstance(number, str) and number.isprintable():
            line.number = number[:30] or None  # the report names even a bad row by it
        row, problems = domain.check_row(line.raw)
        line.problems += problems
        if row is not None and row.number in seen:
            line.problems.append(domain.duplicate_number())
        if row is not None and not line.problems:
            seen.add(row.number)
            line.row = row


class _Importer:
    """The good rows of one import, in one transaction: find each dossier by number and
    each party by kind and email, decide, then create, update or leave alone.

    Parties and dossiers are mapped without a relationship, so the unit of work does not
    order their rows: the new parties are written first (one flush), then the dossiers."""

    def __init__(self, uow, actor: Actor):
        self.uow = uow
        self.session = uow.session
        self.actor = actor
        self.now = utcnow()
        self.parties: dict[tuple[str, str], Party] = {}
        self.writes: list[Callable[[], None]] = []  # dossier writes, once parties are flushed

    def run(self, lines: list[ImportLine]) -> None:
        rows = [line.row for line in lines]
        existing = models.dossiers_by_number(self.session, self.actor.funder_id,
                                             {row.number for row in rows})
        self._load_parties(PartyKind.beneficiary, {str(row.beneficiary.email) for row in rows})
        self._load_parties(PartyKind.employer,
                           {str(row.employer.email) for row in rows if row.employer})
        for line in lines:
            self._take(line, existing.get(line.row.number))
        self.session.flush()
        for write in self.writes:
            write()

    def _load_parties(self, kind: PartyKind, emails: set[str]) -> None:
        found = models.parties_by_email(self.session, self.actor.funder_id, kind.value,
                                        {email.lower() for email in emails})
        self.parties.update(((kind.value, email), party) for email, party in found.items())

    def _party_id(self, kind: PartyKind, ref) -> str | None:
        """The party's id, or a stand-in for one the import would create."""
        if ref is None:
            return None
        party = self.parties.get((kind.value, str(ref.email).lower()))
        return party.id if party else f"new:{str(ref.email).lower()}"

    def _party(self, kind: PartyKind, ref) -> Party | None:
        """Find or create the funder's party of this kind with this email."""
        if ref is None:
            return None
        key = (kind.value, str(ref.email).lower())
        if key not in self.parties:
            party = Party(id=domain.new_id(), funder_id=self.actor.funder_id, kind=kind.value,
                          name=ref.name, email=str(ref.email), created_at=self.now)
            self.session.add(party)
            self.parties[key] = party
        return self.parties[key]

    def _take(self, line: ImportLine, existing: Dossier | None) -> None:
        row = line.row
        given = row.model_fields_set  # a field the row does not carry is left as it is
        facts = ImportFacts(
            organisation_id=line.organisation["id"],
            beneficiary_id=self._party_id(PartyKind.beneficiary, row.beneficiary),
            training_title=row.training_title, session_start=row.session_start,
            session_end=row.session_end, forecast=domain.forecast_key(row.forecast),
            employer_id=(self._party_id(PartyKind.employer, row.employer)
                         if "employer" in given else domain.KEEP),
            commission_date=row.commission_date if "commission_date" in given else domain.KEEP)
        decision = domain.import_decision(existing, facts)
        if decision.outcome is Outcome.updated:
            decision.problems = existing.change_problems(facts.as_changes())
        if decision.problems:
            line.problems += decision.problems
            return
        if decision.outcome is Outcome.created:
            line.dossier_id = self._create(line)
        else:
            line.dossier_id = existing.id
        if decision.outcome is Outcome.updated:
            changes = facts.as_changes()
            if "employer_id" in changes:
                employer = self._party(PartyKind.employer, row.employer)
                changes["employer_id"] = employer and employer.id
            self.writes.append(lambda: self._change(existing, changes))
        line.outcome = decision.outcome

    def _change(self, dossier: Dossier, changes: dict) -> None:
        changed = dossier.change(changes, self.now)
        if changed:
            self.session.flush()
            parties = models.parties_by_id(self.session,
                                           {dossier.beneficiary_id, dossier.employer_id})
            self.uow.publish("dossier_updated",
                             _updated_event(dossier, parties, changed, self.actor),
                             subject=dossier.id)

    def _create(self, line: ImportLine) -> str:
        row = line.row
        beneficiary = self._party(PartyKind.beneficiary, row.beneficiary)
        employer = self._party(PartyKind.employer, row.employer)
        dossier = Dossier(
            id=domain.new_id(), funder_id=self.actor.funder_id, number=row.number,
            organisation_id=line.organisation["id"],
            organisation_name=line.organisation["name"], beneficiary_id=beneficiary.id,
            employer_id=employer and employer.id, training_title=row.training_title,
            session_start=row.session_start, session_end=row.session_end,
            commission_date=row.commission_date, created_at=self.now)
        dossier.replace_forecast(row.forecast or [])
        parties = {party.id: party for party in (beneficiary, employer) if party}

        def write() -> None:
            self.session.add(dossier)
            self.uow.publish("dossier_created", _created_event(dossier, parties, self.actor),
                             subject=dossier.id)
        self.writes.append(write)
        return dossier.id


def _report(lines: list[ImportLine], headings: dict | None) -> DossierImportReport:
    rows = []
    for line in lines:
        errors = [DossierImportError(row=line.line, field=problem.field, code=problem.code,
                           message=problem.message,
                           column=spreadsheet.column_of(problem.field, headings)
                           if headings else None)
                  for problem in line.problems]
        rows.append(DossierImportRow(row=line.line, number=line.number,
                              outcome=Outcome.error.value if errors else line.outcome.value,
                              dossier_id=None if errors else line.dossier_id, errors=errors))
    count = {outcome: sum(row.outcome == outcome.value for row in rows) for outcome in Outcome}
    return DossierImportReport(created=count[Outcome.created], updated=count[Outcome.updated],
                        unchanged=count[Outcome.unchanged], errors=count[Outcome.error],
                        rows=rows)
