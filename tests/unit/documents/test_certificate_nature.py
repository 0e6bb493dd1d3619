"""The certificate's « Nature de l'action » box is the dossier's type of action's (the
Ministry's model: formation, bilan, VAE, apprentissage)."""
import pytest

from services.documents.domain import pdfs
from services.documents.handlers import facts_from_event
from tests.support.documents import certified


@pytest.mark.parametrize("action_type, ticked", [
    (None, "action de formation"),  # a caller that does not say: a PTP
    ("ptp", "action de formation"),
    ("vae", "action de validation des acquis de l'expérience"),
    ("bilan", "bilan de compétences"),
    ("apprentissage", "action de formation par apprentissage"),
])
def test_the_dossiers_type_ticks_its_nature(action_type, ticked):
    facts = facts_from_event(certified()).model_copy(update={"action_type": action_type})
    context = pdfs.certificate_context(facts, issued_on=facts.dossier.session_start)
    assert [n["label"] for n in context["natures"] if n["ticked"]] == [ticked]
