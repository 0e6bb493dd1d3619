"""A month-end burst against the running system (`make run`, demo data loaded):
`python -m bench.burst [--base-url URL] [--organisations N] [--dossiers M] [--clients K]`.

As the demo funder's administrator (tools.demo; the funder is bootstrapped if it is missing),
sets up N certifier organisations of M dossiers each, with fresh names every run (a random
tag in identifiers and dossier numbers, a random SIREN): nothing is reused, so every run
certifies a whole month-end again. Then K concurrent clients certify last month for every
dossier by method 2, the code read from the emails (embedded mode's mail folder, or
--mail-dir: another folder of .eml files or an SMTP server's Maildir), under a progress bar;
prints how many months were certified, how long it took, and the organisations' logins. What
happens next (PDFs, emails, locks) is for `jalon month-end` and the metrics to show.
"""
from __future__ import annotations

# bench.run first: it monkey-patches the standard library for the green threads.
from bench.run import PASSWORD, REQUEST_TIMEOUT, months_back  # isort: skip

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Callable

import eventlet
import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.month_end import Names, Organisation, certify_month, dossiers_of, following, set_up
from servicekit import config
from tools import demo
from tools.client import Client, HttpError, MailReader
from tools.stack import gateway_url


MAIL_FILES = ("*.eml", "new/*", "cur/*")  # embedded mode's files, a Maildir's messages


@dataclass
class Outcome:
    month: str
    names: Names
    organisations: list[Organisation] = field(default_factory=list)
    certified: int = 0
    errors: list[str] = field(default_factory=list)  # one per month not certified
    setup_s: float = 0.0
    certify_s: float = 0.0


def mail_folder(folder: Path) -> MailReader:
    """The emails in `folder` (embedded mode's or a Maildir), oldest first, each file parsed
    once: the burst reads the folder ten times a second while it fills. Files appear whole:
    embedded mode writes them atomically, a Maildir moves them from tmp/ into new/."""
    parsed: dict[Path, tuple[int, EmailMessage]] = {}

    def read() -> list[EmailMessage]:
        for path in (found for pattern in MAIL_FILES for found in folder.glob(pattern)):
            if path not in parsed:
                parsed[path] = (path.stat().st_mtime_ns, demo.parse_email(path.read_bytes()))
        return [message for _, message in sorted(parsed.values(), key=lambda item: item[0])]
    return read


def demo_admin(base_url: str, bootstrap: Callable[[], bool]) -> Client:
    bootstrap()
    token = demo.token_of(Client(base_url), demo.ADMIN.identifier)
    if not token:
        raise demo.DemoError(f"{demo.ADMIN.identifier} cannot log in with the demo's password")
    return Client(base_url, token, REQUEST_TIMEOUT)


def run(base_url: str, bootstrap: Callable[[], bool], read: MailReader, organisations: int,
        dossiers: int, clients: int, console: Console | None = None) -> Outcome:
    """`bootstrap()` creates the demo funder and its administrator unless they exist; `read`
    gives the emails sent so far."""
    today = date.today()
    outcome = Outcome(months_back(today, 1).strftime("%Y-%m"), Names.fresh())
    admin = demo_admin(base_url, bootstrap)
    pool = eventlet.GreenPool(clients)
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with following(read) as inbox, Progress(*columns, console=console) as progress:
        ready = progress.add_task("organisations set up", total=organisations)
        started = time.perf_counter()
        outcome.organisations = set_up(admin, read, inbox, pool, outcome.names, organisations,
                                       dossiers, today, lambda _: progress.advance(ready))
        outcome.setup_s = time.perf_counter() - started
        work = dossiers_of(outcome.organisations)
        certifying = progress.add_task(f"months {outcome.month} certified", total=len(work))

        def certify(item: tuple[Organisation, tuple[str, str]]) -> None:
            try:
                certify_month(item[0], item[1], outcome.month, inbox)
                outcome.certified += 1
                progress.advance(certifying)
            except (HttpError, TimeoutError, requests.RequestException) as exc:
                outcome.errors.append(f"{item[1][1]}: {exc}")

        started = time.perf_counter()
        for _ in pool.imap(certify, work):
            pass
        outcome.certify_s = time.perf_counter() - started
    return outcome


def report(outcome: Outcome) -> str:
    total = outcome.certified + len(outcome.errors)
    rate = outcome.certified / outcome.certify_s if outcome.certify_s else 0.0
    names, last = outcome.names, outcome.organisations[-1]
    lines = [f"{outcome.certified}/{total} months {outcome.month} certified in "
             f"{outcome.certify_s:.1f} s ({rate:.1f}/s; setup {outcome.setup_s:.1f} s)",
             f"organisations: {names.identifier(1)} to {names.identifier(last.index)} "
             f"(password {PASSWORD}), dossiers {names.dossier(1, 0)} to "
             f"{names.dossier(last.index, len(last.dossiers) - 1)}"]
    lines += [f"not certified: {error}" for error in outcome.errors[:10]]
    return "\n".join(lines)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number from 1: {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    settings = config.load()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=gateway_url(settings.http_address),
                        help="the gateway (default: where JALON_HTTP_ADDRESS listens)")
    parser.add_argument("--organisations", type=positive, default=10,
                        help="certifier organisations to set up")
    parser.add_argument("--dossiers", type=positive, default=15, help="dossiers per organisation")
    parser.add_argument("--clients", type=positive, default=10, help="concurrent clients")
    parser.add_argument("--mail-dir", type=Path, default=settings.mail_dir,
                        help="where the emails arrive: a folder of .eml files or a Maildir "
                             "(default: embedded mode's, <JALON_DATA_DIR>/mail)")
    args = parser.parse_args(argv)
    try:
        outcome = run(args.base_url, lambda: demo.bootstrap_funder(settings.amqp_uri),
                      mail_folder(args.mail_dir), args.organisations, args.dossiers,
                      args.clients)
    except (demo.DemoError, HttpError, TimeoutError, requests.RequestException) as exc:
        print(f"burst: {exc}", file=sys.stderr)
        return 1
    print(report(outcome))  # CLI output for the person at the terminal
    return 0 if not outcome.errors else 1


if __name__ == "__main__":
    sys.exit(main())
