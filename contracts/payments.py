"""payments RPC shapes: month locks (payable months)."""
from __future__ import annotations

from datetime import datetime

from contracts.common import Id, Shape
from contracts.events import Hours, Month


class MonthLock(Shape):
    dossier_id: Id
    month: Month
    locked: bool
    certificate_id: Id | None = None
    training_hours: Hours | None = None
    internship_hours: Hours | None = None
    absence_hours: Hours | None = None
    locked_at: datetime | None = None
