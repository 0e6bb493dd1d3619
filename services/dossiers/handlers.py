"""dossiers use cases: beneficiaries and employers, dossiers, their imports, and what
certification's events say of each dossier-month (the « Actions en attente »).

Each takes the database (`db`: servicekit.db.DatabaseAccess, or an in-memory fake in tests),
the ports it needs, the acting Actor and the payload as sent: the access rule is checked
before the payload is read, so a caller without the right learns nothing from its shape.
Replies are JSON-ready. get_dossier and list_dossiers are scoped to the actor: other services
(certification) call them with the end user's actor, so that scope is their access check too.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from pydantic import ValidationError

from contracts.common import Actor
from contracts.common.access import require_funder_staff
from contracts.common.errors import Conflict, InvalidInput, NotFound
from contracts.dossiers import (Count as CountShape, Dossier as DossierShape, DossierBatch,
                                DossierChange, DossierCounts, DossierImportError,
                                DossierImportRow, DossierQuery,
                                DossierSummary, ImportedDossier, NewDossier, NewParty,
                                Party as PartyShape, PendingMonth as PendingMonthShape,
                                PlannedDay as PlannedDayShape, SpreadsheetImport)
from contracts.events import (CertificateReopenedV1, CertifiedV1, DossierCreatedV1, DossierParty,
                              DossierUpdatedV1, MonthUnlockedV1)
from services.dossiers import domain
from services.dossiers.domain import (Dossier, ImportFacts, MonthCertification, Outcome, Party,
                                      PartyKind, PendingMonth, Problem, sheets)
from services.dossiers.domain.sheets import SheetRow
from servicekit.logging import get_logger
from servicekit.validation import parse

log = get_logger(__name__)

MAX_LIST = 500
# The import jobs: their kinds, their one phase, and how many rows one transaction writes.
IMPORT, SPREADSHEET_IMPORT, ROWS = "dossiers.import", "dossiers.import_spreadsheet", "rows"
IMPORT_CHUNK = 100


class Identity(Protocol):
    """identity's RPCs this service calls, as the caller (so identity's own scoping applies)."""

    def get_organisation(self, actor: dict, organisation_id: str) -> dict: ...

    def find_organisations_by_siret(self, actor: dict, sirets: list[str]) -> list[dict]: ...


@dataclass(frozen=True)
class Ports:
    identity: Identity
    clock: Callable[[], datetime]
    read_spreadsheet: Callable[[bytes], tuple[dict[str, str], list[SheetRow]]]


# --- parties and dossiers --------------------------------------------------------------------

def create_party(db, ports: Ports, actor: Actor, payload: Any, kind: PartyKind) -> dict:
    require_funder_staff(actor)
    new = parse(NewParty, payload)
    party = Party(id=domain.new_id(), funder_id=actor.funder_id, kind=kind.value,
                  name=new.name, email=str(new.email), created_at=ports.clock())
    with db.unit_of_work() as uow:
        uow.parties.add(party)
    log.info("party_created", party_id=party.id, kind=kind.value, by=actor.user_id)
    return _party_shape(party).model_dump(mode="json")


def create_dossier(db, ports: Ports, actor: Actor, payload: Any) -> dict:
    require_funder_staff(actor)
    new = parse(NewDossier, payload)
    domain.raise_problems(domain.forecast_problems(new.forecast, new.session_start,
                                                   new.session_end))
    # Asked before the transaction opens: no database transaction waits on a remote call.
    organisation = _organisation(ports, actor, new.organisation_id)
    with db.unit_of_work() as uow:
        parties = _dossier_parties(uow, actor.funder_id, new)
        if uow.dossiers.number_taken(actor.funder_id, new.number):
            raise domain.number_taken()
        dossier = Dossier(
            id=domain.new_id(), funder_id=actor.funder_id, number=new.number,
            organisation_id=new.organisation_id, organisation_name=organisation["name"],
            beneficiary_id=new.beneficiary_id, employer_id=new.employer_id,
            training_title=new.training_title, session_start=new.session_start,
            session_end=new.session_end, commission_date=new.commission_date,
            action_type=new.action_type, created_at=ports.clock())
        dossier.replace_forecast(new.forecast)
        # A concurrent twin with the same number may have committed first.
        uow.dossiers.save(dossier, clash=domain.number_taken())
        uow.publish("dossier_created", _created_event(dossier, parties, actor),
                    subject=dossier.id)
        reply = _dossier_shape(dossier, parties, _pending(uow, ports, [dossier])).model_dump(
            mode="json")
        uow.keep_reply(reply)  # a redelivery after commit answers it, not a 409
    log.info("dossier_created", dossier_id=dossier.id, by=actor.user_id)
    return reply


def update_dossier(db, ports: Ports, actor: Actor, dossier_id: str, payload: Any) -> dict:
    """Funder staff change a dossier's training, session, commission date, status, employer
    or calendar; never its number, funder, organisation or beneficiary."""
    require_funder_staff(actor)
    change = parse(DossierChange, payload)
    changes = {name: getattr(change, name) for name in change.model_fields_set}
    with db.unit_of_work() as uow:
        dossier = _visible_dossier(uow, actor, dossier_id)
        if changes.get("employer_id"):
            domain.check_party(uow.parties.get(changes["employer_id"]), actor.funder_id,
                               PartyKind.employer)
        changed = dossier.change(changes, ports.clock())
        uow.dossiers.save(dossier, clash=Conflict(
            "concurrent_change",
            "Ce dossier vient d'être modifié par ailleurs : rechargez-le puis recommencez."))
        parties = uow.parties.by_ids({dossier.beneficiary_id, dossier.employer_id})
        if changed:
            uow.publish("dossier_updated", _updated_event(dossier, parties, changed, actor),
                        subject=dossier.id)
        reply = _dossier_shape(dossier, parties, _pending(uow, ports, [dossier])).model_dump(
            mode="json")
    log.info("dossier_updated", dossier_id=dossier.id, changed=changed, by=actor.user_id,
             fields=sorted(changes))
    return reply


def get_dossier(db, ports: Ports, actor: Actor, dossier_id: str) -> dict:
    with db.reading() as uow:
        dossier = _visible_dossier(uow, actor, dossier_id)
        parties = uow.parties.by_ids({dossier.beneficiary_id, dossier.employer_id})
        return _dossier_shape(dossier, parties, _pending(uow, ports, [dossier])).model_dump(
            mode="json")


def list_dossiers(db, ports: Ports, actor: Actor, query: str | None = None, limit: int = 200,
                  filters: dict | None = None) -> list[dict]:
    """The actor's dossiers, newest first, with their pending months; `filters` (the
    DossierQuery fields but `q`) narrow them by type of action, status, pending or not."""
    wanted = parse(DossierQuery, {**(filters or {}), "q": query})
    limit = max(1, min(int(limit), MAX_LIST))
    with db.reading() as uow:
        # Pending months are known once read: with that filter, read all, then cut.
        found = uow.dossiers.visible(domain.scope_for(actor), wanted.q,
                                     None if wanted.pending is not None else limit,
                                     action_type=wanted.action_type, status=wanted.status)
        pending = _pending(uow, ports, found)
        if wanted.pending is not None:
            found = [d for d in found if bool(pending[d.id]) is wanted.pending][:limit]
        return _summaries(uow, found, pending)


def dossiers_in_progress(db, ports: Ports, after: str | None = None,
                         limit: int = MAX_LIST) -> list[dict]:
    """Every funder's dossiers not closed, as list_dossiers' summaries, by id after `after`:
    for certification's daily job, never for a user (no actor, the gateway has no route)."""
    limit = max(1, min(int(limit), MAX_LIST))
    with db.reading() as uow:
        found = uow.dossiers.in_progress(after, limit)
        return _summaries(uow, found, _pending(uow, ports, found))


def count_dossiers(db, actor: Actor) -> dict:
    """The actor's dossiers counted by status and by type of action (a dashboard's
    diagram, seed 004's « Mes contrats »): the same dossiers as list_dossiers."""
    scope = domain.scope_for(actor)
    with db.reading() as uow:
        by_status = uow.dossiers.counts(scope, "status")
        by_action_type = uow.dossiers.counts(scope, "action_type")
    return DossierCounts(
        total=sum(by_status.values()),
        by_status=[CountShape(**vars(count)) for count in domain.status_counts(by_status)],
        by_action_type=[CountShape(**vars(count))
                        for count in domain.action_type_counts(by_action_type)],
    ).model_dump(mode="json")


def _summaries(uow, found: list[Dossier], pending: dict[str, list[PendingMonth]]
               ) -> list[dict]:
    parties = uow.parties.by_ids(
        {party_id for d in found for party_id in (d.beneficiary_id, d.employer_id)})
    return [DossierSummary(**_summary_fields(dossier, parties, pending[dossier.id]))
            .model_dump(mode="json") for dossier in found]


def _pending(uow, ports: Ports, found: list[Dossier]) -> dict[str, list[PendingMonth]]:
    """dossier id -> its session's months up to today that await the organisation."""
    certified = uow.certifications.certified_months(dossier.id for dossier in found)
    today = domain.local_today(ports.clock())
    return {dossier.id: domain.pending_months(dossier.session_start, dossier.session_end,
                                              today, certified.get(dossier.id, ()))
            for dossier in found}


# --- what certification's events say of each month -------------------------------------------

def on_certified(uow, data: CertifiedV1) -> None:
    _record_month(uow, data.dossier_id, data.month, True, data.certified_at)


def on_certificate_reopened(uow, data: CertificateReopenedV1) -> None:
    _record_month(uow, data.dossier_id, data.month, False, data.reopened_at)


def on_month_unlocked(uow, data: MonthUnlockedV1) -> None:
    """Payments' unlocking of a paid month reopens it in certification (no
    certificate_reopened follows): the month awaits the organisation again."""
    _record_month(uow, data.dossier_id, data.month, False, data.unlocked_at)


def _record_month(uow, dossier_id: str, month: str, certified: bool, at: datetime) -> None:
    known = uow.certifications.get(dossier_id, month)
    if known is None:
        uow.certifications.add(MonthCertification(dossier_id, month, certified, at))
    else:
        known.record(certified, at)
    log.info("month_certification_recorded", dossier_id=dossier_id, month=month,
             certified=certified)


def _visible_dossier(uow, actor: Actor, dossier_id: str) -> Dossier:
    dossier = uow.dossiers.get(str(dossier_id))
    if dossier is None or not domain.scope_for(actor).allows(dossier):
        raise domain.dossier_not_found()
    return dossier


def _organisation(ports: Ports, actor: Actor, organisation_id: str) -> dict:
    try:
        return ports.identity.get_organisation(actor.model_dump(mode="json"), organisation_id)
    except NotFound:
        raise InvalidInput("unknown_organisation", "Organisme de formation inconnu.") from None


def _dossier_parties(uow, funder_id: str, new: NewDossier) -> dict[str, Party]:
    beneficiary = domain.check_party(uow.parties.get(new.beneficiary_id), funder_id,
                                     PartyKind.beneficiary)
    found = {beneficiary.id: beneficiary}
    if new.employer_id:
        employer = domain.check_party(uow.parties.get(new.employer_id), funder_id,
                                      PartyKind.employer)
        found[employer.id] = employer
    return found


# --- imports ---------------------------------------------------------------------------------

def import_dossiers(db, ports: Ports, actor: Actor, payload: Any) -> dict:
    """An organisation's JSON batch (its software, with an API token) for its own
    organisation, as a job (docs/jobs.md) that run_import does; see domain.require_importer
    for the right it needs. What can be refused at once is refused now, the rows are checked
    by the job; the same batch submitted again is the same job."""
    domain.require_importer(actor)
    batch = parse(DossierBatch, payload)
    _organisation(ports, actor, actor.organisation_id)
    with db.unit_of_work() as uow:
        return uow.jobs.submit(IMPORT, actor, batch.model_dump(mode="json"),
                               {ROWS: len(batch.rows)})


def run_import(db, ports: Ports, step) -> None:
    """The JSON batch's job: every row for the submitter's organisation."""
    organisation = _organisation(ports, step.actor, step.actor.organisation_id)
    lines = [ImportLine(line=index, raw=raw, organisation=organisation)
             for index, raw in enumerate(step.payload["rows"], start=1)]
    _run_import(db, ports, step, lines, headings=None)


def import_spreadsheet(db, ports: Ports, actor: Actor, payload: Any) -> dict:
    """Funder staff's xlsx or CSV file, the organisation of each row by its SIRET, as a job
    that run_spreadsheet_import does. The file is read now (not a spreadsheet, too big, too
    many rows, a column missing: refused at once); the job is given its rows, so the same
    rows sent again, whatever the file's name or format, are the same job."""
    require_funder_staff(actor)
    upload = parse(SpreadsheetImport, payload)
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise sheets.not_a_spreadsheet() from None
    headings, sheet_rows = ports.read_spreadsheet(content)
    sheet = {"headings": headings, "rows": [asdict(sheet_row) for sheet_row in sheet_rows]}
    with db.unit_of_work() as uow:
        return uow.jobs.submit(SPREADSHEET_IMPORT, actor, sheet, {ROWS: len(sheet_rows)})


def run_spreadsheet_import(db, ports: Ports, step) -> None:
    """The spreadsheet's job: each row for the organisation its SIRET names."""
    actor, sheet_rows = step.actor, [SheetRow(**row) for row in step.payload["rows"]]
    organisations = _organisations_by_siret(
        ports, actor, {row.siret for row in sheet_rows if row.siret})
    lines = []
    for sheet_row in sheet_rows:
        siret = sheets.plain_siret(sheet_row.siret)
        organisation = organisations.get(siret)
        lines.append(ImportLine(line=sheet_row.line, raw=sheet_row.data,
                                organisation=organisation,
                                problems=sheets.siret_problems(siret, organisation)))
    _run_import(db, ports, step, lines, headings=step.payload["headings"])
    log.info("spreadsheet_imported", job_id=step.job_id, rows=len(lines), by=actor.user_id)


def check_row(raw: Any) -> tuple[ImportedDossier | None, list[Problem]]:
    """A row of an import, as the contract shapes it and the dossier rules allow."""
    if not isinstance(raw, dict):
        return None, [domain.invalid_row()]
    try:
        row = ImportedDossier.model_validate(raw)
    except ValidationError as exc:
        return None, [domain.row_problem(error) for error in exc.errors(include_url=False)]
    problems = domain.dated_problems(row.session_start, row.session_end, row.forecast)
    return (None if problems else row), problems


@dataclass
class ImportLine:
    """One row of an import on its way: where it came from, for which organisation, and
    what is wrong with it so far."""

    line: int
    raw: Any
    organisation: dict | None = None
    number: str | None = None
    problems: list[Problem] = field(default_factory=list)
    row: ImportedDossier | None = None
    outcome: Outcome = Outcome.error
    dossier_id: str | None = None


def _organisations_by_siret(ports: Ports, actor: Actor, sirets: set[str]) -> dict[str, dict]:
    if not sirets:
        return {}
    found = ports.identity.find_organisations_by_siret(actor.model_dump(mode="json"),
                                                       sorted(sirets))
    return {organisation["siret"]: organisation for organisation in found}


def _run_import(db, ports: Ports, step, lines: list[ImportLine],
                headings: dict | None) -> None:
    """Every row checked first (a number is a duplicate of any good row before it, in
    another chunk too), then the rows not yet reported written a chunk at a time, each
    chunk's reports recorded in its transaction: a resumed job goes on from the first chunk
    not committed."""
    _check_rows(lines)
    done = step.done(ROWS)
    for first in range(done, len(lines), IMPORT_CHUNK):
        chunk = lines[first:first + IMPORT_CHUNK]
        with db.unit_of_work() as uow:
            _Importer(uow, step.actor, ports.clock()).run(
                [line for line in chunk if line.row is not None])
            uow.jobs.record(step, ROWS, len(chunk), {
                position: _report_row(line, headings).model_dump(mode="json")
                for position, line in enumerate(chunk, start=first + 1)})
        step.raise_if_cancelled()
    reports = step.outcomes().values()
    count = {outcome.value: sum(report["outcome"] == outcome.value for report in reports)
             for outcome in Outcome}
    summary = {"created": count["created"], "updated": count["updated"],
               "unchanged": count["unchanged"], "errors": count["error"]}
    log.info("dossiers_imported", job_id=step.job_id, by=step.actor.user_id, **summary)
    step.finish(summary)


def _check_rows(lines: list[ImportLine]) -> None:
    """The checks of every row on its own; a number already seen on a good row is a
    duplicate."""
    seen: set[str] = set()
    for line in lines:
        number = line.raw.get("number") if isinstance(line.raw, dict) else None
        if isinstance(number, str) and number.isprintable():
            line.number = number[:30] or None  # the report names even a bad row by it
        row, problems = check_row(line.raw)
        line.problems += problems
        if row is not None and row.number in seen:
            line.problems.append(domain.duplicate_number())
        if row is not None and not line.problems:
            seen.add(row.number)
            line.row = row


class _Importer:
    """The good rows of one chunk of an import, in one transaction: find each dossier by
    number and each party by kind and email, decide, then create, update or leave alone.

    Parties and dossiers are mapped without a relationship, so nothing orders their rows:
    the new parties are written first, then the dossiers, then the events in the rows'
    order."""

    def __init__(self, uow, actor: Actor, now: datetime):
        self.uow = uow
        self.actor = actor
        self.now = now
        self.parties: dict[tuple[str, str], Party] = {}
        self.new_parties: list[Party] = []
        # Each dossier to write: with None when new, else with the changes to make.
        self.writes: list[tuple[Dossier, dict | None]] = []

    def run(self, lines: list[ImportLine]) -> None:
        rows = [line.row for line in lines]
        existing = self.uow.dossiers.by_numbers(self.actor.funder_id,
                                                {row.number for row in rows})
        self._load_parties(PartyKind.beneficiary, {str(row.beneficiary.email) for row in rows})
        self._load_parties(PartyKind.employer,
                           {str(row.employer.email) for row in rows if row.employer})
        for line in lines:
            self._take(line, existing.get(line.row.number))
        self.uow.parties.add(*self.new_parties)
        written = [(dossier, None if changes is None else dossier.change(changes, self.now))
                   for dossier, changes in self.writes]
        self.uow.dossiers.save(
            *(dossier for dossier, changes in self.writes if changes is None),
            clash=Conflict("import_conflict",
                           "Des dossiers de ce fichier viennent d'être créés par ailleurs : "
                           "soumettez l'import de nouveau (les lignes déjà enregistrées le "
                           "restent)."))
        self._publish(written)

    def _load_parties(self, kind: PartyKind, emails: set[str]) -> None:
        found = self.uow.parties.by_emails(self.actor.funder_id, kind.value,
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
            self.new_parties.append(party)
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
            commission_date=row.commission_date if "commission_date" in given else domain.KEEP,
            action_type=row.action_type or domain.KEEP)
        decision = domain.import_decision(existing, facts)
        if decision.outcome is Outcome.updated:
            decision.problems = existing.change_problems(facts.as_changes())
        if decision.problems:
            line.problems += decision.problems
            return
        if decision.outcome is Outcome.created:
            dossier = self._new_dossier(line)
            self.writes.append((dossier, None))
            line.dossier_id = dossier.id
        else:
            line.dossier_id = existing.id
        if decision.outcome is Outcome.updated:
            changes = facts.as_changes()
            if "employer_id" in changes:
                employer = self._party(PartyKind.employer, row.employer)
                changes["employer_id"] = employer and employer.id
            self.writes.append((existing, changes))
        line.outcome = decision.outcome

    def _new_dossier(self, line: ImportLine) -> Dossier:
        row = line.row
        beneficiary = self._party(PartyKind.beneficiary, row.beneficiary)
        employer = self._party(PartyKind.employer, row.employer)
        dossier = Dossier(
            id=domain.new_id(), funder_id=self.actor.funder_id, number=row.number,
            organisation_id=line.organisation["id"],
            organisation_name=line.organisation["name"], beneficiary_id=beneficiary.id,
            employer_id=employer and employer.id, training_title=row.training_title,
            session_start=row.session_start, session_end=row.session_end,
            commission_date=row.commission_date,
            action_type=row.action_type or domain.DEFAULT_ACTION_TYPE, created_at=self.now)
        dossier.replace_forecast(row.forecast or [])
        return dossier

    def _publish(self, written: list[tuple[Dossier, list[str] | None]]) -> None:
        """dossier_created for each new dossier, dossier_updated for each that changed."""
        parties = {party.id: party for party in self.parties.values()}
        named = {party_id for dossier, _ in written
                 for party_id in (dossier.beneficiary_id, dossier.employer_id)}
        parties.update(self.uow.parties.by_ids(named - parties.keys()))
        for dossier, changed in written:
            if changed is None:
                self.uow.publish("dossier_created",
                                 _created_event(dossier, parties, self.actor),
                                 subject=dossier.id)
            elif changed:
                self.uow.publish("dossier_updated",
                                 _updated_event(dossier, parties, changed, self.actor),
                                 subject=dossier.id)


def _report_row(line: ImportLine, headings: dict | None) -> DossierImportRow:
    errors = [DossierImportError(row=line.line, field=problem.field, code=problem.code,
                                 message=problem.message,
                                 column=sheets.column_of(problem.field, headings)
                                 if headings else None)
              for problem in line.problems]
    return DossierImportRow(row=line.line, number=line.number,
                            outcome=Outcome.error.value if errors else line.outcome.value,
                            dossier_id=None if errors else line.dossier_id, errors=errors)


# --- replies and events ----------------------------------------------------------------------

def _party_shape(party: Party) -> PartyShape:
    # Our own row, checked on its way in (NewParty): its email is not run through
    # email-validator and IDNA again on every read.
    return PartyShape.model_construct(id=party.id, kind=party.kind, funder_id=party.funder_id,
                                      name=party.name, email=party.email)


def _summary_fields(dossier: Dossier, parties: dict[str, Party],
                    pending: list[PendingMonth]) -> dict:
    employer = parties.get(dossier.employer_id) if dossier.employer_id else None
    return dict(
        id=dossier.id, number=dossier.number, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id, organisation_name=dossier.organisation_name,
        beneficiary=_party_shape(parties[dossier.beneficiary_id]),
        employer=_party_shape(employer) if employer else None,
        training_title=dossier.training_title, session_start=dossier.session_start,
        session_end=dossier.session_end, commission_date=dossier.commission_date,
        status=dossier.status, status_label=dossier.status_label,
        action_type=dossier.action_type, action_type_label=dossier.action_type_label,
        pending_actions=[PendingMonthShape(month=month.month, month_label=month.month_label,
                                           status=month.status, status_label=month.status_label)
                         for month in pending])


def _dossier_shape(dossier: Dossier, parties: dict[str, Party],
                   pending: dict[str, list[PendingMonth]]) -> DossierShape:
    """The whole dossier, its calendar included: call it while its unit of work is open."""
    forecast = [PlannedDayShape(day=day.day, training_hours=day.training_hours,
                                internship_hours=day.internship_hours)
                for day in sorted(dossier.forecast, key=lambda planned: planned.day)]
    return DossierShape(**_summary_fields(dossier, parties, pending[dossier.id]),
                        forecast=forecast)


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
