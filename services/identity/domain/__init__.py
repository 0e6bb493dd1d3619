"""identity rules: funders, organisations, user accounts and sessions, on plain classes.

No Nameko, no SQLAlchemy, no I/O; the clock is passed in. Issue 4's account lifecycle:
provisional passwords and the first login (personalise, then accept the privacy policy: the
actor is "restricted" until then), single-use links (identifier confirmation, password reset),
failed-attempt limits, idle and absolute session limits, users' rights, API tokens, the
organisation profile with its certifier state, and the audit trail. Everything is reached as
`domain.<name>`; the modules group it by subject.
"""
from contracts.common.access import require_unrestricted
from services.identity.domain.account_settings import (
    BY_FUNDER, PASSWORD_RULE_SETS, SELF_SERVICE, SIGNUP_STATUS_LABELS, AccountSettings,
    PasswordRules, Signup, invalid_activation, new_signup, password_rules, signup_closed,
    signup_not_found, unknown_siret)
from services.identity.domain.accounts import (
    API_ACTOR_PREFIX, ORGANISATION_ADMIN_RIGHTS, AuditEvent, Funder, LoginLimits, UserAccount,
    account_changes, audit, can_list_users, check_administrators_remain, invalid_credentials,
    login_refusal, new_account, new_id, normalise_identifier, party_identifiers,
    require_funder_admin, require_manages, require_may_resend, require_of_funder,
    require_own_account, require_person, require_users_right, too_many_attempts,
    too_many_reset_requests, user_changes, user_not_found)
from services.identity.domain.links import (
    EMAIL_CHANGE, EMAIL_CHANGE_CANCEL, IDENTIFIER_CHANGE, PASSWORD_RESET, EmailChange,
    OneTimeToken, current_password_required, email_taken, invalid_link, new_link, same_email,
    start_email_change)
from services.identity.domain.organisations import (
    PROFILE_CATEGORIES, PROFILE_FIELDS, Organisation, OrganisationDocument, Readiness,
    can_see_organisation, document_status_label, normalise_siret, normalise_uai,
    organisation_not_found, readiness)
from services.identity.domain.passwords import (
    PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PASSWORD_SPECIALS, Passwords, check_new_password,
    check_password, password_problems, provisional_password)
from services.identity.domain.sessions import (
    API_TOKEN_PREFIX, ApiToken, UserSession, hash_token, invalid_token, issue_api_token,
    open_session)

__all__ = [
    "BY_FUNDER", "PASSWORD_RULE_SETS", "SELF_SERVICE", "SIGNUP_STATUS_LABELS", "AccountSettings",
    "PasswordRules", "Signup", "invalid_activation", "new_signup", "password_rules",
    "signup_closed", "signup_not_found", "unknown_siret",
    "API_ACTOR_PREFIX", "API_TOKEN_PREFIX", "EMAIL_CHANGE", "EMAIL_CHANGE_CANCEL",
    "IDENTIFIER_CHANGE", "ORGANISATION_ADMIN_RIGHTS", "PASSWORD_MAX_LENGTH",
    "PASSWORD_MIN_LENGTH", "PASSWORD_RESET", "PASSWORD_SPECIALS", "PROFILE_CATEGORIES",
    "PROFILE_FIELDS", "ApiToken", "AuditEvent", "EmailChange", "Funder", "LoginLimits",
    "OneTimeToken", "Organisation", "OrganisationDocument", "Passwords", "UserAccount",
    "Readiness", "UserSession", "account_changes", "audit", "can_list_users",
    "can_see_organisation",
    "check_administrators_remain", "check_new_password", "check_password",
    "current_password_required", "document_status_label", "email_taken", "hash_token",
    "invalid_credentials", "invalid_link", "invalid_token", "issue_api_token", "login_refusal",
    "new_account", "new_id", "new_link", "normalise_identifier", "normalise_siret",
    "normalise_uai", "open_session",
    "organisation_not_found", "party_identifiers", "password_problems", "provisional_password",
    "readiness",
    "require_funder_admin", "require_manages", "require_may_resend", "require_of_funder",
    "require_own_account", "require_person", "require_unrestricted", "require_users_right",
    "same_email", "start_email_change", "too_many_attempts", "too_many_reset_requests",
    "user_changes", "user_not_found",
]
