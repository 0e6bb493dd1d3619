"""Monthly completion certificates ("certificats de réalisation"): the rules, pure Python.

months: the session and its months; entry: hours, days and proposals; settings: each funder's
choices; certificate: the certificate and its statuses; dashboard: what waits for whom;
access: who may act; codes: method 2 (emailed code); evidence: method 1 (signed PDF);
readiness: what « Votre identité » must hold first (identity judges it).
No Nameko, no SQLAlchemy, no message shapes (handlers build those); the clock is passed in.
"""
# Re-exported names: the package reads as one module (`domain.Certificate`).
from services.certification.domain.access import (CLOSED_DOSSIER, ensure_dossier_open,
                                                  ensure_funder_admin, ensure_funder_staff_of,
                                                  ensure_may_change, party_of)
from services.certification.domain.certificate import (
    AWAITING_BENEFICIARY, AWAITING_EMPLOYER, AWAITING_ENTRY, BENEFICIARY, CERTIFIED,
    CLOSED_BY_PAYMENT, CONTESTED, ENTERABLE, HOURS_ENTERED, METHOD_SIGNED_PDF, NOT_AVAILABLE,
    REOPENED, STATUS_LABELS, VALIDATED, Certificate, Signer, certify, first_validation,
    not_transmittable, require_attestation, validation_steps, with_hours)
from services.certification.domain.codes import (
    CODE_REQUEST_WINDOW, METHOD_ELECTRONIC, CertificationCode, CodeRequest,
    ensure_code_request_allowed, ensure_code_requestable, issue_code, new_code,
    require_ip_consent)
from services.certification.domain.dashboard import (PENDING_FOR_ROLE, actions_label,
                                                     months_to_certify, pending_months,
                                                     status_label, status_of)
from services.certification.domain.entry import (
    MONTH_TOTALS, PERIODS_OF_MODE, TOTALS, WHOLE_DAY, DayHours, Entry, Hours, PlannedHours,
    build_entry, ensure_in_session, forecast_proposal, patched, plan_warnings, planned_total,
    require_complete, spread_proposal, zero_proposal)
from services.certification.domain.evidence import hours_reference, signed_certificate_sha256
from services.certification.domain.months import (Session, check_attendance_days, is_open,
                                                  local_today, period_label, session_days)
from services.certification.domain.readiness import (METHOD_ONE, ensure_ready_for_electronic,
                                                    ensure_ready_for_entry, stamp_warnings)
from services.certification.domain.settings import FunderSettings
