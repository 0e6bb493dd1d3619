"""certification: monthly completion certificates of each dossier (Nameko entrypoints)."""
from __future__ import annotations


from nameko.rpc import rpc
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from contracts.certification import Certificate as CertificateReply
from contracts.certification import Certify, HoursEntry
from contracts.common import Actor, DossierMonth, Right
from contracts.dossiers import Dossier
from contracts.events import CertifiedV1, MonthHours, Party
from contracts.identity import Organisation
from contracts.pdfs import (AttendanceEntry, AttendanceSheetRequest, CertificateFacts,
                            DossierFacts, OrganisationFacts, PartyName, RenderedPdf)
from servicekit.access import require_right
from servicekit.base import ServiceBase
from servicekit.db import Database, concurrent_change_is_conflict, utcnow
from servicekit.events import idempotent, subscribe
from servicekit.logging import get_logger
from servicekit.outbox import OutboxRelay
from servicekit.rpc import RpcClient
from servicekit.validation import parse
from services.certification import domain
from services.certification.domain import Certificate
from services.certification.models import metadata, start_mappers

log = get_logger(__name__)

CONCURRENT_CHANGE = ("Ce certificat vient d'être modifié par quelqu'un d'autre : "
                     "rechargez la page et réessayez.")

DOCUMENTS_TIMEOUT = 30.0

MISSING_ENTER_HOURS = ("Vous n'avez pas le droit de saisir les heures : demandez-le à "
                       "l'administrateur de votre organisme.")
MISSING_CERTIFY = ("Vous n'avez pas le droit de certifier les certificats de réalisation : "
                   "demandez-le à l'administrateur de votre organisme.")


class CertificationService(ServiceBase):
    name = "certification"
    db = Database(metadata, start_mappers)
    relay = OutboxRelay()
    dossiers = RpcClient("dossiers")
    identity = RpcClient("identity")
    # A render waits its turn behind the documents replica's other renders: more than the
    # default timeout of a plain call.
    documents = RpcClient("documents", timeout=DOCUMENTS_TIMEOUT)

    @rpc
    def list_certificates(self, actor, dossier_id):
        actor = parse(Actor, actor)
        dossier = self._dossier(actor, dossier_id)
        session, now = _session_of(dossier), utcnow()
        with self.db.read() as db:
            stored = {c.month: c for c in db.scalars(
                select(Certificate).where(Certificate.dossier_id == dossier.id))}
        return [_reply(dossier.id, month, stored.get(month), session, now)
                for month in session.months()]

    @rpc
    def get_certificate(self, actor, dossier_id, month):
        actor, ref = parse(Actor, actor), _ref(dossier_id, month)
        dossier = self._dossier(actor, ref.dossier_id)
        with self.db.read() as db:
            certificate = _find(db, ref)
        return _reply(dossier.id, ref.month, certificate, _session_of(dossier), utcnow())

    @rpc
    def enter_hours(self, actor, dossier_id, month, hours):
        actor, ref = parse(Actor, actor), _ref(dossier_id, month)
        entry = parse(HoursEntry, hours)
        require_right(actor, Right.enter_hours, MISSING_ENTER_HOURS)
        dossier = self._dossier_to_change(actor, ref.dossier_id)
        session, now = _session_of(dossier), utcnow()
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            certificate = _find(uow.session, ref) or _new(uow.session, dossier, ref, now)
            certificate.enter_hours(domain.Hours.of(entry.training_hours, entry.internship_hours,
                                                    entry.absence_hours), session, now)
        return _reply(dossier.id, ref.month, certificate, session, now)

    @rpc
    def certify(self, actor, dossier_id, month, payload):
        actor, ref = parse(Actor, actor), _ref(dossier_id, month)
        command = parse(Certify, payload)
        require_right(actor, Right.certify_electronically, MISSING_CERTIFY)
        dossier = self._dossier_to_change(actor, ref.dossier_id)
        # Asked before the transaction opens: no row lock is held while identity answers.
        organisation = self._organisation(actor, dossier.organisation_id)
        now = utcnow()
        with concurrent_change_is_conflict(CONCURRENT_CHANGE), self.db.unit_of_work() as uow:
            certificate = domain.certify(_find(uow.session, ref), command.attest, actor.user_id,
                                         actor.ip, now)
            uow.publish("certified", _certified_event(certificate, dossier, organisation),
                        subject=f"{dossier.id}/{ref.month}")
        log.info("certificate_certified", dossier_id=dossier.id, month=ref.month)
        return _reply(dossier.id, ref.month, certificate, _session_of(dossier), now)

    @rpc
    def draft_certificate(self, actor, dossier_id, month):
        """The month's draft certificate (method 1: to print, sign and upload), rendered by
        documents and not stored: {filename, content_type, content_base64}."""
        actor, ref = parse(Actor, actor), _ref(dossier_id, month)
        dossier = self._dossier_to_change(actor, ref.dossier_id)
        with self.db.read() as db:
            certificate = domain.with_hours(_find(db, ref))
        facts = _certificate_facts(certificate, dossier,
                                   self._organisation(actor, dossier.organisation_id))
        rendered = self.documents.render_certificate_draft(actor.model_dump(mode="json"),
                                                           facts.model_dump(mode="json"))
        return RenderedPdf.model_validate(rendered).model_dump(mode="json")

    @rpc
    def attendance_sheet(self, actor, dossier_id, month, entry):
        """The month's attendance sheet from the days the organisation gives, on the dossier's
        own facts (not the caller's); documents renders and stores it: its Document."""
        actor, ref = parse(Actor, actor), _ref(dossier_id, month)
        entry = parse(AttendanceEntry, entry)
        dossier = self._dossier_to_change(actor, ref.dossier_id)
        domain.check_attendance_days([d.day for d in entry.days], ref.month, _session_of(dossier))
        request = AttendanceSheetRequest(
            dossier=_dossier_facts(dossier), organisation_name=dossier.organisation_name,
            month=ref.month, granularity=entry.granularity, days=entry.days)
        stored = self.documents.render_attendance_sheet(actor.model_dump(mode="json"),
                                                        request.model_dump(mode="json"))
        return stored["document"]

    @subscribe("payments", "month_locked")
    @idempotent
    def on_month_locked(self, uow, event):
        data = event.data
        certificate = _find(uow.session, DossierMonth(dossier_id=data.dossier_id,
                                                      month=data.month))
        if certificate is None:  # locks follow certification: only a foreign event lands here
            log.warning("month_locked_without_certificate", dossier_id=data.dossier_id,
                        month=data.month)
            return
        certificate.lock_for_payment(utcnow())

    def _dossier(self, actor: Actor, dossier_id) -> Dossier:
        """The dossier as dossiers lets this actor see it (NotFound otherwise): the access check."""
        return Dossier.model_validate(
            self.dossiers.get_dossier(actor.model_dump(mode="json"), dossier_id))

    def _organisation(self, actor: Actor, organisation_id: str) -> Organisation:
        """The organisation's letterhead (SIRET, address, legal representative) from identity."""
        return Organisation.model_validate(
            self.identity.get_organisation(actor.model_dump(mode="json"), organisation_id))

    def _dossier_to_change(self, actor: Actor, dossier_id) -> Dossier:
        dossier = self._dossier(actor, dossier_id)
        domain.ensure_may_change(actor.role, actor.organisation_id, dossier.organisation_id)
        return dossier


def _ref(dossier_id, month) -> DossierMonth:
    return parse(DossierMonth, {"dossier_id": dossier_id, "month": month})


def _session_of(dossier: Dossier) -> domain.Session:
    return domain.Session(dossier.session_start, dossier.session_end)


def _find(db: DbSession, ref: DossierMonth) -> Certificate | None:
    return db.scalars(select(Certificate).where(Certificate.dossier_id == ref.dossier_id,
                                                Certificate.month == ref.month)).first()


def _new(db: DbSession, dossier: Dossier, ref: DossierMonth, now) -> Certificate:
    certificate = Certificate.open(dossier.id, ref.month, dossier.funder_id,
                                   dossier.organisation_id, now)
    db.add(certificate)
    return certificate




def _reply(dossier_id: str, month: str, certificate: Certificate | None,
           session: domain.Session, now) -> dict:
    status = domain.status_of(month, certificate, session, now)
    fields = {"dossier_id": dossier_id, "month": month, "status": status,
              "status_label": domain.STATUS_LABELS[status]}
    if certificate is not None:
        fields.update(
            id=certificate.id, training_hours=certificate.training_hours,
            internship_hours=certificate.internship_hours,
            absence_hours=certificate.absence_hours, method=certificate.method,
            certified_by=certificate.certified_by, certified_at=certificate.certified_at,
            locked_for_payment=certificate.locked_for_payment, version=certificate.version)
    return CertificateReply(**fields).model_dump(mode="json")


def _party(party) -> Party | None:
    return Party(id=party.id, name=party.name, email=party.email) if party else None


def _month_hours(certificate: Certificate) -> MonthHours:
    hours = certificate.hours
    return MonthHours(training=hours.training, internship=hours.internship,
                      absence=hours.absence)


def _certified_event(certificate: Certificate, dossier: Dossier,
                     organisation: Organisation) -> CertifiedV1:
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
        legal_representative=organisation.legal_representative)


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
        dossier=_dossier_facts(dossier),
        organisation=OrganisationFacts(
            name=dossier.organisation_name, siret=organisation.siret,
            address=organisation.address,
            legal_representative=organisation.legal_representative),
        month=certificate.month, hours=_month_hours(certificate))
