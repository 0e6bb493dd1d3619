"""Notifications' rules: an email's delivery (claims, retries, erased secrets), which emails a
call may ask for, who may read the log.

Pure: no Nameko, no SQLAlchemy, no I/O. The clock and ids are passed in.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from contracts.common import Actor, Role
from contracts.common.errors import Conflict, Forbidden, InvalidInput
from contracts.common.formatting import of_fr
from contracts.common.links import space_path

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                timedelta(hours=2))
"""Waits after the 1st, 2nd... failed attempt; once they are used up the email is failed."""

DIRECT_TEMPLATES = frozenset({"account_credentials", "certification_code", "identifier_change",
                              "password_reset", "bank_details_reviewed", "email_change",
                              "email_change_notice", "signup_activation", "signup_siret_taken",
                              "signup_email_taken"})
"""Emails that carry a secret: sent by RPC only, and their body is erased once delivered."""
ERASED = "[contenu effacé après envoi : il contenait des informations confidentielles]"


@dataclass
class Email:
    id: str
    recipient: str
    subject: str
    body_text: str
    template: str
    created_at: datetime
    next_attempt_at: datetime
    event_id: str | None = None
    funder_id: str | None = None
    body_html: str | None = None
    status: str = PENDING
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    claimed_until: datetime | None = None
    """While `sending`: the end of the sender's lease; past it, the sender is presumed dead."""
    resent_from: str | None = None
    """The email this one sends again, at funder staff's request."""
    correlation_id: str | None = None
    """The id of the request (or event) that queued it: its delivery's log lines carry it."""
    month: str | None = None
    """YYYY-MM when the email is about a certificate's month (the ops count them by month)."""

    def is_due(self, now: datetime) -> bool:
        if self.status == SENDING:
            return self.claimed_until <= now
        return self.status == PENDING and self.next_attempt_at <= now

    def claim(self, now: datetime, lease: timedelta,
              delays: tuple[timedelta, ...] = RETRY_DELAYS) -> bool:
        """Take the email for one send until `now + lease`, so that no other sender takes it
        meanwhile; True when it is ours to send.

        An expired claim means its sender died mid-send, perhaps after the server accepted
        the message: that attempt counts, and this send may repeat it (the one repeat
        allowed; the stable Message-ID lets the receiver drop it). An email whose sends keep
        dying is failed once the retry budget is spent, like one whose sends keep failing.
        """
        if not self.is_due(now):
            raise EmailNotDue(self.id)
        if self.status == SENDING:
            self._count_attempt("claim_expired")
            if self.attempts > len(delays):
                self.status, self.claimed_until = FAILED, None
                return False
        self.status, self.claimed_until = SENDING, now + lease
        return True

    def holds_claim(self, claimed_until: datetime) -> bool:
        """Still the claim that ended at `claimed_until`: no other sender took it over."""
        return self.status == SENDING and self.claimed_until == claimed_until

    def mark_sent(self, now: datetime) -> None:
        self.status, self.sent_at, self.last_error, self.claimed_until = SENT, now, None, None
        self.attempts += 1
        if self.template in DIRECT_TEMPLATES:  # the secret must not outlive its delivery
            self.body_text, self.body_html = ERASED, None

    def mark_failed_attempt(self, error: str, now: datetime,
                            delays: tuple[timedelta, ...] = RETRY_DELAYS) -> None:
        self._count_attempt(error)
        self.claimed_until = None
        if self.attempts > len(delays):
            self.status = FAILED
        else:
            self.status, self.next_attempt_at = PENDING, now + delays[self.attempts - 1]

    def _count_attempt(self, error: str) -> None:
        self.attempts += 1
        self.last_error = error[:1000]


class EmailNotDue(Exception):
    """A sender tried to claim an email that is not waiting to be sent (a bug, not a race:
    the claim query selects due emails only, under a row lock)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str | None = None


@dataclass(frozen=True)
class Planned:
    """One email to write: to whom, from which template, with what context."""

    recipient: str
    template: str
    context: dict


def new_email(email_id: str, planned: Planned, rendered: Rendered, now: datetime,
              event_id: str | None = None, funder_id: str | None = None,
              correlation_id: str | None = None, month: str | None = None) -> Email:
    return Email(id=email_id, recipient=planned.recipient, subject=rendered.subject,
                 body_text=rendered.body_text, body_html=rendered.body_html,
                 template=planned.template, created_at=now, next_attempt_at=now,
                 event_id=event_id, funder_id=funder_id, correlation_id=correlation_id,
                 month=month)


def direct_email(recipient: str, template: str, context: dict) -> Planned:
    """Only the emails that carry a secret are asked for by a call; the others follow events."""
    if template not in DIRECT_TEMPLATES:
        raise InvalidInput("unknown_template", "Modèle d'e-mail inconnu.", {"template": template})
    return Planned(recipient, template, context)


def check_can_list(actor: Actor) -> None:
    """The delivery log is for funder staff (support); they see their funder's emails only."""
    if not actor.is_funder_staff:
        raise Forbidden("emails_forbidden",
                        "Seuls les agents du financeur peuvent consulter les e-mails envoyés.")


def one_line(text: str) -> str:
    """A subject is one line: a template's newlines and runs of spaces are collapsed."""
    return " ".join(text.split())


# ---- the notification centre (issue 16) --------------------------------------------------
# A notification is stored once per audience, not copied per person: a person (USER), the
# beneficiary or employer a user is (PARTY), every user of an organisation (ORGANISATION) or
# the funder's staff (FUNDER). Read marks are per person (NotificationRead): one user reading
# their organisation's notification leaves it unread for their colleagues.
USER, PARTY, ORGANISATION, FUNDER = "user", "party", "organisation", "funder"
NOTIFICATIONS_PAGE_MAX = 100


@dataclass
class Notification:
    id: str
    kind: str
    audience_type: str
    audience_id: str
    funder_id: str
    title: str
    text: str
    object_type: str
    object_id: str
    link: str
    created_at: datetime
    event_id: str | None = None


@dataclass
class NotificationRead:
    notification_id: str
    user_id: str
    read_at: datetime


@dataclass(frozen=True)
class Notice:
    """One notification to store: for whom, of what kind, about which object."""

    kind: str
    audience_type: str
    audience_id: str
    title: str
    text: str
    object_type: str
    object_id: str
    link: str


def new_notification(notification_id: str, notice: Notice, funder_id: str, now: datetime,
                     event_id: str | None = None) -> Notification:
    return Notification(id=notification_id, kind=notice.kind,
                        audience_type=notice.audience_type, audience_id=notice.audience_id,
                        funder_id=funder_id, title=notice.title, text=notice.text,
                        object_type=notice.object_type, object_id=notice.object_id,
                        link=notice.link, created_at=now, event_id=event_id)


def audiences_of(actor: Actor) -> list[tuple[str, str]]:
    """The audiences whose notifications this person sees. An API token is no person: it has
    no notification centre."""
    if actor.session_id is None:
        raise Forbidden("notifications_for_people",
                        "Les notifications sont réservées aux personnes connectées.")
    seen = [(USER, actor.user_id)]
    if actor.is_funder_staff:
        seen.append((FUNDER, actor.funder_id))
    elif actor.role == Role.organisation_user and actor.organisation_id:
        seen.append((ORGANISATION, actor.organisation_id))
        seen += [(ORGANISATION, organisation_audience(actor.organisation_id, right))
                 for right in actor.rights]
    elif actor.party_id:
        seen.append((PARTY, actor.party_id))
    return seen


def organisation_audience(organisation_id: str, right: str | None = None) -> str:
    """An organisation's users see its notifications; those about payments or documents only
    its users with that right, as the routes they lead to."""
    return organisation_id if right is None else f"{organisation_id}:{right}"


def certificate_link(dossier_id: str, month: str) -> str:
    return space_path("dossier_month", dossier_id=dossier_id, month=month)


def certified_notices(data, month_label: str) -> list[Notice]:
    """A certified month: the beneficiary (and the employer) to validate or read, the
    organisation and the funder's staff to know."""
    link, about = certificate_link(data.dossier_id, data.month), f"{data.dossier_id}/{data.month}"
    subject = f"Certificat de réalisation {of_fr(month_label)} – dossier {data.dossier_number}"
    def validate(role: Role) -> str:
        if role in data.validations:
            return " Merci de valider les heures depuis votre espace."
        return ""
    notices = [Notice("certified_beneficiary", PARTY, data.beneficiary.id, subject,
                      f"{data.organisation_name} a certifié les heures {of_fr(month_label)}."
                      + validate(Role.beneficiary), "certificate", about, link)]
    if data.employer:
        notices.append(Notice("certified_employer", PARTY, data.employer.id, subject,
                              f"{data.organisation_name} a certifié les heures "
                              f"{of_fr(data.beneficiary.name)} pour {month_label}."
                              + validate(Role.employer), "certificate", about, link))
    notices.append(Notice("certified_funder", FUNDER, data.funder_id, subject,
                          f"{data.organisation_name} a certifié les heures "
                          f"{of_fr(data.beneficiary.name)} pour {month_label}.", "certificate",
                          about, link))
    return notices


def contested_notices(data, month_label: str, party_label: str) -> list[Notice]:
    link, about = certificate_link(data.dossier_id, data.month), f"{data.dossier_id}/{data.month}"
    title = f"Heures contestées – dossier {data.dossier_number}, {month_label}"
    text = (f"{party_label.capitalize()} ({data.party_name}) conteste les heures "
            f"{of_fr(month_label)} : « {data.reason} »")
    return [Notice("hours_contested", ORGANISATION, data.organisation_id, title, text,
                   "certificate", about, link),
            Notice("hours_contested", FUNDER, data.funder_id, title, text, "certificate",
                   about, link)]


def document_notice(data, checked: bool) -> Notice:
    """To the document's organisation when it has one (its users share the documents), else
    to the person who uploaded it."""
    audience = ((ORGANISATION, organisation_audience(data.organisation_id, "documents"))
                if data.organisation_id else (USER, data.owner_user_id))
    if checked:
        kind, title = "document_checked", f"Document contrôlé : {data.label}"
        text = f"Le document « {data.label} » ({data.category_label}) a été contrôlé."
    else:
        kind, title = "document_rejected", f"Document non conforme : {data.label}"
        text = (f"Le document « {data.label} » ({data.category_label}) n'est pas conforme : "
                f"{data.reason_text}")
    return Notice(kind, *audience, title, text, "document", data.document_id,
                  space_path("document", document_id=data.document_id))


# ---- delivery as funder staff read it, and resends (issue 16, emails) ------------------------

RETRYING = "retrying"
DELIVERY_LABELS = {PENDING: "en attente d'envoi", SENDING: "en cours d'envoi",
                   RETRYING: "nouvel essai prévu", SENT: "envoyé", FAILED: "échec de l'envoi"}


def delivery_of(email: Email) -> str:
    """A pending email that already failed a send is retrying."""
    return RETRYING if email.status == PENDING and email.attempts else email.status


def resent(original: Email, email_id: str, now: datetime,
           correlation_id: str | None = None) -> Email:
    """A copy to send again, due now, with its own id (so its own Message-ID: the receiving
    server would drop a copy of one it accepted) and a fresh retry budget; the original
    stays in the log as it went. One still on its way, or whose secret was erased, cannot be."""
    if original.status in (PENDING, SENDING):
        raise Conflict("email_on_its_way", "Cet e-mail est en cours d'envoi : attendez son "
                       "résultat avant de le renvoyer.", {"email_id": original.id})
    if original.body_text == ERASED:
        raise Conflict("email_erased", "Cet e-mail contenait des informations confidentielles, "
                       "effacées après l'envoi : il ne peut pas être renvoyé.",
                       {"email_id": original.id})
    return Email(id=email_id, recipient=original.recipient, subject=original.subject,
                 body_text=original.body_text, body_html=original.body_html,
                 template=original.template, created_at=now, next_attempt_at=now,
                 funder_id=original.funder_id, resent_from=original.id,
                 correlation_id=correlation_id, month=original.month)


# ---- who signs the emails (issue 16, emails) ------------------------------------------------

SECURITY_TEMPLATES = frozenset({"password_changed", "account_deactivated"})
"""Emails about the person's own account that follow an event: always sent, never erased."""


def is_alert(template: str) -> bool:
    """An email that follows an event (an alert, which its recipient can turn off), not one a
    person asked for nor a security notice."""
    return template not in DIRECT_TEMPLATES and template not in SECURITY_TEMPLATES


@dataclass
class Funder:
    """A funder as its emails name and sign it (identity's funder_bootstrapped says its name)."""

    id: str
    name: str


# ---- alert settings per person and kind (issue 16, seed 003's email alerts) ---------------
IMMEDIATE, DIGEST, NO_EMAIL = "immediate", "digest", "none"
FREQUENCIES = (IMMEDIATE, DIGEST, NO_EMAIL)
ALERT_KINDS = {
    "certified": "Certificat de réalisation certifié",
    "document_checked": "Document contrôlé",
    "document_rejected": "Document non conforme",
    "month_to_certify": "Mois à certifier ou à corriger",
    "hours_followup": "Heures validées ou contestées",
    "payments": "Règlements et coordonnées bancaires",
    "organisation": "Statut de certificateur, identifiants envoyés et utilisateurs désactivés",
    "funder_followup": "Certifications reçues par le financeur",
}
"""The kinds a person may set: their emails follow the setting, their notifications stay."""
DEFAULT_FREQUENCIES = {"month_to_certify": DIGEST, "hours_followup": DIGEST,
                       "payments": DIGEST, "organisation": DIGEST, "funder_followup": NO_EMAIL}
"""Until a person chooses: what concerns them alone comes at once; what their organisation's
dossiers bring by the dozen comes in the digest; a funder's certifications, by the thousand at
month-end, stay in its staff's notification centre."""
LOCKED_KINDS = {
    "security": "Sécurité du compte (identifiants, changement d'identifiant, d'e-mail ou de "
                "mot de passe, mot de passe oublié, compte désactivé)",
}
"""Always emailed at once: a person must learn about their account's security."""
ALERT_KIND_OF_TEMPLATE = {"certified_beneficiary": "certified", "certified_employer": "certified",
                          "certified_funder": "funder_followup",
                          "document_checked": "document_checked",
                          "document_rejected": "document_rejected",
                          "month_to_certify": "month_to_certify",
                          "certificate_reopened": "month_to_certify",
                          "hours_validated": "hours_followup",
                          "hours_contested": "hours_followup",
                          "payment_issued": "payments", "bank_details_reviewed": "payments",
                          "certifier_status_changed": "organisation",
                          "credentials_sent": "organisation", "user_deactivated": "organisation"}
"""The persons' emails (templates) and notification kinds each setting governs. The emails an
organisation's or a funder's own address receives (a contest, a certification when the funder's
settings say so, bank details reviewed) are that mailbox's, not a person's: no setting stops
them."""
PERSON_EMAIL_KINDS = frozenset({"month_to_certify", "certificate_reopened", "hours_validated",
                                "payment_issued", "certifier_status_changed",
                                "credentials_sent", "user_deactivated"})
"""Notifications without an email of their own: each person who sees one and wants that kind
at once gets it by email (template `notification`)."""


def default_frequency(kind: str) -> str:
    return DEFAULT_FREQUENCIES.get(kind, IMMEDIATE)


def frequency_of(settings: list["AlertSetting"], kind: str) -> str:
    """The person's choice for an alert kind, or its default."""
    chosen = {setting.kind: setting.frequency for setting in settings}
    return chosen.get(kind, default_frequency(kind))


@dataclass
class AlertPerson:
    """Who set their alerts, as they were when they last did: whom the events name them by
    (user, party) and where the digest goes."""

    user_id: str
    funder_id: str
    role: str
    email: str | None
    updated_at: datetime
    organisation_id: str | None = None
    party_id: str | None = None
    rights: list[str] = field(default_factory=list)  # the digest lists what they may see

    def as_actor(self) -> Actor:
        return Actor(user_id=self.user_id, role=self.role, funder_id=self.funder_id,
                     organisation_id=self.organisation_id, party_id=self.party_id,
                     rights=list(self.rights), session_id="digest")


@dataclass
class AlertSetting:
    user_id: str
    kind: str
    frequency: str


def check_alert_settings_reader(actor: Actor) -> None:
    """Alerts are a person's: an API token has none."""
    if actor.session_id is None:
        raise Forbidden("alert_settings_for_people",
                        "Les alertes par e-mail sont réservées aux personnes connectées.")


def alert_person(actor: Actor, now: datetime) -> AlertPerson:
    check_alert_settings_reader(actor)
    return AlertPerson(user_id=actor.user_id, funder_id=actor.funder_id,
                       role=actor.role.value, email=actor.email, updated_at=now,
                       organisation_id=actor.organisation_id, party_id=actor.party_id,
                       rights=[getattr(right, "value", right) for right in actor.rights])


def check_alert_choice(kind: str, frequency: str, role: Role) -> None:
    """A kind is known to a person when its notifications may reach them."""
    if kind in LOCKED_KINDS and frequency != IMMEDIATE:
        raise InvalidInput("alert_locked", "Les alertes de sécurité du compte sont toujours "
                           "envoyées immédiatement.", {"kind": kind})
    if kind not in KINDS_OF_ROLE[role] and kind not in LOCKED_KINDS:
        raise InvalidInput("unknown_alert_kind", "Type d'alerte inconnu.", {"kind": kind})
    if frequency not in FREQUENCIES:
        raise InvalidInput("unknown_alert_frequency", "Fréquence d'alerte inconnue.",
                           {"frequency": frequency})


_PARTY_KINDS = ("certified", "document_checked", "document_rejected")
KINDS_OF_ROLE = {
    Role.beneficiary: _PARTY_KINDS, Role.employer: _PARTY_KINDS,
    Role.organisation_user: ("document_checked", "document_rejected", "month_to_certify",
                             "hours_followup", "payments", "organisation"),
    Role.funder_agent: ("hours_followup", "organisation", "funder_followup"),
    Role.funder_admin: ("hours_followup", "organisation", "funder_followup"),
}
"""The kinds whose notifications a person of each role may receive: the ones they set."""


def alert_settings_view(settings: list[AlertSetting], role: Role) -> list[dict]:
    """The role's kinds, the person's choice or the kind's default; the locked ones last."""
    return ([{"kind": kind, "label": ALERT_KINDS[kind], "frequency": frequency_of(settings, kind),
              "locked": False} for kind in KINDS_OF_ROLE[role]]
            + [{"kind": kind, "label": label, "frequency": IMMEDIATE, "locked": True}
               for kind, label in LOCKED_KINDS.items()])


# ---- the daily digest (issue 16) ---------------------------------------------------------

@dataclass
class Digest:
    """One person's digest of one day. Its row is the claim: the first replica to insert it
    sends that digest, the others find it taken."""

    user_id: str
    day: date
    created_at: datetime
    notifications: int = 0


def digest_kinds(settings: list[AlertSetting]) -> list[str]:
    """The notification kinds the person wants in their digest rather than at once (their
    choice, or the kind's default)."""
    return sorted(kind for kind, alert in ALERT_KIND_OF_TEMPLATE.items()
                  if frequency_of(settings, alert) == DIGEST)


# ---- notifications without an email of their own (issue 16) -----------------------------
DOCUMENT_STATUS_LABELS = {"missing": "non déposé", "checked": "contrôlé",
                          "rejected": "non conforme"}


def payment_notice(data) -> Notice:
    """A payment issued: the organisation finds it, and its remittance advice, in its space."""
    kind = "un acompte" if data.advance else "un règlement"
    return Notice("payment_issued", ORGANISATION,
                  organisation_audience(data.organisation_id, "payments"),
                  f"Règlement n° {data.payment_number}",
                  f"Votre financeur a enregistré {kind} (n° {data.payment_number}) ; l'avis "
                  "de virement est disponible dans votre espace.", "payment", data.payment_id,
                  space_path("payment", payment_id=data.payment_id))


def bank_details_notice(data) -> Notice | None:
    """The funder's decision on the organisation's bank details; a submission tells nobody."""
    if data.status == "validated":
        text = f"Votre financeur a validé vos coordonnées bancaires (version {data.version})."
    elif data.status == "rejected":
        text = (f"Votre financeur a refusé vos coordonnées bancaires (version {data.version})"
                + (f" : {data.reason}" if data.reason else "."))
    else:
        return None
    title = ("Coordonnées bancaires validées" if data.status == "validated"
             else "Coordonnées bancaires refusées")
    return Notice("bank_details_reviewed", ORGANISATION,
                  organisation_audience(data.organisation_id, "payments"), title, text,
                  "bank_details", f"{data.organisation_id}/{data.version}",
                  space_path("bank_details", organisation_id=data.organisation_id))


def certifier_notice(data) -> Notice:
    def status(value: str) -> str:
        return DOCUMENT_STATUS_LABELS.get(value, "en attente de contrôle")
    method = ("la certification électronique (méthode 2)" if data.method == 2
              else "le certificat signé et déposé (méthode 1)")
    text = (f"Extrait KBIS : {status(data.kbis_status)} ; lettre de consentement : "
            f"{status(data.consent_letter_status)}. Vos certificats de réalisation suivent "
            f"désormais {method}.")
    return Notice("certifier_status_changed", ORGANISATION, data.organisation_id,
                  "Statut de certificateur mis à jour", text, "organisation",
                  data.organisation_id,
                  space_path("organisation_profile", organisation_id=data.organisation_id))


# ---- what waits for the organisation, and what its months became (issue 16) ---------------

def month_to_certify_notice(data, month_label: str) -> Notice:
    """The seed's « actions en attente »: a month opened, its hours to enter and certify."""
    return Notice("month_to_certify", ORGANISATION, organisation_audience(data.organisation_id),
                  f"Mois à certifier – dossier {data.dossier_number}, {month_label}",
                  f"Les heures {of_fr(data.beneficiary_name)} pour {month_label} sont à saisir et "
                  "à certifier.", "certificate", f"{data.dossier_id}/{data.month}",
                  certificate_link(data.dossier_id, data.month))


def reopened_notice(data, month_label: str) -> Notice:
    number = data.dossier_number or data.dossier_id
    return Notice("certificate_reopened", ORGANISATION,
                  organisation_audience(data.organisation_id),
                  f"Mois rouvert – dossier {number}, {month_label}",
                  f"Votre financeur a rouvert {month_label} pour que vous corrigiez les heures "
                  f"et les certifiiez à nouveau : « {data.reason} »", "certificate",
                  f"{data.dossier_id}/{data.month}", certificate_link(data.dossier_id, data.month))


def validated_notices(data, month_label: str, party_label: str) -> list[Notice]:
    """A validation: the organisation and the funder's staff follow the month's hours."""
    link, about = certificate_link(data.dossier_id, data.month), f"{data.dossier_id}/{data.month}"
    title = f"Heures validées – dossier {data.dossier_number}, {month_label}"
    text = (f"{party_label.capitalize()} ({data.party_name}) a validé les heures "
            f"{of_fr(month_label)}.")
    if data.complete:
        text += " Toutes les validations demandées sont données."
    return [Notice("hours_validated", audience, audience_id, title, text, "certificate", about,
                   link)
            for audience, audience_id in ((ORGANISATION, data.organisation_id),
                                          (FUNDER, data.funder_id))]


# ---- a person's account (issue 16): security notices and the persons' copy ----------------
ACCOUNT_TEXTS = {
    "identifier_changed": ("Identifiant modifié",
                           "Votre identifiant de connexion a été modifié."),
    "email_changed": ("Adresse e-mail modifiée",
                      "Votre adresse e-mail est désormais {email}."),
    "password_changed": ("Mot de passe modifié",
                         "Votre mot de passe a été modifié. Si vous n'êtes pas à l'origine de "
                         "ce changement, prévenez votre administrateur ou votre financeur."),
    "rights_changed": ("Droits modifiés", "Vos droits dans Jalon ont été modifiés."),
    "reactivated": ("Compte réactivé", "Votre compte a été réactivé."),
}
"""The notice each change leaves the person: not the credentials they are reading it with,
nor the first login's choices they just made; a deactivated person reads none."""
ACCOUNT_EMAILS = {"password_changed": "password_changed", "deactivated": "account_deactivated"}
"""The changes the person is told of by email too (security: never turned off)."""


def account_notices(data) -> list[Notice]:
    """The person learns what changed on their account; when a person is deactivated, the
    ones who manage their accounts (the organisation's users with the right « utilisateurs »,
    or the funder's staff) learn it."""
    notices = []
    if data.change in ACCOUNT_TEXTS:
        title, text = ACCOUNT_TEXTS[data.change]
        notices.append(Notice("account_changed", USER, data.user_id, title,
                              text.format(email=data.email), "account", data.user_id,
                              space_path("account")))
    if data.party_id is None and data.changed_by and data.change in MANAGER_TEXTS:
        kind, title, text = MANAGER_TEXTS[data.change]
        audience = ((ORGANISATION, organisation_audience(data.organisation_id, "users"))
                    if data.organisation_id else (FUNDER, data.funder_id))
        notices.append(Notice(kind, *audience, title.format(name=data.name),
                              text.format(name=data.name, email=data.email), "user",
                              data.user_id, space_path("user", user_id=data.user_id)))
    return notices


MANAGER_TEXTS = {
    "credentials_sent": ("credentials_sent", "Identifiants envoyés : {name}",
                         "Les identifiants de connexion de {name} ont été envoyés à {email}."),
    "deactivated": ("user_deactivated", "Utilisateur désactivé : {name}",
                    "Le compte de {name} ({email}) a été désactivé."),
}
"""What those who manage the accounts (an organisation's users with the right
« utilisateurs », or the funder's staff) learn of what one of them did to a user's account;
not of a beneficiary's or an employer's, which come with each dossier, nor of the person's
own sign-up."""


def person_of_account(data, known: AlertPerson | None) -> AlertPerson | None:
    """The persons' copy (digest address, rights) as the account now is; an older change
    arriving after a newer one changes nothing. A deactivated person keeps no address: no
    digest reaches them."""
    if known is not None and known.updated_at > data.changed_at:
        return None
    person = known or AlertPerson(user_id=data.user_id, funder_id=data.funder_id,
                                  role=data.role, email=None, updated_at=data.changed_at)
    person.funder_id, person.role, person.updated_at = data.funder_id, data.role, data.changed_at
    person.email = data.email if data.active else None
    person.organisation_id, person.party_id = data.organisation_id, data.party_id
    person.rights = list(data.rights)
    return person


def sees(person: AlertPerson, notice: Notice) -> bool:
    return (notice.audience_type, notice.audience_id) in audiences_of(person.as_actor())
