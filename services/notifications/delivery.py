"""notifications' I/O: templates rendered into emails, and the loop that delivers them.

Here, not in domain.py (which does no I/O) nor in service.py (entrypoints only).

Handlers only queue emails (rows with status pending) in their own transaction; nothing is
sent before that transaction commits, and a rolled-back handler sends nothing. `EmailDelivery`
is a green thread in every replica: woken after a worker that queued emails finishes (its
transaction has committed by then), and polling as a fallback for retries and other replicas.
It sends through SMTP when JALON_SMTP_HOST is set (smtplib is green under eventlet), otherwise
it writes .eml files into the mail folder and logs them (embedded mode).
"""
from __future__ import annotations

import os
import smtplib
import tempfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit import config
from servicekit.db import utcnow
from servicekit.errors import InvalidInput
from servicekit.formatting import JINJA_FILTERS
from servicekit.logging import get_logger
from servicekit.loop import BackgroundLoop
from services.notifications.domain import PENDING, Email, Rendered, one_line

log = get_logger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
BATCH = 50
SMTP_TIMEOUT = 30


class Templates:
    """Each template is one `<name>.txt` file with a `subject` and a `text` block."""

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                               autoescape=False, keep_trailing_newline=True)
        self.env.filters.update(JINJA_FILTERS)
        # The space's address, for templates whose sender gives no link of its own.
        self.env.globals["public_url"] = config.load().public_url

    def render(self, name: str, context: dict) -> Rendered:
        try:
            template = self.env.get_template(f"{name}.txt")
        except TemplateNotFound:
            raise InvalidInput("unknown_template", "Modèle d'e-mail inconnu.",
                               {"template": name}) from None
        try:
            blocks = {block: "".join(render(template.new_context(context)))
                      for block, render in template.blocks.items()}
        except UndefinedError as exc:
            raise InvalidInput("invalid_template_context",
                               "Il manque une information pour rédiger l'e-mail.",
                               {"template": name, "error": str(exc)}) from None
        return Rendered(subject=one_line(blocks["subject"]), body_text=blocks["text"].strip() + "\n")


def to_message(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Message-ID"] = make_msgid(idstring=email.id, domain="jalon.local")
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    return message


def _send_smtp(message: EmailMessage, host: str, port: int) -> None:
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
        smtp.send_message(message)


def _write_eml(message: EmailMessage, folder: Path, email_id: str) -> Path:
    """Atomically, so a reader of the folder never sees half an email."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{email_id}.eml"
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes())
    os.replace(temp, target)
    return target


class EmailDelivery(BackgroundLoop):
    """Declare next to a `Database`. Injects a handle whose `queued()` says "this worker
    added emails": once the worker (and so its transaction) is done, the loop is woken."""

    name = "email_delivery"

    def __init__(self, database_attr: str = "db"):
        super().__init__(database_attr)
        self._queued_by: set = set()  # worker contexts that queued emails, until they finish

    def setup(self) -> None:
        super().setup()
        self.settings = config.load()

    def get_dependency(self, worker_ctx) -> "_Handle":
        return _Handle(self, worker_ctx)

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        if worker_ctx in self._queued_by:
            self._queued_by.discard(worker_ctx)
            if exc_info is None:
                self.wake()

    def work_once(self) -> int:
        return self.deliver_due()

    def deliver_due(self) -> int:
        """Send one batch of due pending emails; return how many were tried."""
        now = utcnow()
        with self.database.write_gate(), \
                Session(self.database.engine, expire_on_commit=False) as session, session.begin():
            due = session.scalars(
                select(Email).where(Email.status == PENDING, Email.next_attempt_at <= now)
                .order_by(Email.next_attempt_at).limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for email in due:
                self._deliver(email)
        return len(due)

    def _deliver(self, email: Email) -> None:
        message = to_message(email, self.settings.mail_from)
        try:
            if self.settings.smtp_host:
                _send_smtp(message, self.settings.smtp_host, self.settings.smtp_port)
                where = f"smtp://{self.settings.smtp_host}:{self.settings.smtp_port}"
            else:
                where = str(_write_eml(message, self.settings.mail_dir, email.id))
        except Exception as exc:  # any transport failure is retried with backoff
            email.mark_failed_attempt(f"{type(exc).__name__}: {exc}", utcnow())
            log.warning("email_not_sent", email_id=email.id, template=email.template,
                        attempts=email.attempts, status=email.status, error=str(exc))
            return
        email.mark_sent(utcnow())
        log.info("email_sent", email_id=email.id, template=email.template, to=email.recipient,
                 via=where)


class _Handle:
    def __init__(self, provider: EmailDelivery, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def queued(self) -> None:
        self._provider._queued_by.add(self._worker_ctx)
