"""Each funder's certification settings: how hours are entered, codes, who validates."""
from __future__ import annotations

from datetime import datetime

from contracts.common.errors import InvalidInput
from services.certification.domain.entry import ENTRY_MODES, MONTH_TOTALS

CODE_LENGTHS = (4, 6)
CODE_LIFETIMES = (15, 10)


class FunderSettings:
    """How a funder wants hours entered and certified (mapped; one row per funder once its
    administrator saved them). The defaults are what the seeds show."""

    def __init__(self, funder_id: str, entry_mode: str = MONTH_TOTALS, code_length: int = 4,
                 code_lifetime_minutes: int = 15, beneficiary_validation: bool = False,
                 employer_validation: bool = False, notify_funder: bool = True,
                 updated_by: str | None = None, updated_at: datetime | None = None,
                 funder_notification_email: str | None = None):
        self.funder_id = funder_id
        self.entry_mode = entry_mode
        self.code_length = code_length
        self.code_lifetime_minutes = code_lifetime_minutes
        self.beneficiary_validation = beneficiary_validation
        self.employer_validation = employer_validation
        self.notify_funder = notify_funder
        # Where the funder is emailed at certification (and of a contest) when notify_funder:
        # on by default, as seed 002 has both methods email the funder.
        self.funder_notification_email = funder_notification_email
        self.updated_by = updated_by
        self.updated_at = updated_at

    def change(self, values: dict, user_id: str, now: datetime) -> None:
        """Replace every setting at once (PUT); each value is checked against its choices."""
        _choice("entry_mode", values["entry_mode"], ENTRY_MODES)
        _choice("code_length", values["code_length"], CODE_LENGTHS)
        _choice("code_lifetime_minutes", values["code_lifetime_minutes"], CODE_LIFETIMES)
        email = (values.get("funder_notification_email") or "").strip() or None
        if values["notify_funder"] and not email:
            raise InvalidInput("funder_email_required",
                               "Indiquez l'adresse e-mail du financeur à prévenir à chaque "
                               "certification.", {"field": "funder_notification_email"})
        for name in ("entry_mode", "code_length", "code_lifetime_minutes",
                     "beneficiary_validation", "employer_validation", "notify_funder"):
            setattr(self, name, values[name])
        self.funder_notification_email = email
        self.updated_by = user_id
        self.updated_at = now

    @property
    def funder_email(self) -> str | None:
        """The address to email at certification and of a contest, if the funder wants it."""
        return self.funder_notification_email if self.notify_funder else None


def _choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise InvalidInput("invalid_setting", "Cette valeur n'est pas proposée pour ce réglage.",
                           {"field": name, "choices": list(choices)})
