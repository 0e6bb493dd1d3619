"""certification's use cases: hours entered, certified, validated, contested, transmitted,
reopened; the funder's settings; the hours template; events followed from other services.

Each takes the database (`db`: units of work and readings over models.py's repositories) and
the ports to other services (`Ports`), so it runs the same under Nameko and in a unit test.
The dossiers service decides who may see a dossier: every use case on one asks it first.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Callable, Iterator

from contracts.certification import Certificate as CertificateReply
from contracts.certification import (CertificationSettings, Certify, CodeRequest, CodeSent,
                                     Contest, DayEntry, EnteredDay,
                                     FunderCertificationSettings, HoursChange, HoursEntry,
                                     HoursProposal, ImportRow, PendingAction, PendingActions,
                                     ProposedEntry, Reopen, TemplateFile, TemplateQuery,
                                     TemplateUpload)
from contracts.common import Actor, DossierMonth, Right
from contracts.common.access import require_funder_staff, require_right
from contracts.common.errors import Conflict, Forbidden, InvalidInput, JalonError, NotFound
from contracts.common.formatting import datetime_fr, month_fr, signer_fr
from contracts.dossiers import Dossier, DossierSummary
from contracts.dossiers import Party as DossierParty
from contracts.events import (CertificateReopenedV1, CertifiedV1, HoursContestedV1,
                              HoursEnteredV1, HoursTransmittedV1, HoursValidatedV1, MonthHours,
                              MonthToCertifyV1, Party)
from contracts.identity import Organisation, OrganisationProfile
from contracts.ops import CertificateCounts, MonthEndQuery
from contracts.pdfs import (AttendanceEntry, AttendanceSheetRequest, CertificateFacts,
                            DossierFacts, MonthPresence, OrganisationFacts, PartyName,
                            RenderedPdf)
from servicekit.db import concurrent_change_is_conflict
from servicekit.logging import get_logger
from servicekit.rpc import at_once
from servicekit.validation import parse
from services.certification import adapters, domain
from services.certification.domain import (Certificate, CodeRequest as CodeRequestRow,
                                           FunderSettings)
from services.certification.domain.certificate import CERTIFIED_STATES

log = get_logger(__name__)

CONCURRENT_CHANGE = ("Ce certificat vient d'être modifié par quelqu'un d'autre : "
                     "rechargez la page et réessayez.")
MISSING_ENTER_HOURS = ("Vous n'avez pas le droit de saisir les heures : demandez-le à "
                       "l'administrateur de votre organisme.")
MISSING_CERTIFY = ("Vous n'avez pas le droit de certifier les certificats de réalisation (la "
                   "certification 100 % dématérialisée) : demandez-le à l'administrateur de "
                   "votre organisme.")
MISSING_SIGNED_CERTIFY = ("La certification par impression, signature et dépôt du certificat "
                          "demande le droit de saisir les heures : demandez-le à "
                          "l'administrateur de votre organisme.")
# The right each method of certify needs (seed 002): method 1 is part of entering hours.
CERTIFY_RIGHTS = {1: (Right.enter_hours, MISSING_SIGNED_CERTIFY),
                  2: (Right.certify_certificates, MISSING_CERTIFY)}
# The dashboard and the template cover this many of the caller's dossiers at most.
DOSSIER_LIST_LIMIT = 500
# The hours import job (docs/jobs.md): its kind and its phase, one step per dossier month.
IMPORT_HOURS, MONTHS = "certification.import_hours", "months"


@dataclass(frozen=True)
class Ports:
    """Other services, called with the actor as a dict (their RPC shape), and the clock."""

    dossiers: object       # get_dossier, list_dossiers, dossiers_in_progress
    identity: object       # get_organisation, get_organisation_profile (readiness)
    notifications: object  # send_direct_email
    documents: object      # list_documents, render_certificate_draft, render_attendance_sheet
    payments: object       # locked_months
    clock: Callable[[], datetime]


# ---- reading certificates -------------------------------------------------------------------

def list_certificates(db, ports: Ports, actor: Actor, dossier_id: str) -> list[dict]:
    dossier, locked = _dossier_and_locks(ports, actor, dossier_id)
    now = ports.clock()
    with db.reading() as uow:
        stored = {c.month: c for c in uow.certificates.of_dossiers([dossier.id])}
        mode = uow.settings.of_funder(dossier.funder_id).entry_mode
    return [_reply(dossier, month, stored.get(month), mode, now, locked=month in locked)
            for month in _session_of(dossier).months()]


def get_certificate(db, ports: Ports, actor: Actor, ref: DossierMonth) -> dict:
    dossier, locked = _dossier_and_locks(ports, actor, ref.dossier_id)
    with db.reading() as uow:
        certificate, settings = uow.certificates.with_settings(ref.dossier_id, ref.month,
                                                               dossier.funder_id)
    return _reply(dossier, ref.month, certificate, settings.entry_mode, ports.clock(),
                  locked=ref.month in locked)


# ---- entering hours -------------------------------------------------------------------------

def enter_hours(db, ports: Ports, actor: Actor, ref: DossierMonth, entry: HoursEntry) -> dict:
    """The whole month, per the funder's entry mode: month totals, or days / half-days
    (totals computed)."""
    require_right(actor, Right.enter_hours, MISSING_ENTER_HOURS)
    dossier, profile = _dossier_and_profile(ports, actor, ref.dossier_id)
    domain.ensure_ready_for_entry(profile.certification_method.missing)
    return _enter(db, ports, actor, dossier, ref, entry)


def change_hours(db, ports: Ports, actor: Actor, ref: DossierMonth,
                 change: HoursChange) -> dict:
    """Some of the month's values: those sent change, the stored ones stay."""
    require_right(actor, Right.enter_hours, MISSING_ENTER_HOURS)
    dossier, profile = _dossier_and_profile(ports, actor, ref.dossier_id)
    domain.ensure_ready_for_entry(profile.certification_method.missing)
    return _enter(db, ports, actor, dossier, ref, change, partial=True)


def propose_hours(db, ports: Ports, actor: Actor, ref: DossierMonth, source: str) -> dict:
    """The entry form's helpers, nothing stored: "Remise à zéro" (zero), "Charger le
    calendrier" (forecast), "Répartir 7h tous les jours" (spread)."""
    require_right(actor, Right.enter_hours, MISSING_ENTER_HOURS)
    dossier = _dossier_to_change(ports, actor, ref.dossier_id)
    session = _session_of(dossier)
    with db.reading() as uow:
        mode = uow.settings.of_funder(dossier.funder_id).entry_mode
    if source == "forecast":
        proposal = domain.forecast_proposal(mode, ref.month, session, _forecast(dossier))
    elif source == "spread":
        proposal = domain.spread_proposal(mode, ref.month, session)
    else:
        proposal = domain.zero_proposal(mode)
    warnings = domain.plan_warnings(proposal.totals,
                                    domain.planned_total(_forecast(dossier), ref.month))
    return HoursProposal(dossier_id=dossier.id, month=ref.month, source=source,
                         entry=_entry_shape(proposal), warnings=warnings).model_dump(mode="json")


def hours_template(db, ports: Ports, actor: Actor, query: TemplateQuery) -> dict:
    """The xlsx to fill: one row per open month of the organisation's dossiers (or of one
    dossier), per day or half-day when the funder asks for a detailed entry."""
    require_right(actor, Right.enter_hours, MISSING_ENTER_HOURS)
    if query.dossier_id:
        dossiers = [_dossier_to_change(ports, actor, query.dossier_id)]
    else:
        domain.ensure_may_change(actor.role, actor.organisation_id, actor.organisation_id or "")
        dossiers = _visible_dossiers(ports, actor)
    now = ports.clock()
    with db.reading() as uow:
        mode = uow.settings.of_funder(actor.funder_id).entry_mode
        stored = {c.dossier_id: c for c in uow.certificates.of_dossiers([d.id for d in dossiers])
                  if c.month == query.month}
    lines = []
    for dossier in dossiers:
        session = _session_of(dossier)
        if domain.status_of(query.month, stored.get(dossier.id), session, now) \
                in domain.ENTERABLE:
            lines += _template_lines(dossier, query.month, session, mode)
    content = adapters.write_template(mode, lines)
    return TemplateFile(filename=f"modele-heures-{query.month}.xlsx",
                        content_type=adapters.CONTENT_TYPE,
                        content_base64=base64.b64encode(content).decode("ascii")
                        ).model_dump(mode="json")


def import_hours(db, ports: Ports, actor: Actor, upload: TemplateUpload) -> dict:
    """The filled template, as a job (docs/jobs.md) that run_import_hours does: the right,
    the letterhead and the file are checked now, the dossier months entered in the
    background. The same rows submitted again are recognised (the job already there)."""
    require_right(actor, Right.enter_hours, MISSING_ENTER_HOURS)
    domain.ensure_may_change(actor.role, actor.organisation_id, actor.organisation_id or "")
    _ready_for_entry(ports, actor, actor.organisation_id)
    try:
        content = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_template", "Le fichier envoyé est illisible.") from None
    rows = adapters.read_filled(content)
    with db.unit_of_work() as uow:
        return uow.jobs.submit(IMPORT_HOURS, actor, {"rows": [asdict(row) for row in rows]},
                               {MONTHS: len(_month_groups(rows))})


def run_import_hours(db, ports: Ports, step) -> None:
    """The import job: each dossier month entered on its own (the good ones are kept), its
    rows' lines of the report recorded as the job's items. Resumed, it goes on with the months
    not yet recorded (one entered just before the crash is entered again, with the same
    hours)."""
    actor = step.actor
    groups = _month_groups([adapters.FilledRow(**row) for row in step.payload["rows"]])
    by_number = {d.number: d for d in _visible_dossiers(ports, actor)}
    for (number, month), rows in groups[step.done(MONTHS):]:
        lines = _import_group(db, ports, actor, by_number.get(number), month, rows)
        step.advance(MONTHS, 1, {line.row: line.model_dump(mode="json") for line in lines})
    report = step.outcomes().values()
    step.finish({"entered": len({(line["dossier_number"], line["month"]) for line in report
                                 if line["status"] == "ok"}),
                 "errors": sum(line["status"] == "error" for line in report)})


def _month_groups(rows: list[adapters.FilledRow]) -> list[tuple[tuple, list]]:
    """The rows by dossier month, in the order of their first row."""
    groups: dict[tuple, list] = defaultdict(list)
    for row in rows:
        groups[(row.dossier_number, row.month)].append(row)
    return list(groups.items())


def _import_group(db, ports: Ports, actor: Actor, summary: DossierSummary | None, month,
                  rows) -> list[ImportRow]:
    """Enter one dossier month from its rows; every row shares the outcome."""
    number = rows[0].dossier_number
    try:
        if summary is None:
            raise NotFound("dossier_not_found",
                           "Aucun de vos dossiers en cours ne porte ce numéro.")
        ref = parse(DossierMonth, {"dossier_id": summary.id, "month": month})
        entry = parse(HoursEntry, _entry_payload(rows))
        # The whole dossier (its forecast) for the plan's warning.
        reply = _enter(db, ports, actor, _dossier(ports, actor, summary.id), ref, entry)
    except JalonError as exc:
        return [ImportRow(row=r.row, dossier_number=number, month=month, status="error",
                          code=exc.code, message=exc.message) for r in rows]
    return [ImportRow(row=r.row, dossier_number=number, month=month, status="ok",
                      warnings=reply["warnings"]) for r in rows]


def _enter(db, ports: Ports, actor: Actor, dossier: Dossier, ref: DossierMonth,
           entry: HoursChange, partial: bool = False) -> dict:
    domain.ensure_dossier_open(dossier.status)
    session, now = _session_of(dossier), ports.clock()
    domain.ensure_in_session(ref.month, session)
    with concurrent_change_is_conflict(CONCURRENT_CHANGE), db.unit_of_work() as uow:
        certificate, settings = uow.certificates.with_settings(ref.dossier_id, ref.month,
                                                               dossier.funder_id)
        mode = settings.entry_mode
        if certificate is None:
            certificate = Certificate.open(dossier.id, ref.month, dossier.funder_id,
                                           dossier.organisation_id, now)
            uow.certificates.add(certificate)
        # A month that takes no hours says so before its values are judged.
        certificate.ensure_enterable(session, now)
        totals = {name: value for name in domain.TOTALS
                  if (value := getattr(entry, name)) is not None}
        days = [_day_hours(d) for d in entry.days]
        if partial:
            totals, days = domain.patched(mode, certificate.entry, totals, days)
        domain.require_complete(mode, totals, days)
        checked = domain.build_entry(mode, ref.month, session, _totals(totals), days)
        before = _month_hours(certificate) if certificate.has_hours else None
        certificate.enter_hours(checked, session, now)
        # identity's audit trail: who entered or changed the hours, from what to what.
        uow.publish("hours_entered", HoursEnteredV1(
            certificate_id=certificate.id, dossier_id=dossier.id, dossier_number=dossier.number,
            funder_id=dossier.funder_id, organisation_id=dossier.organisation_id,
            month=ref.month, before=before, after=_month_hours(certificate),
            entered_by=actor.user_id, entered_at=now), subject=f"{dossier.id}/{ref.month}")
    return _reply(dossier, ref.month, certificate, mode, now)


# ---- certifying -----------------------------------------------------------------------------

def request_code(db, ports: Ports, actor: Actor, ref: DossierMonth,
                 command: CodeRequest) -> dict:
    """Method 2: email a verification code to the user (a resend invalidates the previous
    code). Only the code's salted hash is kept."""
    require_right(actor, Right.certify_certificates, MISSING_CERTIFY)
    dossier, profile = _dossier_and_profile(ports, actor, ref.dossier_id)
    domain.ensure_dossier_open(dossier.status)
    if not actor.email:
        raise InvalidInput("email_required", "Votre compte n'a pas d'adresse e-mail où "
                                             "envoyer le code : renseignez-la.")
    domain.ensure_ready_for_electronic(profile.certification_method.missing)
    domain.require_ip_consent(command.accept_ip)
    now = ports.clock()
    with db.unit_of_work() as uow:
        certificate, existing, settings = uow.certificates.with_code_and_settings(
            dossier.id, ref.month, dossier.funder_id)
        domain.ensure_code_requestable(certificate, command.attest)
        domain.ensure_code_request_allowed(uow.code_requests.times_since(
            actor.user_id, dossier.id, ref.month, now - domain.CODE_REQUEST_WINDOW), now)
        uow.code_requests.add(CodeRequestRow(str(uuid.uuid4()), actor.user_id, dossier.id,
                                             ref.month, now))
        code, plain = domain.issue_code(existing, dossier.id, ref.month, actor.user_id,
                                        settings, now)
        if existing is None:
            uow.codes.add(code)
    # After commit: a failed send leaves a code nobody knows; "Renvoyer" sends another.
    ports.notifications.send_direct_email({
        "to": actor.email, "template": "certification_code",
        "context": {"code": plain, "month_label": month_fr(ref.month),
                    "dossier_number": dossier.number,
                    "valid_until": datetime_fr(code.expires_at),
                    "lifetime_minutes": settings.code_lifetime_minutes}})
    log.info("certification_code_sent", dossier_id=dossier.id, month=ref.month)
    return CodeSent(sent_to=_masked(actor.email), expires_at=code.expires_at,
                    code_length=settings.code_length,
                    lifetime_minutes=settings.code_lifetime_minutes).model_dump(mode="json")


def certify(db, ports: Ports, actor: Actor, ref: DossierMonth, command: Certify) -> dict:
    """Method 1 (signed PDF deposited) or 2 (emailed code); the evidence is kept and
    `certified` published through the outbox. Of two at once, one wins (409 for the
    other)."""
    require_right(actor, *CERTIFY_RIGHTS[command.method])
    # Asked before the transaction opens: no row lock is held while identity answers.
    dossier, profile = _dossier_and_profile(ports, actor, ref.dossier_id)
    domain.ensure_dossier_open(dossier.status)
    domain.require_attestation(command.attest)
    organisation, readiness = _letterhead(profile), profile.certification_method
    evidence, documents, warnings = {}, None, []
    if command.method == domain.METHOD_SIGNED_PDF:
        domain.ensure_ready_for_entry(readiness.missing, domain.METHOD_ONE)
        warnings = domain.stamp_warnings(readiness.missing)
        documents = ports.documents.list_documents(_who(actor), dossier.id)
    else:
        domain.ensure_ready_for_electronic(readiness.missing)
        domain.require_ip_consent(command.accept_ip)
        if not command.code:
            raise InvalidInput("code_required",
                               "Saisissez le code de vérification reçu par e-mail.")
    now, failure = ports.clock(), None
    with concurrent_change_is_conflict(CONCURRENT_CHANGE), db.unit_of_work() as uow:
        certificate, code, settings = uow.certificates.with_code_and_settings(
            ref.dossier_id, ref.month, dossier.funder_id)
        if documents is not None:
            # Checked against the row this transaction certifies: hours changed since the
            # deposit refuse it, even when changed while identity and documents answered.
            # A month not awaiting certification (already certified…) is refused as such.
            awaiting = certificate is not None and certificate.status == domain.HOURS_ENTERED
            evidence = {"document_sha256": domain.signed_certificate_sha256(
                documents, ref.month, certificate.updated_at if awaiting else None)}
        if command.method == domain.METHOD_ELECTRONIC:
            failure, evidence = _check_code(code, dossier, command, actor, certificate,
                                            organisation, readiness.certifier_since, now)
        if failure is None:
            steps = domain.validation_steps(settings, dossier.employer is not None)
            certificate = domain.certify(certificate, command.attest, actor.user_id, actor.ip,
                                         now, method=command.method, validations=steps,
                                         organisation_email=organisation.email,
                                         signer=domain.Signer(actor.name, actor.role.value),
                                         **evidence)
            uow.publish("certified", _certified_event(certificate, dossier, organisation,
                                                      settings.funder_email),
                        subject=f"{dossier.id}/{ref.month}")
            reply = _kept_reply(uow, dossier, ref.month, certificate, settings.entry_mode, now,
                                warnings)
    if failure is not None:  # raised once the counted attempt is committed
        raise failure
    log.info("certificate_certified", dossier_id=dossier.id, month=ref.month,
             method=command.method)
    return reply


def _check_code(code: domain.CertificationCode | None, dossier: Dossier, command: Certify,
                actor: Actor, certificate: Certificate | None, organisation: Organisation,
                certifier_since: datetime | None, now: datetime):
    """Method 2: (failure to raise after commit, evidence): the code's check counts."""
    certificate = domain.with_hours(certificate)
    if code is None:
        return Conflict("code_required", "Demandez d'abord l'envoi du code de "
                                         "vérification par e-mail."), {}
    failure = code.check(command.code, actor.user_id, now)
    if failure is not None:
        return failure, {}
    facts = _certificate_facts(certificate, dossier, organisation)
    # What the user certified: the facts the certificate prints, canonical JSON.
    digest = hashlib.sha256(facts.model_dump_json().encode()).hexdigest()
    # The certificate prints since when the organisation certifies so (identity's date), and
    # the IP consent.
    return None, {"document_sha256": digest, "code_checked_at": now,
                  "certifier_since": certifier_since, "ip_use_accepted": command.accept_ip}


def draft_certificate(db, ports: Ports, actor: Actor, ref: DossierMonth) -> dict:
    """The month's draft certificate (method 1: to print, sign and upload), rendered by
    documents and not stored: {filename, content_type, content_base64}."""
    dossier = _dossier_to_change(ports, actor, ref.dossier_id)
    with db.reading() as uow:
        certificate = domain.with_hours(uow.certificates.get(ref.dossier_id, ref.month))
    facts = _certificate_facts(certificate, dossier,
                               _organisation(ports, actor, dossier.organisation_id))
    rendered = ports.documents.render_certificate_draft(_who(actor),
                                                        facts.model_dump(mode="json"))
    return RenderedPdf.model_validate(rendered).model_dump(mode="json")


def attendance_sheet(db, ports: Ports, actor: Actor, ref: DossierMonth,
                     entry: AttendanceEntry) -> dict:
    """The month's attendance sheet from the days the organisation gives, on the dossier's
    own facts (not the caller's); documents renders and stores it: its Document, warned
    (and the sheet says so) when its total is not the month's certified or entered hours."""
    dossier = _dossier_to_change(ports, actor, ref.dossier_id)
    domain.check_attendance_days([d.day for d in entry.days], ref.month, _session_of(dossier))
    with db.reading() as uow:
        presence = _month_presence(uow.certificates.get(dossier.id, ref.month))
    request = AttendanceSheetRequest(
        dossier=_dossier_facts(dossier), organisation_name=dossier.organisation_name,
        month=ref.month, granularity=entry.granularity, days=entry.days,
        month_presence=presence)
    stored = ports.documents.render_attendance_sheet(_who(actor),
                                                     request.model_dump(mode="json"))
    return stored["document"]


def _month_presence(certificate: Certificate | None) -> MonthPresence | None:
    """The presence hours (training and internship) the sheet's total should match."""
    if certificate is None or not certificate.has_hours:
        return None
    return MonthPresence(hours=certificate.training_hours + certificate.internship_hours,
                         certified=certificate.status in CERTIFIED_STATES)


# ---- after certification --------------------------------------------------------------------

def reopen(db, ports: Ports, actor: Actor, ref: DossierMonth, command: Reopen) -> dict:
    """The dossier's funder reopens a certified month (with a reason) for a new entry."""
    dossier = _dossier(ports, actor, ref.dossier_id)
    domain.ensure_funder_staff_of(actor.role, actor.funder_id, dossier.funder_id)
    now = ports.clock()
    with concurrent_change_is_conflict(CONCURRENT_CHANGE), db.unit_of_work() as uow:
        certificate = uow.certificates.get(ref.dossier_id, ref.month)
        if certificate is None:
            raise Conflict("not_certified", "Seul un mois certifié peut être rouvert.",
                           {"month": ref.month})
        certificate.reopen(command.reason, actor.user_id, now)
        # Payments releases its lock of the month on it (only the funder's own reopening:
        # one that followed payments' month_unlocked is not echoed back).
        uow.publish("certificate_reopened", CertificateReopenedV1(
            certificate_id=certificate.id, dossier_id=dossier.id, funder_id=dossier.funder_id,
            organisation_id=dossier.organisation_id, month=ref.month,
            reason=certificate.reopen_reason, reopened_by=actor.user_id, reopened_at=now,
            dossier_number=dossier.number), subject=f"{dossier.id}/{ref.month}")
        reply = _kept_reply(uow, dossier, ref.month, certificate,
                            uow.settings.of_funder(dossier.funder_id).entry_mode, now)
    log.info("certificate_reopened", dossier_id=dossier.id, month=ref.month)
    return reply


def validate_hours(db, ports: Ports, actor: Actor, ref: DossierMonth) -> dict:
    """The dossier's beneficiary (then employer) validates the certified hours, when the
    funder requires it: the last validation makes them validated."""
    dossier, party = _dossier_of_party(ports, actor, ref.dossier_id)
    now = ports.clock()
    with concurrent_change_is_conflict(CONCURRENT_CHANGE), db.unit_of_work() as uow:
        certificate = _certified(uow, ref)
        certificate.validate(party, actor.user_id, now)
        uow.publish("hours_validated", _validated_event(certificate, dossier, party, actor, now),
                    subject=f"{dossier.id}/{ref.month}")
        reply = _kept_reply(uow, dossier, ref.month, certificate,
                            uow.settings.of_funder(dossier.funder_id).entry_mode, now)
    log.info("certificate_validated", dossier_id=dossier.id, month=ref.month, party=party)
    return reply


def contest_hours(db, ports: Ports, actor: Actor, ref: DossierMonth, command: Contest) -> dict:
    """The beneficiary or employer waited for contests the hours with a reason: the
    organisation is emailed (and the funder, per its settings); the funder reopens the month
    for the organisation to correct it."""
    dossier, party = _dossier_of_party(ports, actor, ref.dossier_id)
    now = ports.clock()
    with concurrent_change_is_conflict(CONCURRENT_CHANGE), db.unit_of_work() as uow:
        certificate = _certified(uow, ref)
        certificate.contest(party, command.reason, actor.user_id, now)
        settings = uow.settings.of_funder(dossier.funder_id)
        uow.publish("hours_contested", _contested_event(certificate, dossier, party,
                                                        settings.funder_email),
                    subject=f"{dossier.id}/{ref.month}")
        reply = _kept_reply(uow, dossier, ref.month, certificate, settings.entry_mode, now)
    log.info("certificate_contested", dossier_id=dossier.id, month=ref.month, party=party)
    return reply


def transmit_hours(db, ports: Ports, actor: Actor, ref: DossierMonth) -> dict:
    """Funder staff transmit a month's certified (or validated) hours for payment; once:
    asking again answers the same transmission and publishes nothing."""
    dossier = _dossier(ports, actor, ref.dossier_id)
    domain.ensure_funder_staff_of(actor.role, actor.funder_id, dossier.funder_id,
                                  "transmettre ses heures pour paiement")
    now = ports.clock()
    with concurrent_change_is_conflict(CONCURRENT_CHANGE), db.unit_of_work() as uow:
        certificate = uow.certificates.get(ref.dossier_id, ref.month)
        if certificate is None:
            raise domain.not_transmittable(ref.month)
        if certificate.transmit(actor.user_id, now):
            uow.publish("hours_transmitted", _transmitted_event(certificate, dossier),
                        subject=f"{dossier.id}/{ref.month}")
        reply = _kept_reply(uow, dossier, ref.month, certificate,
                            uow.settings.of_funder(dossier.funder_id).entry_mode, now)
    log.info("hours_transmitted", dossier_id=dossier.id, month=ref.month)
    return reply


def pending_actions(db, ports: Ports, actor: Actor) -> dict:
    """"N actions en attente": the months waiting for this user (an organisation's entries, a
    beneficiary's or employer's validations), oldest first."""
    if actor.role not in domain.PENDING_FOR_ROLE:
        raise Forbidden("no_pending_actions",
                        "Le tableau des actions en attente est celui des organismes, "
                        "bénéficiaires et employeurs.")
    dossiers = _visible_dossiers(ports, actor)
    stored = defaultdict(dict)
    with db.reading() as uow:
        for certificate in uow.certificates.of_dossiers([d.id for d in dossiers]):
            stored[certificate.dossier_id][certificate.month] = certificate
    now, actions = ports.clock(), []
    for dossier in dossiers:
        for month, status in domain.pending_months(actor.role, _session_of(dossier),
                                                   stored[dossier.id], now):
            actions.append(_pending_action(dossier, month, status))
    actions.sort(key=lambda a: (a.month, a.dossier_number))
    return PendingActions(count=len(actions), label=domain.actions_label(len(actions)),
                          actions=actions).model_dump(mode="json")


# ---- the months to certify (the daily job) --------------------------------------------------

def announce_months_to_certify(db, ports: Ports, day: date | None = None) -> dict:
    """Announce (`month_to_certify`) each month of a dossier in progress that is open for
    entry on `day` (today in Paris by default) and waits for its organisation, once per
    dossier and month however many runs or replicas (python -m tools.months_to_certify)."""
    day = day or domain.local_today(ports.clock())
    dossiers = announced = 0
    for dossier in _dossiers_in_progress(ports):
        dossiers += 1
        announced += _announce_months(db, ports, dossier, day)
    log.info("months_to_certify_announced", day=day.isoformat(), dossiers=dossiers,
             announced=announced)
    return {"day": day.isoformat(), "dossiers": dossiers, "announced": announced}


def _dossiers_in_progress(ports: Ports) -> Iterator[DossierSummary]:
    """Every funder's dossiers not closed, asked of dossiers a page at a time."""
    after = None
    while True:
        page = ports.dossiers.dossiers_in_progress(after, DOSSIER_LIST_LIMIT)
        yield from map(DossierSummary.model_validate, page)
        if len(page) < DOSSIER_LIST_LIMIT:
            return
        after = page[-1]["id"]


def _announce_months(db, ports: Ports, dossier: DossierSummary, day: date) -> int:
    """The dossier's months to announce, claimed and published in one transaction: a month
    another run claimed first is not published again."""
    now = ports.clock()
    with db.unit_of_work() as uow:
        stored = {c.month: c for c in uow.certificates.of_dossiers([dossier.id])}
        months = domain.months_to_certify(_session_of(dossier), stored, day)
        claimed = uow.announcements.claim(dossier.id, months, now)
        for month in claimed:
            uow.publish("month_to_certify", MonthToCertifyV1(
                dossier_id=dossier.id, dossier_number=dossier.number,
                funder_id=dossier.funder_id, organisation_id=dossier.organisation_id,
                beneficiary_name=dossier.beneficiary.name, month=month, announced_at=now),
                subject=f"{dossier.id}/{month}")
    return len(claimed)


# ---- the month-end view of the ops command line (jalon month-end) ---------------------------

def month_end_counts(db, query: MonthEndQuery) -> list[dict]:
    """Per funder and month: months open for entry (to certify) and months certified."""
    with db.reading() as reading:
        rows = reading.certificates.month_end_counts(
            query.funder_id, query.month, to_certify=domain.ENTERABLE,
            certified=CERTIFIED_STATES | {domain.CLOSED_BY_PAYMENT})
    return [CertificateCounts(**row).model_dump(mode="json") for row in rows]


# ---- the funder's settings ------------------------------------------------------------------

def get_settings(db, actor: Actor) -> dict:
    """The caller's funder's certification settings (the defaults until saved)."""
    require_funder_staff(actor)
    with db.reading() as uow:
        return _settings_reply(uow.settings.of_funder(actor.funder_id))


def update_settings(db, ports: Ports, actor: Actor, values: CertificationSettings) -> dict:
    domain.ensure_funder_admin(actor.role)
    with db.unit_of_work() as uow:
        settings = uow.settings.get(actor.funder_id)
        if settings is None:
            settings = FunderSettings(actor.funder_id)
            uow.settings.add(settings)
        settings.change(values.model_dump(), actor.user_id, ports.clock())
    log.info("certification_settings_updated", funder_id=actor.funder_id)
    return _settings_reply(settings)


# ---- events of other services ---------------------------------------------------------------

def on_funder_bootstrapped(uow, data) -> None:
    """A new funder is emailed at each certification by default (seed 002), at its first
    administrator's address until its settings say otherwise."""
    if uow.settings.get(data.funder_id) is None:
        uow.settings.add(domain.FunderSettings(
            data.funder_id, funder_notification_email=data.contact_email))


def on_month_unlocked(uow, ports: Ports, data) -> None:
    """The funder unlocked a paid-for month in payments: it reopens here too."""
    certificate = uow.certificates.get(data.dossier_id, data.month)
    if certificate is not None:
        certificate.reopen_after_unlock(data.reason, data.unlocked_by, ports.clock())


def on_payment_issued(uow, ports: Ports, data) -> None:
    """A payment closes its months for entry ("des règlements ont été faits dans la
    période"); an advance closes nothing."""
    if data.advance:
        log.info("advance_closes_nothing", payment_id=data.payment_id)
        return
    now = ports.clock()
    for covered in data.dossiers:
        for month in covered.months:
            certificate = uow.certificates.get(covered.dossier_id, month)
            if certificate is None:
                certificate = Certificate.open(covered.dossier_id, month, data.funder_id,
                                               data.organisation_id, now)
                uow.certificates.add(certificate)
            certificate.close_by_payment(data.payment_id, data.payment_number, now)


# ---- what other services say ----------------------------------------------------------------

def _who(actor: Actor) -> dict:
    return actor.model_dump(mode="json")


def _dossier(ports: Ports, actor: Actor, dossier_id) -> Dossier:
    """The dossier as dossiers lets this actor see it (NotFound otherwise): the access check."""
    return Dossier.model_validate(ports.dossiers.get_dossier(_who(actor), dossier_id))


def _dossier_to_change(ports: Ports, actor: Actor, dossier_id) -> Dossier:
    dossier = _dossier(ports, actor, dossier_id)
    domain.ensure_may_change(actor.role, actor.organisation_id, dossier.organisation_id)
    return dossier


def _dossier_of_party(ports: Ports, actor: Actor, dossier_id) -> tuple[Dossier, str]:
    """The dossier and which of its parties the caller is (its own beneficiary or employer
    only)."""
    dossier = _dossier(ports, actor, dossier_id)
    party = domain.party_of(actor.role, actor.party_id, dossier.beneficiary.id,
                            dossier.employer.id if dossier.employer else None)
    return dossier, party


def _visible_dossiers(ports: Ports, actor: Actor) -> list[DossierSummary]:
    """The caller's dossiers in progress, as dossiers scopes them (organisation, beneficiary,
    employer): a closed dossier waits for nothing."""
    found = ports.dossiers.list_dossiers(_who(actor), None, DOSSIER_LIST_LIMIT)
    return [summary for summary in map(DossierSummary.model_validate, found)
            if summary.status != domain.CLOSED_DOSSIER]


def _organisation(ports: Ports, actor: Actor, organisation_id: str) -> Organisation:
    """The organisation's letterhead (SIRET, address, legal representative) from identity."""
    return Organisation.model_validate(
        ports.identity.get_organisation(_who(actor), organisation_id))


def _dossier_and_profile(ports: Ports, actor: Actor,
                         dossier_id) -> tuple[Dossier, OrganisationProfile]:
    """The dossier the actor changes and its organisation's profile, asked of dossiers and
    identity at once (one wait, not two). Only a user of the dossier's own organisation gets
    past the first, so the actor's organisation is the dossier's."""
    dossier, profile = at_once(lambda: _dossier_to_change(ports, actor, dossier_id),
                               lambda: _profile(ports, actor, actor.organisation_id))
    return dossier, profile


def _profile(ports: Ports, actor: Actor, organisation_id: str) -> OrganisationProfile:
    """« Votre identité » as identity holds it, with the organisation's readiness: what it
    lacks to enter hours and for each method. Identity alone judges it; asked each time."""
    return OrganisationProfile.model_validate(
        ports.identity.get_organisation_profile(_who(actor), organisation_id))


def _ready_for_entry(ports: Ports, actor: Actor, organisation_id: str) -> None:
    """Online entry of hours waits for the legal representative and the logo (seed 001)."""
    domain.ensure_ready_for_entry(
        _profile(ports, actor, organisation_id).certification_method.missing)


def _letterhead(profile: OrganisationProfile) -> Organisation:
    return Organisation.model_validate(profile.model_dump(include=set(Organisation.model_fields)))


def _dossier_and_locks(ports: Ports, actor: Actor, dossier_id) -> tuple[Dossier, set[str]]:
    """The dossier (the access check) and its locked months, asked at once: a refusal of the
    dossier is raised first, whatever payments answered."""
    dossier, locked = at_once(lambda: _dossier(ports, actor, dossier_id),
                              lambda: _locked_months(ports, actor, dossier_id))
    return dossier, locked


def _locked_months(ports: Ports, actor: Actor, dossier_id: str) -> set[str]:
    """The dossier's months payments holds locked, as payments lets this actor see them: the
    dossier's beneficiary and employer see the dossier but not its locks."""
    try:
        return set(ports.payments.locked_months(_who(actor), dossier_id))
    except NotFound:
        return set()


# ---- the stored certificates ----------------------------------------------------------------

def _certified(uow, ref: DossierMonth) -> Certificate:
    certificate = uow.certificates.get(ref.dossier_id, ref.month)
    if certificate is None:
        raise Conflict("not_awaiting_validation",
                       "Ces heures n'attendent pas de validation.", {"month": ref.month})
    return certificate


def _session_of(dossier: Dossier | DossierSummary) -> domain.Session:
    return domain.Session(dossier.session_start, dossier.session_end)


def _forecast(dossier: Dossier) -> list[domain.PlannedHours]:
    return [domain.PlannedHours(p.day, p.training_hours, p.internship_hours)
            for p in dossier.forecast]


def _totals(totals: dict) -> domain.Hours | None:
    """Per day or half-day, totals are an optional check: those not sent count as zero."""
    if not totals:
        return None
    return domain.Hours.of(*(totals.get(name, "0") for name in domain.TOTALS))


def _day_hours(day: DayEntry) -> domain.DayHours:
    hours = domain.Hours.of(day.training_hours, day.internship_hours, day.absence_hours)
    return domain.DayHours(day.day, day.period, hours.training, hours.internship, hours.absence)


def _entry_payload(rows) -> dict:
    """An uploaded group of rows as enter_hours' payload: one row of totals, or days."""
    if len(rows) == 1 and rows[0].day is None:
        row = rows[0]
        return {"training_hours": row.training, "internship_hours": row.internship,
                "absence_hours": row.absence}
    return {"days": [{"day": row.day, "period": row.period or domain.WHOLE_DAY,
                      "training_hours": row.training, "internship_hours": row.internship,
                      "absence_hours": row.absence} for row in rows]}


def _template_lines(dossier: DossierSummary, month: str, session: domain.Session,
                    mode: str) -> list[adapters.TemplateLine]:
    common = (dossier.number, dossier.beneficiary.name, dossier.training_title, month)
    if mode == domain.MONTH_TOTALS:
        return [adapters.TemplateLine(*common)]
    return [adapters.TemplateLine(*common, day, period)
            for day in domain.session_days(month, session)
            for period in domain.PERIODS_OF_MODE[mode]]


def _masked(email: str) -> str:
    """"claire.martin@horizon.example.org" -> "c***@horizon.example.org"."""
    local, _, domain_part = email.partition("@")
    return f"{local[:1]}***@{domain_part}"


# ---- views: replies and events --------------------------------------------------------------

def _reply(dossier: Dossier, month: str, certificate: Certificate | None, mode: str,
           now: datetime, warnings: list[dict] = (), locked: bool = False) -> dict:
    session = _session_of(dossier)
    status = domain.status_of(month, certificate, session, now)
    planned = domain.planned_total(_forecast(dossier), month)
    fields = {"dossier_id": dossier.id, "month": month, "status": status,
              "status_label": domain.status_label(status, certificate), "entry_mode": mode,
              "period_label": domain.period_label(month), "planned_hours": planned,
              "locked_for_payment": locked}
    if certificate is not None:
        fields.update(
            id=certificate.id, training_hours=certificate.training_hours,
            hours_reference=_hours_reference(certificate),
            internship_hours=certificate.internship_hours,
            absence_hours=certificate.absence_hours, days=certificate.detail or [],
            warnings=domain.plan_warnings(certificate.hours if certificate.has_hours else None,
                                          planned) + list(warnings),
            method=certificate.method, certified_by=certificate.certified_by,
            certified_by_name=certificate.certified_by_name,
            certified_by_role=certificate.certified_by_role,
            certified_by_label=_signer_label(certificate),
            certified_at=certificate.certified_at,
            certified_document_sha256=certificate.certified_document_sha256,
            code_checked_at=certificate.code_checked_at,
            reopen_reason=certificate.reopen_reason, reopened_at=certificate.reopened_at,
            closed_by_payment_number=certificate.closed_by_payment_number,
            validations=certificate.validations or [],
            beneficiary_validated_at=certificate.beneficiary_validated_at,
            employer_validated_at=certificate.employer_validated_at,
            contested_party=certificate.contested_party,
            contest_reason=certificate.contest_reason, contested_at=certificate.contested_at,
            transmitted_at=certificate.transmitted_at,
            transmitted_by=certificate.transmitted_by, version=certificate.version)
    return CertificateReply(**fields).model_dump(mode="json")


def _kept_reply(uow, dossier: Dossier, month: str, certificate: Certificate, mode: str,
                now: datetime, warnings: list[dict] = ()) -> dict:
    """The reply, stored in the transaction of the change it reports, so that a call
    redelivered after commit replays it (servicekit.idempotency). Written first: it carries
    the version the commit stores."""
    uow.certificates.write_now()
    reply = _reply(dossier, month, certificate, mode, now, warnings)
    uow.keep_reply(reply)
    return reply


def _entry_shape(entry: domain.Entry) -> ProposedEntry:
    totals = entry.totals
    return ProposedEntry(training_hours=totals.training, internship_hours=totals.internship,
                         absence_hours=totals.absence,
                         days=[EnteredDay.model_validate(d.as_dict()) for d in entry.days])


def _pending_action(dossier: DossierSummary, month: str, status: str) -> PendingAction:
    return PendingAction(
        dossier_id=dossier.id, dossier_number=dossier.number,
        beneficiary_name=dossier.beneficiary.name, training_title=dossier.training_title,
        session_start=dossier.session_start, session_end=dossier.session_end, month=month,
        period_label=domain.period_label(month), status=status,
        status_label=domain.STATUS_LABELS[status])


def _settings_reply(settings: FunderSettings) -> dict:
    return FunderCertificationSettings(
        funder_id=settings.funder_id, entry_mode=settings.entry_mode,
        code_length=settings.code_length,
        code_lifetime_minutes=settings.code_lifetime_minutes,
        beneficiary_validation=settings.beneficiary_validation,
        employer_validation=settings.employer_validation, notify_funder=settings.notify_funder,
        funder_notification_email=settings.funder_notification_email,
        updated_by=settings.updated_by, updated_at=settings.updated_at).model_dump(mode="json")


def _party(party) -> Party | None:
    return Party(id=party.id, name=party.name, email=party.email) if party else None


def _month_hours(certificate: Certificate) -> MonthHours:
    hours = certificate.hours
    return MonthHours(training=hours.training, internship=hours.internship,
                      absence=hours.absence)


def _certified_event(certificate: Certificate, dossier: Dossier, organisation: Organisation,
                     funder_email: str | None) -> CertifiedV1:
    return CertifiedV1(
        certificate_id=certificate.id, dossier_id=dossier.id, dossier_number=dossier.number,
        funder_id=dossier.funder_id, organisation_id=dossier.organisation_id,
        organisation_name=dossier.organisation_name, beneficiary=_party(dossier.beneficiary),
        employer=_party(dossier.employer), training_title=dossier.training_title,
        session_start=dossier.session_start, session_end=dossier.session_end,
        month=certificate.month, hours=_month_hours(certificate),
        method=certificate.method, certified_by=certificate.certified_by,
        certified_at=certificate.certified_at, certified_from_ip=certificate.certified_from_ip,
        organisation_siret=organisation.siret, organisation_address=organisation.address,
        legal_representative=organisation.legal_representative,
        funder_notification_email=funder_email, validations=certificate.validations,
        certified_by_name=certificate.certified_by_name,
        certified_by_role=certificate.certified_by_role,
        certifier_since=certificate.certifier_since,
        ip_use_accepted=certificate.ip_use_accepted,
        hours_reference=_hours_reference(certificate), action_type=dossier.action_type)


def _signer_label(certificate: Certificate) -> str | None:
    if certificate.certified_by is None:
        return None
    return signer_fr(certificate.certified_by, certificate.certified_by_name,
                     certificate.certified_by_role)


def _party_named(dossier: Dossier, party: str) -> DossierParty:
    return dossier.beneficiary if party == domain.BENEFICIARY else dossier.employer


def _validated_event(certificate: Certificate, dossier: Dossier, party: str, actor: Actor,
                     now: datetime) -> HoursValidatedV1:
    """`complete` when this validation was the last the funder asks for."""
    return HoursValidatedV1(
        certificate_id=certificate.id, dossier_id=dossier.id, dossier_number=dossier.number,
        funder_id=dossier.funder_id, organisation_id=dossier.organisation_id,
        month=certificate.month, party=party, party_name=_party_named(dossier, party).name,
        complete=certificate.status == domain.VALIDATED,
        validated_by=actor.user_id, validated_at=now)


def _contested_event(certificate: Certificate, dossier: Dossier, party: str,
                     funder_email: str | None) -> HoursContestedV1:
    who = _party_named(dossier, party)
    return HoursContestedV1(
        certificate_id=certificate.id, dossier_id=dossier.id, dossier_number=dossier.number,
        funder_id=dossier.funder_id, organisation_id=dossier.organisation_id,
        organisation_name=dossier.organisation_name,
        organisation_email=certificate.organisation_email,
        funder_notification_email=funder_email, month=certificate.month, party=party,
        party_name=who.name, reason=certificate.contest_reason,
        contested_by=certificate.contested_by, contested_at=certificate.contested_at)


def _transmitted_event(certificate: Certificate, dossier: Dossier) -> HoursTransmittedV1:
    return HoursTransmittedV1(
        certificate_id=certificate.id, dossier_id=dossier.id, dossier_number=dossier.number,
        funder_id=dossier.funder_id, organisation_id=dossier.organisation_id,
        month=certificate.month, hours=_month_hours(certificate), status=certificate.status,
        transmitted_by=certificate.transmitted_by, transmitted_at=certificate.transmitted_at)


def _party_name(party) -> PartyName | None:
    return PartyName(id=party.id, name=party.name) if party else None


def _dossier_facts(dossier: Dossier) -> DossierFacts:
    return DossierFacts(
        dossier_id=dossier.id, dossier_number=dossier.number, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id,
        beneficiary=_party_name(dossier.beneficiary), employer=_party_name(dossier.employer),
        training_title=dossier.training_title, session_start=dossier.session_start,
        session_end=dossier.session_end)


def _certificate_facts(certificate: Certificate, dossier: Dossier,
                       organisation: Organisation) -> CertificateFacts:
    """What the draft certificate prints: the same facts the certified event carries."""
    return CertificateFacts(
        dossier=_dossier_facts(dossier), action_type=dossier.action_type,
        organisation=OrganisationFacts(
            name=dossier.organisation_name, siret=organisation.siret,
            address=organisation.address,
            legal_representative=organisation.legal_representative),
        month=certificate.month, hours=_month_hours(certificate),
        hours_reference=_hours_reference(certificate))


def _hours_reference(certificate: Certificate) -> str | None:
    return (domain.hours_reference(certificate.hours, certificate.days)
            if certificate.has_hours else None)
