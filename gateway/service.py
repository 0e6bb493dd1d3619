"""The HTTP gateway: one thin entrypoint per route; everything else lives in gateway.routes.

Handlers receive `call` (actor, validated body/query) and the validated path values, call
one service by RPC and return its JSON reply.
"""
from __future__ import annotations

from contracts.certification import (Certificate, CertificationSettings, Certify, CodeRequest,
                                     CodeSent, Contest,
                                     FunderCertificationSettings, HoursChange, HoursEntry,
                                     HoursProposal, PendingActions, ProposalQuery, Reopen,
                                     TemplateQuery, TemplateUpload)
from contracts.common import FUNDER_ROLES, Role
from contracts.documents import (Category, CategoryGroup, Document, DocumentChange, NewCategory,
                                 NewUpload, Rejection, Replacement, UploadReceipt)
from contracts.dossiers import (Dossier, DossierBatch, DossierChange, DossierCounts,
                                DossierQuery, DossierSummary, NewDossier,
                                NewParty, Party, SpreadsheetImport)
from contracts.integration import (Delivery, DeliveryQuery, NewWebhook, Replay, ReplayRequest,
                                   Webhook, WebhookSecret)
from contracts.http import (Accepted, AuditQuery, DocumentSearch, FunderAuditQuery, HealthReport,
                           LinkToken, ServiceHealth)
from contracts.identity import (AcceptPrivacyPolicy, ApiToken, AuditEntry, AuditVerification,
                                CertifierChoice,
                                ChangeIdentifier, ChangePassword, ConfirmIdentifier,
                                Credentials, EmailChangeLink, IssuedApiToken, Me,
                                NewApiToken, NewFunderUser,
                                NewOrganisation, NewOrganisationUser, Organisation,
                                OrganisationProfile, PasswordReset, PasswordResetRequest,
                                Personalise, ProfileUpdate, Session, UpdateMe, UserDetails,
                                UserUpdate)
from contracts.identity import UserCard, UserQuery
from contracts.identity import (AccountSettingsChange, ActivationPageQuery,
                                FunderAccountSettings, NewSignup, PasswordRulesQuery,
                                PasswordRulesText, SignupActivation, SignupPageQuery,
                                SignupQuery, SignupSummary)
from contracts.payments import (BankDetails, BankDetailsReview, BankDetailsVersion,
                                CreditNote, CreditNoteList, CreditNoteMode,
                                CreditNoteModeChoice, CreditNoteSearch, MonthLock,
                                NewCreditNote,
                                NewBankDetails, NewPayment, NewPaymentSettings, Payment,
                                PaymentBatch, PaymentList, PaymentSearch,
                                PaymentSettings, Reconciliation, Unlock)
from contracts.notifications import Email as EmailShape
from contracts.notifications import EmailQuery
from contracts.notifications import (AlertSetting, AlertSettingsChange, Notification,
                                     NotificationQuery, UnreadCount)
from contracts.jobs import Job, JobQuery
from contracts.pdfs import AttendanceEntry, AttendanceSheet, CertificateVerification
from gateway import asyncapi, health, jobs, openapi, pages
from gateway.http import download_response, file_response, json_response, rendered_response
from gateway.routes import route
from servicekit import config
from servicekit.context import RequestContext
from servicekit.rpc import RpcClient

ORGANISATION = {Role.organisation_user}
PARTIES = {Role.beneficiary, Role.employer}
PROFILE = "/organisations/{organisation_id}"
RESET_ACCEPTED = ("Si un compte correspond à cet identifiant, un e-mail vient de lui être envoyé "
                  "avec un lien pour choisir un nouveau mot de passe.")
MONTH = "/dossiers/{dossier_id}/certificates/{month}"
DOCUMENT = "/documents/{document_id}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class GatewayService:
    name = "gateway"
    context = RequestContext()
    identity = RpcClient("identity")
    dossiers = RpcClient("dossiers")
    certification = RpcClient("certification")
    payments = RpcClient("payments")
    documents = RpcClient("documents")
    notifications = RpcClient("notifications")
    integration = RpcClient("integration")
    probes = health.HealthProbes()
    broker = health.BrokerCheck()

    # ---- auth and first login -----------------------------------------------------------
    @route("POST", "/auth/login", body=Credentials, response=Session, auth=False,
           summary="Se connecter", tags=["auth"])
    def login(self, call):
        """`must_personalise` / `privacy_policy_pending` : la session ne donne accès qu'à
        /me et /auth/* tant que la première connexion n'est pas terminée. 429 après trop
        d'échecs depuis la même adresse."""
        return self.identity.login(call.payload, call.ip)

    @route("POST", "/auth/logout", status=204, summary="Se déconnecter", tags=["auth"])
    def logout(self, call):
        """Le jeton de session de la requête cesse aussitôt d'être valable ; les autres sessions
        du compte continuent."""
        self.identity.logout(call.token)

    @route("POST", "/auth/personalise", body=Personalise, response=Me,
           summary="Première connexion : personnaliser identifiant et mot de passe",
           tags=["auth"])
    def personalise(self, call):
        """Le mot de passe change tout de suite ; le nouvel identifiant attend la confirmation
        envoyée par e-mail (ancien et nouvel identifiant, lien à usage unique)."""
        return self.identity.personalise(call.actor, call.payload)

    @route("POST", "/auth/confirm-identifier", body=ConfirmIdentifier, status=204, auth=False,
           summary="Confirmer un nouvel identifiant (lien reçu par e-mail)", tags=["auth"])
    def confirm_identifier(self, call):
        """Sans session : le jeton du lien suffit. Le nouvel identifiant remplace l'ancien et les
        autres sessions du compte prennent fin (celle qui a demandé le changement continue). 422
        `invalid_link` pour un lien expiré, déjà utilisé ou remplacé par une demande plus récente ;
        409 `identifier_taken` si l'identifiant a été pris entre-temps."""
        self.identity.confirm_identifier(call.body.token)

    @route("GET", "/auth/confirm-identifier", query=LinkToken, auth=False,
           media_type="text/html", summary="Page du lien de confirmation d'identifiant",
           tags=["auth"])
    def confirm_identifier_page(self, call):
        """Ce que le lien de l'e-mail ouvre : un bouton qui envoie le POST ci-dessus."""
        return pages.link_page("confirm_identifier", call.query.token)

    @route("POST", "/auth/confirm-email", body=EmailChangeLink, status=204, auth=False,
           summary="Confirmer une nouvelle adresse e-mail (lien reçu à cette adresse)",
           tags=["auth"])
    def confirm_email_change(self, call):
        """Les autres sessions du compte prennent fin (celle qui a demandé continue). 409
        `email_taken` si un autre compte du financeur a pris l'adresse entre-temps."""
        self.identity.confirm_email_change(call.body.token)

    @route("GET", "/auth/confirm-email", query=LinkToken, auth=False, media_type="text/html",
           summary="Page du lien de confirmation d'adresse e-mail", tags=["auth"])
    def confirm_email_change_page(self, call):
        """Ce que le lien de l'e-mail ouvre : un bouton qui envoie le POST ci-dessus."""
        return pages.link_page("confirm_email", call.query.token)

    @route("POST", "/auth/cancel-email-change", body=EmailChangeLink, status=204, auth=False,
           summary="Annuler un changement d'adresse e-mail (lien reçu à l'ancienne adresse)",
           tags=["auth"])
    def cancel_email_change(self, call):
        """Toutes les sessions du compte prennent fin : la demande venait d'une session
        ouverte avec le mot de passe."""
        self.identity.cancel_email_change(call.body.token)

    @route("GET", "/auth/cancel-email-change", query=LinkToken, auth=False,
           media_type="text/html", summary="Page du lien d'annulation d'un changement "
           "d'adresse e-mail", tags=["auth"])
    def cancel_email_change_page(self, call):
        """Ce que le lien de l'e-mail ouvre : un bouton qui envoie le POST ci-dessus."""
        return pages.link_page("cancel_email_change", call.query.token)

    @route("POST", "/auth/privacy-policy", body=AcceptPrivacyPolicy, response=Me,
           summary="Accepter la politique de confidentialité", tags=["auth"])
    def accept_privacy_policy(self, call):
        """Dernière étape de la première connexion, après la personnalisation (409
        `personalise_first` sinon). `version` : celle en vigueur (422 `unknown_policy_version`,
        `details.current` la donne). La réponse est le compte, désormais accessible en entier."""
        return self.identity.accept_privacy_policy(call.actor, call.payload)

    @route("POST", "/auth/password-reset", body=PasswordResetRequest, response=Accepted,
           status=202, auth=False, summary="Mot de passe oublié", tags=["auth"])
    def request_password_reset(self, call):
        """Toujours la même réponse, que le compte existe ou non. `captcha_token` : la réponse
        du CAPTCHA (JALON_CAPTCHA_PROVIDER ; `none` en développement)."""
        self.identity.request_password_reset(call.payload, call.ip)
        return Accepted(detail=RESET_ACCEPTED).model_dump(mode="json")

    @route("POST", "/auth/password-reset/confirm", body=PasswordReset, status=204, auth=False,
           summary="Choisir un nouveau mot de passe (lien reçu par e-mail)", tags=["auth"])
    def reset_password(self, call):
        """Sans session : le jeton du lien suffit (à usage unique et de durée limitée, 422
        `invalid_link` sinon). Les règles de mot de passe du financeur du compte s'appliquent (422
        `password_mismatch`, `weak_password`). Toutes les sessions du compte prennent fin ; un
        e-mail prévient la personne du changement."""
        self.identity.reset_password(call.payload)

    @route("GET", "/auth/password-reset/confirm", query=LinkToken, auth=False,
           media_type="text/html", summary="Page du lien « mot de passe oublié »",
           tags=["auth"])
    def reset_password_page(self, call):
        """Ce que le lien de l'e-mail ouvre : le formulaire du nouveau mot de passe, avec les
        règles du financeur du compte."""
        rules = self.identity.get_link_password_rules(call.query.token)
        return pages.link_page("reset_password", call.query.token, rules["text"])

    # ---- my account ---------------------------------------------------------------------
    @route("GET", "/me", response=Me, summary="Mon compte", tags=["mon compte"])
    def me(self, call):
        """Le compte de la personne connectée, son organisme, ses droits et les règles de mot de
        passe de son financeur ; `must_personalise` et `privacy_policy_pending` disent ce qui reste
        à faire de la première connexion. Accessible pendant celle-ci ; 403 pour un jeton d'API."""
        return self.identity.me(call.actor)

    @route("PATCH", "/me", body=UpdateMe, response=Me,
           summary="Changer mon nom ou mon e-mail de notification", tags=["mon compte"])
    def update_me(self, call):
        """`email` demande `current_password` et ne change qu'une fois ouvert le lien envoyé à
        la nouvelle adresse (`pending_email` d'ici là) ; l'ancienne adresse est prévenue, avec
        un lien pour annuler. La réponse est la même que l'adresse soit libre ou non."""
        return self.identity.update_me(call.actor, call.payload)

    @route("POST", "/me/password", body=ChangePassword, status=204,
           summary="Changer mon mot de passe (mes autres sessions prennent fin)",
           tags=["mon compte"])
    def change_password(self, call):
        """Le mot de passe actuel est demandé (422 `wrong_password`) ; le nouveau suit les règles
        du financeur (422 `password_mismatch`, `weak_password`). La session qui le change
        continue ; un e-mail prévient la personne. 403 pour un jeton d'API."""
        self.identity.change_password(call.actor, call.payload)

    @route("POST", "/me/identifier", body=ChangeIdentifier, response=Me, status=202,
           summary="Changer mon identifiant (confirmation par e-mail)", tags=["mon compte"])
    def change_identifier(self, call):
        """Le mot de passe actuel est demandé (422 `wrong_password`). Le nouvel identifiant n'entre
        en vigueur qu'une fois ouvert le lien envoyé par e-mail (`pending_identifier` d'ici là).
        409 `identifier_taken` s'il est déjà utilisé ; 409 `identifier_fixed` pour un compte
        inscrit en ligne, dont l'identifiant reste son adresse e-mail."""
        return self.identity.change_identifier(call.actor, call.payload)

    # ---- API tokens ---------------------------------------------------------------------
    @route("GET", "/api-tokens", response=list[ApiToken], roles=ORGANISATION,
           summary="Les jetons d'API de mon organisme (sans leur secret)", tags=["jetons d'API"])
    def list_api_tokens(self, call):
        """Réservé aux utilisateurs de l'organisme ayant le droit « utilisateurs » (403
        `users_right_required`). Chaque jeton : nom, droits, expiration, auteur, révocation et
        s'il fonctionne encore ; jamais son secret, montré une seule fois à la création."""
        return self.identity.list_api_tokens(call.actor)

    @route("POST", "/api-tokens", body=NewApiToken, response=IssuedApiToken, status=201,
           roles=ORGANISATION, summary="Générer un jeton d'API", tags=["jetons d'API"])
    def issue_api_token(self, call):
        """Le jeton (« jat_… ») n'est montré qu'une fois : à utiliser en `Authorization:
        Bearer`. Il expire au plus tard un an après sa création."""
        return self.identity.issue_api_token(call.actor, call.payload)

    @route("DELETE", "/api-tokens/{token_id}", status=204, roles=ORGANISATION,
           summary="Révoquer un jeton d'API", tags=["jetons d'API"])
    def revoke_api_token(self, call, token_id):
        """Le jeton cesse aussitôt de fonctionner ; révoquer un jeton déjà révoqué ne change rien.
        Par une personne (pas un jeton d'API) ayant le droit « utilisateurs » ; ses autres sessions
        prennent fin. 404 `api_token_not_found` pour un jeton d'un autre organisme."""
        self.identity.revoke_api_token(call.actor, token_id)

    # ---- organisations and parties ------------------------------------------------------
    @route("POST", "/organisations", body=NewOrganisation, response=Organisation, status=201,
           roles=FUNDER_ROLES, summary="Créer un organisme de formation",
           tags=["organisations"])
    def create_organisation(self, call):
        """L'organisme et son premier utilisateur, qui l'administre (tous les droits) : un mot de
        passe provisoire lui est envoyé par e-mail, à personnaliser à la première connexion. 422
        `invalid_siret` (14 chiffres et une clé de contrôle correcte) ; 409 `siret_taken` si le
        financeur a déjà un organisme de ce SIRET, `identifier_taken` si l'identifiant est pris."""
        return self.identity.create_organisation(call.actor, call.payload)

    @route("GET", PROFILE, response=Organisation,
           summary="Un organisme de formation", tags=["organisations"])
    def get_organisation(self, call, organisation_id):
        """Nom, SIRET, UAI, coordonnées et représentant légal. Le personnel du financeur voit
        ses organismes ; un utilisateur d'organisme, le sien seulement (404
        `organisation_not_found` pour tout autre)."""
        return self.identity.get_organisation(call.actor, organisation_id)

    @route("GET", PROFILE + "/profile", response=OrganisationProfile,
           summary="Votre identité : le profil de l'organisme", tags=["organisations"])
    def get_organisation_profile(self, call, organisation_id):
        """Logo, cachet, KBIS et lettre de consentement avec leur état de contrôle, et la
        méthode de certification en vigueur (et pourquoi)."""
        return self.identity.get_organisation_profile(call.actor, organisation_id)

    @route("PATCH", PROFILE + "/profile", body=ProfileUpdate, response=OrganisationProfile,
           summary="Modifier le profil de l'organisme (le SIRET ne change jamais)",
           tags=["organisations"])
    def update_organisation_profile(self, call, organisation_id):
        """Réservé aux utilisateurs de l'organisme ayant le droit « utilisateurs » (403
        `users_right_required`). Seuls les champs envoyés changent ; "" efface un champ facultatif
        (422 `required_field` pour le nom et l'e-mail ; `invalid_uai`) ; 422 `siret_read_only` si
        `siret` est envoyé. Le représentant légal compte pour la certification."""
        return self.identity.update_organisation_profile(call.actor, organisation_id,
                                                         call.payload)

    @route("PUT", PROFILE + "/certifier", body=CertifierChoice, response=OrganisationProfile,
           summary="« Je suis certificateur »", tags=["organisations"])
    def set_certifier(self, call, organisation_id):
        """La méthode 2 (tout électronique) n'est en vigueur qu'une fois le KBIS et la lettre
        de consentement contrôlés par le financeur."""
        return self.identity.set_certifier(call.actor, organisation_id, call.payload)

    @route("GET", PROFILE + "/users", query=UserQuery, response=list[UserDetails],
           summary="Les utilisateurs de l'organisme", tags=["utilisateurs"])
    def list_users(self, call, organisation_id):
        """« Gérer mes utilisateurs » : filtres nom, prénom, login (identifiant), e-mail (une
        partie suffit, majuscules ou non), par nom, une page à la fois."""
        return self.identity.list_users(call.actor, organisation_id,
                                        call.query.model_dump(mode="json"))

    @route("POST", PROFILE + "/users", body=NewOrganisationUser, response=UserDetails,
           status=201, summary="Ajouter un utilisateur (mot de passe provisoire par e-mail)",
           tags=["utilisateurs"])
    def create_user(self, call, organisation_id):
        """Réservé aux utilisateurs de l'organisme ayant le droit « utilisateurs » (403
        `users_right_required`). Un compte actif reçoit par e-mail un mot de passe provisoire, à
        personnaliser à la première connexion (`credentials_sent` dit si l'e-mail est parti) ; un
        compte inactif, seulement au renvoi. 409 `identifier_taken`."""
        return self.identity.create_user(call.actor, organisation_id, call.payload)

    @route("PATCH", "/users/{user_id}", body=UserUpdate, response=UserDetails,
           summary="Modifier un utilisateur, ses droits, le désactiver", tags=["utilisateurs"])
    def update_user(self, call, user_id):
        """Désactiver un utilisateur met fin à ses sessions."""
        return self.identity.update_user(call.actor, user_id, call.payload)

    # ---- a user's page and reset link (issue 15, seed 004) --------------------------------
    @route("GET", "/users/{user_id}", response=UserCard,
           summary="Un utilisateur : droits, statut, dernière connexion, sessions ouvertes",
           tags=["utilisateurs"])
    def get_user(self, call, user_id):
        """Les sessions ouvertes sont décrites (début, dernière activité, fin), jamais leur
        jeton."""
        return self.identity.get_user(call.actor, user_id)

    @route("POST", "/users/{user_id}/reset-link", response=Accepted, status=202,
           summary="Envoyer à un utilisateur un lien de réinitialisation du mot de passe",
           tags=["utilisateurs"])
    def send_user_reset_link(self, call, user_id):
        """Le lien de « Mot de passe oublié », envoyé à l'adresse e-mail de l'utilisateur."""
        return self.identity.send_user_reset_link(call.actor, user_id)

    @route("POST", "/users/{user_id}/resend-credentials", response=UserDetails,
           summary="Renvoyer des identifiants provisoires (nouveau mot de passe par e-mail)",
           tags=["utilisateurs"])
    def resend_credentials(self, call, user_id):
        """L'utilisateur devra de nouveau personnaliser son compte ; ses sessions prennent fin."""
        return self.identity.resend_credentials(call.actor, user_id)

    @route("POST", "/parties/{party_id}/resend-credentials", response=UserDetails,
           roles=FUNDER_ROLES, summary="Renvoyer ses identifiants à un bénéficiaire ou employeur",
           tags=["utilisateurs"])
    def resend_party_credentials(self, call, party_id):
        """Le compte du bénéficiaire ou de l'employeur (ouvert avec son premier dossier) reçoit par
        e-mail un nouveau mot de passe provisoire : il devra de nouveau personnaliser son compte et
        ses sessions prennent fin ; `credentials_sent` dit si l'e-mail est parti. 404
        `user_not_found` si la partie n'a pas de compte chez le financeur."""
        return self.identity.resend_party_credentials(call.actor, party_id)

    @route("POST", "/funder-users", body=NewFunderUser, response=UserDetails, status=201,
           roles={Role.funder_admin}, summary="Ajouter un agent ou un administrateur du financeur",
           tags=["utilisateurs"])
    def create_funder_user(self, call):
        """Réservé à l'administrateur du financeur. Le compte reçoit par e-mail un mot de passe
        provisoire, à personnaliser à la première connexion ; `credentials_sent` dit si l'e-mail
        est parti. 409 `identifier_taken` si l'identifiant est déjà utilisé."""
        return self.identity.create_funder_user(call.actor, call.payload)

    # --- the audit trail (issue 15) ---------------------------------------------------------

    @route("GET", PROFILE + "/audit", query=AuditQuery, response=list[AuditEntry],
           roles=FUNDER_ROLES | ORGANISATION, summary="Le journal d'audit d'un organisme",
           tags=["organisations"])
    def audit_trail(self, call, organisation_id):
        """Connexions, droits, heures certifiées, réouvertures, documents, règlements : qui
        (nommé), quel organisme, quoi, sur quel objet, quand (UTC), depuis quelle adresse ;
        les plus récents d'abord, par page. Lu par le financeur et par l'administrateur de
        l'organisme (droit « utilisateurs »). Jamais de secret."""
        return self.identity.audit_trail(call.actor, organisation_id,
                                         call.query.model_dump(mode="json"))

    @route("GET", "/audit", query=FunderAuditQuery, response=list[AuditEntry],
           roles=FUNDER_ROLES, summary="Le journal d'audit du financeur", tags=["organisations"])
    def funder_audit_trail(self, call):
        """Tout le journal du financeur (tous ses organismes et ses propres actes), mêmes
        filtres, ou celui d'un organisme (organisation_id)."""
        return self.identity.audit_trail(call.actor, None, call.query.model_dump(mode="json"))

    @route("GET", "/audit/verify", response=AuditVerification, roles={Role.funder_admin},
           summary="Vérifier la chaîne du journal d'audit", tags=["organisations"])
    def verify_audit_chain(self, call):
        """Recalcule l'empreinte de chaque entrée et son chaînage : intacte, ou la première
        entrée (identifiant et position) où la chaîne est rompue."""
        return self.identity.verify_audit_chain(call.actor)

    @route("POST", "/beneficiaries", body=NewParty, response=Party, status=201,
           roles=FUNDER_ROLES, summary="Créer un bénéficiaire", tags=["dossiers"])
    def create_beneficiary(self, call):
        """Par le personnel du financeur, avant le dossier qui le nomme. Son compte (identifiant et
        mot de passe provisoire envoyés à `email`) est ouvert avec son premier dossier."""
        return self.dossiers.create_beneficiary(call.actor, call.payload)

    @route("POST", "/employers", body=NewParty, response=Party, status=201,
           roles=FUNDER_ROLES, summary="Créer un employeur", tags=["dossiers"])
    def create_employer(self, call):
        """Par le personnel du financeur, avant le dossier qui le nomme. Son compte (identifiant et
        mot de passe provisoire envoyés à `email`) est ouvert quand un dossier le nomme la première
        fois."""
        return self.dossiers.create_employer(call.actor, call.payload)

    # ---- dossiers -----------------------------------------------------------------------
    @route("POST", "/dossiers", body=NewDossier, response=Dossier, status=201,
           roles=FUNDER_ROLES, summary="Créer un dossier", tags=["dossiers"], idempotency_key=True)
    def create_dossier(self, call):
        """Par le financeur. Numéro unique (409 `dossier_number_taken`) ; organisme, bénéficiaire
        et employeur du financeur (422 `unknown_organisation`, `unknown_beneficiary`,
        `unknown_employer`) ; calendrier prévisionnel dans la session (422, `details.errors`).
        Bénéficiaire et employeur sans compte en reçoivent un par e-mail."""
        return self.dossiers.create_dossier(call.actor, call.payload)

    @route("GET", "/dossiers", query=DossierQuery, response=list[DossierSummary],
           summary="Rechercher des dossiers", tags=["dossiers"])
    def list_dossiers(self, call):
        """Les dossiers visibles (organisme : les siens ; bénéficiaire : les siens ; employeur :
        ceux de ses salariés), recherche par numéro de dossier ou bénéficiaire, filtres par
        type d'action, statut et actions en attente ; chacun avec ses mois en attente."""
        filters = call.query.model_dump(mode="json", exclude={"q"})
        return self.dossiers.list_dossiers(call.actor, call.query.q, 200, filters)

    @route("GET", "/dossiers/counts", response=DossierCounts,
           summary="Tableau de bord : les dossiers par statut et type d'action",
           tags=["dossiers"])
    def count_dossiers(self, call):
        """Les mêmes dossiers que la liste (ceux que l'appelant voit), comptés."""
        return self.dossiers.count_dossiers(call.actor)

    @route("GET", "/dossiers/{dossier_id}", response=Dossier, summary="Un dossier",
           tags=["dossiers"])
    def get_dossier(self, call, dossier_id):
        """Le dossier, ses parties, son calendrier prévisionnel et ses mois en attente. Pour le
        financeur, l'organisme du dossier, son bénéficiaire et son employeur (404
        `dossier_not_found` pour tout autre)."""
        return self.dossiers.get_dossier(call.actor, dossier_id)

    @route("PATCH", "/dossiers/{dossier_id}", body=DossierChange, response=Dossier,
           roles=FUNDER_ROLES, summary="Modifier un dossier", tags=["dossiers"])
    def update_dossier(self, call, dossier_id):
        """Seuls les champs envoyés changent ; `employer_id` et `commission_date` à null les
        retirent ; `forecast` remplace tout le calendrier prévisionnel."""
        change = call.body.model_dump(mode="json", exclude_unset=True)
        return self.dossiers.update_dossier(call.actor, dossier_id, change)

    @route("POST", "/dossiers/import", body=DossierBatch, response=Job, status=202,
           responses={200: (jobs.RESUBMITTED_DESCRIPTION, Job)}, roles=ORGANISATION,
           summary="Importer ses dossiers (logiciel de l'organisme)", tags=["dossiers"],
           idempotency_key=True)
    def import_dossiers(self, call):
        """Avec un jeton d'API de l'organisme (droit « saisie des heures »). Un travail long
        (docs/jobs.md) : 202 et l'adresse du travail (Location), suivi par GET
        /jobs/{job_id}, étape `rows`. Chaque ligne est vérifiée seule : created, updated,
        unchanged ou error (champ, code, message) ; réimporter le même contenu ne change
        rien."""
        return jobs.accepted(self.dossiers.import_dossiers(call.actor, call.payload))

    @route("POST", "/dossiers/import/spreadsheet", upload=SpreadsheetImport, response=Job,
           status=202, responses={200: (jobs.RESUBMITTED_DESCRIPTION, Job)},
           roles=FUNDER_ROLES, summary="Importer des dossiers depuis un tableur (xlsx ou CSV)",
           tags=["dossiers"], idempotency_key=True)
    def import_spreadsheet(self, call):
        """multipart/form-data, partie `file` : une ligne par dossier, l'organisme par son
        SIRET. Le fichier est lu aussitôt (422 s'il n'est pas un tableur, trop gros, trop
        long ou sans une colonne obligatoire), puis un travail long (docs/jobs.md) prend les
        lignes : 202 et l'adresse du travail (Location), suivi par GET /jobs/{job_id}, étape
        `rows`. Les bonnes lignes sont prises ; le compte rendu donne, ligne par ligne, le
        résultat et les erreurs (ligne du fichier, colonne, code, message)."""
        return jobs.accepted(self.dossiers.import_spreadsheet(call.actor, call.payload))

    # ---- certificates -------------------------------------------------------------------
    @route("GET", "/dossiers/{dossier_id}/certificates", response=list[Certificate],
           summary="Les certificats de réalisation d'un dossier", tags=["certificats"])
    def list_certificates(self, call, dossier_id):
        """Un certificat par mois de la session, saisi ou non : statut, heures, certification (qui,
        quand, méthode), validations, contestation, verrouillage pour paiement. Pour qui voit le
        dossier : financeur, organisme, bénéficiaire, employeur (404 `dossier_not_found` sinon)."""
        return self.certification.list_certificates(call.actor, dossier_id)

    @route("GET", MONTH, response=Certificate, summary="Le certificat d'un mois",
           tags=["certificats"])
    def get_certificate(self, call, dossier_id, month):
        """Le mois tel qu'il est, même sans heures saisies : statut, heures et jours, heures
        prévues, certification (qui, quand, méthode), validations, contestation, verrouillage pour
        paiement. Pour qui voit le dossier (404 `dossier_not_found` sinon)."""
        return self.certification.get_certificate(call.actor, dossier_id, month)

    @route("PUT", MONTH + "/hours", body=HoursEntry, response=Certificate, roles=ORGANISATION,
           summary="Saisir les heures du mois", tags=["certificats"])
    def enter_hours(self, call, dossier_id, month):
        """Remplace tout le mois : chaque valeur du mode de saisie du financeur est requise
        (422 `hours_missing` ou `detail_required`). Heures en décimal : nombre JSON,
        "147.00" ou saisie française "147,00". 422 `month_outside_session` hors de la
        session de formation. 409 `legal_representative_missing` ou `logo_missing` tant que
        « Votre identité » n'a pas le nom du représentant légal et le logo."""
        return self.certification.enter_hours(call.actor, dossier_id, month, call.payload)

    @route("PATCH", MONTH + "/hours", body=HoursChange, response=Certificate,
           roles=ORGANISATION, summary="Modifier une partie des heures du mois",
           tags=["certificats"])
    def change_hours(self, call, dossier_id, month):
        """Seules les valeurs envoyées changent : un total, ou les jours envoyés (qui
        remplacent les mêmes jours) ; les autres restent telles que saisies."""
        return self.certification.change_hours(call.actor, dossier_id, month, call.payload)

    @route("POST", MONTH + "/certify", body=Certify, response=Certificate, roles=ORGANISATION,
           summary="Certifier les heures du mois", tags=["certificats"], idempotency_key=True)
    def certify(self, call, dossier_id, month):
        """Méthode 1 (droit « saisie des heures ») : le certificat signé, déposé en PDF après la
        dernière modification des heures (409 `signed_certificate_required`) ; méthode 2 (droit
        « certification des certificats ») : le `code` reçu par e-mail (422 `wrong_code`). Le mois
        est alors verrouillé pour paiement ; bénéficiaire et employeur sont prévenus par e-mail."""
        return self.certification.certify(call.actor, dossier_id, month, call.payload)

    @route("POST", MONTH + "/certification-code", body=CodeRequest, response=CodeSent,
           status=202, roles=ORGANISATION,
           summary="Méthode 2 : envoyer (ou renvoyer) le code de vérification par e-mail",
           tags=["certificats"], idempotency_key=True)
    def request_certification_code(self, call, dossier_id, month):
        """Pour un organisme dont « Votre identité » est complète (représentant légal, logo,
        cachet, « Je suis certificateur », KBIS et lettre de consentement contrôlés par le
        financeur ; sinon 409 avec le code de la première pièce manquante et
        `details.missing`), un utilisateur qui a le droit `certify_certificates`,
        « J'accepte que mon adresse IP soit utilisée » coché. Un nouvel envoi rend le code
        précédent inutilisable ; le code est à usage unique, expire (15 ou 10 minutes selon le
        financeur) et trois erreurs imposent d'en demander un nouveau. Puis POST …/certify
        avec `method` 2 et `code`."""
        return self.certification.request_code(call.actor, dossier_id, month, call.payload)

    @route("GET", MONTH + "/hours/proposal", query=ProposalQuery, response=HoursProposal,
           roles=ORGANISATION, summary="Pré-remplir la saisie du mois (rien n'est enregistré)",
           tags=["certificats"])
    def propose_hours(self, call, dossier_id, month):
        """`zero` : remise à zéro ; `forecast` : charger le calendrier prévisionnel ;
        `spread` : répartir 7 h sur chaque jour ouvré du mois dans la session (lundi au
        vendredi, jours fériés exclus). Dans le mode de saisie du financeur."""
        return self.certification.propose_hours(call.actor, dossier_id, month,
                                                call.query.model_dump(mode="json"))

    @route("POST", MONTH + "/reopen", body=Reopen, response=Certificate, roles=FUNDER_ROLES,
           summary="Rouvrir un mois certifié (avec un motif)", tags=["certificats"],
           idempotency_key=True)
    def reopen_certificate(self, call, dossier_id, month):
        """Aussi pour des heures contestées : l'organisme les corrige puis certifie de
        nouveau."""
        return self.certification.reopen(call.actor, dossier_id, month, call.payload)

    @route("POST", MONTH + "/validate", response=Certificate, roles=PARTIES,
           summary="Valider les heures certifiées (bénéficiaire, puis employeur)",
           tags=["certificats"], idempotency_key=True)
    def validate_hours(self, call, dossier_id, month):
        """Quand le financeur le demande : le bénéficiaire du dossier, puis son employeur."""
        return self.certification.validate_hours(call.actor, dossier_id, month)

    @route("POST", MONTH + "/contest", body=Contest, response=Certificate, roles=PARTIES,
           summary="Contester les heures certifiées (avec un motif)", tags=["certificats"],
           idempotency_key=True)
    def contest_hours(self, call, dossier_id, month):
        """L'organisme (et le financeur selon ses réglages) est prévenu par e-mail ; le
        financeur rouvre le mois pour que l'organisme corrige."""
        return self.certification.contest_hours(call.actor, dossier_id, month, call.payload)

    @route("POST", MONTH + "/transmit", response=Certificate, roles=FUNDER_ROLES,
           summary="Transmettre les heures certifiées (ou validées) pour paiement",
           tags=["certificats"], idempotency_key=True)
    def transmit_hours(self, call, dossier_id, month):
        """Une seule fois : redemander répond la même transmission (qui, quand)."""
        return self.certification.transmit_hours(call.actor, dossier_id, month)

    @route("GET", "/pending-actions", response=PendingActions,
           summary="Tableau de bord : les actions en attente sur les certificats",
           tags=["certificats"])
    def pending_actions(self, call):
        """Pour l'organisme : les mois à saisir ou à certifier ; pour le bénéficiaire ou
        l'employeur : les mois qui attendent sa validation."""
        return self.certification.pending_actions(call.actor)

    @route("GET", "/certificates/template", query=TemplateQuery, roles=ORGANISATION,
           media_type=XLSX, summary="Télécharger le modèle de saisie (xlsx)",
           tags=["certificats"])
    def hours_template(self, call):
        """Une ligne par dossier ouvert à la saisie ce mois (par jour ou demi-journée si le
        financeur le demande) ; à remplir puis à déposer sur /certificates/import."""
        return rendered_response(
            self.certification.hours_template(call.actor, call.query.model_dump(mode="json")))

    @route("POST", "/certificates/import", upload=TemplateUpload, response=Job, status=202,
           responses={200: (jobs.RESUBMITTED_DESCRIPTION, Job)}, roles=ORGANISATION,
           summary="Déposer le modèle rempli : saisir le mois de plusieurs dossiers",
           tags=["certificats"])
    def import_hours(self, call):
        """Un travail long (docs/jobs.md) : 202 et l'adresse du travail (Location), suivi par
        GET /jobs/{job_id}, étape `months` (un pas par dossier et mois). Chaque dossier est
        saisi à part : les bons sont pris ; le compte rendu (`items`) dit ligne par ligne ce
        qui a été saisi (ok) ou refusé (error, code, message) et pourquoi ; le bilan compte
        les mois saisis (`entered`) et les lignes refusées (`errors`). Un fichier illisible,
        un droit ou un en-tête manquant sont refusés aussitôt."""
        return jobs.accepted(self.certification.import_hours(call.actor, call.payload))

    @route("GET", "/certification-settings", response=FunderCertificationSettings,
           roles=FUNDER_ROLES, summary="Les réglages de certification du financeur",
           tags=["réglages"])
    def get_certification_settings(self, call):
        """Lisibles par tout le personnel du financeur, modifiables par son administrateur (PUT) :
        mode de saisie, longueur et durée du code de la méthode 2, validation par le bénéficiaire
        et/ou l'employeur, e-mail au financeur à chaque certification. Les valeurs par défaut tant
        que rien n'est enregistré."""
        return self.certification.get_settings(call.actor)

    @route("PUT", "/certification-settings", body=CertificationSettings,
           response=FunderCertificationSettings, roles={Role.funder_admin},
           summary="Modifier les réglages de certification du financeur", tags=["réglages"])
    def update_certification_settings(self, call):
        """Mode de saisie (total du mois, par jour, par demi-journée), code de la méthode 2
        (4 ou 6 chiffres, 15 ou 10 minutes), validation par le bénéficiaire et/ou
        l'employeur, e-mail au financeur à la certification."""
        return self.certification.update_settings(call.actor, call.payload)

    @route("GET", MONTH + "/payment-lock", response=MonthLock,
           summary="Le mois est-il verrouillé pour paiement ?", tags=["paiements"])
    def get_month_lock(self, call, dossier_id, month):
        """`locked` : la certification a verrouillé le mois (ses heures certifiées sont celles que
        l'on paie, la saisie est fermée) jusqu'à un déverrouillage par le financeur ; false pour un
        mois jamais certifié. Seuls le financeur et l'organisme du dossier voient un mois
        verrouillé (404 `month_lock_not_found` pour les autres)."""
        return self.payments.get_month_lock(call.actor, dossier_id, month)

    @route("POST", MONTH + "/payment-lock/unlock", body=Unlock, response=MonthLock,
           roles=FUNDER_ROLES, summary="Déverrouiller un mois verrouillé pour paiement (motif)",
           tags=["paiements"])
    def unlock_month(self, call, dossier_id, month):
        """La saisie redevient possible jusqu'à la prochaine certification, qui reverrouille
        le mois. 409 si le mois n'est pas verrouillé."""
        return self.payments.unlock_month(call.actor, dossier_id, month, call.payload)

    @route("GET", MONTH + "/draft", media_type="application/pdf",
           summary="Le projet de certificat du mois (PDF, filigrane « PROJET »)",
           tags=["certificats"])
    def draft_certificate(self, call, dossier_id, month):
        """Méthode 1 : à imprimer, signer, puis déposer. X-Content-SHA256 porte son empreinte."""
        return rendered_response(
            self.certification.draft_certificate(call.actor, dossier_id, month))

    @route("POST", MONTH + "/attendance-sheet", body=AttendanceEntry, response=AttendanceSheet,
           status=201, summary="Éditer la fiche de présence du mois (PDF, stockée)",
           tags=["certificats"])
    def attendance_sheet(self, call, dossier_id, month):
        """Par jour ou par demi-journée ; le PDF se télécharge ensuite comme tout document."""
        return self.certification.attendance_sheet(call.actor, dossier_id, month, call.payload)

    @route("GET", "/payment-settings", response=PaymentSettings, roles=FUNDER_ROLES,
           summary="Le payeur nommé sur les avis de virement du financeur", tags=["réglages"])
    def get_payment_settings(self, call):
        """Nom, adresse et logo imprimés en tête des avis de virement, et le compte où l'organisme
        rembourse un avoir. Pour le personnel du financeur ; 404 `payment_settings_not_found` tant
        que son administrateur ne les a pas renseignés (PUT)."""
        return self.payments.get_payment_settings(call.actor)

    @route("PUT", "/payment-settings", body=NewPaymentSettings, response=PaymentSettings,
           roles={Role.funder_admin}, summary="Nommer le payeur des avis de virement",
           tags=["réglages"])
    def set_payment_settings(self, call):
        """Nom, adresse et logo du financeur (un « Logo » déposé par le financeur via POST
        /documents), imprimés en tête de chaque avis de virement."""
        return self.payments.set_payment_settings(call.actor, call.payload)

    # ---- payments ("règlements") ----------------------------------------------------------
    @route("POST", "/payments", body=NewPayment, response=Payment, status=201,
           roles=FUNDER_ROLES, summary="Enregistrer un règlement", tags=["règlements"],
           idempotency_key=True)
    def record_payment(self, call):
        """Montants décimaux exacts ("10503.34" ou "10 503,34"). Chaque ligne : dossier de
        l'organisme payé, période dans la session (422 dossier_not_found,
        dossier_of_another_organisation, period_outside_session). Une ligne `payment` paie des
        heures certifiées : mois verrouillés pour paiement, au plus les heures certifiées
        moins celles déjà payées (409 month_not_certified, hours_exceed_certified ; details :
        line, month, certified, already_paid, asked) ; une ligne `advance` (avance) n'exige
        aucune certification et ne clôt aucun mois. Rien n'est écrit si une ligne est refusée.
        L'avis de virement est édité aussitôt ; si l'édition échoue, le règlement reste
        `processing` : POST /payments/{payment_id}/remittance-advice le termine."""
        return self.payments.record_payment(call.actor, call.payload)

    @route("POST", "/payments/import", body=PaymentBatch, response=Job, status=202,
           responses={200: (jobs.RESUBMITTED_DESCRIPTION, Job)}, roles=FUNDER_ROLES,
           summary="Importer des règlements (logiciel comptable)", tags=["règlements"],
           idempotency_key=True)
    def import_payments(self, call):
        """Un travail long (docs/jobs.md) : 202 et l'adresse du travail (Location), suivi par
        GET /jobs/{job_id}. Étapes `payments` (les lignes) puis `remittance_advices` (les avis
        de virement des règlements créés). Chaque ligne seule : created, unchanged (numéro
        déjà enregistré : réimporter ne change rien) ou error (champ, code, message, ligne du
        règlement, details), avec les mêmes contrôles que POST /payments ; une ligne refusée
        n'écrit rien. Un avis dont l'édition échoue laisse le règlement `processing`
        (`remittance_advice` : failed) : POST /payments/{payment_id}/remittance-advice le
        termine."""
        return jobs.accepted(self.payments.import_payments(call.actor, call.payload))

    @route("GET", "/payments", query=PaymentSearch, response=PaymentList,
           summary="Les règlements, par mois, date et dossier, avec les totaux",
           tags=["règlements"])
    def list_payments(self, call):
        """Regroupés par mois puis par jour, une ligne par dossier et période payés, avec les
        totaux du mois, du jour et le total général ; au plus 2 000 lignes (`truncated` au-delà).
        Le financeur voit les siens ; un utilisateur d'organisme ayant le droit « règlements »,
        ceux de son organisme (403 `missing_right` sans ce droit)."""
        return self.payments.list_payments(call.actor, call.query.model_dump(mode="json"))

    @route("POST", "/payments/exports", body=PaymentSearch, response=Job, status=202,
           responses={200: (jobs.RESUBMITTED_DESCRIPTION, Job)},
           summary="Exporter les règlements (Excel)", tags=["règlements"])
    def export_payments(self, call):
        """Un travail long (docs/jobs.md) : 202 et l'adresse du travail (Location), suivi par
        GET /jobs/{job_id} (étape `rows` : les lignes écrites sur le nombre trouvé), puis le
        classeur téléchargé sur GET /jobs/{job_id}/file, sous un nom qui dit la recherche :
        reglements_2019-01-01_2019-12-31_DEMO-0001.xlsx. Mêmes lignes et regroupements que la
        liste ; les totaux du mois, du jour et le total général dans la colonne
        « Sous-total », jamais dans « Montant » ; filtre sur l'en-tête. La même recherche
        redemandée sans règlement enregistré ni pointé depuis répond le même travail."""
        return jobs.accepted(self.payments.export_payments(call.actor, call.payload))

    @route("GET", "/payments/{payment_id}", response=Payment, summary="Un règlement",
           tags=["règlements"])
    def get_payment(self, call, payment_id):
        """Ses lignes (dossier, période, heures, montant), les avoirs déduits, le montant viré, le
        statut (`processing` tant que l'avis de virement n'est pas édité) et l'avis. Pour le
        financeur et les utilisateurs de l'organisme payé ayant le droit « règlements » ; 404
        `payment_not_found` pour tout autre."""
        return self.payments.get_payment(call.actor, payment_id)

    @route("POST", "/payments/{payment_id}/remittance-advice", response=Payment,
           roles=FUNDER_ROLES, summary="Éditer de nouveau l'avis de virement d'un règlement",
           tags=["règlements"], idempotency_key=True)
    def reissue_remittance_advice(self, call, payment_id):
        """Termine un règlement resté `processing` (avis non édité) ; sinon remplace le PDF."""
        return self.payments.issue_remittance_advice(call.actor, payment_id)

    @route("PUT", "/payments/{payment_id}/reconciliation", body=Reconciliation,
           response=Payment, roles=ORGANISATION, summary="Pointer (ou dépointer) un règlement",
           tags=["règlements"])
    def reconcile_payment(self, call, payment_id):
        """`reconciled` : l'organisme a reçu le virement (pointage) ; false le dépointe. Qui et
        quand sont gardés, et l'acte entre au journal d'audit. Réservé aux utilisateurs de
        l'organisme payé ayant le droit « règlements » (403 `missing_right`)."""
        return self.payments.reconcile_payment(call.actor, payment_id, call.payload)

    @route("GET", PROFILE + "/bank-details", response=BankDetails,
           summary="Coordonnées bancaires de l'organisme (versions et statut)",
           tags=["règlements"])
    def get_bank_details(self, call, organisation_id):
        """Le personnel du financeur et les utilisateurs de l'organisme ayant le droit
        « règlements » (403 missing_right sinon)."""
        return self.payments.get_bank_details(call.actor, organisation_id)

    @route("POST", PROFILE + "/bank-details", body=NewBankDetails, response=BankDetailsVersion,
           status=201, roles=ORGANISATION, summary="Saisir de nouvelles coordonnées bancaires",
           tags=["règlements"])
    def submit_bank_details(self, call, organisation_id):
        """IBAN et BIC vérifiés, RIB déposé au préalable (catégorie « RIB »). En attente de
        validation ; refusé (409) tant qu'un règlement est en cours de traitement."""
        return self.payments.submit_bank_details(call.actor, organisation_id, call.payload)

    @route("POST", PROFILE + "/bank-details/review", body=BankDetailsReview,
           response=BankDetailsVersion, roles=FUNDER_ROLES,
           summary="Valider ou refuser des coordonnées bancaires (motif)", tags=["règlements"])
    def review_bank_details(self, call, organisation_id):
        """L'organisme est prévenu par e-mail."""
        return self.payments.review_bank_details(call.actor, organisation_id, call.payload)

    @route("GET", PROFILE + "/credit-note-mode", response=CreditNoteMode,
           summary="Mode de règlement des avoirs", tags=["règlements"])
    def get_credit_note_mode(self, call, organisation_id):
        """Le mode choisi (`mode` null : jamais choisi, la déduction s'applique), qui l'a choisi et
        quand, avec l'explication et les deux options telles que l'écran les présente. Pour le
        financeur et les utilisateurs de l'organisme (404 `organisation_not_found` sinon)."""
        return self.payments.get_credit_note_mode(call.actor, organisation_id)

    @route("PUT", PROFILE + "/credit-note-mode", body=CreditNoteModeChoice,
           response=CreditNoteMode, roles=ORGANISATION,
           summary="Choisir le mode de règlement des avoirs (déduction ou remboursement)",
           tags=["règlements"])
    def choose_credit_note_mode(self, call, organisation_id):
        """Réservé aux utilisateurs de l'organisme ayant le droit « règlements » (403
        `missing_right`). `deduction` : les avoirs sont imputés sur ses prochains règlements ;
        `refund` : il les rembourse par virement sous 15 jours. S'applique aux avoirs enregistrés
        ensuite ; chaque choix est gardé (qui, quand)."""
        return self.payments.choose_credit_note_mode(call.actor, organisation_id, call.payload)

    # ---- credit notes ("factures d'avoir", seed 004) -----------------------------------------
    @route("POST", "/credit-notes", body=NewCreditNote, response=CreditNote, status=201,
           roles=FUNDER_ROLES, summary="Enregistrer un avoir (trop-perçu sur un dossier)",
           tags=["règlements"], idempotency_key=True)
    def record_credit_note(self, call):
        """Sur un dossier du financeur (par id ou numéro) et une période de sa session ; au
        plus ce qui a été payé sur la période moins les avoirs déjà enregistrés (422
        credit_note_exceeds_paid, details.available). Le mode de règlement choisi par
        l'organisme s'applique : déduction (imputé sur ses prochains règlements, jamais au
        point de rendre un règlement négatif) ou remboursement (virement sous 15 jours avec la
        référence AVCAP + n° de pro forma). La pro forma est éditée aussitôt ; si l'édition
        échoue, POST /credit-notes/{credit_note_id}/pro-forma la termine."""
        return self.payments.record_credit_note(call.actor, call.payload)

    @route("GET", "/credit-notes", query=CreditNoteSearch, response=CreditNoteList,
           summary="Les avoirs (à déduire, déduits, remboursements attendus, en retard, reçus)",
           tags=["règlements"])
    def list_credit_notes(self, call):
        """Le personnel du financeur voit ceux du financeur ; les utilisateurs d'un organisme
        ayant le droit « règlements », les siens."""
        return self.payments.list_credit_notes(call.actor, call.query.model_dump(mode="json"))

    @route("GET", "/credit-notes/{credit_note_id}", response=CreditNote, summary="Un avoir",
           tags=["règlements"])
    def get_credit_note(self, call, credit_note_id):
        """Montant, période, motif, mode et statut : reste à déduire et règlements qui l'ont
        déduit, ou remboursement attendu (référence de virement, échéance), en retard ou reçu ; la
        pro forma. Pour le financeur et les utilisateurs de l'organisme ayant le droit
        « règlements » (404 `credit_note_not_found` pour tout autre)."""
        return self.payments.get_credit_note(call.actor, credit_note_id)

    @route("POST", "/credit-notes/{credit_note_id}/received", response=CreditNote,
           roles=FUNDER_ROLES, summary="Constater le remboursement d'un avoir",
           tags=["règlements"], idempotency_key=True)
    def mark_credit_note_received(self, call, credit_note_id):
        """Mode remboursement seulement (409 credit_note_not_refundable) et une seule fois
        (409 credit_note_already_received)."""
        return self.payments.mark_credit_note_received(call.actor, credit_note_id)

    @route("POST", "/credit-notes/{credit_note_id}/pro-forma", response=CreditNote,
           roles=FUNDER_ROLES, summary="Éditer de nouveau la pro forma d'un avoir",
           tags=["règlements"], idempotency_key=True)
    def issue_pro_forma(self, call, credit_note_id):
        """Termine un avoir dont la pro forma n'a pas pu être éditée à l'enregistrement
        (`pro_forma_document_id` vide) ; sinon remplace le PDF. Si l'édition échoue encore, la
        réponse est une erreur et l'avoir reste tel quel. Réservé au personnel du financeur."""
        return self.payments.issue_pro_forma(call.actor, credit_note_id)

    @route("GET", "/verifications/{reference}", response=CertificateVerification, auth=False,
           summary="Vérifier un certificat par sa référence", tags=["certificats"])
    def verify_certificate(self, call, reference):
        """Pour un tiers qui détient un certificat imprimé : sans authentification."""
        return self.documents.verify_certificate(reference)

    # ---- documents ----------------------------------------------------------------------
    @route("GET", "/document-categories", response=list[Category],
           summary="Les catégories de documents et leurs règles", tags=["documents"])
    def list_categories(self, call):
        """Les catégories communes et celles du financeur : types de fichier admis, taille
        maximale, champs exigés (dossier, libellé, période), rôles qui peuvent y déposer et
        `may_upload` pour l'appelant."""
        return self.documents.list_categories(call.actor)

    @route("POST", "/document-categories", body=NewCategory, response=Category, status=201,
           roles=FUNDER_ROLES, summary="Ajouter une catégorie de documents",
           tags=["documents"])
    def create_category(self, call):
        """Par le personnel du financeur : une catégorie à lui, avec ses règles (rôles qui
        déposent, types de fichier, taille maximale, dossier, libellé ou période exigés). 409
        `category_exists` si le code est déjà celui d'une catégorie commune ou du financeur."""
        return self.documents.create_category(call.actor, call.payload)

    @route("POST", "/documents", upload=NewUpload, response=UploadReceipt, status=201,
           summary="Déposer un document", tags=["documents"], idempotency_key=True)
    def upload_document(self, call):
        """multipart/form-data : le fichier (partie `file`) et ses champs. Le type réel, la
        taille et la lisibilité sont vérifiés avant tout enregistrement ; le récépissé est la
        preuve du dépôt."""
        return self.documents.upload(call.actor, call.payload)

    @route("GET", "/documents", query=DocumentSearch, response=list[Document],
           summary="Mes documents ; rechercher les autres", tags=["documents"])
    def search_documents(self, call):
        """Sans `q` : les documents rattachés à aucun dossier. Avec `q` : recherche par numéro
        de dossier, nom du bénéficiaire, catégorie ou libellé."""
        return self.documents.list_documents(call.actor, query=call.query.q)

    @route("GET", DOCUMENT, response=Document, summary="Un document", tags=["documents"])
    def get_document(self, call, document_id):
        """Ses métadonnées (catégorie, dossier, libellé, fichier, taille, SHA-256), son état de
        contrôle tel que l'appelant le lit et ce qu'il peut en faire (`can_modify`, `can_delete`) ;
        le fichier lui-même : GET …/content. 404 `document_not_found` pour un document qu'il ne
        voit pas."""
        return self.documents.get_document(call.actor, document_id)

    @route("PATCH", DOCUMENT, body=DocumentChange, response=Document,
           summary="Renommer un document ou changer sa catégorie", tags=["documents"])
    def update_document(self, call, document_id):
        """Seul le déposant (403 `not_owner`), avec le droit « documents » pour un utilisateur
        d'organisme. Le libellé peut toujours changer ; la catégorie, vers une où il peut déposer
        et dont le document respecte les règles, jamais après le contrôle du financeur (409
        `document_checked`)."""
        return self.documents.update_document(call.actor, document_id, call.payload)

    @route("PUT", DOCUMENT + "/content", upload=Replacement, response=UploadReceipt,
           summary="Remplacer le fichier d'un document", tags=["documents"])
    def replace_document(self, call, document_id):
        """multipart/form-data, partie `file`, vérifiée comme un dépôt. Seul le déposant (403
        `not_owner`), avec le droit « documents » pour un utilisateur d'organisme, et jamais après
        le contrôle (409 `document_checked`). Le document, même non conforme, attend de nouveau le
        contrôle du financeur."""
        return self.documents.replace_document(call.actor, document_id, call.payload)

    @route("DELETE", DOCUMENT, status=204, summary="Supprimer un document",
           tags=["documents"])
    def delete_document(self, call, document_id):
        """Seulement ses propres dépôts, et jamais un document déjà contrôlé."""
        self.documents.delete_document(call.actor, document_id)

    @route("POST", DOCUMENT + "/check", response=Document, roles=FUNDER_ROLES,
           summary="Contrôler un document (conforme)", tags=["documents"])
    def check_document(self, call, document_id):
        """Par le personnel du financeur ; 409 `document_already_checked`, ou `document_generated`
        pour un document produit par Jalon. Le déposant est prévenu (notification et e-mail) ; le
        document ne peut plus être supprimé, remplacé ni changer de catégorie."""
        return self.documents.check_document(call.actor, document_id)

    @route("POST", DOCUMENT + "/reject", body=Rejection, response=Document, roles=FUNDER_ROLES,
           summary="Déclarer un document non conforme", tags=["documents"])
    def reject_document(self, call, document_id):
        """Par le personnel du financeur, avec un motif (`reason_code` ; `reason_text`, sinon le
        nom du motif, s'affiche « Non conforme : … »). 409 `document_generated` pour un document
        produit par Jalon. Le déposant est prévenu (notification et e-mail) et peut remplacer le
        fichier."""
        return self.documents.reject_document(call.actor, document_id, call.payload)

    @route("GET", DOCUMENT + "/content", media_type="*/*",
           summary="Télécharger un document", tags=["documents"])
    def download_document(self, call, document_id):
        """Le fichier tel quel ; X-Content-SHA256 porte son empreinte SHA-256 (hex)."""
        return download_response(self.documents.get_document_content(call.actor, document_id))

    @route("GET", "/dossiers/{dossier_id}/documents", response=list[Document],
           summary="Les documents d'un dossier", tags=["documents"])
    def list_documents(self, call, dossier_id):
        """Les documents du dossier que l'appelant voit (dépôts, documents produits par Jalon),
        avec leur état de contrôle et ce qu'il peut en faire ; une liste vide pour un dossier qu'il
        ne voit pas."""
        return self.documents.list_documents(call.actor, dossier_id)

    @route("GET", "/dossiers/{dossier_id}/documents/by-category", response=list[CategoryGroup],
           summary="Les documents d'un dossier, par catégorie", tags=["documents"])
    def documents_by_category(self, call, dossier_id):
        """Les mêmes documents que GET /dossiers/{dossier_id}/documents, regroupés par catégorie,
        les groupes dans l'ordre alphabétique de leur libellé."""
        return self.documents.documents_by_category(call.actor, dossier_id)

    # ---- a funder's account settings and self-service sign-up (issue 15) ---------------
    @route("GET", "/account-settings", response=FunderAccountSettings, roles=FUNDER_ROLES,
           summary="Les réglages des comptes du financeur", tags=["réglages"])
    def get_account_settings(self, call):
        """Lisibles par tout le personnel du financeur, modifiables par son administrateur (PUT) :
        création des comptes (`by_funder` ou `self_service`), règles de mot de passe et leur texte,
        SIRET connu exigé ou non à l'inscription en ligne."""
        return self.identity.get_account_settings(call.actor)

    @route("PUT", "/account-settings", body=AccountSettingsChange,
           response=FunderAccountSettings, roles={Role.funder_admin},
           summary="Modifier les réglages des comptes du financeur", tags=["réglages"])
    def update_account_settings(self, call):
        """Création des comptes par le financeur (`by_funder`) ou inscription en ligne des
        organismes (`self_service`) ; règles de mot de passe (`transitions_pro`, `opco`,
        `apprentissage`), appliquées au prochain changement de mot de passe de chacun ;
        SIRET connu exigé à l'inscription."""
        return self.identity.update_account_settings(call.actor, call.payload)

    @route("GET", "/password-rules", query=PasswordRulesQuery, response=PasswordRulesText,
           auth=False, summary="Les règles de mot de passe d'un financeur", tags=["auth"])
    def get_password_rules(self, call):
        """Le texte à afficher là où l'on choisit un mot de passe."""
        return self.identity.get_password_rules(call.query.funder_code)

    @route("POST", "/signup", body=NewSignup, response=Accepted, status=202, auth=False,
           summary="Inscription en ligne d'un organisme", tags=["auth"])
    def sign_up(self, call):
        """La même réponse que le SIRET soit déjà inscrit ou non (l'administrateur de
        l'organisme inscrit est prévenu) ; 422 `signup_closed` si le financeur n'ouvre pas
        l'inscription en ligne (ou n'existe pas). `captcha_token` : comme pour « mot de passe
        oublié »."""
        reply = self.identity.sign_up(call.payload, call.ip)
        return Accepted(detail=reply["message"]).model_dump(mode="json")

    @route("GET", "/signup", query=SignupPageQuery, auth=False, media_type="text/html",
           summary="Page d'inscription en ligne (/signup?funder=<code>)", tags=["auth"])
    def signup_page(self, call):
        """Sans authentification : le formulaire d'inscription en ligne d'un organisme auprès du
        financeur `funder`, qui envoie POST /signup, avec le CAPTCHA quand un fournisseur est
        configuré."""
        settings = config.load()
        return pages.signup_page(call.query.funder, settings.captcha_provider,
                                 settings.captcha_site_key)

    @route("POST", "/signup/activate", body=SignupActivation, status=200, auth=False,
           summary="Activer un compte inscrit en ligne (code reçu par e-mail)", tags=["auth"])
    def activate_signup(self, call):
        """L'adresse e-mail devient l'identifiant définitif du compte."""
        return self.identity.activate_signup(call.payload)

    @route("GET", "/signup/activate", query=ActivationPageQuery, auth=False,
           media_type="text/html", summary="Page du lien d'activation", tags=["auth"])
    def activation_page(self, call):
        """Le code pré-saisi ; les règles de mot de passe du financeur, lues par la page sur
        /password-rules."""
        return pages.activation_page(call.query.funder, call.query.email, call.query.code)

    @route("GET", "/signups", query=SignupQuery, response=list[SignupSummary],
           roles=FUNDER_ROLES, summary="Les inscriptions en ligne", tags=["réglages"])
    def list_signups(self, call):
        """`status` : pending (en attente d'activation), active, suspended."""
        return self.identity.list_signups(call.actor, call.query.status)

    @route("POST", "/signups/{signup_id}/suspend", response=SignupSummary, roles=FUNDER_ROLES,
           summary="Suspendre une inscription (le compte ne peut plus se connecter)",
           tags=["réglages"])
    def suspend_signup(self, call, signup_id):
        """Son code d'activation ne sert plus ; si le compte est déjà activé, il est désactivé,
        ses sessions prennent fin et la personne en est prévenue par e-mail. 409
        `already_suspended` ; 404 `signup_not_found` pour une inscription d'un autre financeur."""
        return self.identity.suspend_signup(call.actor, signup_id)

    # ---- the notification centre (issue 16) ---------------------------------------------
    @route("GET", "/notifications", query=NotificationQuery, response=list[Notification],
           summary="Mes notifications (les plus récentes d'abord)", tags=["notifications"])
    def list_notifications(self, call):
        """Celles de la personne connectée (et, pour un organisme ou le financeur, celles de
        son organisme ou de son financeur) ; `unread=true` : les non lues seulement. Chaque
        personne a ses propres marques de lecture. 403 pour un jeton d'API."""
        return self.notifications.list_notifications(call.actor, call.query.model_dump())

    @route("GET", "/notifications/unread-count", response=UnreadCount,
           summary="Nombre de notifications non lues (le bandeau)", tags=["notifications"])
    def count_unread_notifications(self, call):
        """Les notifications non lues de la personne connectée, celles de son organisme ou de son
        financeur comprises (les mêmes que GET /notifications?unread=true). 403
        `notifications_for_people` pour un jeton d'API."""
        return self.notifications.count_unread_notifications(call.actor)

    @route("POST", "/notifications/{notification_id}/read", response=Notification,
           summary="Marquer une notification comme lue", tags=["notifications"])
    def mark_notification_read(self, call, notification_id):
        """404 pour une notification qui n'est pas la sienne."""
        return self.notifications.mark_notification_read(call.actor, notification_id)

    @route("POST", "/notifications/read-all", response=UnreadCount,
           summary="Marquer toutes mes notifications comme lues", tags=["notifications"])
    def mark_all_notifications_read(self, call):
        """Pour la personne connectée seulement : les autres personnes de son organisme ou de son
        financeur gardent leurs propres marques. Répond le nouveau compte (0). 403
        `notifications_for_people` pour un jeton d'API."""
        return self.notifications.mark_all_notifications_read(call.actor)

    @route("GET", "/me/alert-settings", response=list[AlertSetting],
           summary="Mes alertes par e-mail", tags=["notifications"])
    def get_alert_settings(self, call):
        """Par type : `immediate`, `digest` (le récapitulatif quotidien) ou `none` (pas
        d'e-mail : la notification reste). `locked` : les alertes de sécurité du compte sont
        toujours envoyées immédiatement."""
        return self.notifications.get_alert_settings(call.actor)

    @route("PUT", "/me/alert-settings", body=AlertSettingsChange, response=list[AlertSetting],
           summary="Choisir mes alertes par e-mail", tags=["notifications"])
    def update_alert_settings(self, call):
        """Seuls les types cités changent. 422 `alert_locked` pour couper une alerte de
        sécurité."""
        return self.notifications.update_alert_settings(call.actor, call.payload)

    # ---- long work as jobs (docs/jobs.md) -------------------------------------------------
    @route("GET", "/jobs", query=JobQuery, response=list[Job],
           summary="Mes travaux longs (imports, exports)", tags=["travaux"])
    def list_jobs(self, call):
        """Les travaux que l'appelant voit (les siens ; ceux de son financeur pour le personnel
        du financeur, de son organisme pour un utilisateur d'organisme), les plus récents
        d'abord, sans le compte rendu ligne par ligne (docs/jobs.md). Un service qui ne répond
        pas n'empêche pas la liste : ses travaux manquent et l'en-tête `X-Unavailable-Services`
        le nomme ; 503 si aucun ne répond."""
        return jobs.listing({name: getattr(self, name) for name in jobs.JOB_SERVICES},
                            call.actor, call.query.model_dump(mode="json"), call.query.limit)

    @route("GET", "/jobs/{job_id}", response=Job, summary="Un travail long et son compte rendu",
           tags=["travaux"])
    def get_job(self, call, job_id):
        """État, progression par étape, bilan, compte rendu ligne par ligne (`items`), erreur
        ou fichier produit (docs/jobs.md). 404 `job_not_found` pour un travail que
        l'appelant ne voit pas."""
        return getattr(self, jobs.service_of(job_id)).get_job(call.actor, job_id)

    @route("GET", "/jobs/{job_id}/file", media_type="*/*",
           summary="Télécharger le fichier produit par un travail", tags=["travaux"])
    def download_job_file(self, call, job_id):
        """Le fichier d'un travail terminé (un export par exemple) ; 404 `job_file_not_found`
        tant qu'il n'y en a pas (docs/jobs.md)."""
        content = getattr(self, jobs.service_of(job_id)).job_file(call.actor, job_id)
        return file_response(content["filename"], content["content_type"],
                             content["content_base64"])

    @route("POST", "/jobs/{job_id}/cancel", response=Job, summary="Annuler un travail long",
           tags=["travaux"])
    def cancel_job(self, call, job_id):
        """Un travail en attente est annulé aussitôt ; un travail en cours s'arrête à sa
        prochaine étape (`cancel_requested`), ce qui est fait reste fait. 409 `job_finished`
        s'il est déjà terminé (docs/jobs.md)."""
        return getattr(self, jobs.service_of(job_id)).cancel_job(call.actor, job_id)

    # ---- tools --------------------------------------------------------------------------
    @route("GET", "/health/live", response=ServiceHealth, auth=False,
           summary="La passerelle répond (sonde de vivacité)", tags=["outils"])
    def health_live(self, call):
        """Sans authentification, sans appeler ni la messagerie ni les services : `ok` dès que
        la passerelle répond. Kubernetes la redémarre quand elle ne répond plus."""
        return {"status": "ok"}

    @route("GET", "/health/ready", response=ServiceHealth, auth=False,
           summary="La passerelle peut servir (sonde de disponibilité)", tags=["outils"])
    def health_ready(self, call):
        """Sans authentification : `ok` quand la passerelle joint la messagerie, sans interroger
        les services (un service en panne ne rend indisponibles que ses propres routes, en 503
        `rpc_timeout` ou `service_unavailable`). Sinon 503 `broker_unavailable`."""
        return health.readiness(self.broker)

    @route("GET", "/health", response=HealthReport, auth=False,
           responses={503: ("Un service au moins ne répond pas", HealthReport)},
           summary="État des services", tags=["outils"])
    def health_report(self, call):
        """Sans authentification. Chaque service est interrogé en parallèle (3 secondes au plus) :
        son état et celui de sa base de données. 200 si tous répondent `ok`, sinon 503 avec le même
        rapport (`status` : degraded). Pour les personnes et la supervision : les sondes de
        Kubernetes sont /health/live et /health/ready."""
        report, status = health.check(self.probes)
        return json_response(report, status)

    @route("GET", "/openapi.json", auth=False, summary="Ce document OpenAPI 3.1",
           tags=["outils"])
    def openapi_document(self, call):
        """Sans authentification. Produit des déclarations des routes (modèles, rôles en `x-roles`,
        exemples complets) : la documentation ne peut pas s'écarter du code. /docs le présente."""
        return openapi.build(type(self))

    @route("GET", "/docs", auth=False, media_type="text/html",
           summary="Documentation lisible de l'API (Swagger UI)", tags=["outils"])
    def docs(self, call):
        """Sans authentification : Swagger UI, servi par la passerelle elle-même (la page marche
        sans accès à Internet), qui lit /openapi.json ; ses adresses sont relatives, elle marche
        aussi derrière un proxy qui ajoute un préfixe."""
        return pages.docs_page()

    @route("GET", "/docs/assets/{asset}", auth=False, media_type="application/octet-stream",
           summary="Les fichiers de la page /docs (feuille de style, scripts, icônes)",
           tags=["outils"])
    def docs_asset(self, call, asset):
        """Servis par la passerelle elle-même : la page marche sans accès à Internet. Un nom
        qui n'est pas celui d'un de ces fichiers : 404."""
        return pages.docs_asset(asset)

    @route("GET", "/asyncapi.json", auth=False,
           summary="Le document AsyncAPI 3.0 des événements publics", tags=["outils"])
    def asyncapi_document(self, call):
        """Les événements auxquels les systèmes des financeurs peuvent s'abonner sur RabbitMQ :
        un canal par version d'événement (clé de routage `<funder_id>.<service>.<événement>.
        v<version>` sur l'échange `jalon.integration`), l'enveloppe CloudEvents et chaque champ
        de `data`, et l'adresse du serveur (sans identifiants)."""
        return asyncapi.build(config.load())

    @route("GET", "/asyncapi", auth=False, media_type="text/html",
           summary="Documentation lisible des événements publics", tags=["outils"])
    def asyncapi_page(self, call):
        """Le contenu de /asyncapi.json en une page : le serveur, les files du financeur,
        l'enveloppe, puis chaque événement et ses champs."""
        settings = config.load()
        return pages.asyncapi_page(asyncapi.readable(asyncapi.build(settings)),
                                   asyncapi.broker(settings))

    # ---- emails sent on the funder's behalf (issue 16: delivery status, resend) -----------
    @route("GET", "/emails", query=EmailQuery, response=list[EmailShape], roles=FUNDER_ROLES,
           summary="Les e-mails envoyés au nom du financeur et leur remise", tags=["e-mails"])
    def list_emails(self, call):
        """`delivery` : pending, sending, retrying (un envoi a échoué, un autre est prévu à
        `next_attempt_at`), sent, failed (avec `last_error`, la réponse du serveur de
        messagerie). Les e-mails porteurs d'un secret (codes, liens) n'y figurent pas."""
        return self.notifications.list_emails(call.actor, call.query.event_id)

    @route("POST", "/emails/{email_id}/resend", response=EmailShape, status=202,
           roles=FUNDER_ROLES, summary="Renvoyer un e-mail (une copie, envoyée aussitôt)",
           tags=["e-mails"])
    def resend_email(self, call, email_id):
        """409 tant que l'e-mail est en cours d'envoi."""
        return self.notifications.resend_email(call.actor, email_id)

    # ---- the public events: replays (issue 17) -------------------------------------------
    @route("POST", "/integration/replays", body=ReplayRequest, response=Job, status=202,
           responses={200: (jobs.REPLAY_RESUBMITTED_DESCRIPTION, Job)}, roles=FUNDER_ROLES,
           summary="Rejouer les événements publics du financeur", tags=["intégration"],
           idempotency_key=True)
    def start_replay(self, call):
        """Renvoie, dans l'ordre, les événements publics du financeur depuis `since` ou après
        l'événement `after_event_id` (l'un des deux), sur sa file de rejeu
        `integration.<funder_id>.replay`, sans toucher au flux en direct. Bornés : ceux
        enregistrés jusqu'à la demande. Un travail long (docs/jobs.md) : 202 et l'adresse du
        travail (Location), étape `events` ; le rejeu garde l'identifiant du travail
        (GET /integration/replays/{replay_id}). Un lot renvoyé après une panne répète des
        événements : l'abonné les écarte par leur `id`. 422 `replay_beyond_retention` pour une
        date plus ancienne que la durée de conservation, 404 `public_event_not_found` pour un
        événement inconnu."""
        return jobs.accepted(self.integration.start_replay(call.actor, call.payload))

    @route("GET", "/integration/replays", response=list[Replay], roles=FUNDER_ROLES,
           summary="Les rejeux du financeur (les plus récents d'abord)", tags=["intégration"])
    def list_replays(self, call):
        """Pour le personnel du financeur : chaque rejeu demandé, son point de départ (`since` ou
        `after_event_id`), sa destination, sa progression (`sent` sur `total`) et son `status` :
        pending, running, done, cancelled, failed."""
        return self.integration.list_replays(call.actor)

    @route("GET", "/integration/replays/{replay_id}", response=Replay, roles=FUNDER_ROLES,
           summary="Un rejeu et sa progression", tags=["intégration"])
    def get_replay(self, call, replay_id):
        """`sent` sur `total` ; `status` : pending, running, done, ou cancelled / failed quand
        son travail l'a été."""
        return self.integration.get_replay(call.actor, replay_id)

    # ---- the public events: webhooks (issue 17) ------------------------------------------
    @route("POST", "/webhooks", body=NewWebhook, response=WebhookSecret, status=201,
           roles={Role.funder_admin}, summary="Enregistrer un webhook", tags=["intégration"])
    def register_webhook(self, call):
        """Une adresse HTTPS du système du financeur qui recevra, par un POST chacun, les
        événements publics choisis (`event_types`, ou `["*"]`), signés selon Standard
        Webhooks. Le secret de signature (`secret`) n'est montré qu'ici. 422
        `webhook_url_not_https`, `webhook_url_with_credentials`, `webhook_url_invalid`,
        `webhook_url_too_long`."""
        return self.integration.register_webhook(call.actor, call.payload)

    @route("GET", "/webhooks", response=list[Webhook], roles=FUNDER_ROLES,
           summary="Les webhooks du financeur", tags=["intégration"])
    def list_webhooks(self, call):
        """Les plus anciens d'abord, supprimés compris (`active` faux) ; jamais leur secret."""
        return self.integration.list_webhooks(call.actor)

    @route("GET", "/webhooks/{webhook_id}", response=Webhook, roles=FUNDER_ROLES,
           summary="Un webhook", tags=["intégration"])
    def get_webhook(self, call, webhook_id):
        """Son adresse, ses événements, la fin du recouvrement de ses secrets ; jamais son
        secret."""
        return self.integration.get_webhook(call.actor, webhook_id)

    @route("DELETE", "/webhooks/{webhook_id}", status=204, roles={Role.funder_admin},
           summary="Supprimer un webhook", tags=["intégration"])
    def delete_webhook(self, call, webhook_id):
        """Il ne reçoit plus rien : ses envois en attente sont annulés ; son historique
        reste lisible."""
        self.integration.delete_webhook(call.actor, webhook_id)

    @route("POST", "/webhooks/{webhook_id}/rotate-secret", response=WebhookSecret,
           roles={Role.funder_admin}, summary="Changer le secret d'un webhook",
           tags=["intégration"])
    def rotate_webhook_secret(self, call, webhook_id):
        """Le nouveau secret n'est montré qu'ici. L'ancien signe encore à côté de lui jusqu'à
        `previous_secret_until` (24 h par défaut) : deux signatures dans
        `webhook-signature`, le temps de mettre le nouveau en place. 409 `webhook_deleted`."""
        return self.integration.rotate_webhook_secret(call.actor, webhook_id)

    @route("GET", "/webhooks/{webhook_id}/deliveries", query=DeliveryQuery,
           response=list[Delivery], roles=FUNDER_ROLES,
           summary="Les envois d'un webhook (les plus récents d'abord)", tags=["intégration"])
    def list_deliveries(self, call, webhook_id):
        """Chaque envoi et ses tentatives : statut HTTP, début de la réponse, erreur ;
        filtrables par `status`, par pages (`limit`, `offset`)."""
        return self.integration.list_deliveries(call.actor, webhook_id,
                                                call.query.model_dump(mode="json"))

    @route("GET", "/webhooks/{webhook_id}/deliveries/{delivery_id}", response=Delivery,
           roles=FUNDER_ROLES, summary="Un envoi d'un webhook et ses tentatives",
           tags=["intégration"])
    def get_delivery(self, call, webhook_id, delivery_id):
        """`status` : pending (prochaine tentative à `next_attempt_at`), sending, delivered,
        failed (après environ un jour de tentatives), cancelled (webhook supprimé)."""
        return self.integration.get_delivery(call.actor, webhook_id, delivery_id)

    @route("POST", "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry", response=Delivery,
           roles={Role.funder_admin}, summary="Relancer un envoi en échec",
           tags=["intégration"])
    def retry_delivery(self, call, webhook_id, delivery_id):
        """Une tentative de plus, tout de suite. 409 `delivery_not_failed` pour un envoi qui
        n'est pas en échec, `webhook_deleted` pour un webhook supprimé."""
        return self.integration.retry_delivery(call.actor, webhook_id, delivery_id)

    @route("POST", "/webhooks/{webhook_id}/replays", body=ReplayRequest, response=Job,
           status=202, responses={200: (jobs.REPLAY_RESUBMITTED_DESCRIPTION, Job)},
           roles={Role.funder_admin},
           summary="Rejouer les événements publics vers un webhook", tags=["intégration"],
           idempotency_key=True)
    def replay_to_webhook(self, call, webhook_id):
        """Comme POST /integration/replays, mais vers le webhook : un envoi par événement
        qu'il a choisi, dans l'ordre, avec le même `webhook-id` que la première fois. Un
        travail long (docs/jobs.md), suivi par GET /jobs/{job_id} ou
        GET /integration/replays/{replay_id} (le même identifiant)."""
        return jobs.accepted(self.integration.replay_to_webhook(call.actor, webhook_id,
                                                                call.payload))

    # ---- the root page (issue 16: emails' links) ------------------------------------------
    @route("GET", "/", auth=False, media_type="text/html",
           summary="Page d'accueil : Jalon, sa documentation, où mènent les liens des e-mails",
           tags=["outils"])
    def home(self, call):
        """Sans authentification : ce qu'est Jalon, où lire la documentation de l'API (/docs) et
        des événements publics (/asyncapi), et pour chaque lien des e-mails la route de l'API qu'il
        ouvre."""
        return pages.home_page()
