"""documents' rules without broker or database: what an upload must be, categories, status as
users read it, who owns, sees, changes and deletes a document (sample files: tests/support)."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from pathlib import PurePath

import pytest
from pypdf import PdfWriter
from pypdf.actions import JavaScript

from contracts.common import Actor
from contracts.documents import JPEG, PDF, PNG, NewCategory, NewUpload
from contracts.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from servicekit.db import like_pattern
from services.documents import domain
from services.documents.domain import (CHECKED, DEPOSITED, GENERATED, Category, Document,
                                       DossierFacts)
from tests.support.documents import (CORRUPT_PDF, MB, actor, b64, category, corrupt_png,
                                     image_bytes, pdf_bytes, truncated_jpeg)
from tools.demo import scanned_pdf

NOW = datetime(2026, 3, 26, 12, 33, tzinfo=timezone.utc)


# ---- actors and categories --------------------------------------------------------------------

ORG = actor(email="of@example.org")
COLLEAGUE = actor(user_id="u-colleague")
OTHER_ORG = actor(organisation_id="o2", user_id="u-o2")
AGENT = actor("funder_agent")
OTHER_FUNDER_AGENT = actor("funder_agent", funder_id="f2")
BENEFICIARY = actor("beneficiary")
EMPLOYER = actor("employer")
OTHER_BENEFICIARY = actor("beneficiary", party_id="b2", user_id="u-b2")


SIGNED = category("signed_certificate", label="Certificat de réalisation signé",
                  requires_dossier=True, requires_period=True)
LOGO = category("logo", label="Logo", content_types=[PNG, JPEG], max_size=2 * MB)
DOSSIER = DossierFacts(id="d1", number="20X000703", funder_id="f1", organisation_id="o1",
                       beneficiary_id="b1", beneficiary_name="UDERZO Falbala", employer_id="e1")


def request(**fields) -> NewUpload:
    return NewUpload(**{"category": "kbis", "filename": "kbis.pdf",
                        "content_base64": b64(pdf_bytes()), **fields})


def upload(by: Actor = ORG, dossier: DossierFacts | None = None, cat: Category | None = None,
           content: bytes | None = None, **fields) -> Document:
    cat = cat or category()
    req = request(category=cat.code, **fields)
    inspected = domain.inspect_upload(cat, b64(content) if content else req.content_base64)
    return domain.new_upload("doc-1", by, req, cat, inspected, dossier, NOW)


def certificate(**fields) -> Document:
    return Document(id="cert", category=domain.COMPLETION_CERTIFICATE, label="Certificat",
                    filename="c.pdf", content_type=PDF, size=1, sha256="0" * 64, created_at=NOW,
                    funder_id="f1", dossier_id="d1", organisation_id="o1",
                    beneficiary_id="b1", employer_id="e1", **fields)


# ---- what an upload must be -------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    (pdf_bytes(), PDF), (image_bytes("PNG"), PNG), (image_bytes("JPEG"), JPEG),
    (b"junk before the header " + pdf_bytes(), PDF),
])
def test_real_files_pass_and_their_type_comes_from_the_bytes(content, expected):
    inspected = domain.inspect_upload(category(), b64(content))
    assert inspected.content_type == expected
    assert inspected.size == len(content)
    assert inspected.sha256 == domain.sha256_of(content)


def test_the_file_name_does_not_decide_the_type():
    document = upload(content=image_bytes("PNG"), filename="looks-like.pdf")
    assert document.content_type == PNG and document.filename == "looks-like.pdf"


@pytest.mark.parametrize("text", ["not base64 at all!", "QUJD=Q", "é"])
def test_invalid_base64_is_refused(text):
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(category(), text)
    assert refused.value.code == "invalid_base64"


@pytest.mark.parametrize("content, code", [
    (b"GIF89a\x01\x00\x01\x00", "unsupported_file_type"),
    (b"PK\x03\x04 a zip or docx", "unsupported_file_type"),
    (b"", "unsupported_file_type"),
    (CORRUPT_PDF, "unreadable_pdf"),
    (pdf_bytes()[:60], "unreadable_pdf"),
    (corrupt_png(), "unreadable_image"),
    (truncated_jpeg(), "unreadable_image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "unreadable_image"),
])
def test_unknown_or_broken_files_are_refused(content, code):
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(category(), b64(content))
    assert refused.value.code == code
    assert refused.value.message  # a French sentence the user reads


def written(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with(change) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    change(writer)
    return written(writer)


def set_root(key: str, value) -> callable:
    from pypdf.generic import NameObject
    return lambda writer: writer._root_object.__setitem__(NameObject(key), value)


def launch_action():
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject
    return DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                             NameObject("/F"): TextStringObject("calc.exe")})


def xfa_form():
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject
    return DictionaryObject({NameObject("/Fields"): ArrayObject(),
                             NameObject("/XFA"): ArrayObject()})


def hand_written_pdf(*objects: bytes) -> bytes:
    """A PDF written byte by byte, as an attacker would, with a correct cross-reference table."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj%sendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer<</Root 1 0 R/Size %d>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)


# What an outside attack stored as a KBIS: an OpenAction that launches a program and a
# JavaScript name tree, the names spelled in #-escapes to slip past a byte search.
HAND_WRITTEN_LAUNCH = hand_written_pdf(
    b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/L#61unch/F(cmd.exe)>>"
    b"/Names<</J#61vaScript<</Names[(a)<</S/JavaScript/JS(app.alert(1))>>]>>>>>>",
    b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>")


@pytest.mark.parametrize("content, found", [
    (pdf_with(lambda writer: writer.add_open_action(JavaScript("app.alert('x');"))),
     "/JavaScript"),
    (pdf_with(lambda writer: writer.add_attachment("facture.exe", b"MZ")), "/EmbeddedFiles"),
    (pdf_with(set_root("/OpenAction", launch_action())), "/Launch"),
    (pdf_with(set_root("/AcroForm", xfa_form())), "/XFA"),
    (HAND_WRITTEN_LAUNCH, "/Launch"),
])
def test_a_pdf_with_active_content_is_refused(content, found):
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(category(), b64(content))
    assert refused.value.code == "pdf_active_content"
    assert found in refused.value.details["found"]
    assert "PDF simple" in refused.value.message


def test_a_plain_pdf_with_links_and_metadata_is_accepted():
    from pypdf.annotations import Link

    def add_link(writer):
        writer.add_annotation(0, Link(rect=(50, 50, 200, 80), url="https://example.org"))
        writer.add_metadata({"/Title": "Attestation"})
    assert domain.inspect_upload(category(), b64(pdf_with(add_link))).content_type == PDF


def test_a_type_the_category_does_not_accept_is_refused():
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(LOGO, b64(pdf_bytes()))
    assert refused.value.code == "type_not_allowed"
    assert "PNG, JPEG" in refused.value.message


def test_size_limit_is_the_category_s():
    small = category(max_size=len(pdf_bytes()))
    assert domain.inspect_upload(small, b64(pdf_bytes())).size == small.max_size
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(category(max_size=small.max_size - 1), b64(pdf_bytes()))
    assert refused.value.code == "file_too_large"
    with pytest.raises(InvalidInput) as refused:  # refused from the text's length alone
        domain.inspect_upload(category(max_size=100), "A" * 10_000)
    assert refused.value.code == "file_too_large"
    assert domain.size_fr(10 * MB) == "10 Mo" and domain.size_fr(2 * MB) == "2 Mo"


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(InvalidInput) as refused:
        domain.inspect_upload(category(), b64(image_bytes("PNG", (8000, 7000))))
    assert refused.value.code == "image_too_large"


def test_required_fields_of_the_category():
    with pytest.raises(InvalidInput) as refused:
        domain.check_upload_request(ORG, SIGNED, request(category=SIGNED.code))
    assert refused.value.code == "missing_fields"
    assert refused.value.details["missing"] == ["dossier_id", "period_start", "period_end"]
    assert "le dossier" in refused.value.message
    domain.check_upload_request(ORG, SIGNED, request(
        category=SIGNED.code, dossier_id="d1", period_start=date(2026, 2, 1),
        period_end=date(2026, 2, 28)))
    with pytest.raises(InvalidInput) as refused:
        domain.check_upload_request(ORG, category(requires_label=True), request())
    assert refused.value.details["missing"] == ["label"]


def test_who_may_upload_a_category():
    domain.check_upload_request(ORG, category(), request())
    with pytest.raises(Forbidden) as refused:
        domain.check_upload_request(BENEFICIARY, category(), request())
    assert refused.value.code == "category_not_allowed"
    system = category(domain.COMPLETION_CERTIFICATE, upload_roles=["organisation_user"],
                      system=True)
    with pytest.raises(Forbidden):  # the system writes it, whatever the roles say
        domain.check_upload_request(ORG, system, request())


def test_user_names_never_reach_a_path():
    assert domain.display_filename("../../etc/passwd") == "passwd"
    assert domain.display_filename("C:\\Users\\x\\RIB.pdf") == "RIB.pdf"
    assert domain.display_filename("   ") == "document"
    path = domain.blob_path(PurePath("/files"), domain.sha256_of(b"x"))
    assert path.parent.parent == PurePath("/files")
    with pytest.raises(ValueError):
        domain.blob_path(PurePath("/files"), "../../etc/passwd")


# ---- uploads: whose the document is -----------------------------------------------------------

def test_an_organisation_upload_without_dossier():
    document = upload(filename="Releve_de_carriere.pdf")
    assert (document.status, document.label, document.funder_id) == (
        DEPOSITED, "Releve_de_carriere", "f1")
    assert (document.organisation_id, document.beneficiary_id, document.dossier_id) == (
        "o1", None, None)
    assert (document.uploaded_by, document.uploaded_by_role, document.uploaded_by_email,
            document.uploader_organisation_id) == ("u-organisation_user", "organisation_user",
                                                   "of@example.org", "o1")


def test_a_dossier_upload_belongs_to_the_dossier_s_parties():
    document = upload(dossier=DOSSIER, cat=SIGNED, content=scanned_pdf(), label="Février",
                      dossier_id="d1", period_start=date(2026, 2, 1),
                      period_end=date(2026, 2, 28))
    assert (document.dossier_id, document.organisation_id, document.beneficiary_id,
            document.employer_id) == ("d1", "o1", "b1", "e1")
    assert (document.dossier_number, document.beneficiary_name) == ("20X000703",
                                                                    "UDERZO Falbala")
    assert document.period_start == date(2026, 2, 1)


def test_beneficiary_and_funder_uploads_without_dossier():
    other = category("other", upload_roles=["beneficiary", "funder_agent"])
    mine = upload(by=BENEFICIARY, cat=other, label="Relevé")
    assert (mine.beneficiary_id, mine.organisation_id) == ("b1", None)
    for_org = upload(by=AGENT, cat=other, label="Convention", organisation_id="o1")
    assert (for_org.organisation_id, for_org.uploader_organisation_id) == ("o1", None)
    with pytest.raises(Forbidden) as refused:
        upload(cat=category(), organisation_id="o2")
    assert refused.value.code == "organisation_not_allowed"


# ---- scoping ----------------------------------------------------------------------------------

ORG_DOC = Document(id="a", category="kbis", label="K", filename="k.pdf", content_type=PDF,
                   size=1, sha256="0" * 64, created_at=NOW, funder_id="f1",
                   organisation_id="o1", status=DEPOSITED, uploaded_by="u-organisation_user",
                   uploaded_by_role="organisation_user", uploader_organisation_id="o1")


@pytest.mark.parametrize("who, sees_org_doc, sees_certificate", [
    (ORG, True, True),
    (OTHER_ORG, False, False),
    (AGENT, True, True),
    (OTHER_FUNDER_AGENT, False, False),
    (BENEFICIARY, False, True),
    (OTHER_BENEFICIARY, False, False),
    (EMPLOYER, False, True),
    (actor("employer", party_id="e2"), False, False),
    (actor("organisation_user", organisation_id=None), False, False),
    (actor("beneficiary", party_id=None), False, False),
])
def test_scoping_table(who, sees_org_doc, sees_certificate):
    assert domain.can_see(who, ORG_DOC) is sees_org_doc
    assert domain.can_see(who, certificate()) is sees_certificate
    scope = domain.scope_for(who)
    assert scope.allows(ORG_DOC) is sees_org_doc


def test_outsiders_get_not_found():
    assert domain.seen_by(ORG, ORG_DOC, "a") is ORG_DOC
    for outsider in (OTHER_ORG, OTHER_FUNDER_AGENT, BENEFICIARY):
        with pytest.raises(NotFound) as refused:
            domain.seen_by(outsider, ORG_DOC, "a")
        assert refused.value.code == "document_not_found"


# ---- status as users read it ------------------------------------------------------------------

def test_status_labels():
    document = upload()
    assert domain.status_of(document, ORG) == ("deposited", "Déposé par vous")
    assert domain.status_of(document, COLLEAGUE) == ("deposited", "Déposé par vous")
    assert domain.status_of(document, AGENT) == ("deposited", "Déposé")
    by_funder = upload(by=AGENT, organisation_id="o1")
    assert domain.status_of(by_funder, ORG) == ("deposited_by_funder", "Inscrit par votre AT Pro")
    document.check(AGENT, datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc))
    # Read in France: 31 March 23:30 UTC is already 1 April in Paris.
    assert domain.status_of(document, ORG) == ("checked", "Contrôlé le 01/04/2026")
    document.reject(AGENT, "illegible", "  la page 2 manque ", NOW)
    assert domain.status_of(document, ORG) == ("rejected", "Non conforme : la page 2 manque")
    assert document.reason_code == "illegible"
    document.reject(AGENT, "expired", None, NOW)
    assert domain.status_of(document, ORG)[1] == "Non conforme : document périmé"
    assert domain.status_of(certificate(), ORG) == (GENERATED, "Produit automatiquement")


# ---- the funder's review ----------------------------------------------------------------------

def test_only_funder_staff_review_uploads():
    document = upload()
    with pytest.raises(Forbidden) as refused:
        document.check(ORG, NOW)
    assert refused.value.code == "funder_staff_only"
    with pytest.raises(Conflict) as refused:
        certificate().check(AGENT, NOW)
    assert refused.value.code == "document_generated"
    document.check(AGENT, NOW)
    assert (document.status, document.reviewed_by) == (CHECKED, "u-funder_agent")
    with pytest.raises(Conflict) as refused:
        document.check(AGENT, NOW)
    assert refused.value.code == "document_already_checked"


# ---- ownership: rename, recategorise, replace, delete -----------------------------------------

def test_owners_change_their_documents_and_nobody_else_does():
    document = upload()
    assert domain.is_owner(ORG, document) and domain.is_owner(COLLEAGUE, document)
    for stranger in (OTHER_ORG, AGENT, BENEFICIARY):
        with pytest.raises((Forbidden, NotFound)):
            domain.check_owner(stranger, document)
    with pytest.raises(Forbidden) as refused:
        domain.check_owner(AGENT, document)
    assert refused.value.code == "not_owner"
    by_funder = upload(by=AGENT, organisation_id="o1")
    with pytest.raises(Forbidden) as refused:
        domain.check_deletable(ORG, by_funder)
    assert refused.value.code == "not_owner"
    domain.check_deletable(AGENT, by_funder)
    with pytest.raises(Forbidden):
        domain.check_owner(ORG, certificate())


def test_a_beneficiary_owns_only_what_they_uploaded_on_their_dossier():
    other = category("other", upload_roles=["beneficiary", "organisation_user"])
    theirs = upload(by=BENEFICIARY, dossier=DOSSIER, cat=other, label="Attestation",
                    dossier_id="d1")
    assert domain.is_owner(BENEFICIARY, theirs)
    assert not domain.is_owner(ORG, theirs) and domain.can_see(ORG, theirs)
    org_doc_on_dossier = upload(dossier=DOSSIER, cat=other, label="Convention",
                                dossier_id="d1")
    assert domain.can_see(BENEFICIARY, org_doc_on_dossier)
    assert not domain.is_owner(BENEFICIARY, org_doc_on_dossier)


def test_checked_documents_cannot_be_deleted_replaced_or_recategorised():
    document = upload()
    document.check(AGENT, NOW)
    for attempt in (lambda: domain.check_deletable(ORG, document),
                    lambda: document.replace(domain.inspect_upload(category(), b64(pdf_bytes(2))),
                                             "new.pdf", NOW),
                    lambda: document.recategorise(ORG, category("bank_details"))):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "document_checked"
    document.rename("Extrait KBIS 2026")  # renaming stays possible
    assert document.label == "Extrait KBIS 2026"


def test_a_rejected_document_replaced_is_deposited_again():
    document = upload()
    document.reject(AGENT, "illegible", "flou", NOW)
    new = domain.inspect_upload(category(), b64(pdf_bytes(2)))
    later = datetime(2026, 4, 2, tzinfo=timezone.utc)
    document.replace(new, "../kbis-net.pdf", later)
    assert (document.status, document.sha256, document.filename, document.created_at) == (
        DEPOSITED, new.sha256, "kbis-net.pdf", later)
    assert document.reason_code is None and document.reviewed_at is None


def test_recategorise_follows_the_new_category_s_rules():
    document = upload()
    with pytest.raises(InvalidInput) as refused:
        document.recategorise(ORG, LOGO)  # a PDF is no logo
    assert refused.value.code == "type_not_allowed"
    with pytest.raises(InvalidInput) as refused:
        document.recategorise(ORG, SIGNED)  # needs a dossier and a period
    assert refused.value.code == "missing_fields"
    with pytest.raises(Forbidden):
        document.recategorise(ORG, category("secret", upload_roles=["funder_admin"]))
    document.recategorise(ORG, category("bank_details", label="RIB"))
    assert document.category == "bank_details"


# ---- categories and listing -------------------------------------------------------------------

def test_new_category_of_a_funder():
    made = domain.new_category("f1", NewCategory(
        code="cpf_ptp", label="CPF PTP", upload_roles=["organisation_user", "organisation_user"],
        content_types=[PDF], max_size=MB), {"kbis"}, NOW)
    assert (made.funder_id, made.upload_roles, made.content_types, made.system) == (
        "f1", ["organisation_user"], [PDF], False)
    with pytest.raises(Conflict) as refused:
        domain.new_category("f1", NewCategory(code="kbis", label="x", upload_roles=["employer"],
                                              content_types=[PDF], max_size=1), {"kbis"}, NOW)
    assert refused.value.code == "category_exists"


def test_search_and_grouping():
    assert like_pattern("  ") is None
    assert like_pattern("50%_off") == "%50\\%\\_off%"
    cats = [category(), category("invoice", label="Facture"), LOGO]
    assert domain.categories_matching(cats, "FACT") == {"invoice"}
    assert domain.categories_matching(cats, None) == set()
    docs = [upload(cat=LOGO, content=image_bytes()), upload(), upload()]
    groups = domain.by_category(docs, {"kbis": "Extrait KBIS", "logo": "Logo"})
    assert [(g.category, g.category_label, len(g.documents)) for g in groups] == [
        ("kbis", "Extrait KBIS", 2), ("logo", "Logo", 1)]
