"""What « Votre identité » must hold before hours are entered online or certified (seeds 001
and 002): identity judges the pieces (tests.support.identity.profile_readiness runs its
rules), certification refuses each step with the code of the first piece missing."""
from __future__ import annotations

import pytest

from contracts.common.errors import Conflict
from contracts.identity import CertificationMethod
from services.certification import domain
from tests.support.identity import CERTIFIER, NO_LETTERHEAD, profile_readiness

ENTRY_CODES = ["legal_representative_missing", "logo_missing"]
CERTIFIER_CODES = ["stamp_missing", "certifier_not_requested", "kbis_not_checked",
                   "consent_letter_not_checked"]


def missing(**facts) -> list:
    return CertificationMethod.model_validate(
        profile_readiness(**facts)["certification_method"]).missing


def test_entry_waits_for_the_legal_representative_and_the_logo():
    domain.ensure_ready_for_entry(missing())  # no stamp, not a certifier: entry is open
    with pytest.raises(Conflict) as exc:
        domain.ensure_ready_for_entry(missing(**NO_LETTERHEAD))
    assert (exc.value.code, exc.value.details) == ("legal_representative_missing",
                                                   {"missing": ENTRY_CODES})
    assert exc.value.message == (
        "Avant de saisir les heures en ligne, complétez « Votre identité » : le nom du "
        "représentant légal et le logo de l'organisme.")


def test_a_rejected_logo_is_missing():
    with pytest.raises(Conflict) as exc:
        domain.ensure_ready_for_entry(missing(logo="rejected"), domain.METHOD_ONE)
    assert (exc.value.code, exc.value.details) == ("logo_missing", {"missing": ["logo_missing"]})
    assert exc.value.message.startswith("Avant de certifier, complétez « Votre identité »")


@pytest.mark.parametrize("undone, code", [
    ({"legal_representative": None}, "legal_representative_missing"),
    ({"logo": "missing"}, "logo_missing"),
    ({"stamp": "rejected"}, "stamp_missing"),
    ({"certifier_requested": False}, "certifier_not_requested"),
    ({"kbis": "pending"}, "kbis_not_checked"),
    ({"consent_letter": "rejected"}, "consent_letter_not_checked"),
])
def test_method_2_waits_for_each_piece_with_its_own_code(undone, code):
    domain.ensure_ready_for_electronic(missing(**CERTIFIER))
    with pytest.raises(Conflict) as exc:
        domain.ensure_ready_for_electronic(missing(**{**CERTIFIER, **undone}))
    assert (exc.value.code, exc.value.details) == (code, {"missing": [code]})


def test_method_2_names_every_missing_piece_and_where_to_fill_it_in():
    with pytest.raises(Conflict) as exc:
        domain.ensure_ready_for_electronic(missing())
    assert (exc.value.code, exc.value.details["missing"]) == ("stamp_missing", CERTIFIER_CODES)
    assert exc.value.message == (
        "Avant la certification 100 % dématérialisée, complétez « Votre identité » : le "
        "cachet de l'organisme, la déclaration « Je suis certificateur », l'extrait KBIS "
        "contrôlé par votre financeur et la lettre de consentement contrôlée par votre "
        "financeur. En attendant, certifiez par impression, signature et dépôt du "
        "certificat.")
    with pytest.raises(Conflict) as exc:  # nothing entered online yet: no fallback offered
        domain.ensure_ready_for_electronic(missing(**NO_LETTERHEAD))
    assert exc.value.details["missing"] == ENTRY_CODES + CERTIFIER_CODES
    assert "En attendant" not in exc.value.message


def test_method_1_without_a_stamp_only_warns():
    assert [w["code"] for w in domain.stamp_warnings(missing())] == ["stamp_missing"]
    assert domain.stamp_warnings(missing(stamp="pending")) == []
