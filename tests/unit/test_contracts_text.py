"""Every RPC/HTTP shape refuses text that no database, PDF or email can carry."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from contracts.dossiers import NewParty
from contracts.identity import Credentials


@pytest.mark.parametrize("bad", ["DUBOIS\x00", "a\ud950b", "x\x1by", "\x7f"])
def test_control_characters_and_lone_surrogates_are_refused(bad):
    with pytest.raises(ValidationError):
        NewParty(name=bad, email="m@example.org")


def test_nested_and_key_text_is_checked_too():
    with pytest.raises(ValidationError):
        Credentials.model_validate({"identifier": "ok", "password": "p\x00"})


@pytest.mark.parametrize("good", ["DUBOIS Michelle", "Léa\tN'Guyen", "ligne 1\nligne 2", "€ ✓"])
def test_ordinary_text_passes(good):
    assert NewParty(name=good, email="m@example.org").name == good


@pytest.mark.parametrize("bad", ["facture\u202efdp.exe", "DU\u200bBOIS", "\u2066x\u2069",
                                 "\ufeffLéa", "a\u00adb"])
def test_invisible_format_characters_are_refused(bad):
    """A right-to-left override once listed "facture\u202efdp.exe" as "factureexe.pdf"."""
    with pytest.raises(ValidationError) as refused:
        NewParty(name=bad, email="m@example.org")
    assert "invisible" in str(refused.value)
