"""identity RPC shapes: funders, organisations and their profile, users and rights, login,
first login, password reset, API tokens and the audit trail (issue 4)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, model_validator

from contracts.common import Actor, Id, Right, Role, Shape

# Shared constraints. Identifier and Phone mean the same wherever they are used, so they carry
# their description; a name or a password says in its own field which one it is.
Identifier = Field(min_length=3, max_length=150,
                   description="login identifier (« Identifiant »); its case does not matter",
                   examples=["michelle.dubois"])
Password = Annotated[str, Field(min_length=1, max_length=1024,
                                examples=["Exemple-Passw0rd!2026"])]
Name = Annotated[str, Field(min_length=1, max_length=200)]
PersonName = Annotated[str, Field(min_length=1, max_length=100)]
Phone = Field(None, max_length=30, description="phone number (« Téléphone »)",
              examples=["03 87 12 34 56"])
Civility = Literal["Madame", "Monsieur"]

# Examples of values that recur below (never real secrets).
_USER_NAME = "DUBOIS Michelle"
_ORGANISATION_NAME = "Institut de formation Horizon"
_LINK_TOKEN = "Zx8qL2mT7vR4nB9kW1cY6pH3sD5fG0aJ-uE_tK8iO2w"
_RULES_TEXT = ("entre 8 et 12 caractères, dont une majuscule, une minuscule, et un chiffre ou un "
               "caractère spécial.")


class Credentials(Shape):
    identifier: str = Field(min_length=1, max_length=150,
                            description="login identifier (« Identifiant »)",
                            examples=["michelle.dubois"])
    password: Password = Field(description="the account's password (« Mot de passe »)")


class Session(Shape):
    access_token: str = Field(description="the session's token, to send as `Authorization: "
                                          "Bearer <access_token>`; shown only here",
                              examples=["k3Xq9vT2bLm8ZpR4wYc7NdF1hJs6uEa0GiOtVyQxW5e"])
    token_type: str = Field("Bearer", description="how to send the token: always Bearer")
    expires_at: datetime = Field(description="the absolute limit; the idle limit may end the "
                                             "session earlier")
    must_personalise: bool = Field(False, description="first login: the identifier and the "
                                                      "password are still to personalise; "
                                                      "until then only /me and /auth/* answer")
    privacy_policy_pending: bool = Field(False, description="the current privacy policy is "
                                                            "still to accept; until then only "
                                                            "/me and /auth/* answer")


class NewUser(Shape):
    """An account created with a chosen password: only the funder's bootstrap administrator."""

    identifier: str = Identifier
    name: Name = Field(description="display name, « NOM Prénom »", examples=[_USER_NAME])
    email: EmailStr = Field(description="the administrator's email address")
    password: str = Field(min_length=8, max_length=1024, description="the chosen password",
                          examples=["Exemple-Passw0rd!2026"])


class FirstUser(Shape):
    """An organisation's first user: identity generates a provisional password and emails it."""

    identifier: str | None = Field(None, min_length=3, max_length=150,
                                   description="default: the email",
                                   examples=["michelle.dubois"])
    name: Name = Field(description="display name, « NOM Prénom »", examples=[_USER_NAME])
    email: EmailStr = Field(description="where the provisional password is sent")


class NewOrganisation(Shape):
    name: Name = Field(description="the organisation's name (« Nom »)",
                       examples=[_ORGANISATION_NAME])
    siret: str = Field(min_length=14, max_length=17, description="14 digits, spaces allowed",
                       examples=["73282932000074"])
    email: EmailStr = Field(description="the organisation's email address (« Adresse e-mail »)")
    legal_representative: str | None = Field(
        None, max_length=200, description="« Nom du représentant légal », printed on the "
                                          "certificates", examples=["Monsieur Jean MARTIN"])
    address: str | None = Field(None, max_length=500, description="postal address (« Adresse »)",
                                examples=["12 rue des Tanneurs"])
    user: FirstUser = Field(description="the organisation's first user, who administers its "
                                        "account (all rights)")


class Organisation(Shape):
    id: Id = Field(description="the organisation's id")
    funder_id: Id = Field(description="the funder the organisation works with")
    name: str = Field(description="the organisation's name (« Nom »)",
                      examples=[_ORGANISATION_NAME])
    siret: str = Field(description="SIRET, 14 digits", examples=["73282932000074"])
    uai: str | None = Field(None, description="UAI number (« Numéro UAI »): 7 digits and a "
                                              "check letter", examples=["0750655E"])
    email: str = Field(description="the organisation's email address (« Adresse e-mail »)",
                       examples=["contact@horizon-formation.fr"])
    legal_representative: str | None = Field(None, description="« Nom du représentant légal »",
                                             examples=["Monsieur Jean MARTIN"])
    address: str | None = Field(None, description="postal address (« Adresse »)",
                                examples=["12 rue des Tanneurs"])
    postcode: str | None = Field(None, description="« Code postal »", examples=["57000"])
    town: str | None = Field(None, description="« Ville »", examples=["Metz"])
    phone: str | None = Field(None, description="landline number (« Téléphone fixe »)",
                              examples=["03 87 12 34 56"])


class User(Shape):
    id: Id = Field(description="the user's id")
    identifier: str = Field(description="login identifier (« Identifiant »)",
                            examples=["michelle.dubois"])
    name: str = Field(description="display name, « NOM Prénom »", examples=[_USER_NAME])
    email: str = Field(description="email address, where notifications and links are sent",
                       examples=["michelle.dubois@horizon-formation.fr"])
    role: Role = Field(description="funder staff, organisation user, beneficiary or employer")
    funder_id: Id = Field(description="the funder the account belongs to")
    organisation_id: Id | None = Field(None, description="the user's organisation (organisation "
                                                         "users only)")


class UserDetails(User):
    """A user as an organisation administrator (or funder staff) manages it."""

    active: bool = Field(description="« Actif »: a deactivated user cannot log in")
    rights: list[Right] = Field(description="the rights granted (« Gestion des droits »)")
    must_personalise: bool = Field(description="still on a provisional password: the next "
                                               "login must personalise the account")
    created_at: datetime = Field(description="when the account was created")
    credentials_sent: bool | None = Field(None, description="create_user / resend_credentials "
                                                            "only: the email was queued")
    # Seed 004 (issue 15); empty for accounts made before, known by `name` only.
    civility: Civility | None = Field(None, description="« Civilité »")
    first_name: str | None = Field(None, description="first name (« Prénom »)",
                                   examples=["Michelle"])
    last_name: str | None = Field(None, description="last name (« Nom »)", examples=["DUBOIS"])
    phone: str | None = Field(None, description="phone number (« Téléphone »)",
                              examples=["03 87 12 34 56"])


class Me(Shape):
    user: User = Field(description="the account logged in")
    organisation: Organisation | None = Field(None, description="the user's organisation "
                                                                "(organisation users only)")
    must_personalise: bool = Field(False, description="first login: the identifier and the "
                                                      "password are still to personalise")
    privacy_policy_pending: bool = Field(False, description="the current privacy policy is "
                                                            "still to accept")
    pending_identifier: str | None = Field(None, description="a new identifier waiting for the "
                                                             "link emailed to confirm it",
                                           examples=["m.dubois"])
    pending_email: str | None = Field(None, description="waits for the link sent to it",
                                      examples=["m.dubois@horizon-formation.fr"])
    rights: list[Right] = Field([], description="the user's rights")
    password_rules: str | None = Field(None, description="the funder's password rules in "
                                                          "French, shown where a new password "
                                                          "is chosen (first login, change)",
                                       examples=[_RULES_TEXT])


class NewFunder(Shape):
    """Bootstrap: the first funder and its administrator (allowed once per funder code)."""

    code: str = Field(min_length=2, max_length=50, pattern=r"^[a-z0-9-]+$",
                      description="the funder's code, as its sign-up page's address carries it",
                      examples=["tpro-grand-est"])
    name: str = Field(min_length=1, max_length=200, description="the funder's name",
                      examples=["Transitions Pro Grand Est"])
    admin: NewUser = Field(description="the funder's first administrator")


# --- first login and "mon compte" ------------------------------------------------------------

class NewPassword(Shape):
    new_password: Password = Field(description="the new password; the funder's rules apply "
                                               "(`password_rules` of /me)")
    new_password_confirmation: Password = Field(description="the new password typed again")


class Personalise(NewPassword):
    """`current_password`: the provisional one, so that a stolen session of an account on
    its first login cannot choose the password."""

    current_password: Password = Field(description="the provisional password received by email")
    new_identifier: str = Identifier


class ConfirmIdentifier(Shape):
    token: str = Field(min_length=1, max_length=200,
                       description="the token of the link emailed to confirm the new identifier",
                       examples=[_LINK_TOKEN])


class AcceptPrivacyPolicy(Shape):
    version: str = Field(min_length=1, max_length=50,
                         description="the version of the privacy policy accepted",
                         examples=["2026-01"])


class UpdateMe(Shape):
    """`email` needs `current_password`, and takes effect only once the link emailed to the
    new address is followed; the old address is told at once, with a link to cancel."""

    name: str | None = Field(None, min_length=1, max_length=200,
                             description="new display name", examples=[_USER_NAME])
    email: EmailStr | None = Field(None, description="new email address for notifications")
    current_password: str | None = Field(None, min_length=1, max_length=1024,
                                         description="the account's password, needed to "
                                                     "change `email`",
                                         examples=["Exemple-Passw0rd!2026"])


class EmailChangeLink(Shape):
    """The token of an emailed link: the confirmation sent to the new address, or the
    cancellation sent to the old one."""

    token: str = Field(min_length=1, max_length=200, description="the token of the emailed link",
                       examples=[_LINK_TOKEN])


class ChangeIdentifier(Shape):
    current_password: Password = Field(description="the account's current password")
    new_identifier: str = Identifier


class ChangePassword(NewPassword):
    current_password: Password = Field(description="the account's current password")


class PasswordResetRequest(Shape):
    identifier: str = Field(min_length=1, max_length=150,
                            description="login identifier of the account whose password is "
                                        "forgotten", examples=["michelle.dubois"])
    captcha_token: str | None = Field(None, max_length=4096,
                                      description="the CAPTCHA's answer (provider set by "
                                                  "JALON_CAPTCHA_PROVIDER; none in development)",
                                      examples=["P1_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"])


class PasswordReset(NewPassword):
    token: str = Field(min_length=1, max_length=200,
                       description="the token of the « mot de passe oublié » link emailed",
                       examples=[_LINK_TOKEN])


# --- organisation profile ("votre identité") ---------------------------------------------------

DocumentStatus = Literal["missing", "pending", "checked", "rejected"]


class ProfileDocument(Shape):
    """The organisation's latest document of one category, as the funder's check left it."""

    document_id: str | None = Field(None, description="the document deposited; none when "
                                                      "missing")
    status: DocumentStatus = Field("missing", description="missing, pending (waits for the "
                                                          "funder's check), checked or rejected")
    status_label: str = Field("Non déposé", description="the status in French, with the date "
                                                        "of the check or the rejection's reason")
    reason: str | None = Field(None, description="why the funder rejected it",
                               examples=["Le cachet est illisible."])


class MissingPiece(Shape):
    """A piece of « Votre identité » the organisation still lacks for a way of certifying."""

    code: Literal["legal_representative_missing", "logo_missing", "stamp_missing",
                  "certifier_not_requested", "kbis_not_checked",
                  "consent_letter_not_checked"] = Field(description="which piece is missing")
    label: str = Field(description="what is missing, as a sentence names it: "
                                   "'le logo de l'organisme'",
                       examples=["le logo de l'organisme"])
    needed_for: Literal["hours_entry", "electronic_certification"] = Field(
        description="hours_entry: any online entry of hours and method 1 wait for it; "
                    "electronic_certification: only method 2 (100 % dématérialisée)")


class CertificationMethod(Shape):
    """The organisation's readiness to enter and certify hours: identity alone computes it,
    certification asks it at each entry and certification."""

    method: Literal[1, 2] = Field(description="1: certificates printed, signed and uploaded; "
                                              "2: certified online with a code sent by email")
    reason: str = Field(description="why this method is in force, in French",
                        examples=["Méthode 1 : l'organisme n'a pas demandé à être certificateur "
                                  "; les certificats de réalisation sont signés puis déposés."])
    certifier_since: datetime | None = Field(
        None, description="since when method 2 is in force (printed on its certificates)")
    missing: list[MissingPiece] = Field(
        [], description="what still lacks, in the order « Votre identité » asks it")


class OrganisationProfile(Shape):
    id: Id = Field(description="the organisation's id")
    funder_id: Id = Field(description="the funder the organisation works with")
    name: str = Field(description="the organisation's name (« Nom »)",
                      examples=[_ORGANISATION_NAME])
    siret: str = Field(description="read-only", examples=["73282932000074"])
    uai: str | None = Field(None, description="UAI number, shown beside the SIRET",
                            examples=["0750655E"])
    email: str = Field(description="the organisation's email address (« Adresse e-mail »)",
                       examples=["contact@horizon-formation.fr"])
    address: str | None = Field(None, description="« Adresse »",
                                examples=["12 rue des Tanneurs"])
    postcode: str | None = Field(None, description="« Code postal »", examples=["57000"])
    town: str | None = Field(None, description="« Ville »", examples=["Metz"])
    phone: str | None = Field(None, description="« Téléphone fixe »",
                              examples=["03 87 12 34 56"])
    mobile: str | None = Field(None, description="« Téléphone portable »",
                               examples=["06 12 34 56 78"])
    fax: str | None = Field(None, description="« Fax »", examples=["03 87 12 34 57"])
    declaration_number: str | None = Field(None, description="activity declaration number "
                                                             "(« Numéro de déclarant »)",
                                           examples=["44570123457"])
    website: str | None = Field(None, description="« Site Web »",
                                examples=["https://www.horizon-formation.fr"])
    legal_representative: str | None = Field(None, description="« Nom du représentant légal », "
                                                               "printed on the certificates",
                                             examples=["Monsieur Jean MARTIN"])
    logo: ProfileDocument = Field(description="« Votre logo », on the certificates' header")
    stamp: ProfileDocument = Field(description="« Votre cachet », in the certificates' "
                                               "signature")
    certifier_requested: bool = Field(description="« Je suis certificateur » is chosen")
    kbis: ProfileDocument = Field(description="the KBIS extract, for method 2")
    consent_letter: ProfileDocument = Field(description="the signed consent letter, for "
                                                        "method 2")
    certification_method: CertificationMethod = Field(description="the method in force, why, "
                                                                  "and what still lacks")


class ProfileUpdate(Shape):
    """Fields left out are unchanged; an empty string clears an optional field. `siret` is
    accepted only to refuse it with "siret_read_only"."""

    name: str | None = Field(None, min_length=1, max_length=200,
                             description="the organisation's name (« Nom »)",
                             examples=[_ORGANISATION_NAME])
    email: EmailStr | None = Field(None, description="the organisation's email address "
                                                     "(« Adresse e-mail »)")
    address: str | None = Field(None, max_length=500, description="« Adresse »",
                                examples=["12 rue des Tanneurs"])
    postcode: str | None = Field(None, max_length=10, description="« Code postal »",
                                 examples=["57000"])
    town: str | None = Field(None, max_length=200, description="« Ville »", examples=["Metz"])
    phone: str | None = Field(None, max_length=30, description="« Téléphone fixe »",
                              examples=["03 87 12 34 56"])
    mobile: str | None = Field(None, max_length=30, description="« Téléphone portable »",
                               examples=["06 12 34 56 78"])
    fax: str | None = Field(None, max_length=30, description="« Fax »",
                            examples=["03 87 12 34 57"])
    declaration_number: str | None = Field(None, max_length=30,
                                           description="activity declaration number "
                                                       "(« Numéro de déclarant »)",
                                           examples=["44570123457"])
    website: str | None = Field(None, max_length=300, description="« Site Web »",
                                examples=["https://www.horizon-formation.fr"])
    legal_representative: str | None = Field(None, max_length=200,
                                             description="« Nom du représentant légal »",
                                             examples=["Monsieur Jean MARTIN"])
    uai: str | None = Field(None, max_length=10, description="7 digits and a check letter",
                            examples=["0750655E"])
    siret: str | None = Field(None, description="refused: the SIRET never changes",
                              examples=["73282932000074"])


class CertifierChoice(Shape):
    requested: bool = Field(description="« Je suis certificateur »: true asks for method 2")


# --- users and rights ---------------------------------------------------------------------------

class NewOrganisationUser(Shape):
    """Seed 004: civility, last and first name (the display `name` is made of them,
    « DUBOIS Michelle »); `name` alone still works for callers that send no parts."""

    identifier: str = Identifier
    name: str | None = Field(None, min_length=1, max_length=200,
                             description="display name, needed only without first_name and "
                                         "last_name", examples=[_USER_NAME])
    email: EmailStr = Field(description="« Email »: where the provisional password is sent")
    active: bool = Field(True, description="« Actif »: an inactive user gets its credentials "
                                           "only once they are resent")
    rights: list[Right] = Field(min_length=1, description="the rights granted (« Gestion des "
                                                          "droits »), at least one")
    civility: Civility | None = Field(None, description="« Civilité »")
    first_name: PersonName | None = Field(None, description="first name (« Prénom »)",
                                          examples=["Michelle"])
    last_name: PersonName | None = Field(None, description="last name (« Nom »)",
                                         examples=["DUBOIS"])
    phone: str | None = Phone

    @model_validator(mode="after")
    def _named(self):
        if not self.name and not (self.first_name and self.last_name):
            raise ValueError("name, or first_name and last_name, required")
        return self


class UserUpdate(Shape):
    """An administrator's change of `email` takes effect, once the account has personalised,
    only when the link sent to the new address is followed (as for the user's own change)."""

    name: str | None = Field(None, min_length=1, max_length=200, description="display name",
                             examples=[_USER_NAME])
    email: EmailStr | None = Field(None, description="new email address")
    rights: list[Right] | None = Field(None, min_length=1,
                                       description="the rights granted, replacing the "
                                                   "previous ones")
    active: bool | None = Field(None, description="« Actif »: false deactivates the user and "
                                                  "ends their sessions")
    # A changed first or last name makes the display `name` again (« DUBOIS Michelle »).
    civility: Civility | None = Field(None, description="« Civilité »")
    first_name: PersonName | None = Field(None, description="first name (« Prénom »)",
                                          examples=["Michelle"])
    last_name: PersonName | None = Field(None, description="last name (« Nom »)",
                                         examples=["DUBOIS"])
    phone: str | None = Phone


class NewFunderUser(Shape):
    identifier: str = Identifier
    name: Name = Field(description="display name, « NOM Prénom »", examples=["MARTIN Claire"])
    email: EmailStr = Field(description="where the provisional password is sent")
    role: Literal["funder_agent", "funder_admin"] = Field(description="agent or administrator "
                                                                      "of the funder")


# --- API tokens -------------------------------------------------------------------------------

class NewApiToken(Shape):
    name: str = Field(min_length=1, max_length=100, description="a name to recognise the token",
                      examples=["Logiciel de gestion du CFA"])
    expires_on: date = Field(description="last day of validity, at most one year from today")
    rights: list[Right] | None = Field(None, min_length=1,
                                       description="default: the issuer's rights")


class ApiToken(Shape):
    id: Id = Field(description="the token's id (never its secret)")
    name: str = Field(description="the name given to the token",
                      examples=["Logiciel de gestion du CFA"])
    expires_at: datetime = Field(description="when it stops working: the end of its last day "
                                             "(UTC)")
    rights: list[Right] = Field(description="what the token may do")
    created_at: datetime = Field(description="when it was issued")
    created_by: str = Field(description="the id of the user who issued it",
                            examples=["9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"])
    revoked_at: datetime | None = Field(None, description="when it was revoked")
    active: bool = Field(description="neither revoked nor expired")


class IssuedApiToken(Shape):
    id: Id = Field(description="the token's id")
    name: str = Field(description="the name given to the token",
                      examples=["Logiciel de gestion du CFA"])
    token: str = Field(description='shown once: "jat_..."',
                       examples=["jat_Qm9uam91ciBKYWxvbiBleGVtcGxlIGRlIGpldG9u"])
    expires_at: datetime = Field(description="when it stops working: the end of its last day "
                                             "(UTC)")
    rights: list[Right] = Field(description="what the token may do")


# --- audit ------------------------------------------------------------------------------------

class AuditChange(Shape):
    field: str = Field(description="the field changed", examples=["rights"])
    before: Any = Field(None, description="its value before", examples=[["enter_hours"]])
    after: Any = Field(None, description="its value after",
                       examples=[["enter_hours", "payments"]])


class AuditEntry(Shape):
    """One act of the trail: who (named as when it was done), which organisation, what, on
    which object, what changed; `position` and `hash` place it in its funder's chain."""

    id: str | None = Field(None, description="the entry's id")
    at: datetime = Field(description="when it was done (UTC)")
    user_id: str | None = Field(None, description="who acted: a user's id, or "
                                                  "« api-token:<id> » for an API token")
    person_name: str | None = Field(None, description="who acted, named as when it was done",
                                    examples=[_USER_NAME])
    person_role: str | None = Field(None, description="their role then",
                                    examples=["organisation_user"])
    person_role_label: str | None = Field(None, description="their role in French",
                                          examples=["utilisateur de l'organisme"])
    organisation_id: str | None = Field(None, description="the organisation concerned")
    organisation_name: str | None = Field(None, description="its name when it was done",
                                          examples=[_ORGANISATION_NAME])
    action: str = Field(description="the kind of act", examples=["rights_changed"])
    action_label: str | None = Field(None, description="the kind of act in French",
                                     examples=["Modification des droits"])
    object: str | None = Field(None, description="what was acted upon, in French",
                               examples=["Dossier 20X000703, mois 2026-10"])
    dossier_id: str | None = Field(None, description="the dossier concerned")
    target: str | None = Field(None, description="the id of the record acted upon (user, "
                                                 "certificate, document, payment…)",
                               examples=["9b2f6c1e-3d4a-4e5b-8c7d-0a1b2c3d4e5f"])
    ip: str | None = Field(None, description="the address the act came from",
                           examples=["203.0.113.42"])
    details: dict[str, Any] = Field({}, description="what else the act records; never a "
                                                    "secret")
    changes: list[AuditChange] = Field([], description="the fields changed, before and after")
    position: int | None = Field(None, description="its place in its funder's chain, from 1")
    hash: str | None = Field(None, description="sha256 (hex) of the entry and of the previous "
                                               "entry's hash",
                             examples=["5f2b0c9e8d7a6b5c4d3e2f1a0b9c8d7e"
                                       "6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"])


class AuditChainBreak(Shape):
    entry_id: str = Field(description='the first entry that fails ("" when the tail is missing)')
    position: int = Field(description="the position where the chain breaks")
    reason: str = Field(description="why, in French",
                        examples=["le contenu de l'entrée a été modifié"])


class AuditVerification(Shape):
    """What checking a funder's chain found."""

    intact: bool = Field(description="no entry changed, removed or inserted")
    entries: int = Field(description="the number of entries checked")
    head_position: int = Field(description="the position of the chain's last entry")
    message: str = Field(description="what was found, in French",
                         examples=["La chaîne du journal est intacte : 1250 entrées vérifiées."])
    broken_at: AuditChainBreak | None = Field(None, description="where the chain breaks")


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

    account_creation: AccountCreation = Field(
        "by_funder", description="by_funder: its staff create organisations; self_service: "
                                 "organisations sign up")
    password_rules: PasswordRuleSet = Field(
        "transitions_pro", description="the rule set, applied at each account's next password "
                                       "change")
    require_known_siret: bool = Field(False, description="a sign-up's SIRET must be in the "
                                                         "SIRET directory")


class AccountSettingsChange(Shape):
    account_creation: AccountCreation | None = Field(
        None, description="by_funder or self_service; left out: unchanged")
    password_rules: PasswordRuleSet | None = Field(
        None, description="the new rule set, applied at each account's next password change; "
                          "left out: unchanged")
    require_known_siret: bool | None = Field(None, description="a sign-up's SIRET must be in "
                                                               "the SIRET directory; left out: "
                                                               "unchanged")


class FunderAccountSettings(AccountSettings):
    funder_id: Id = Field(description="the funder these settings are of")
    password_rules_text: str = Field(description="the rules in French, as users read them",
                                     examples=[_RULES_TEXT])
    updated_at: datetime | None = Field(None, description="when they were last changed")


class PasswordRulesText(Shape):
    """The rules a funder's users follow, as shown where a password is chosen."""

    funder_code: str = Field(description="the funder's code", examples=["tpro-grand-est"])
    password_rules: PasswordRuleSet = Field(description="the funder's rule set")
    text: str = Field(description="the rules in French", examples=[_RULES_TEXT])
    min_length: int = Field(description="the fewest characters allowed")
    max_length: int = Field(description="the most characters allowed")


class AccountHolder(Shape):
    civility: Literal["Madame", "Monsieur"] = Field(description="« Civilité »")
    last_name: str = Field(min_length=1, max_length=100, description="« Nom »",
                           examples=["DUBOIS"])
    first_name: str = Field(min_length=1, max_length=100, description="« Prénom »",
                            examples=["Michelle"])
    email: EmailStr = Field(description="« Adresse e-mail »: becomes the account's identifier "
                                        "for good")
    email_confirmation: EmailStr = Field(description="« Confirmation adresse e-mail »: the same "
                                                     "address again")
    phone: str | None = Field(None, max_length=30, description="« Téléphone »",
                              examples=["03 87 12 34 56"])


class NewSignup(Shape):
    """Seed 003's form. `profile`: « Organisme de formation / CFA », the only one here.
    `certified`: « Je certifie que le titulaire du compte est autorisé à effectuer les
    opérations sélectionnées ci-dessus. »; `terms_accepted`: « J'accepte les conditions
    d'utilisation des Services en Ligne afin de valider ma demande »; both must be true."""

    funder_code: str = Field(min_length=2, max_length=50,
                             description="the code of the funder signed up with",
                             examples=["tpro-grand-est"])
    siret: str = Field(min_length=14, max_length=17, description="14 digits, spaces allowed",
                       examples=["73282932000074"])
    organisation_name: str = Field(min_length=1, max_length=200,
                                   description="the organisation's name",
                                   examples=[_ORGANISATION_NAME])
    profile: Literal["training_organisation"] = Field(
        "training_organisation", description="« Organisme de formation / CFA »")
    holder: AccountHolder = Field(description="the account holder (« titulaire du compte »)")
    certified: bool = Field(description="« Je certifie que le titulaire du compte est autorisé "
                                        "à effectuer les opérations sélectionnées ci-dessus. »; "
                                        "must be true")
    terms_accepted: bool = Field(description="« J'accepte les conditions d'utilisation des "
                                             "Services en Ligne afin de valider ma demande »; "
                                             "must be true")
    captcha_token: str | None = Field(None, max_length=4096,
                                      description="the CAPTCHA's answer, as for a forgotten "
                                                  "password",
                                      examples=["P1_eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"])


class SignupActivation(Shape):
    """The short code of the activation email, with the password the holder chooses: the
    email is the account's identifier for good."""

    email: EmailStr = Field(description="the holder's email address given at sign-up")
    code: str = Field(min_length=4, max_length=20, description="the code of the activation "
                                                               "email", examples=["K7M3QP9X"])
    new_password: str = Field(min_length=1, max_length=1024,
                              description="the password chosen; the funder's rules apply",
                              examples=["Exemple-Passw0rd!2026"])
    new_password_confirmation: str = Field(min_length=1, max_length=1024,
                                           description="the password typed again",
                                           examples=["Exemple-Passw0rd!2026"])


class SignupSummary(Shape):
    id: Id = Field(description="the sign-up's id")
    siret: str = Field(description="SIRET, 14 digits", examples=["73282932000074"])
    organisation_name: str = Field(description="the organisation's name",
                                   examples=[_ORGANISATION_NAME])
    holder_name: str = Field(description="the account holder, « Prénom NOM »",
                             examples=["Michelle DUBOIS"])
    email: str = Field(description="the holder's email address, the account's identifier",
                       examples=["michelle.dubois@horizon-formation.fr"])
    phone: str | None = Field(None, description="the holder's phone number",
                              examples=["03 87 12 34 56"])
    status: Literal["pending", "active", "suspended"] = Field(
        description="pending (waits for activation), active or suspended")
    status_label: str = Field(description="the status in French",
                              examples=["En attente d'activation"])
    created_at: datetime = Field(description="when the organisation signed up")
    activated_at: datetime | None = Field(None, description="when the holder activated it")
    suspended_at: datetime | None = Field(None, description="when the funder suspended it")
    organisation_id: Id | None = Field(None, description="the organisation made at activation")


class SignupQuery(Shape):
    status: Literal["pending", "active", "suspended"] | None = Field(
        None, description="only the sign-ups in this status; left out: all")


class PasswordRulesQuery(Shape):
    funder_code: str = Field(min_length=1, max_length=50, description="the funder's code",
                             examples=["tpro-grand-est"])


class SignupPageQuery(Shape):
    """The funder's code in the sign-up page's address: /signup?funder=<code>."""

    funder: str = Field("", max_length=50, description="the funder's code",
                        examples=["tpro-grand-est"])


class ActivationPageQuery(Shape):
    """What the activation email's link carries, to prefill the page."""

    funder: str = Field("", max_length=50, description="the funder's code",
                        examples=["tpro-grand-est"])
    email: str = Field("", max_length=320, description="the holder's email address",
                       examples=["michelle.dubois@horizon-formation.fr"])
    code: str = Field("", max_length=20, description="the activation code",
                      examples=["K7M3QP9X"])


__all__ += ["ActivationPageQuery", "PasswordRulesQuery", "SignupPageQuery"]
__all__ += ["AccountHolder", "AccountSettings", "AccountSettingsChange",
            "FunderAccountSettings", "NewSignup", "PasswordRulesText", "SignupActivation",
            "SignupQuery", "SignupSummary"]


# --- an organisation's users as seed 004 manages them (issue 15) ------------------------------

class UserQuery(Shape):
    """« Gérer mes utilisateurs »: each filter a part of the field, whatever the case."""

    name: str | None = Field(None, max_length=100, description="last name (or display name)",
                             examples=["DUBOIS"])
    first_name: str | None = Field(None, max_length=100, description="first name",
                                   examples=["Michelle"])
    login: str | None = Field(None, max_length=150, description="the identifier",
                              examples=["dubois"])
    email: str | None = Field(None, max_length=320, description="the email address",
                              examples=["horizon-formation.fr"])
    limit: int = Field(50, ge=1, le=500, description="users per page")
    page: int = Field(1, ge=1, le=100000, description="the page, from 1")


class OpenSession(Shape):
    """A session still usable; never its token."""

    started_at: datetime = Field(description="when the user logged in")
    last_seen_at: datetime | None = Field(None, description="the session's last activity")
    expires_at: datetime = Field(description="when it ends at the latest")


class UserCard(UserDetails):
    """A user's own page: status, last login, open sessions."""

    status: Literal["active", "provisional", "deactivated"] = Field(
        description="active, provisional (a provisional password to change) or deactivated")
    status_label: str = Field(description="the status in French", examples=["Actif"])
    rights_labels: list[str] = Field([], description="the rights in French, in `rights` order")
    last_login_at: datetime | None = Field(None, description="the user's last login")
    open_sessions: list[OpenSession] = Field([], description="the sessions still usable")


__all__ += ["OpenSession", "UserCard", "UserQuery"]
