"""A funder's dossiers spreadsheet, once read into cells: its columns and its rows as import
rows shaped like ImportedDossier.

What users write is accepted as they write it: French headers with or without accents
("N° dossier", "Date commission"), dates as 16/10/2019, ISO or real date cells, a SIRET typed
as a number or with spaces. A required column missing stops the whole file (InvalidInput);
everything else is left to the row checks.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from contracts.common.errors import InvalidInput
from services.dossiers.domain.dossiers import Problem

# field -> its usual headings, normalised (see _normalise); the first one is how the error
# messages name the column.
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("n dossier", "no dossier", "numero dossier", "numero de dossier", "dossier",
               "number"),
    "siret": ("siret", "siret organisme", "siret de l organisme", "siret organisme de formation"),
    "beneficiary_name": ("beneficiaire", "nom beneficiaire", "nom du beneficiaire",
                         "beneficiary name"),
    "beneficiary_email": ("email beneficiaire", "e mail beneficiaire", "courriel beneficiaire",
                          "mail beneficiaire", "email du beneficiaire", "beneficiary email"),
    "employer_name": ("employeur", "nom employeur", "nom de l employeur", "employer name"),
    "employer_email": ("email employeur", "e mail employeur", "courriel employeur",
                       "mail employeur", "email de l employeur", "employer email"),
    "training_title": ("formation", "intitule formation", "intitule de la formation",
                       "training title"),
    "session": ("session",),
    "session_start": ("debut de session", "debut session", "date de debut", "date debut",
                      "session start"),
    "session_end": ("fin de session", "fin session", "date de fin", "date fin", "session end"),
    "commission_date": ("date commission", "date de commission", "commission",
                        "commission date"),
    "action_type": ("type d action", "type de l action", "nature de l action", "action type"),
}
REQUIRED = ("number", "siret", "beneficiary_name", "beneficiary_email", "training_title")
# How the messages name each column (French, as the template heads it).
HEADINGS = {"number": "N° dossier", "siret": "SIRET", "beneficiary_name": "Bénéficiaire",
            "beneficiary_email": "E-mail bénéficiaire", "employer_name": "Employeur",
            "employer_email": "E-mail employeur", "training_title": "Formation",
            "session": "Session", "session_start": "Début de session",
            "session_end": "Fin de session", "commission_date": "Date commission",
            "action_type": "Type d'action"}
# What users write in the type of action column, normalised -> its code.
ACTION_TYPES = {"ptp": "ptp", "projet de transition professionnelle": "ptp", "vae": "vae",
                "validation des acquis de l experience": "vae", "bilan": "bilan",
                "bilan de competences": "bilan", "apprentissage": "apprentissage",
                "action de formation par apprentissage": "apprentissage"}
_BY_HEADING = {heading: name for name, headings in COLUMNS.items() for heading in headings}
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SESSION = re.compile(r"^\s*(\S+)\s+(?:au|à|-)\s+(\S+)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass
class SheetRow:
    """One data row: its line in the file, the SIRET of its organisation, the import row."""

    line: int
    siret: str | None
    data: dict[str, Any]


def not_a_spreadsheet() -> InvalidInput:
    return InvalidInput("not_a_spreadsheet",
                        "Ce fichier n'est pas un tableur lisible : envoyez un fichier Excel "
                        "(.xlsx) ou CSV (UTF-8, séparateur point-virgule ou virgule).")


# --- columns -------------------------------------------------------------------------------

def _normalise(heading: Any) -> str:
    text = unicodedata.normalize("NFKD", str(heading or "")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def columns(header: tuple) -> dict[str, int]:
    """field -> its index in the header row; the columns we do not read are left out."""
    found: dict[str, int] = {}
    for index, heading in enumerate(header):
        name = _BY_HEADING.get(_normalise(heading))
        if name is None:
            continue  # a column we do not read (comments, the funder's own codes...)
        if name in found:
            raise InvalidInput("duplicate_column",
                               f"La colonne « {HEADINGS[name]} » figure deux fois.",
                               {"column": HEADINGS[name]})
        found[name] = index
    has_session = "session" in found or {"session_start", "session_end"} <= found.keys()
    missing = [HEADINGS[name] for name in REQUIRED if name not in found]
    if not has_session:
        missing += [HEADINGS["session_start"], HEADINGS["session_end"]]
    if missing:
        raise InvalidInput("missing_columns",
                           "Colonnes obligatoires manquantes : " + ", ".join(missing) + ".",
                           {"missing": missing})
    return found


def headings(header: tuple, found: dict[str, int]) -> dict[str, str]:
    """field -> its heading as written in the file (the report names columns so)."""
    return {name: str(header[index]).strip() for name, index in found.items()}


def column_of(field: str | None, headings: dict[str, str]) -> str | None:
    """The column a row error's field came from, as headed in the file."""
    if not field:
        return None
    root = field.split(".")[0]
    if root in ("beneficiary", "employer"):
        part = "email" if field.endswith("email") else "name"
        return headings.get(f"{root}_{part}")
    if root in ("session_start", "session_end") and root not in headings:
        return headings.get("session")
    return headings.get(root)


# --- cells -> an import row ----------------------------------------------------------------

def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)  # Excel stores numbers as floats: 16 -> "16", not "16.0"
    return str(cell).strip()


def is_blank(cells: tuple) -> bool:
    return all(_text(cell) == "" for cell in cells)


def date_value(cell: Any) -> Any:
    """A date as the contract reads it (ISO), from a date cell, 16/10/2019 or 2019-10-16;
    anything else is returned as it is, for the row check to report."""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    text = _text(cell)
    match = _FRENCH_DATE.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return text
    return text or None


def siret_value(cell: Any) -> str | None:
    text = _text(cell)
    if isinstance(cell, (int, float)) and text.isdigit():
        text = text.zfill(14)  # a SIRET typed as a number lost its leading zeros
    return text or None


def action_type_value(cell: Any) -> str | None:
    """The code of a type of action as written (« PTP », « Bilan de compétences »...);
    anything else as it is, for the row check to report."""
    text = _text(cell)
    return ACTION_TYPES.get(_normalise(text), text) or None


def _party(name: str, email: str) -> dict | None:
    if not name and not email:
        return None
    return {"name": name, "email": email}


def sheet_row(line: int, found: dict[str, int], cells: tuple) -> SheetRow:
    """A data row's cells, by the columns `found`, as an import row."""
    def cell(name: str) -> Any:
        index = found.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    start, end = cell("session_start"), cell("session_end")
    if "session" in found and start is None and end is None:
        match = _SESSION.match(_text(cell("session")))  # "17/12/2019 au 30/11/2021"
        start, end = match.groups() if match else (None, None)
    data = {"number": _text(cell("number")),
            "beneficiary": _party(_text(cell("beneficiary_name")),
                                  _text(cell("beneficiary_email"))),
            "employer": _party(_text(cell("employer_name")), _text(cell("employer_email"))),
            "training_title": _text(cell("training_title")),
            "session_start": date_value(start), "session_end": date_value(end),
            "commission_date": date_value(cell("commission_date")),
            "action_type": action_type_value(cell("action_type"))}
    # An empty cell empties the field; a column the file does not have leaves it as it is.
    carried = {"employer": "employer_name" in found or "employer_email" in found,
               "commission_date": "commission_date" in found}
    return SheetRow(line=line, siret=siret_value(cell("siret")),
                    data={key: value for key, value in data.items()
                          if value is not None or carried.get(key)})


# --- the organisation of a row -------------------------------------------------------------

def plain_siret(siret: str | None) -> str:
    """A SIRET as identity keeps it: without the spaces people type in it."""
    return _SPACES.sub("", siret or "")


def siret_problems(siret: str, organisation: dict | None) -> list[Problem]:
    """A row names its organisation by a SIRET of the funder's organisations."""
    if not siret:
        return [Problem("siret", "required", "Valeur obligatoire manquante.")]
    if organisation is None:
        return [Problem("siret", "unknown_organisation",
                        "Aucun organisme de formation de votre financeur n'a ce SIRET.")]
    return []
