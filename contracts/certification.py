"""certification RPC shapes: a dossier's monthly completion certificates."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from contracts.common import EnteredHours, Id, Shape
from contracts.events import Hours, Month


class HoursEntry(Shape):
    """Month totals. Two decimals: a JSON number, "147.00" or French input "147,00"."""

    training_hours: EnteredHours
    internship_hours: EnteredHours
    absence_hours: EnteredHours


class Certify(Shape):
    attest: bool = Field(description="'Je certifie la saisie des heures' must be ticked (true)")


class Certificate(Shape):
    id: Id | None = None
    dossier_id: Id
    month: Month
    status: str = Field(description="stable code")
    status_label: str = Field(description="as users read it, in French")
    training_hours: Hours | None = None
    internship_hours: Hours | None = None
    absence_hours: Hours | None = None
    method: int | None = None
    certified_by: Id | None = None
    certified_at: datetime | None = None
    locked_for_payment: bool = Field(False, description="payments locked this month")
    version: int = 0
