"""Types shared by the RPC and HTTP shapes of every service."""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from contracts.events import Hours, Month

# C0 controls but tab, newline and carriage return, and lone UTF-16 surrogates: no database,
# PDF or email can carry them, so they are refused at the edge instead of failing deep inside.
_FORBIDDEN_CODE_POINTS = frozenset(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]
)


# The same code points and the surrogates as one character class: every text of every shape
# goes through these checks, a scan in C instead of a generator step per character.
_FORBIDDEN = re.compile("[%s\ud800-\udfff]" % "".join(
    re.escape(chr(code)) for code in sorted(_FORBIDDEN_CODE_POINTS)))


def _is_clean(text: str) -> bool:
    return _FORBIDDEN.search(text) is None


def _is_visible(text: str) -> bool:
    """No invisible format character (Unicode Cf): a right-to-left override makes
    "facture\u202efdp.exe" list as "factureexe.pdf"; zero-width spaces and the like make two
    names that look the same differ."""
    # ASCII holds no format character: most texts end here.
    return text.isascii() or not any(unicodedata.category(c) == "Cf" for c in text)


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        if not _is_clean(value):
            raise ValueError("le texte contient un caractère de contrôle ou invalide")
        if not _is_visible(value):
            raise ValueError("le texte contient un caractère invisible de mise en forme (par "
                             "exemple une inversion du sens d'écriture)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_text(item)


def escaped(text: str) -> str:
    """`text` as every shape accepts it: itself when clean, else written with Python's escapes
    ("\\x1f"), so that a report can still show what was refused."""
    if _is_clean(text) and _is_visible(text):
        return text
    return text.encode("unicode_escape").decode("ascii")


class Shape(BaseModel):
    """Base of every request and reply shape: unknown fields are errors, not silently dropped,
    and no text may hold control characters or invalid code points."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _only_clean_text(cls, data: Any) -> Any:
        _check_text(data)
        return data


class Role(str, Enum):
    funder_agent = "funder_agent"
    funder_admin = "funder_admin"
    organisation_user = "organisation_user"
    beneficiary = "beneficiary"
    employer = "employer"


FUNDER_ROLES = frozenset({Role.funder_agent, Role.funder_admin})


class Right(str, Enum):
    """What an organisation administrator grants each of its users (seeds 002 and 004)."""

    enter_hours = "enter_hours"                        # saisie des heures
    certify_certificates = "certify_certificates"      # certification des certificats de réalisation
    payments = "payments"                              # règlements
    documents = "documents"                            # documents
    users = "users"                                    # administration des utilisateurs


ALL_RIGHTS = tuple(right.value for right in Right)


class Actor(Shape):
    """Who is calling, as the gateway authenticated them. Every service checks it itself."""

    user_id: str
    role: Role
    funder_id: str
    name: str | None = Field(None, description="the person (or API token) as documents name "
                                               "them, e.g. on a certificate they sign")
    organisation_id: str | None = None
    party_id: str | None = Field(None, description="the beneficiary or employer this user is")
    rights: list[str] = []
    ip: str | None = None
    email: str | None = Field(None, description="the user's email, when the account has one")
    restricted: bool = Field(False, description="first login not finished (personalise, privacy "
                                                "policy): only /me and /auth/* are allowed")
    session_id: str | None = Field(None, description="the login session behind this actor "
                                                     "(None for API tokens)")

    @property
    def is_funder_staff(self) -> bool:
        return self.role in FUNDER_ROLES


Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class DossierMonth(Shape):
    """One month of one dossier, as RPC arguments name it (certificates, month locks)."""

    dossier_id: Id
    month: Month


_DIGIT_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f")


def _decimal_from_french(value: Any) -> Any:
    """'147,00' -> '147.00', '1 234,5' -> '1234.5': what users type in France. Anything else
    is returned unchanged for the Decimal validation to judge."""
    if not isinstance(value, str):
        return value
    text = value.strip().translate(_DIGIT_GROUP_SPACES)
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text


class _FrenchDecimalInput:
    """Accept French decimal input, and say so in the JSON Schema's string branch."""

    pattern = r"^\s*[+-]?\d+([.,]\d+)?\s*$"

    def __get_pydantic_core_schema__(self, source, handler):
        return BeforeValidator(_decimal_from_french).__get_pydantic_core_schema__(source, handler)

    def __get_pydantic_json_schema__(self, schema, handler):
        json_schema = handler(schema)
        for branch in json_schema.get("anyOf", ()):
            if branch.get("type") == "string":
                branch.setdefault("pattern", self.pattern)
        return json_schema


FrenchDecimalInput = _FrenchDecimalInput()
"""Put it LAST in Annotated[...], after the constraints (as in
`Annotated[Hours, FrenchDecimalInput]`): the JSON Schema then keeps minimum etc. Output is
unchanged: a Decimal, dumped in JSON as a plain string "147.00"."""

FrenchDecimal = Annotated[Decimal, FrenchDecimalInput]

# Hours as users type them: "147,00" or "147.00", two decimals, never negative.
EnteredHours = Annotated[Hours, FrenchDecimalInput]
