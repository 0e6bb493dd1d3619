"""What « Votre identité » must hold before hours are entered online or certified (seeds 001
and 002). Identity alone judges it: its profile lists the pieces still missing, each with what
it holds up (`needed_for`: hours_entry or electronic_certification); these rules only say which
step waits for which pieces, and how a refusal reads."""
from __future__ import annotations

from contracts.common.errors import Conflict
from contracts.common.formatting import list_fr

HOURS_ENTRY = "hours_entry"
STAMP_MISSING = "stamp_missing"


ENTRY = "Avant de saisir les heures en ligne"
METHOD_ONE = "Avant de certifier"


def ensure_ready_for_entry(missing: list, step: str = ENTRY) -> None:
    """Any online entry of hours, and method 1, wait for the legal representative and the
    logo. `missing`: the profile's pieces (code, label, needed_for)."""
    _refuse(step, [piece for piece in missing if piece.needed_for == HOURS_ENTRY])


def ensure_ready_for_electronic(missing: list) -> None:
    """Method 2 waits for every piece; while only its own ones lack, method 1 stays open."""
    fallback = ("" if any(piece.needed_for == HOURS_ENTRY for piece in missing) else
                " En attendant, certifiez par impression, signature et dépôt du certificat.")
    _refuse("Avant la certification 100 % dématérialisée", missing, fallback)


def stamp_warnings(missing: list) -> list[dict]:
    """Method 1 without a stamp is valid: a warning, not a refusal (seed 001)."""
    if not any(piece.code == STAMP_MISSING for piece in missing):
        return []
    return [{"code": STAMP_MISSING,
             "message": "Votre cachet n'est pas renseigné dans « Votre identité » : la "
                        "certification est valide, pensez à l'ajouter."}]


def _refuse(step: str, missing: list, after: str = "") -> None:
    """409 coded by the first missing piece, naming them all."""
    if not missing:
        return
    raise Conflict(missing[0].code,
                   f"{step}, complétez « Votre identité » : "
                   f"{list_fr([piece.label for piece in missing])}.{after}",
                   {"missing": [piece.code for piece in missing]})
