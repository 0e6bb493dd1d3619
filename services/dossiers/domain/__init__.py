"""dossiers rules, no I/O (the clock is passed in): the dossiers themselves (`dossiers`),
imports (`imports`), the spreadsheet a funder imports (`sheets`) and the months awaiting the
organisation (`pending`). What the service uses of them is reached from here:
`domain.Dossier`, `domain.import_decision`, `domain.pending_months`."""
from services.dossiers.domain import sheets
from services.dossiers.domain.dossiers import (
    CLOSED_STATUS, DEFAULT_ACTION_TYPE, Dossier, Party, PartyKind, PlannedDay, Problem, Scope,
    check_party, dossier_not_found, forecast_problems, new_id, number_taken, raise_problems,
    require_importer, scope_for)
from services.dossiers.domain.imports import (
    KEEP, ImportFacts, Outcome, dated_problems, duplicate_number, forecast_key,
    import_decision, invalid_row, row_problem)
from services.dossiers.domain.pending import (
    MonthCertification, PendingMonth, action_type_counts, local_today, pending_months,
    status_counts)
