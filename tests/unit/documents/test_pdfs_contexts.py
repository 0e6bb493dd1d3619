"""What the generated PDFs print (services.documents.domain.pdfs), pure: formats, wording,
references, who may have them made, and the request shapes (contracts.pdfs)."""
from datetime import date, datetime, timezone

import pytest
from pydantic import ValidationError

from contracts.common import Actor
from contracts.common.errors import Forbidden
from services.documents import domain
from services.documents.domain import pdfs
from services.documents.handlers import facts_from_event
from tests.support.documents import (CERTIFIED_AT, advice_line, certified, pro_forma,
                                     remittance, sheet)

NBSP = "\u00a0"


@pytest.mark.parametrize("siret, expected", [
    ("73282932000074", f"732{NBSP}829{NBSP}320{NBSP}00074"),
    ("732 829 320 00074", f"732{NBSP}829{NBSP}320{NBSP}00074"),
    ("12345", "12345"),  # not a SIRET: printed as given rather than invented
    (None, None),
])
def test_siret_is_grouped_like_insee_prints_it(siret, expected):
    assert pdfs.siret_fr(siret) == expected


@pytest.mark.parametrize("address, town", [
    ("12 rue du Lac\n67000 Strasbourg", "Strasbourg"),
    ("12 rue du Lac, 67000 Strasbourg", "Strasbourg"),
    ("Zone artisanale, Les Ulis", "Zone artisanale, Les Ulis"),
    ("  ", None),
    (None, None),
])
def test_place_of_signature_is_the_town_or_else_the_address(address, town):
    assert pdfs.town_of(address) == town


def test_verification_reference_is_jal_and_twelve_base32_characters():
    reference = pdfs.verification_reference(bytes(range(10)))
    assert reference == "JAL-AAAQEAYEAUDA"
    assert pdfs.verification_reference(bytes(range(1, 11))) != reference
    with pytest.raises(ValueError):
        pdfs.verification_reference(b"short")


@pytest.mark.parametrize("typed, expected", [
    ("JAL-AAAQEAYEAUDA", "JAL-AAAQEAYEAUDA"),
    (" jal-aaaq eaye auda ", "JAL-AAAQEAYEAUDA"),
    ("JAL-AAAQEAYEAUD", None),  # one short
    ("JAL-AAAQEAYEAUD1", None),  # 1 is not base32
    ("' OR 1=1 --", None),
    (None, None),
])
def test_a_typed_reference_is_normalised_or_refused(typed, expected):
    assert pdfs.normalise_reference(typed) == expected


def test_final_certificate_context_for_method_2():
    data = certified()
    certification = pdfs.certification_of(data, "JAL-AAAQEAYEAUDA")
    context = pdfs.certificate_context(facts_from_event(data),
                                       pdfs.certificate_issued_on(certification), certification,
                                       logo_sha256="a" * 64)
    assert context["draft"] is False
    assert context["letterhead"] == {
        "name": "Formations du Lac", "address_lines": ["12 rue du Lac", "67000 Strasbourg"],
        "siret": f"732{NBSP}829{NBSP}320{NBSP}00074", "logo_url": "jalon-file:" + "a" * 64}
    assert context["stamp_url"] is None
    assert context["legal_representative"] == "Jeanne MARTIN"
    assert [n["label"] for n in context["natures"] if n["ticked"]] == ["action de formation"]
    assert len(context["natures"]) == 4
    assert (context["session_start"], context["session_end"]) == ("01/09/2026", "31/01/2027")
    assert context["month_label"] == "septembre 2026"
    assert context["hours"][0] == ("Heures de présence en formation", f"147,00{NBSP}h")
    assert context["hours"][2] == ("Heures d'absence", f"3,50{NBSP}h")
    assert (context["place"], context["made_on"]) == ("Strasbourg", "02/10/2026")
    assert context["electronic"] == {
        "certified_by": "user-42", "certified_at": "02/10/2026 à 16:05", "ip": "192.0.2.10",
        "how": "code à usage unique envoyé par courriel", "certifier_since": None,
        "ip_use_accepted": None}
    assert context["reference"] == "JAL-AAAQEAYEAUDA"


def test_method_1_final_has_a_reference_but_no_electronic_block():
    data = certified(method=1)
    certification = pdfs.certification_of(data, "JAL-AAAQEAYEAUDA")
    context = pdfs.certificate_context(facts_from_event(data), date(2026, 10, 2),
                                       certification)
    assert context["electronic"] is None
    assert context["reference"] == "JAL-AAAQEAYEAUDA"
    assert "user-42" in context["certification"]


def test_the_final_certificate_prints_the_hours_reference_the_draft_printed():
    data = certified(method=1, hours_reference="A1B2C3")
    context = pdfs.certificate_context(facts_from_event(data), date(2026, 10, 2),
                                       pdfs.certification_of(data, "JAL-AAAQEAYEAUDA"))
    assert context["hours_reference"] == "A1B2C3"


def test_draft_context_has_no_reference_and_no_certification():
    facts = facts_from_event(certified(employer=None, organisation_address=None,
                                            legal_representative=None, organisation_siret=None))
    context = pdfs.certificate_context(facts, date(2026, 10, 5))
    assert context["draft"] is True
    assert context["electronic"] is context["reference"] is context["certification"] is None
    assert context["employer_name"] is None and context["place"] is None
    assert context["letterhead"]["siret"] is None and context["letterhead"]["address_lines"] == []
    assert context["made_on"] == "05/10/2026"


def test_a_final_certificate_is_dated_in_paris():
    late = certified(certified_at=datetime(2026, 9, 30, 22, 30, tzinfo=timezone.utc))
    assert pdfs.certificate_issued_on(pdfs.certification_of(late, "JAL-AAAQEAYEAUDA")) == \
        date(2026, 10, 1)


def test_draft_filename():
    assert pdfs.draft_filename("16/0/5756", "2026-09") == \
        "certificat-realisation-16-0-5756-2026-09-projet.pdf"


def test_attendance_context_per_day_lists_the_days_in_order_with_a_total():
    context = pdfs.attendance_context(sheet())
    assert [row["day"] for row in context["rows"]] == ["mardi 01", "mercredi 02"]
    assert context["rows"][0]["parts"] == [{"label": None, "hours": f"3,50{NBSP}h"}]
    assert context["total"] == f"10,50{NBSP}h" and context["half_days"] is False


def test_attendance_context_per_half_day():
    context = pdfs.attendance_context(sheet("half_day", [
        {"day": "2026-09-01", "morning": "3.5", "afternoon": "3"},
        {"day": "2026-09-03", "morning": "4"}]))
    assert context["rows"][0]["parts"] == [{"label": "Matin", "hours": f"3,50{NBSP}h"},
                                           {"label": "Après-midi", "hours": f"3,00{NBSP}h"}]
    assert context["rows"][1]["parts"][1] == {"label": "Après-midi", "hours": ""}
    assert context["total"] == f"10,50{NBSP}h"


@pytest.mark.parametrize("granularity, days", [
    ("day", [{"day": "2026-10-01", "hours": "7"}]),  # outside the month
    ("day", [{"day": "2026-09-01", "hours": "7"}, {"day": "2026-09-01", "hours": "1"}]),
    ("day", [{"day": "2026-09-01", "morning": "3"}]),
    ("half_day", [{"day": "2026-09-01", "hours": "3"}]),
    ("day", [{"day": "2026-09-01", "hours": "-1"}]),
    ("day", []),
])
def test_attendance_request_refuses_days_that_do_not_fit(granularity, days):
    with pytest.raises(ValidationError):
        sheet(granularity, days)


def test_attendance_document_is_filed_under_the_dossier_month():
    document = pdfs.attendance_document("id1", sheet(), "b" * 64, 10, CERTIFIED_AT)
    assert (document.category, document.status, document.month) == (
        "attendance_sheet", "generated", "2026-09")
    assert (document.organisation_id, document.beneficiary_id, document.employer_id) == (
        "o1", "b1", "e1")
    assert document.filename == "fiche-presence-16-0-5756-2026-09.pdf"
    assert document.label == "Fiche de présence – septembre 2026"


def test_remittance_wording_matches_the_funders_documents():
    advice = remittance()
    assert pdfs.remittance_title(advice) == "AVIS DE VIREMENT n° 107 du 23/08/2019"
    context = pdfs.remittance_context(advice, "d" * 64)
    assert context["payer"] == {"name": "Transitions Pro Grand Est",
                                "address_lines": ["1 rue de la Paix", "67000 Strasbourg"],
                                "logo_url": "jalon-file:" + "d" * 64}
    assert [(line["period"], line["amount"]) for line in context["lines"]] == [
        ("juillet 2019", f"10{NBSP}503,34{NBSP}€"),
        ("du 01/08/2019 au 14/08/2019", f"2{NBSP}802,80{NBSP}€")]
    assert (context["hours_total"], context["amount"]) == (
        f"182,50{NBSP}h", f"13{NBSP}306,14{NBSP}€")
    assert context["account"] == ("Virement effectué sur le compte de Formations du Lac, "
                                  "IBAN FR76 **** … 2518, dont les coordonnées bancaires ont "
                                  "été validées par le financeur.")
    assert context["deductions"] == [] and context["kind"] == "Règlement"
    assert pdfs.remittance_context(remittance(advance=True))["kind"] == "Avance"


def test_remittance_without_validated_account_or_payer_settings_says_neither():
    context = pdfs.remittance_context(remittance(account=None, payer=None))
    assert context["account"] is None and context["payer"] is None


def test_remittance_deductions_are_printed_and_taken_off():
    context = pdfs.remittance_context(remittance(
        deductions=[{"label": "Facture d'avoir AV-12", "amount": "306,14"}], amount="13000"))
    assert context["deductions"] == [{"label": "Facture d'avoir AV-12",
                                      "amount": f"306,14{NBSP}€"}]
    assert context["amount"] == f"13{NBSP}000,00{NBSP}€"


def test_remittance_document_is_the_organisations_whatever_its_dossiers():
    advice = remittance(lines=[advice_line("2019-07-01", "2019-07-31", "7", "100"),
                               advice_line("2019-07-01", "2019-07-31", "7", "100", "18RCDI3114"),
                               advice_line("2019-08-01", "2019-08-31", "7", "100")],
                        amount="300")
    issuer = actor("funder_agent")
    document = pdfs.remittance_document("id1", advice, issuer, "c" * 64, 10, CERTIFIED_AT)
    assert (document.category, document.status) == ("remittance_advice", "generated")
    assert document.label == "AVIS DE VIREMENT n° 107 du 23/08/2019"
    assert document.filename == "avis-de-virement-107.pdf"
    assert (document.organisation_id, document.dossier_id, document.beneficiary_id) == (
        "o1", None, None)
    assert document.dossier_number == "16/0/5756, 18RCDI3114"
    assert document.beneficiary_name == "DUBOIS Michelle"
    assert domain.status_of(document, actor("organisation_user", organisation="o1")) == (
        "deposited_by_funder", "Inscrit par votre AT Pro")


@pytest.mark.parametrize("bad", [
    {"amount": "-1"}, {"amount": 10503.341}, {"lines": []}, {"amount": "13306.15"},
    {"lines": [advice_line("2019-07-31", "2019-07-01", "1", "13306,14")]},
    {"account": {"holder": "X", "masked_iban": ""}},
])
def test_remittance_request_is_validated(bad):
    with pytest.raises(ValidationError):
        remittance(**bad)


def actor(role: str, funder="f1", organisation=None) -> Actor:
    return Actor(user_id="u", role=role, funder_id=funder, organisation_id=organisation)


@pytest.mark.parametrize("who, allowed", [
    (actor("organisation_user", organisation="o1"), True),
    (actor("funder_agent"), True),
    (actor("organisation_user", organisation="o2"), False),
    (actor("organisation_user", funder="f2", organisation="o1"), False),
    (actor("funder_admin", funder="f2"), False),
    (actor("beneficiary"), False),
])
def test_who_may_have_a_dossier_pdf_made(who, allowed):
    if allowed:
        pdfs.check_may_render(who, "f1", "o1")
    else:
        with pytest.raises(Forbidden):
            pdfs.check_may_render(who, "f1", "o1")


@pytest.mark.parametrize("category, code", [
    (pdfs.REMITTANCE_ADVICE, "remittance_from_payments_only"),
    (pdfs.CREDIT_NOTE_PRO_FORMA, "pro_forma_from_payments_only"),
])
@pytest.mark.parametrize("who, caller, refusal", [
    (actor("funder_agent"), "payments", None),
    (actor("funder_admin"), "payments", None),
    (actor("funder_admin"), "gateway", "from_payments"),
    (actor("funder_admin"), None, "from_payments"),
    (actor("funder_agent", funder="f2"), "payments", "not_allowed"),
    (actor("organisation_user", organisation="o1"), "payments", "funder_staff_only"),
])
def test_only_payments_issues_an_advice_or_pro_forma_for_the_funders_staff(
        category, code, who, caller, refusal):
    if refusal is None:
        pdfs.check_may_issue_from_payments(who, "f1", caller, category)
        return
    with pytest.raises(Forbidden) as refused:
        pdfs.check_may_issue_from_payments(who, "f1", caller, category)
    assert refused.value.code == (code if refusal == "from_payments" else refusal)


# ---- the credit note's pro forma (seed 004) -------------------------------------------------

def test_pro_forma_wording_in_mode_remboursement():
    request = pro_forma()
    assert pdfs.pro_forma_title(request) == "FACTURE PRO FORMA AVOIR n° PRO-100 du 26/11/2026"
    context = pdfs.pro_forma_context(request, "d" * 64)
    assert context["payer"] == {"name": "Transitions Pro Grand Est",
                                "address_lines": ["1 rue de la Paix", "67000 Strasbourg"],
                                "logo_url": "jalon-file:" + "d" * 64}
    assert context["recipient"] == {"name": "Formations du Lac",
                                    "siret": f"732{NBSP}829{NBSP}320{NBSP}00074",
                                    "uai": "0750655E"}
    assert context["lines"] == [{"dossier_number": "16/0/5756",
                                 "beneficiary_name": "DUBOIS Michelle",
                                 "period": "septembre 2026", "reason": "Rupture du contrat",
                                 "amount": f"1{NBSP}234,56{NBSP}€"}]
    assert context["amount"] == f"1{NBSP}234,56{NBSP}€"
    assert context["refund"] is True and context["deduction"] is None
    assert context["refund_instructions"] == (
        "À régler par virement avant le 11/12/2026, en indiquant obligatoirement dans le "
        "motif du virement : AVCAP PRO-100")
    assert context["refund_account"] == {"holder": "Transitions Pro Grand Est",
                                         "iban": "FR76 1382 5002 0008 0146 3722 518",
                                         "bic": "CEPAFRPP382"}
    assert context["refund_account_elsewhere"] is None
    assert context["reminder"] == (
        "Déposez sur le portail la facture d'avoir émise par votre organisme sur papier à "
        "en-tête (rubrique « Facture d'avoir »).")


def test_pro_forma_in_mode_remboursement_without_the_funder_s_account_points_to_the_guide():
    context = pdfs.pro_forma_context(pro_forma(refund_account=None, payer=None, siret=None,
                                               uai=None))
    assert context["refund_account"] is None and context["payer"] is None
    assert context["refund_account_elsewhere"] == (
        "Coordonnées bancaires du financeur : voir le mode opératoire « remboursement ».")
    assert context["recipient"] == {"name": "Formations du Lac", "siret": None, "uai": None}


def test_pro_forma_wording_in_mode_deduction():
    context = pdfs.pro_forma_context(pro_forma("deduction", period={
        "start": "2026-09-01", "end": "2026-09-15"}))
    assert context["deduction"] == "Ce montant sera déduit de vos prochains règlements."
    assert context["refund"] is False
    assert (context["refund_instructions"], context["refund_account"],
            context["refund_account_elsewhere"]) == (None, None, None)
    assert context["lines"][0]["period"] == "du 01/09/2026 au 15/09/2026"
    assert "AVCAP" not in str(context)


def test_pro_forma_document_is_the_organisations_inscribed_by_its_funder():
    issuer = actor("funder_agent")
    document = pdfs.pro_forma_document("id1", pro_forma(), issuer, "c" * 64, 10, CERTIFIED_AT)
    assert (document.category, document.status) == ("credit_note_pro_forma", "generated")
    assert document.label == "FACTURE PRO FORMA AVOIR n° PRO-100 du 26/11/2026"
    assert document.filename == "pro-forma-avoir-PRO-100.pdf"
    assert (document.funder_id, document.organisation_id, document.dossier_id,
            document.beneficiary_id) == ("f1", "o1", None, None)
    assert (document.dossier_number, document.beneficiary_name) == (
        "16/0/5756", "DUBOIS Michelle")
    assert (document.uploaded_by, document.uploaded_by_role) == ("u", "funder_agent")
    assert domain.status_of(document, actor("organisation_user", organisation="o1")) == (
        "deposited_by_funder", "Inscrit par votre AT Pro")


@pytest.mark.parametrize("bad", [
    {"transfer_reference": None},  # a refund without the reference to quote
    {"due_date": None},  # nor its last day
    {"refund_account": {"holder": "Transitions Pro", "iban": "FR76"}},
    {"amount": "0"}, {"amount": "-1"}, {"amount": "12.345"},
    {"pro_forma_number": ""}, {"reason": ""},
    {"period": {"start": "2026-09-30", "end": "2026-09-01"}},
    {"uai": "0750655EX"}, {"siret": "732829320000741"},
])
def test_pro_forma_request_is_validated(bad):
    with pytest.raises(ValidationError):
        pro_forma(**bad)


def test_only_a_refund_has_a_reference_and_a_due_date():
    assert pro_forma("deduction").transfer_reference is None
    for mode, extra in (("deduction", {"transfer_reference": "AVCAP PRO-100",
                                       "due_date": "2026-12-11"}),
                        ("other", {})):
        with pytest.raises(ValidationError):
            pro_forma(mode, **extra)
