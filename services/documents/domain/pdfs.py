"""What the generated PDFs print: template contexts, names and references.

Its own module beside the document rules: the PDFs' wording changes with the Ministry's and
the funders' models, not with the rules. The day, the random token and the images' addresses
are passed in. The requests read here are contracts.pdfs' shapes (CertificateFacts,
AttendanceSheetRequest, RemittanceAdviceRequest, CreditNoteProFormaRequest), built by the
handlers.
"""
from __future__ import annotations

import base64
import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date

from contracts.common import Actor, Role
from contracts.common.access import require_funder_staff
from contracts.common.errors import Forbidden
from contracts.common.formatting import (LOCALE, NO_BREAK_SPACE, PARIS, amount_fr, date_fr,
                                         datetime_fr, hours_fr, month_fr, signer_fr)
from services.documents.domain.categories import PDF
from services.documents.domain.documents import (REJECTED, Document, certificate_filename,
                                                 safe_name_part)

LOGO, STAMP = "logo", "stamp"
ATTENDANCE_SHEET = "attendance_sheet"
REMITTANCE_ADVICE = "remittance_advice"
CREDIT_NOTE_PRO_FORMA = "credit_note_pro_forma"
PAYMENTS = "payments"
"""The only service that asks for a remittance advice or a credit note's pro forma
(servicekit.caller names it)."""
IMAGE_SCHEME = "jalon-file:"
"""Images reach weasyprint as jalon-file:<sha256>, served from memory by the renderer: no
path, no network, and content addressing makes the URL a safe cache key."""

ACTION_NATURES = (
    ("formation", "action de formation"),
    ("bilan", "bilan de compétences"),
    ("vae", "action de validation des acquis de l'expérience"),
    ("apprentissage", "action de formation par apprentissage"),
)
"""The Ministry's model lists the four natures; the dossier's type of action ticks one."""
NATURE_OF_ACTION_TYPE = {"ptp": "formation", "bilan": "bilan", "vae": "vae",
                         "apprentissage": "apprentissage", None: "formation"}
"""contracts.dossiers.ActionType -> its nature (a PTP is a training action; no type: PTP)."""

HOW_VERIFIED = {2: "code à usage unique envoyé par courriel"}
"""Method 2 (electronic certification): how the certifier proved who they were."""

REFERENCE_PREFIX = "JAL-"
_REFERENCE = re.compile(r"^JAL-[A-Z2-7]{12}$")
_POSTCODE_TOWN = re.compile(r"\b\d{5}\s+([^,\n]+?)\s*$")


@dataclass(frozen=True)
class Certification:
    """What only a final certificate prints: how it was certified, and its reference."""

    reference: str
    method: int
    certified_by: str
    certified_at: datetime
    certified_from_ip: str | None = None
    certified_by_name: str | None = None
    certified_by_role: str | None = None
    certifier_since: datetime | None = None
    ip_use_accepted: bool | None = None

    @property
    def signer(self) -> str:
        """"Claire Martin (organisme de formation)": a person reads the certificate."""
        return signer_fr(self.certified_by, self.certified_by_name, self.certified_by_role)


# --- who may have a PDF made ----------------------------------------------------------------

def check_may_render(actor: Actor, funder_id: str, organisation_id: str) -> None:
    """A dossier's PDFs are made for its organisation's users and its funder's staff. The
    caller (certification, the gateway) already checked the dossier itself; this keeps an
    organisation from having another's letterhead, logo and stamp printed."""
    if actor.funder_id == funder_id and (
            actor.is_funder_staff
            or (actor.role == Role.organisation_user and actor.organisation_id == organisation_id)):
        return
    raise Forbidden("not_allowed", "Vous ne pouvez pas produire ce document.")


# --- small formats ---------------------------------------------------------------------------

def siret_fr(siret: str | None) -> str | None:
    """"73282932000074" -> "732 829 320 00074" (SIREN in threes, then the NIC)."""
    if not siret:
        return None
    digits = re.sub(r"\s", "", siret)
    if not (len(digits) == 14 and digits.isdigit()):
        return siret
    return NO_BREAK_SPACE.join((digits[0:3], digits[3:6], digits[6:9], digits[9:]))


def town_of(address: str | None) -> str | None:
    """"12 rue du Lac, 67000 Strasbourg" -> "Strasbourg"; the whole address when no postcode
    is found; None without an address (the certificate then prints "Fait le ...")."""
    if not address or not address.strip():
        return None
    last_line = address.strip().splitlines()[-1]
    found = _POSTCODE_TOWN.search(last_line) or _POSTCODE_TOWN.search(address.strip())
    return found.group(1) if found else " ".join(address.split())


def day_fr(day: date) -> str:
    """date(2026, 9, 1) -> "mardi 01", as the seeds' monthly grids list days."""
    return format_date(day, "EEEE dd", locale=LOCALE)


def verification_reference(token: bytes) -> str:
    """"JAL-" + 12 base32 characters (60 random bits) from a random token of >= 8 bytes."""
    if len(token) < 8:
        raise ValueError("the token needs at least 8 random bytes")
    return REFERENCE_PREFIX + base64.b32encode(token).decode("ascii")[:12]


def normalise_reference(text: str) -> str | None:
    """What a person types from a paper copy (any case, spaces) -> the reference, or None."""
    if not isinstance(text, str):
        return None
    candidate = re.sub(r"\s", "", text).upper()
    return candidate if _REFERENCE.match(candidate) else None


def image_url(sha256: str | None) -> str | None:
    return IMAGE_SCHEME + sha256 if sha256 else None


# --- the completion certificate --------------------------------------------------------------

def certification_of(data, reference: str) -> Certification:
    """What a `certified` event (contracts.events.CertifiedV1) says of the certification."""
    return Certification(reference=reference, method=data.method,
                         certified_by=data.certified_by, certified_at=data.certified_at,
                         certified_from_ip=data.certified_from_ip,
                         certified_by_name=data.certified_by_name,
                         certified_by_role=data.certified_by_role,
                         certifier_since=data.certifier_since,
                         ip_use_accepted=data.ip_use_accepted)


def letterhead(organisation, logo_sha256: str | None) -> dict:
    return {
        "name": organisation.name,
        "address_lines": [line.strip() for line in (organisation.address or "").splitlines()
                          if line.strip()],
        "siret": siret_fr(organisation.siret),
        "logo_url": image_url(logo_sha256),
    }


def certificate_context(facts, issued_on: date,
                        certification: Certification | None = None,
                        logo_sha256: str | None = None,
                        stamp_sha256: str | None = None) -> dict:
    """The certificate's context: a draft (watermarked, to sign by hand) without
    `certification`, the final version with it. `issued_on`: the day it is made, in Paris."""
    dossier, hours = facts.dossier, facts.hours
    return {
        "draft": certification is None,
        "letterhead": letterhead(facts.organisation, logo_sha256),
        "legal_representative": facts.organisation.legal_representative,
        "organisation_name": facts.organisation.name,
        "dossier_number": dossier.dossier_number,
        "beneficiary_name": dossier.beneficiary.name,
        "employer_name": dossier.employer.name if dossier.employer else None,
        "training_title": dossier.training_title,
        "natures": [{"label": label,
                     "ticked": key == NATURE_OF_ACTION_TYPE[facts.action_type]}
                    for key, label in ACTION_NATURES],
        "session_start": date_fr(dossier.session_start),
        "session_end": date_fr(dossier.session_end),
        "month_label": month_fr(facts.month),
        "hours": [
            ("Heures de présence en formation", hours_fr(hours.training)),
            ("Heures de présence en stage", hours_fr(hours.internship)),
            ("Heures d'absence", hours_fr(hours.absence)),
        ],
        "hours_reference": facts.hours_reference,
        "place": town_of(facts.organisation.address),
        "made_on": date_fr(issued_on),
        "stamp_url": image_url(stamp_sha256),
        "electronic": _electronic_block(certification),
        "certification": _certification_line(certification),
        "reference": certification.reference if certification else None,
    }


def certificate_issued_on(certification: Certification) -> date:
    """A final certificate is dated the day it was certified, in Paris."""
    return certification.certified_at.astimezone(PARIS).date()


def _electronic_block(certification: Certification | None) -> dict | None:
    if certification is None or certification.method not in HOW_VERIFIED:
        return None
    return {
        "certified_by": certification.signer,
        "certified_at": datetime_fr(certification.certified_at),
        "ip": certification.certified_from_ip or "non communiquée",
        "certifier_since": (date_fr(certification.certifier_since.astimezone(PARIS))
                            if certification.certifier_since else None),
        "ip_use_accepted": certification.ip_use_accepted,
        "how": HOW_VERIFIED[certification.method],
    }


def _certification_line(certification: Certification | None) -> str | None:
    if certification is None:
        return None
    return (f"Heures certifiées le {datetime_fr(certification.certified_at)} (heure de Paris) "
            f"par {certification.signer}.")


def draft_filename(dossier_number: str, month: str) -> str:
    return certificate_filename(dossier_number, month).removesuffix(".pdf") + "-projet.pdf"


# --- the attendance sheet --------------------------------------------------------------------

ATTENDANCE_TOTAL_DIFFERS = "attendance_total_differs"


def attendance_context(request) -> dict:
    half_days = request.granularity == "half_day"
    rows = []
    for entry in sorted(request.days, key=lambda d: d.day):
        rows.append({"day": day_fr(entry.day), "date": date_fr(entry.day),
                     "parts": [{"label": label, "hours": hours_fr(hours) if hours is not None
                                else ""} for label, hours in _parts(entry, half_days)]})
    dossier = request.dossier
    return {
        "half_days": half_days,
        "organisation_name": request.organisation_name,
        "dossier_number": dossier.dossier_number,
        "beneficiary_name": dossier.beneficiary.name,
        "employer_name": dossier.employer.name if dossier.employer else None,
        "training_title": dossier.training_title,
        "session_start": date_fr(dossier.session_start),
        "session_end": date_fr(dossier.session_end),
        "month_label": month_fr(request.month),
        "rows": rows,
        "total": hours_fr(attendance_total(request)),
        "total_differs": attendance_total_differs(request),
    }


def _parts(entry, half_days: bool) -> list[tuple[str | None, Decimal | None]]:
    """A day's rows: morning and afternoon per half-day, else the day's hours."""
    if half_days:
        return [("Matin", entry.morning), ("Après-midi", entry.afternoon)]
    return [(None, entry.hours)]


def attendance_total(request) -> Decimal:
    half_days = request.granularity == "half_day"
    return sum((hours or Decimal(0) for entry in request.days
                for _, hours in _parts(entry, half_days)), Decimal(0))


def attendance_total_differs(request) -> str | None:
    """Said on the sheet and in the reply when its total is not the month's presence hours
    (training and internship) as certified, or entered: one of them needs correcting."""
    presence, total = request.month_presence, attendance_total(request)
    if presence is None or presence.hours == total:
        return None
    which = "certifiées" if presence.certified else "saisies"
    return (f"Le total de cette fiche de présence ({hours_fr(total)}) diffère des heures de "
            f"présence {which} pour le mois ({hours_fr(presence.hours)}).")


def attendance_warnings(request) -> list[dict]:
    message = attendance_total_differs(request)
    return [{"code": ATTENDANCE_TOTAL_DIFFERS, "message": message}] if message else []


def attendance_filename(dossier_number: str, month: str) -> str:
    return f"fiche-presence-{safe_name_part(dossier_number)}-{month}.pdf"


def attendance_label(month: str) -> str:
    return f"Fiche de présence – {month_fr(month)}"


def attendance_document(document_id: str, request, sha256: str, size: int,
                        now: datetime) -> Document:
    """Filed under the dossier and month: its organisation, beneficiary and employer see it."""
    dossier = request.dossier
    return _generated(
        id=document_id, category=ATTENDANCE_SHEET, label=attendance_label(request.month),
        filename=attendance_filename(dossier.dossier_number, request.month), sha256=sha256,
        size=size, created_at=now, funder_id=dossier.funder_id,
        organisation_id=dossier.organisation_id, dossier_id=dossier.dossier_id,
        month=request.month, beneficiary_id=dossier.beneficiary.id,
        employer_id=dossier.employer.id if dossier.employer else None,
        dossier_number=dossier.dossier_number, beneficiary_name=dossier.beneficiary.name)


# --- the remittance advice -------------------------------------------------------------------

_FROM_PAYMENTS_ONLY = {
    REMITTANCE_ADVICE: ("remittance_from_payments_only",
                        "Un avis de virement n'est produit qu'à partir d'un règlement "
                        "enregistré."),
    CREDIT_NOTE_PRO_FORMA: ("pro_forma_from_payments_only",
                            "Une facture pro forma d'avoir n'est produite qu'à partir d'une "
                            "facture d'avoir enregistrée."),
}
"""What payments alone issues, and the refusal any other caller gets."""


def check_may_issue_from_payments(actor: Actor, funder_id: str, calling_service: str | None,
                                  category: str) -> None:
    """Only payments files a remittance advice or a credit note's pro forma, from the payment
    or credit note it recorded, on behalf of the funder's staff: nobody may have free text
    filed as one."""
    if calling_service != PAYMENTS:
        code, message = _FROM_PAYMENTS_ONLY[category]
        raise Forbidden(code, message)
    require_funder_staff(actor)
    if actor.funder_id != funder_id:
        raise Forbidden("not_allowed", "Vous ne pouvez pas produire ce document.")


def payer_logo(document: Document | None, funder_id: str) -> Document | None:
    """The payer's logo: a « Logo » image of the paying funder's own (no organisation's), not
    rejected; None otherwise (the advice or pro forma is printed without it)."""
    if (document is None or document.category != LOGO or document.funder_id != funder_id
            or document.organisation_id is not None or document.status == REJECTED):
        return None
    return document


def remittance_title(request) -> str:
    """"AVIS DE VIREMENT n° 107 du 23/08/2019", as seed 000 lists them."""
    return f"AVIS DE VIREMENT n° {request.payment_number} du {date_fr(request.payment_date)}"


def period_fr(period) -> str:
    """A whole month: "juillet 2019"; otherwise "du 01/07/2019 au 15/07/2019"."""
    month = period.start.strftime("%Y-%m")
    if period.start.day == 1 and period.end == _last_day(period.start):
        return month_fr(month)
    return f"du {date_fr(period.start)} au {date_fr(period.end)}"


def _last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def account_sentence(account) -> str | None:
    """Said only of a validated version: without one, the advice names no account."""
    if account is None:
        return None
    return (f"Virement effectué sur le compte de {account.holder}, IBAN {account.masked_iban}, "
            "dont les coordonnées bancaires ont été validées par le financeur.")


def payer_block(payer, logo_sha256: str | None) -> dict | None:
    """The funder as the advice and the pro forma head it; None without payment settings."""
    return payer and {
        "name": payer.name, "logo_url": image_url(logo_sha256),
        "address_lines": [line.strip() for line in (payer.address or "").splitlines()
                          if line.strip()]}


def remittance_context(request, logo_sha256: str | None = None) -> dict:
    lines_total = sum((line.amount for line in request.lines), Decimal(0))
    return {
        "title": remittance_title(request),
        "payer": payer_block(request.payer, logo_sha256),
        "organisation_name": request.organisation_name,
        "account": account_sentence(request.account),
        "payment_number": request.payment_number,
        "payment_date": date_fr(request.payment_date),
        "kind": "Avance" if request.advance else "Règlement",
        "lines": [{"dossier_number": line.dossier_number,
                   "beneficiary_name": line.beneficiary_name, "period": period_fr(line.period),
                   "hours_paid": hours_fr(line.hours_paid), "amount": amount_fr(line.amount)}
                  for line in request.lines],
        "hours_total": hours_fr(sum((line.hours_paid for line in request.lines), Decimal(0))),
        "lines_total": amount_fr(lines_total),
        "deductions": [{"label": d.label, "amount": amount_fr(d.amount)}
                       for d in request.deductions],
        "amount": amount_fr(request.amount),
    }


def remittance_filename(payment_number: str) -> str:
    return f"avis-de-virement-{safe_name_part(payment_number)}.pdf"


def remittance_document(document_id: str, request, issued_by: Actor, sha256: str, size: int,
                        now: datetime) -> Document:
    """Filed with the organisation, under no dossier, however many it pays: its users and the
    funder see it among the organisation's documents, not the beneficiaries. Inscribed by the
    funder's staff who issued it; its dossiers and beneficiaries are kept for the search."""
    return _generated(
        id=document_id, category=REMITTANCE_ADVICE, label=remittance_title(request),
        filename=remittance_filename(request.payment_number), sha256=sha256, size=size,
        created_at=now, funder_id=request.funder_id, organisation_id=request.organisation_id,
        dossier_number=_searchable((line.dossier_number for line in request.lines), 30),
        beneficiary_name=_searchable((line.beneficiary_name for line in request.lines), 200),
        uploaded_by=issued_by.user_id, uploaded_by_role=issued_by.role.value)


# --- the credit note's pro forma -------------------------------------------------------------

DEDUCTION_SENTENCE = "Ce montant sera déduit de vos prochains règlements."
REFUND_ACCOUNT_ELSEWHERE = ("Coordonnées bancaires du financeur : voir le mode opératoire "
                            "« remboursement ».")
CREDIT_NOTE_INVOICE_REMINDER = ("Déposez sur le portail la facture d'avoir émise par votre "
                                "organisme sur papier à en-tête (rubrique « Facture d'avoir »).")
"""Seed 004's second step: the pro forma goes with the organisation's own credit note."""


def pro_forma_title(request) -> str:
    """"FACTURE PRO FORMA AVOIR n° PRO-100 du 26/11/2026"."""
    return (f"FACTURE PRO FORMA AVOIR n° {request.pro_forma_number} "
            f"du {date_fr(request.issued_on)}")


def iban_fr(iban: str) -> str:
    """"FR7613825002000801463722518" -> "FR76 1382 5002 0008 0146 3722 518", as printed."""
    compact = re.sub(r"\s", "", iban).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def refund_instructions(request) -> str | None:
    """Mode remboursement: by when, and the reference the transfer must quote (seed 004)."""
    if request.mode != "refund":
        return None
    return (f"À régler par virement avant le {date_fr(request.due_date)}, en indiquant "
            f"obligatoirement dans le motif du virement : {request.transfer_reference}")


def pro_forma_context(request, logo_sha256: str | None = None) -> dict:
    refund = request.mode == "refund"
    account = request.refund_account if refund else None  # a deduction names no account
    return {
        "title": pro_forma_title(request),
        "payer": payer_block(request.payer, logo_sha256),
        "recipient": {"name": request.organisation_name, "siret": siret_fr(request.siret),
                      "uai": request.uai or None},
        "pro_forma_number": request.pro_forma_number,
        "issued_on": date_fr(request.issued_on),
        "lines": [{"dossier_number": request.dossier_number,
                   "beneficiary_name": request.beneficiary_name,
                   "period": period_fr(request.period), "reason": request.reason,
                   "amount": amount_fr(request.amount)}],
        "amount": amount_fr(request.amount),
        "refund": refund,
        "deduction": None if refund else DEDUCTION_SENTENCE,
        "refund_instructions": refund_instructions(request),
        "refund_account": account and {"holder": account.holder, "iban": iban_fr(account.iban),
                                       "bic": account.bic},
        "refund_account_elsewhere": REFUND_ACCOUNT_ELSEWHERE if refund and not account else None,
        "reminder": CREDIT_NOTE_INVOICE_REMINDER,
    }


def pro_forma_filename(pro_forma_number: str) -> str:
    return f"pro-forma-avoir-{safe_name_part(pro_forma_number)}.pdf"


def pro_forma_document(document_id: str, request, issued_by: Actor, sha256: str, size: int,
                       now: datetime) -> Document:
    """Filed with the organisation, under no dossier, as the remittance advice: its users and
    the funder see it among the organisation's documents, « Inscrit par votre AT Pro »; its
    dossier and beneficiary are kept for the search."""
    return _generated(
        id=document_id, category=CREDIT_NOTE_PRO_FORMA, label=pro_forma_title(request),
        filename=pro_forma_filename(request.pro_forma_number), sha256=sha256, size=size,
        created_at=now, funder_id=request.funder_id, organisation_id=request.organisation_id,
        dossier_number=request.dossier_number, beneficiary_name=request.beneficiary_name[:200],
        uploaded_by=issued_by.user_id, uploaded_by_role=issued_by.role.value)


def _searchable(values, limit: int) -> str:
    """Each value once, in order, as far as the column holds."""
    return ", ".join(dict.fromkeys(values))[:limit]


def _generated(**fields) -> Document:
    """A PDF the system made (status generated: nobody owns, checks or deletes it)."""
    return Document(content_type=PDF, **fields)
