"""notifications' I/O: templates rendered into emails, the mailer (SMTP or .eml files), and
the loop that delivers the queued emails (handlers.deliver_next).

`EmailDelivery` is a green thread in every replica: woken after a worker that queued emails
finishes (its transaction has committed by then), and polling as a fallback for retries and
other replicas. It sends through SMTP when JALON_SMTP_HOST is set (smtplib is green under
eventlet), otherwise it writes .eml files into the mail folder and logs them (embedded mode).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
import smtplib
import tempfile
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import eventlet
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError
from markupsafe import escape

from contracts.common.errors import InvalidInput
from contracts.common.formatting import JINJA_FILTERS
from contracts.common.links import space_link
from servicekit import config, metrics
from servicekit.context import correlation_id
from servicekit.db import DatabaseAccess, utcnow
from servicekit.loop import BackgroundLoop
from services.notifications import handlers
from services.notifications.domain import Email, Rendered, is_alert, one_line

TEMPLATES = Path(__file__).resolve().parent / "templates"
SMTP_TIMEOUT = 30


class Templates:
    """Each template is one `<name>.txt` file with a `subject` and a `text` block."""

    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                               autoescape=False, keep_trailing_newline=True)
        self.env.filters.update(JINJA_FILTERS)
        # The space's address, for templates whose sender gives no link of its own.
        settings = config.load()
        self.env.globals["public_url"] = settings.public_url
        self.env.globals["space_link"] = functools.partial(space_link, settings.space_url)

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
        text = blocks["text"].strip() + "\n"
        return Rendered(subject=one_line(blocks["subject"]), body_text=text,
                        body_html=html_of(text))


# ---- the HTML part, from the text one (issue 16) ---------------------------------------------
# One source per email (its .txt template): the HTML part is the text's paragraphs, lists and
# links, styled inline (mail clients drop <style> and remote sheets), with no remote image.
_URL = re.compile(r"https?://[^\s<>\"]+")
_BODY_STYLE = ("font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; "
               "color: #1f2933; max-width: 40rem; margin: 0 auto; padding: 1rem;")
_PARAGRAPH_STYLE = "margin: 0 0 1em 0;"
_LINK_STYLE = "color: #0b5cad; text-decoration: underline; word-break: break-all;"


def html_of(text: str) -> str:
    """The email's HTML part: each paragraph a <p>, "- " lines a list, every address a link."""
    blocks = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_linked(line[2:])}</li>" for line in lines)
            blocks.append(f'<ul style="{_PARAGRAPH_STYLE}">{items}</ul>')
        else:
            blocks.append(f'<p style="{_PARAGRAPH_STYLE}">'
                          + "<br>\n".join(_linked(line) for line in lines) + "</p>")
    return ('<!doctype html>\n<html lang="fr">\n<head><meta charset="utf-8"></head>\n'
            f'<body style="{_BODY_STYLE}">\n' + "\n".join(blocks) + "\n</body>\n</html>\n")


def _linked(line: str) -> str:
    """The line, escaped, its web addresses made links (a sentence's final dot left out)."""
    parts, done = [], 0
    for found in _URL.finditer(line):
        address = found.group(0).rstrip(".,;:!?)»")
        end = found.start() + len(address)
        parts += [str(escape(line[done:found.start()])),
                  f'<a href="{escape(address)}" style="{_LINK_STYLE}">{escape(address)}</a>']
        done = end
    parts.append(str(escape(line[done:])))
    return "".join(parts)


def to_message(email: Email, sender: str, alert_settings_url: str | None = None) -> EmailMessage:
    """`alert_settings_url`: where an alert's recipient chooses their alerts (List-Unsubscribe,
    RFC 2369); the emails a person asked for (a code, a link) carry none."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = format_datetime(email.created_at)
    message["Message-ID"] = message_id(email.id)
    if alert_settings_url and is_alert(email.template):
        message["List-Unsubscribe"] = f"<{alert_settings_url}>"
    message.set_content(email.body_text)
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    return message


def message_id(email_id: str) -> str:
    """From the email's id alone: a repeated send carries the same one, so the receiving
    server can recognise the copy (ids are [A-Za-z0-9_-], valid in an RFC 5322 msg-id)."""
    return f"<{email_id}@jalon.local>"


class SmtpConnection:
    """One SMTP session kept for a run of emails: connecting, greeting and quitting once per
    run instead of once per email (docs/performance.md). The delivery loop's one green thread
    uses it and closes it when nothing is left to send. A kept session the server has ended
    since the last email (closed, or a 421) is opened again for the email at hand."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self._smtp is not None:
            try:
                return self._send_on_session(message)
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
                if not _ended_by_server(exc):
                    raise
        # A new session. Had the kept one been closed after the server took the message, this
        # copy carries the same Message-ID (message_id), as a repeat after a crash does.
        self._smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        self._send_on_session(message)

    def _send_on_session(self, message: EmailMessage) -> None:
        try:
            self._smtp.send_message(message)
        except Exception:  # whatever failed, the next email starts on a session of its own
            self.close()
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _ended_by_server(exc: smtplib.SMTPException) -> bool:
    """The kept session was ended by the server, not the email refused: closed meanwhile (its
    idle timeout) or a 421 (its limit of messages per session). A reply that never came is not
    that: the server may have taken the message, and a second try at once would double the
    wait its lease allows; the email is retried later like any failed send."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return not isinstance(exc.__context__, TimeoutError)
    return exc.smtp_code == 421


def _write_eml(message: EmailMessage, folder: Path, email_id: str) -> Path:
    """Atomically, so a reader of the folder never sees half an email."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{email_id}.eml"
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes())
    os.replace(temp, target)
    return target


class Mailer:
    """Through SMTP when the settings name a server, else into the mail folder."""

    def __init__(self, settings: config.Settings):
        self.settings = settings
        self.smtp = SmtpConnection(settings.smtp_host, settings.smtp_port)

    def send(self, email: Email) -> str:
        settings = self.settings
        message = to_message(email, settings.mail_from,
                             space_link(settings.space_url, "alert_settings"))
        try:
            where = self._deliver(message, email.id)
        except Exception:
            metrics.EMAILS.labels("failed").inc()
            raise
        metrics.EMAILS.labels("sent").inc()
        return where

    def _deliver(self, message: EmailMessage, email_id: str) -> str:
        settings = self.settings
        if settings.smtp_host:
            self.smtp.send(message)
            return f"smtp://{settings.smtp_host}:{settings.smtp_port}"
        return str(_write_eml(message, settings.mail_dir, email_id))


class EmailDelivery(BackgroundLoop):
    """Declare next to a `Database`. Injects the worker's `handlers.Ports`, whose `queued()`
    says "this worker added emails": once the worker (and so its transaction) is done, the
    loop is woken."""

    name = "email_delivery"

    def __init__(self, database_attr: str = "db"):
        super().__init__(database_attr)
        self._queued_by: set = set()  # worker contexts that queued emails, until they finish

    def setup(self) -> None:
        super().setup()
        settings = config.load()
        self.lease = timedelta(seconds=settings.email_lease_seconds)
        self.ports = handlers.Ports(templates=Templates(), mailer=Mailer(settings), clock=utcnow,
                                    sleep=eventlet.sleep, queued=self.wake)
        metrics.EMAILS_PENDING.read_with((), self.waiting)

    def stop(self) -> None:
        super().stop()
        metrics.EMAILS_PENDING.forget(())

    def waiting(self) -> int:
        """Emails still to send, read when Prometheus scrapes (servicekit/metrics.py)."""
        with DatabaseAccess(self.database, None).reading() as reading:
            return reading.emails.waiting()

    def get_dependency(self, worker_ctx) -> handlers.Ports:
        return dataclasses.replace(self.ports,
                                   queued=functools.partial(self._queued_by.add, worker_ctx),
                                   correlation_id=correlation_id(worker_ctx))

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        if worker_ctx in self._queued_by:
            self._queued_by.discard(worker_ctx)
            if exc_info is None:
                self.wake()

    def work_once(self) -> int:
        claimed = handlers.deliver_next(DatabaseAccess(self.database, None), self.ports, self.lease)
        if not claimed or not self._running:  # the run is over: its SMTP session too
            self.ports.mailer.smtp.close()
        return claimed
