"""identity RPC shapes: funders, organisations and their profile, users and rights, login,
first login, password reset, API tokens and the audit trail (issue 4)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import EmailStr, Field, model_validator

from contracts.common import Actor, Id, Right, Role, Shape

Identifier = Field(min_length=3, max_length=150)
Password = Field(min_length=1, max_length=1024)
Name = Field(min_length=1, max_length=200)
PersonName = Field(None, min_length=1, max_length=100)
Phone = Field(None, max_length=30)
Civility = Literal["Madame", "Monsieur"]


class Credentials(Shape):
    identifier: str = Field(min_length=1, max_length=150)
    password: str = Password


class Session(Shape):
    access_token: str
    token_type: str = "Bearer"
    expires_at: datetime = Field(description="the absolute limit; the idle limit may end the "
                                             "session earlier")
    must_personalise: bool = False
    privacy_policy_pending: bool = False


class NewUser(Shape):
    """An account created with a chosen password: only the funder's bootstrap administrator."""

    identifier: str = Identifier
    name: str = Name
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)


class FirstUser(Shape):
    """An organisation's first user: identity generates a provisional password and emails it."""

    identifier: str | None = Field(None, min_length=3, max_length=150,
                                   description="default: the email")
    name: str = Name
    email: EmailStr


class NewOrganisation(Shape):
    name: str = Name
    siret: str = Field(min_length=14, max_length=17, description="14 digits, spaces allowed")
    email: EmailStr
    legal_representative: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=500)
    user: FirstUser


class Organisation(Shape):
    id: Id
    funder_id: Id
    name: str
    siret: str
    uai: str | None = None
    email: str
    legal_representative: str | None = None
    address: str | None = None
    postcode: str | None = None
    town: str | None = None
    phone: str | None = None


class User(Shape):
    id: Id
    identifier: str
    name: str
    email: str
    role: Role
    funder_id: Id
    organisation_id: Id | None = None


class UserDetails(User):
    """A user as an organisation administrator (or funder staff) manages it."""

    active: bool
    rights: list[Right]
    must_personalise: bool
    created_at: datetime
    credentials_sent: bool | None = Field(None, description="create_user / resend_credentials "
                                                            "only: the email was queued")
    # Seed 004 (issue 15); empty for accounts made before, known by `name` only.
    civility: Civility | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class Me(Shape):
    user: User
    organisation: Organisation | None = None
    must_personalise: bool = False
    privacy_policy_pending: bool = False
    pending_identifier: str | None = None
    pending_email: str | None = Field(None, description="waits for the link sent to it")
    rights: list[Right] = []
    password_rules: str | None = Field(None, description="the funder's password rules in "
                                                          "French, shown where a new password "
                                                          "is chosen (first login, change)")


class NewFunder(Shape):
    """Bootstrap: the first funder and its administrator (allowed once per funder code)."""

    code: str = Field(min_length=2, max_length=50, pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1, max_length=200)
    admin: NewUser


# --- first login and "mon compte" ------------------------------------------------------------

class NewPassword(Shape):
    new_password: str = Password
    new_password_confirmation: str = Password


class Personalise(NewPassword):
    """`current_password`: the provisional one, so that a stolen session of an account on
    its first login cannot choose the password."""

    current_password: str = Password
    new_identifier: str = Identifier


class ConfirmIdentifier(Shape):
    token: str = Field(min_length=1, max_length=200)


class AcceptPrivacyPolicy(Shape):
    version: str = Field(min_length=1, max_length=50)


class UpdateMe(Shape):
    """`email` needs `current_password`, and takes effect only once the link emailed to the
    new address is followed; the old address is told at once, with a link to cancel."""

    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    current_password: str | None = Field(None, min_length=1, max_length=1024)


class EmailChangeLink(Shape):
    """The token of an emailed link: the confirmation sent to the new address, or the
    cancellation sent to the old one."""

    token: str = Field(min_length=1, max_length=200)


class ChangeIdentifier(Shape):
    current_password: str = Password
    new_identifier: str = Identifier


class ChangePassword(NewPassword):
    current_password: str = Password


class PasswordResetRequest(Shape):
    identifier: str = Field(min_length=1, max_length=150)
    captcha_token: str | None = Field(None, max_length=4096)


class PasswordReset(NewPassword):
    token: str = Field(min_length=1, max_length=200)


# --- organisation profile ("votre identité") ---------------------------------------------------

DocumentStatus = Literal["missing", "pending", "checked", "rejected"]


class ProfileDocument(Shape):
    """The organisation's latest document of one category, as the funder's check left it."""

    document_id: str | None = None
    status: DocumentStatus = "missing"
    status_label: str = "Non déposé"
    reason: str | None = None


class MissingPiece(Shape):
    """A piece of « Votre identité » the organisation still lacks for a way of certifying."""

    code: Literal["legal_representative_missing", "logo_missing", "stamp_missing",
                  "certifier_not_requested", "kbis_not_checked", "consent_letter_not_checked"]
    label: str = Field(description="what is missing, as a sentence names it: "
                                   "'le logo de l'organisme'")
    needed_for: Literal["hours_entry", "electronic_certification"] = Field(
        description="hours_entry: any online entry of hours and method 1 wait for it; "
                    "electronic_certification: only method 2 (100 % dématérialisée)")


class CertificationMethod(Shape):
    """The organisation's readiness to enter and certify hours: identity alone computes it,
    certification asks it at each entry and certification."""

    method: Literal[1, 2]
    reason: str
    certifier_since: datetime | None = Field(
        None, description="since when method 2 is in force (printed on its certificates)")
    missing: list[MissingPiece] = Field(
        [], description="what still lacks, in the order « Votre identité » asks it")


class OrganisationProfile(Shape):
    id: Id
    funder_id: Id
    name: str
    siret: str = Field(description="read-only")
    uai: str | None = Field(None, description="UAI number, shown beside the SIRET")
    email: str
    address: str | None = None
    postcode: str | None = None
    town: str | None = None
    phone: str | None = None
    mobile: str | None = None
    fax: str | None = None
    declaration_number: str | None = None
    website: str | None = None
    legal_representative: str | None = None
    logo: ProfileDocument
    stamp: ProfileDocument
    certifier_requested: bool
    kbis: ProfileDocument
    consent_letter: ProfileDocument
    certification_method: CertificationMethod


class ProfileUpdate(Shape):
    """Fields left out are unchanged; an empty string clears an optional field. `siret` is
    accepted only to refuse it with "siret_read_only"."""

    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    address: str | None = Field(None, max_length=500)
    postcode: str | None = Field(None, max_length=10)
    town: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=30)
    mobile: str | None = Field(None, max_length=30)
    fax: str | None = Field(None, max_length=30)
    declaration_number: str | None = Field(None, max_length=30)
    website: str | None = Field(None, max_length=300)
    legal_representative: str | None = Field(None, max_length=200)
    uai: str | None = Field(None, max_length=10, description="7 digits and a check letter")
    siret: str | None = None


class CertifierChoice(Shape):
    requested: bool


# --- users and rights ---------------------------------------------------------------------------

class NewOrganisationUser(Shape):
    """Seed 004: civility, last and first name (the display `name` is made of them,
    « DUBOIS Michelle »); `name` alone still works for callers that send no parts."""

    identifier: str = Identifier
    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr
    active: bool = True
    rights: list[Right] = Field(min_length=1)
    civility: Civility | None = None
    first_name: str | None = PersonName
    last_name: str | None = PersonName
    phone: str | None = Phone

    @model_validator(mode="after")
    def _named(self):
        if not self.name and not (self.first_name and self.last_name):
            raise ValueError("name, or first_name and last_name, required")
        return self


class UserUpdate(Shape):
    """An administrator's change of `email` takes effect, once the account has personalised,
    only when the link sent to the new address is followed (as for the user's own change)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    rights: list[Right] | None = Field(None, min_length=1)
    active: bool | None = None
    # A changed first or last name makes the display `name` again (« DUBOIS Michelle »).
    civility: Civility | None = None
    first_name: str | None = PersonName
    last_name: str | None = PersonName
    phone: str | None = Phone


class NewFunderUser(Shape):
    identifier: str = Identifier
    name: str = Name
    email: EmailStr
    role: Literal["funder_agent", "funder_admin"]


# --- API tokens -------------------------------------------------------------------------------

class NewApiToken(Shape):
    name: str = Field(min_length=1, max_length=100)
    expires_on: date = Field(description="last day of validity, at most one year from today")
    rights: list[Right] | None = Field(None, min_length=1,
                                       description="default: the issuer's rights")


class ApiToken(Shape):
    id: Id
    name: str
    expires_at: datetime
    rights: list[Right]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    active: bool


class IssuedApiToken(Shape):
    id: Id
    name: str
    token: str = Field(description='shown once: "jat_..."')
    expires_at: datetime
    rights: list[Right]


# --- audit ------------------------------------------------------------------------------------

class AuditChange(Shape):
    field: str
    before: Any = None
    after: Any = None


class AuditEntry(Shape):
    """One act of the trail: who (named as when it was done), which organisation, what, on
    which object, what changed; `position` and `hash` place it in its funder's chain."""

    id: str | None = None
    at: datetime
    user_id: str | None = None
    person_name: str | None = None
    person_role: str | None = None
    person_role_label: str | None = None
    organisation_id: str | None = None
    organisation_name: str | None = None
    action: str
    action_label: str | None = None
    object: str | None = None
    dossier_id: str | None = None
    target: str | None = None
    ip: str | None = None
    details: dict[str, Any] = {}
    changes: list[AuditChange] = []
    position: int | None = None
    hash: str | None = None


class AuditChainBreak(Shape):
    entry_id: str = Field(description='the first entry that fails ("" when the tail is missing)')
    position: int
    reason: str


class AuditVerification(Shape):
    """What checking a funder's chain found."""

    intact: bool
    entries: int
    head_position: int
    message: str
    broken_at: AuditChainBreak | None = None


__all__ = ["AcceptPrivacyPolicy", "Actor", "ApiToken", "AuditChainBreak", "AuditChange",
           "AuditEntry", "AuditVerification", "CertificationMethod",
           "CertifierChoice", "ChangeIdentifier", "ChangePassword", "ConfirmIdentifier",
           "Credentials", "EmailChangeLink", "FirstUser", "IssuedApiToken", "Me", "NewApiToken",
           "NewFunder", "NewFunderUser", "NewOrganisation", "NewOrganisationUser", "NewPassword",
           "NewUser", "Organisation", "OrganisationProfile", "PasswordReset",
           "PasswordResetRequest", "Personalise", "ProfileDocument", "ProfileUpdate", "Session",
           "UpdateMe", "User", "UserDetails", "UserUpdate"]


# --- a funder's account settings and self-service sign-up (issue 15) ------------------------

AccountCreation = Literal["by_funder", "self_service"]
PasswordRuleSet = Literal["transitions_pro", "opco", "apprentissage"]


class AccountSettings(Shape):
    """`account_creation`: by_funder (its staff create organisations, seed 000) or
    self_service (organisations sign up, seed 003). `password_rules`: transitions_pro (seed
    000), opco (seed 003: 8 to 12 characters), apprentissage (seed 004: its allowed
    characters); a new set applies at each account's next password change.
    `require_known_siret`: a sign-up's SIRET must be in the SIRET directory."""

    account_creation: AccountCreation = "by_funder"
    password_rules: PasswordRuleSet = "transitions_pro"
    require_known_siret: bool = False


class AccountSettingsChange(Shape):
    account_creation: AccountCreation | None = None
    password_rules: PasswordRuleSet | None = None
    require_known_siret: bool | None = None


class FunderAccountSettings(AccountSettings):
    funder_id: Id
    password_rules_text: str
    updated_at: datetime | None = None


class PasswordRulesText(Shape):
    """The rules a funder's users follow, as shown where a password is chosen."""

    funder_code: str
    password_rules: PasswordRuleSet
    text: str
    min_length: int
    max_length: int


class AccountHolder(Shape):
    civility: Literal["Madame", "Monsieur"]
    last_name: str = Field(min_length=1, max_length=100)
    first_name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    email_confirmation: EmailStr
    phone: str | None = Field(None, max_length=30)


class NewSignup(Shape):
    """Seed 003's form. `profile`: « Organisme de formation / CFA », the only one here.
    `certified`: « Je certifie que le titulaire du compte est autorisé à effectuer les
    opérations sélectionnées ci-dessus. »; `terms_accepted`: « J'accepte les conditions
    d'utilisation des Services en Ligne afin de valider ma demande »; both must be true."""

    funder_code: str = Field(min_length=2, max_length=50)
    siret: str = Field(min_length=14, max_length=17, description="14 digits, spaces allowed")
    organisation_name: str = Field(min_length=1, max_length=200)
    profile: Literal["training_organisation"] = "training_organisation"
    holder: AccountHolder
    certified: bool
    terms_accepted: bool
    captcha_token: str | None = Field(None, max_length=4096)


class SignupActivation(Shape):
    """The short code of the activation email, with the password the holder chooses: the
    email is the account's identifier for good."""

    email: EmailStr
    code: str = Field(min_length=4, max_length=20)
    new_password: str = Field(min_length=1, max_length=1024)
    new_password_confirmation: str = Field(min_length=1, max_length=1024)


class SignupSummary(Shape):
    id: Id
    siret: str
    organisation_name: str
    holder_name: str
    email: str
    phone: str | None = None
    status: Literal["pending", "active", "suspended"]
    status_label: str
    created_at: datetime
    activated_at: datetime | None = None
    suspended_at: datetime | None = None
    organisation_id: Id | None = None


class SignupQuery(Shape):
    status: Literal["pending", "active", "suspended"] | None = None


class PasswordRulesQuery(Shape):
    funder_code: str = Field(min_length=1, max_length=50)


class SignupPageQuery(Shape):
    """The funder's code in the sign-up page's address: /signup?funder=<code>."""

    funder: str = Field("", max_length=50)


class ActivationPageQuery(Shape):
    """What the activation email's link carries, to prefill the page."""

    funder: str = Field("", max_length=50)
    email: str = Field("", max_length=320)
    code: str = Field("", max_length=20)


__all__ += ["ActivationPageQuery", "PasswordRulesQuery", "SignupPageQuery"]
__all__ += ["AccountHolder", "AccountSettings", "AccountSettingsChange",
            "FunderAccountSettings", "NewSignup", "PasswordRulesText", "SignupActivation",
            "SignupQuery", "SignupSummary"]


# --- an organisation's users as seed 004 manages them (issue 15) ------------------------------

class UserQuery(Shape):
    """« Gérer mes utilisateurs »: each filter a part of the field, whatever the case."""

    name: str | None = Field(None, max_length=100, description="last name (or display name)")
    first_name: str | None = Field(None, max_length=100)
    login: str | None = Field(None, max_length=150, description="the identifier")
    email: str | None = Field(None, max_length=320)
    limit: int = Field(50, ge=1, le=500, description="users per page")
    page: int = Field(1, ge=1, le=100000)


class OpenSession(Shape):
    """A session still usable; never its token."""

    started_at: datetime
    last_seen_at: datetime | None = None
    expires_at: datetime


class UserCard(UserDetails):
    """A user's own page: status, last login, open sessions."""

    status: Literal["active", "provisional", "deactivated"]
    status_label: str
    rights_labels: list[str] = Field([], description="the rights in French, in `rights` order")
    last_login_at: datetime | None = None
    open_sessions: list[OpenSession] = []


__all__ += ["OpenSession", "UserCard", "UserQuery"]
