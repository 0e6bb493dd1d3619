"""documents without broker or database: sample files, typical requests and events, in-memory
repositories with the methods of services/documents/models.py, and fake ports.

Everything lives on instances: two tests never share a store."""
from __future__ import annotations

import base64
import io
from datetime import date, datetime, timezone
from decimal import Decimal

from PIL import Image
from pypdf import PdfReader, PdfWriter

from contracts.common import Actor, Role
from contracts.common.errors import NotFound
from contracts.documents import JPEG, PDF, PNG
from contracts.events import CertifiedV1, MonthHours, Party
from contracts.pdfs import (AttendanceSheetRequest, CreditNoteProFormaRequest,
                            RemittanceAdviceRequest)
from services.documents import domain, handlers
from services.documents.domain import Category, Document, Scope, pdfs
from services.documents.handlers import Ports
from tests.support.fakes import FakeClock, FakeDatabase

MB = 1024 * 1024


# ---- sample files -----------------------------------------------------------------------------

def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()



def image_bytes(kind: str = "PNG", size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without xref nor trailer"


def corrupt_png() -> bytes:
    data = bytearray(image_bytes("PNG"))
    data[-20] ^= 0xFF  # inside the image data: the chunk's CRC no longer matches
    return bytes(data)


def truncated_jpeg() -> bytes:
    data = image_bytes("JPEG", (64, 64))
    return data[: len(data) // 2]


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with every run of spaces (babel's no-break spaces, line breaks) made one
    plain space, as contracts/common/formatting.py advises comparing."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# ---- categories, events and PDF requests ------------------------------------------------------

def category(code: str = "kbis", **rules) -> Category:
    defaults = dict(funder_id=domain.GLOBAL, label="Extrait KBIS", instructions="",
                    upload_roles=[Role.organisation_user.value, Role.funder_agent.value,
                                  Role.funder_admin.value],
                    content_types=[PDF, PNG, JPEG], max_size=10 * MB)
    return Category(code=code, **{**defaults, **rules})


CERTIFIED_AT = datetime(2026, 10, 2, 14, 5, tzinfo=timezone.utc)  # 16:05 in Paris


def certified(method: int = 2, **extra) -> CertifiedV1:
    fields = dict(
        certificate_id="c1", dossier_id="d1", dossier_number="16/0/5756", funder_id="f1",
        organisation_id="o1", organisation_name="Formations du Lac",
        beneficiary=Party(id="b1", name="DUBOIS Michelle", email="m@example.org"),
        employer=Party(id="e1", name="ACME Industries", email="rh@example.org"),
        training_title="Titre professionnel Développeur web", session_start=date(2026, 9, 1),
        session_end=date(2027, 1, 31), month="2026-09",
        hours=MonthHours(training=Decimal("147"), internship=Decimal("0"),
                         absence=Decimal("3.5")),
        method=method, certified_by="user-42", certified_at=CERTIFIED_AT,
        certified_from_ip="192.0.2.10", organisation_siret="73282932000074",
        organisation_address="12 rue du Lac\n67000 Strasbourg",
        legal_representative="Jeanne MARTIN")
    fields.update(extra)
    return CertifiedV1(**fields)


def dossier_facts(**extra) -> dict:
    """A dossier as contracts.pdfs.DossierFacts reads it."""
    return {"dossier_id": "d1", "dossier_number": "16/0/5756", "funder_id": "f1",
            "organisation_id": "o1", "beneficiary": {"id": "b1", "name": "DUBOIS Michelle"},
            "employer": {"id": "e1", "name": "ACME Industries"},
            "training_title": "Développeur web", "session_start": "2026-09-01",
            "session_end": "2027-01-31", **extra}


def sheet(granularity="day", days=None, **extra) -> AttendanceSheetRequest:
    days = days if days is not None else [{"day": "2026-09-02", "hours": "7"},
                                          {"day": "2026-09-01", "hours": "3.5"}]
    return AttendanceSheetRequest.model_validate({
        "dossier": dossier_facts(), "organisation_name": "Formations du Lac", "month": "2026-09",
        "granularity": granularity, "days": days, **extra})


def remittance(**extra) -> RemittanceAdviceRequest:
    """Seed 000's payment n° 107 as payments sends it: two lines of one dossier, the payer
    named, the account paid masked."""
    return RemittanceAdviceRequest.model_validate({
        "payment_id": "p107", "payment_number": "107", "payment_date": "2019-08-23",
        "funder_id": "f1", "organisation_id": "o1", "organisation_name": "Formations du Lac",
        "payer": {"name": "Transitions Pro Grand Est",
                  "address": "1 rue de la Paix\n67000 Strasbourg"},
        "account": {"holder": "Formations du Lac", "masked_iban": "FR76 **** … 2518"},
        "lines": [advice_line("2019-07-01", "2019-07-31", "147,00", "10 503,34"),
                  advice_line("2019-08-01", "2019-08-14", "35,5", "2 802,80")],
        "amount": "13306.14", **extra})


def pro_forma(mode: str = "refund", **extra) -> CreditNoteProFormaRequest:
    """Seed 004's pro forma n° PRO-100 as payments sends it: one dossier's period to pay back,
    in mode remboursement by default (reference AVCAP PRO-100, 15 days, the funder's account)."""
    refund = {"transfer_reference": "AVCAP PRO-100", "due_date": "2026-12-11",
              "refund_account": {"holder": "Transitions Pro Grand Est",
                                 "iban": "FR7613825002000801463722518",
                                 "bic": "CEPAFRPP382"}} if mode == "refund" else {}
    return CreditNoteProFormaRequest.model_validate({
        "credit_note_id": "cn100", "pro_forma_number": "PRO-100", "issued_on": "2026-11-26",
        "funder_id": "f1", "organisation_id": "o1", "organisation_name": "Formations du Lac",
        "siret": "73282932000074", "uai": "0750655E",
        "payer": {"name": "Transitions Pro Grand Est",
                  "address": "1 rue de la Paix\n67000 Strasbourg"},
        "dossier_number": "16/0/5756", "beneficiary_name": "DUBOIS Michelle",
        "period": {"start": "2026-09-01", "end": "2026-09-30"}, "amount": "1234.56",
        "reason": "Rupture du contrat", "mode": mode, **refund, **extra})


def advice_line(start: str, end: str, hours: str, amount: str,
                number: str = "16/0/5756") -> dict:
    return {"dossier_number": number, "beneficiary_name": "DUBOIS Michelle",
            "period": {"start": start, "end": end}, "hours_paid": hours, "amount": amount}


# ---- in-memory repositories (services/documents/models.py) ------------------------------------

class InMemoryCategories:
    def __init__(self, *categories: Category):
        self.items = list(categories)

    def of_funder(self, funder_id: str) -> list[Category]:
        return sorted((c for c in self.items if c.funder_id in (domain.GLOBAL, funder_id)),
                      key=lambda c: c.label)

    def get(self, funder_id: str, code: str) -> Category | None:
        return next((c for c in self.of_funder(funder_id) if c.code == code), None)

    def add(self, category: Category) -> None:
        self.items.append(category)


class InMemoryDocuments:
    def __init__(self, *documents: Document):
        self.items = {document.id: document for document in documents}

    def get(self, document_id: str) -> Document | None:
        return self.items.get(document_id)

    def add(self, document: Document) -> None:
        self.items[document.id] = document

    def remove(self, document: Document) -> None:
        del self.items[document.id]

    def visible(self, scope: Scope, *, dossier_id: str | None = None, query: str | None = None,
                category_codes: set[str] = frozenset(), unattached: bool = False
                ) -> list[Document]:
        text = (query or "").strip().lower()

        def matches(d: Document) -> bool:
            fields = (d.dossier_number, d.beneficiary_name, d.category, d.label)
            return any(text in (value or "").lower() for value in fields) \
                or d.category in category_codes

        found = [d for d in self.items.values() if scope.allows(d)
                 and (dossier_id is None or d.dossier_id == dossier_id)
                 and (not text or matches(d))
                 and (not unattached or (d.dossier_id is None and d.beneficiary_id is None))]
        found.sort(key=lambda d: d.id)
        return sorted(found, key=lambda d: d.created_at, reverse=True)

    def certificate(self, dossier_id: str, month: str) -> Document | None:
        """As models.Documents.certificate: the month's certificate that is not superseded."""
        return next((d for d in self.items.values()
                     if (d.category, d.dossier_id, d.month, d.superseded)
                     == (domain.COMPLETION_CERTIFICATE, dossier_id, month, False)), None)

    def certificate_by_reference(self, reference: str) -> Document | None:
        return next((d for d in self.items.values() if d.verification_reference == reference
                     and d.category == domain.COMPLETION_CERTIFICATE), None)

    def generated_in_place_of(self, document: Document) -> Document | None:
        place = ("category", "funder_id", "dossier_id", "month", "filename")
        return next((d for d in self.items.values() if d.status == domain.GENERATED
                     and all(getattr(d, name) == getattr(document, name) for name in place)),
                    None)

    def letterhead(self, funder_id: str, organisation_id: str) -> dict[str, Document]:
        latest: dict[str, Document] = {}
        for d in sorted(self.items.values(), key=lambda d: d.created_at, reverse=True):
            if d.category in (pdfs.LOGO, pdfs.STAMP) and d.funder_id == funder_id \
                    and d.organisation_id == organisation_id and d.status != domain.REJECTED:
                latest.setdefault(d.category, d)
        return latest


def database(*, categories: list[Category] = (), documents: list[Document] = ()) -> FakeDatabase:
    return FakeDatabase("documents", categories=InMemoryCategories(*categories),
                        documents=InMemoryDocuments(*documents))


# ---- fake ports --------------------------------------------------------------------------------

class FakeFiles:
    """Content-addressed, like the real store: `put` returns the sha256."""

    def __init__(self):
        self.blobs: dict[str, bytes] = {}

    def put(self, content: bytes) -> str:
        sha256 = domain.sha256_of(content)
        self.blobs[sha256] = content
        return sha256

    def get(self, sha256: str) -> bytes:
        return self.blobs[sha256]


class FakeRenderer:
    """Renders nothing: fixed bytes per template, and the calls kept for the tests to read."""

    def __init__(self):
        self.calls: list[tuple[str, dict, dict]] = []

    def render(self, template_name: str, context: dict,
               images: dict[str, bytes] | None = None) -> bytes:
        self.calls.append((template_name, context, images or {}))
        return f"%PDF-1.7 {template_name}".encode()


def dossier_reply(**extra) -> dict:
    """dossiers.get_dossier's reply, the fields documents reads."""
    return {"id": "d1", "number": "20X000703", "funder_id": "f1", "organisation_id": "o1",
            "beneficiary": {"id": "b1", "name": "UDERZO Falbala"},
            "employer": {"id": "e1", "name": "ACME"}, **extra}


class FakeDossiers:
    """dossiers.get_dossier: the dossiers it knows; NotFound for the others, as dossiers
    refuses a dossier the actor may not see."""

    def __init__(self, *dossiers: dict):
        self.dossiers = {dossier["id"]: dossier for dossier in dossiers}
        self.asked: list[tuple[dict, str]] = []

    def get_dossier(self, actor: dict, dossier_id: str) -> dict:
        self.asked.append((actor, dossier_id))
        if dossier_id not in self.dossiers:
            raise NotFound("dossier_not_found", "Dossier introuvable.", {"dossier_id": dossier_id})
        return self.dossiers[dossier_id]


def ports(*dossiers: dict, clock: FakeClock | None = None) -> Ports:
    return Ports(files=FakeFiles(), renderer=FakeRenderer(), dossiers=FakeDossiers(*dossiers),
                 clock=clock or FakeClock(), offload=lambda function, *args: function(*args))


def actor(role: Role | str = Role.organisation_user, **extra) -> Actor:
    role = Role(role)
    defaults = {Role.organisation_user: {"organisation_id": "o1", "rights": ["documents"]},
                Role.beneficiary: {"party_id": "b1"}, Role.employer: {"party_id": "e1"}}
    fields = {"user_id": f"u-{role.value}", "role": role, "funder_id": "f1",
              **defaults.get(role, {}), **extra}
    return Actor(**fields)


def file_certificate(db, fakes, event) -> None:
    """What documents' `on_certified` does: render first, then file in the event's transaction."""
    rendered = handlers.render_certificate(db, fakes, event)
    with db.unit_of_work() as uow:
        handlers.file_certificate(uow, fakes, event, rendered)
