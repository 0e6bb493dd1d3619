"""notifications' I/O: templates rendered into emails, and the loop that delivers them.

Here, not in domain.py (which does no I/O) nor in service.py (entrypoints only).

Handlers only queue emails (rows with status pending) in their own transaction; nothing is
sent before that transaction commits, and a rolled-back handler sends nothing. `EmailDelivery`
is a green thread in every replica: woken after a worker that queued emails finishes (its
transaction has committed by then), and polling as a fallback for retries and other replicas.
It sends through SMTP when JALON_SMTP_HOST is set (smtplib is green under eventlet), otherwise
it writes .eml files into the mail folder and logs them (embedded mode).

Each email is claimed, sent, then recorded, each step on its own (claim and outcome in their
own commits; nothing held open during the send), so a crash or a lost database between a
send and its record repeats at most that one email: its claim (status sending) keeps other
replicas off it until its lease (JALON_EMAIL_LEASE_SECONDS) passes, then it is sent again,
with the same Message-ID, which lets the receiving server drop the copy.
"""
from __future__ import annotations

import contextlib
import os
import smtplib
import tempfile
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Callable, Iterator

import eventlet
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from servicekit import config
from servicekit.db import utcnow
from contracts.common.errors import InvalidInput
from contracts.common.formatting import JINJA_FILTERS
from servicekit.logging import get_logger
from servicekit.loop import BackgroundLoop
from services.notifications.domain import PENDING, SENDING, Email, Rendered, one_line

log = get_logger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
SMTP_TIMEOUT = 30
RECORD_RETRY_FIRST_SECONDS = 0.5
RECORD_RETRY_MAX_SECONDS = 5


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
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = message_id(email.id)
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    return message


def message_id(email_id: str) -> str:
    """From the email's id alone: a repeated send carries the same one, so the receiving
    server can recognise the copy (ids are [A-Za-z0-9_-], valid in an RFC 5322 msg-id)."""
    return f"<{email_id}@jalon.local>"


def _due(now: datetime):
    """`Email.is_due` in SQL: pending and due, or sending with a lease that has passed."""
    return or_(and_(Email.status == PENDING, Email.next_attempt_at <= now),
               and_(Email.status == SENDING, Email.claimed_until <= now))


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
        self.lease = timedelta(seconds=self.settings.email_lease_seconds)

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
        """Claim one due email, send it, record the outcome; return how many were claimed."""
        email = self._claim_next()
        if email is None:
            return 0
        if email.status == SENDING:
            self._deliver(email)
        return 1

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.database.write_gate(), \
                Session(self.database.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def _claim_next(self) -> Email | None:
        now = utcnow()
        with self._transaction() as session:
            email = session.scalars(
                select(Email).where(_due(now)).order_by(Email.next_attempt_at).limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if email is not None and not email.claim(now, self.lease):
                log.warning("email_failed", email_id=email.id, template=email.template,
                            attempts=email.attempts, error=email.last_error)
        return email

    def _deliver(self, email: Email) -> None:
        claim = email.claimed_until
        try:
            where = self._send(to_message(email, self.settings.mail_from), email.id)
        except Exception as exc:  # any transport failure is retried with backoff
            error = f"{type(exc).__name__}: {exc}"
            stored = self._finish(email.id, claim,
                                  lambda found: found.mark_failed_attempt(error, utcnow()))
            if stored:  # the error's text may name the recipient: the log gets its type only
                log.warning("email_not_sent", email_id=email.id, template=email.template,
                            attempts=stored.attempts, status=stored.status,
                            error=type(exc).__name__)
            return
        if self._finish(email.id, claim, lambda found: found.mark_sent(utcnow())):
            log.info("email_sent", email_id=email.id, template=email.template,
                     event_id=email.event_id, via=where)

    def _send(self, message: EmailMessage, email_id: str) -> str:
        """Send (or write) the message; return where it went."""
        if self.settings.smtp_host:
            _send_smtp(message, self.settings.smtp_host, self.settings.smtp_port)
            return f"smtp://{self.settings.smtp_host}:{self.settings.smtp_port}"
        return str(_write_eml(message, self.settings.mail_dir, email_id))

    def _finish(self, email_id: str, claim: datetime,
                record: Callable[[Email], None]) -> Email | None:
        """Record the send's outcome; while the database is away (a restart), try again as
        long as the claim lasts: giving up would let the lease pass and the email go twice."""
        delay = RECORD_RETRY_FIRST_SECONDS
        while True:
            try:
                return self._record(email_id, claim, record)
            except DBAPIError:
                if utcnow() + timedelta(seconds=delay) >= claim:
                    raise
                log.warning("email_record_retried", email_id=email_id, in_seconds=delay)
                eventlet.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)

    def _record(self, email_id: str, claim: datetime,
                record: Callable[[Email], None]) -> Email | None:
        """The outcome in its own commit, unless our lease passed and another sender took the
        email over: the outcome is then that sender's to record."""
        with self._transaction() as session:
            email = session.get(Email, email_id, with_for_update=True)
            if not email.holds_claim(claim):
                log.warning("email_claim_lost", email_id=email_id, template=email.template)
                return None
            record(email)
            return email


class _Handle:
    def __init__(self, provider: EmailDelivery, worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx

    def queued(self) -> None:
        self._provider._queued_by.add(self._worker_ctx)
