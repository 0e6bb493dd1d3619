"""Every generated PDF, rendered through the real PdfRenderer (templates, CSS, fonts, images)
and read back with pypdf. No broker, no database."""
from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from pypdf import PdfReader

from services.documents.adapters import PdfRenderer, _StoredImages
from services.documents.domain import pdfs, sha256_of
from services.documents.handlers import facts_from_event
from tests.support.documents import certified, pdf_text, pro_forma, remittance, sheet

REFERENCE = "JAL-AAAQEAYEAUDA"
NBSP = "\u00a0"


def image_count(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def png(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), color).save(buffer, "PNG")
    return buffer.getvalue()


LOGO, STAMP = png("navy"), png("firebrick")


@pytest.fixture(scope="module")
def renderer() -> PdfRenderer:
    renderer = PdfRenderer()
    renderer.setup()
    return renderer


def render_certificate(renderer, data, final: bool, images: bool = True) -> bytes:
    certification = pdfs.certification_of(data, REFERENCE) if final else None
    context = pdfs.certificate_context(
        facts_from_event(data), date(2026, 10, 2), certification,
        logo_sha256=sha256_of(LOGO) if images else None,
        stamp_sha256=sha256_of(STAMP) if images else None)
    return renderer.render("certificate.html", context,
                           {sha256_of(LOGO): LOGO, sha256_of(STAMP): STAMP} if images else None)


CERTIFICATE_TEXTS = (
    "Formations du Lac", "12 rue du Lac", "SIRET : 732 829 320 00074",
    "CERTIFICAT DE RÉALISATION",
    "Je soussigné(e) Jeanne MARTIN, représentant légal du dispensateur de l'action concourant "
    "au développement des compétences Formations du Lac",
    "DUBOIS Michelle salarié(e) de l'entreprise ACME Industries",
    "a suivi l'action Titre professionnel Développeur web",
    "☒ action de formation", "☐ bilan de compétences",
    "du 01/09/2026 au 31/01/2027", "septembre 2026", "147,00 h", "3,50 h",
    "Fait à Strasbourg, le 02/10/2026", "Signature du représentant légal",
)


def test_draft_certificate_is_watermarked_without_reference(renderer):
    text = pdf_text(render_certificate(renderer, certified(method=1), final=False))
    for expected in CERTIFICATE_TEXTS:
        assert expected in text
    assert "PROJET" in text
    assert "JAL-" not in text and "Certification électronique" not in text


def test_final_method_2_certificate_carries_the_electronic_block_and_reference(renderer):
    pdf = render_certificate(renderer, certified(method=2), final=True)
    text = pdf_text(pdf)
    for expected in CERTIFICATE_TEXTS:
        assert expected in text
    assert "PROJET" not in text
    assert "Certification électronique" in text
    assert "Certifié par user-42, le 02/10/2026 à 16:05 (heure de Paris)" in text
    assert "depuis l'adresse IP 192.0.2.10" in text
    assert "code à usage unique envoyé par courriel" in text
    assert f"Référence de vérification : {REFERENCE}" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert image_count(pdf) == 2  # logo and stamp


def test_final_method_1_certificate_has_a_reference_but_no_electronic_block(renderer):
    text = pdf_text(render_certificate(renderer, certified(method=1), final=True))
    assert f"Référence de vérification : {REFERENCE}" in text
    assert "Certification électronique" not in text and "code à usage unique" not in text
    assert "PROJET" not in text and "user-42" in text


def test_missing_logo_stamp_and_identity_are_omitted_gracefully(renderer):
    data = certified(method=1, employer=None, organisation_siret=None,
                     organisation_address=None, legal_representative=None)
    pdf = render_certificate(renderer, data, final=False, images=False)
    text = pdf_text(pdf)
    assert image_count(pdf) == 0
    assert "SIRET" not in text and "salarié(e)" not in text
    assert "Fait le 02/10/2026" in text
    assert "DUBOIS Michelle" in text and "147,00 h" in text


def test_user_text_is_escaped_not_interpreted(renderer):
    data = certified(training_title='<img src="file:///etc/passwd"> & <b>gras</b>')
    text = pdf_text(render_certificate(renderer, data, final=False, images=False))
    assert '<img src="file:///etc/passwd"> & <b>gras</b>' in text


def test_only_stored_images_are_fetched():
    fetcher = _StoredImages()
    fetcher.keep({sha256_of(LOGO): LOGO})
    assert fetcher.fetch(pdfs.image_url(sha256_of(LOGO))).read() == LOGO
    for url in ("file:///etc/passwd", "http://169.254.169.254/", pdfs.image_url("0" * 64)):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_attendance_sheet_per_day(renderer):
    text = pdf_text(renderer.render("attendance_sheet.html", pdfs.attendance_context(sheet())))
    for expected in ("FICHE DE PRÉSENCE", "septembre 2026", "dossier n° 16/0/5756",
                     "DUBOIS Michelle", "mardi 01", "01/09/2026", "3,50 h", "mercredi 02",
                     "7,00 h", "Total 10,50 h", "Signature du stagiaire",
                     "Signature du formateur"):
        assert expected in text
    assert "Matin" not in text


def test_attendance_sheet_per_half_day(renderer):
    request = sheet("half_day", [{"day": "2026-09-01", "morning": "3.5", "afternoon": "3"}])
    text = pdf_text(renderer.render("attendance_sheet.html", pdfs.attendance_context(request)))
    for expected in ("Demi-journée", "mardi 01", "Matin 3,50 h", "Après-midi 3,00 h",
                     "Total 6,50 h"):
        assert expected in text


def sheet_pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_long_attendance_sheet_repeats_its_header_keeps_days_whole_and_numbers_pages(
        renderer):
    days = [{"day": f"2026-09-{day:02d}", "morning": "3.5", "afternoon": "3"}
            for day in range(1, 31)]
    pages = sheet_pages(renderer.render("attendance_sheet.html", pdfs.attendance_context(
        sheet("half_day", days))))
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert text.startswith("Formations du Lac") or number > 1
        assert "Jour Demi- journée Heures Signature du stagiaire" in text
        assert text.endswith(f"page {number} / {len(pages)}")
        # Every half-day on the page follows its day's label, with its other half: no day
        # is split, none loses its label.
        whole = text.count("/09/2026 Matin 3,50 h Après-midi 3,00 h")
        assert text.count("Matin") == text.count("Après-midi") == whole
    assert sum(text.count("/09/2026 Matin") for text in pages) == 30
    assert [text.count("Total") for text in pages] == [0] * (len(pages) - 1) + [1]
    assert "Total 195,00 h" in pages[-1]


@pytest.mark.parametrize("certified, which", [(True, "certifiées"), (False, "saisies")])
def test_an_attendance_sheet_says_when_its_total_differs_from_the_month(renderer, certified,
                                                                         which):
    request = sheet(month_presence={"hours": "147", "certified": certified})
    text = pdf_text(renderer.render("attendance_sheet.html", pdfs.attendance_context(request)))
    assert (f"Le total de cette fiche de présence (10,50 h) diffère des heures de présence "
            f"{which} pour le mois (147,00 h).") in text
    same = sheet(month_presence={"hours": "10.5", "certified": certified})
    assert "diffère" not in pdf_text(renderer.render("attendance_sheet.html",
                                                     pdfs.attendance_context(same)))


def test_remittance_advice(renderer):
    """Seed 000's advice: the payer with its logo, the payee and the account paid, one line per
    payment line, the totals; never the Ministry's heading."""
    logo = sha256_of(LOGO)
    pdf = renderer.render("remittance_advice.html", pdfs.remittance_context(remittance(), logo),
                          {logo: LOGO})
    text = pdf_text(pdf)
    for expected in ("AVIS DE VIREMENT n° 107 du 23/08/2019", "N° de règlement 107",
                     "Date du virement 23/08/2019", "Transitions Pro Grand Est",
                     "1 rue de la Paix", "67000 Strasbourg", "Formations du Lac",
                     "16/0/5756 DUBOIS Michelle juillet 2019 147,00 h 10 503,34 €",
                     "16/0/5756 DUBOIS Michelle du 01/08/2019 au 14/08/2019 35,50 h 2 802,80 €",
                     "Total des lignes 182,50 h 13 306,14 €", "Montant du virement 13 306,14 €",
                     "Virement effectué sur le compte de Formations du Lac, IBAN FR76 **** … "
                     "2518", "Règlement"):
        assert expected in text, expected
    assert "MINISTÈRE" not in text and "Déductions" not in text
    assert image_count(pdf) == 1


def test_remittance_advice_without_validated_account_names_none(renderer):
    text = pdf_text(renderer.render("remittance_advice.html", pdfs.remittance_context(
        remittance(account=None, deductions=[{"label": "Facture d'avoir AV-12",
                                              "amount": "306,14"}], amount="13000"))))
    assert "compte" not in text and "IBAN" not in text and "validées" not in text
    assert "Facture d'avoir AV-12 − 306,14 €" in text
    assert "Montant du virement 13 000,00 €" in text

def raw_pdf_text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_credit_note_pro_forma_in_mode_remboursement(renderer):
    """Seed 004's pro forma: the payer with its logo, the organisation with its SIRET and UAI,
    the line, the amount due, how and by when to transfer it quoting AVCAP + its number, the
    funder's account, and the credit note to deposit; never the Ministry's heading."""
    logo = sha256_of(LOGO)
    pdf = renderer.render("credit_note_pro_forma.html", pdfs.pro_forma_context(pro_forma(), logo),
                          {logo: LOGO})
    text = pdf_text(pdf).replace("en- tête", "en-tête")  # the line may break at the hyphen
    for expected in ("FACTURE PRO FORMA AVOIR n° PRO-100 du 26/11/2026",
                     "N° de pro forma PRO-100", "Transitions Pro Grand Est",
                     "1 rue de la Paix", "67000 Strasbourg",
                     "Destinataire Formations du Lac", "SIRET 732 829 320 00074",
                     "N° UAI 0750655E",
                     "16/0/5756 DUBOIS Michelle septembre 2026 Rupture du contrat 1 234,56 €",
                     "Montant dû : 1 234,56 €",
                     "À régler par virement avant le 11/12/2026, en indiquant obligatoirement "
                     "dans le motif du virement : AVCAP PRO-100",
                     "Titulaire du compte Transitions Pro Grand Est",
                     "IBAN FR76 1382 5002 0008 0146 3722 518", "BIC CEPAFRPP382",
                     "Déposez sur le portail la facture d'avoir émise par votre organisme sur "
                     "papier à en-tête (rubrique « Facture d'avoir »)."):
        assert expected in text, expected
    assert "MINISTÈRE" not in text and "déduit" not in text and "mode opératoire" not in text
    assert image_count(pdf) == 1
    # Amounts keep their no-break spaces (babel's, as the advice prints them).
    assert f"1{NBSP}234,56{NBSP}€" in raw_pdf_text(pdf)


def test_credit_note_pro_forma_in_mode_deduction(renderer):
    text = pdf_text(renderer.render("credit_note_pro_forma.html", pdfs.pro_forma_context(
        pro_forma("deduction", payer=None, siret=None, uai=None))))
    for expected in ("FACTURE PRO FORMA AVOIR n° PRO-100 du 26/11/2026",
                     "Montant dû : 1 234,56 €",
                     "Ce montant sera déduit de vos prochains règlements.",
                     "rubrique « Facture d'avoir »"):
        assert expected in text, expected
    for absent in ("AVCAP", "virement avant", "IBAN", "SIRET", "UAI", "Transitions Pro"):
        assert absent not in text, absent


def test_credit_note_pro_forma_without_the_funder_s_account_points_to_the_guide(renderer):
    text = pdf_text(renderer.render("credit_note_pro_forma.html", pdfs.pro_forma_context(
        pro_forma(refund_account=None))))
    assert ("Coordonnées bancaires du financeur : voir le mode opératoire « remboursement »."
            in text)
    assert "AVCAP PRO-100" in text and "IBAN" not in text
