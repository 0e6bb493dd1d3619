"""A real SMTP server for tests and benchmarks: aiosmtpd in its own process, storing every
message it accepts into a Maildir that we read incrementally (each file parsed once)."""
from __future__ import annotations

import mailbox
import socket
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path

from tools.demo import parse_email
from tools.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class SmtpServer:
    """aiosmtpd's Mailbox handler: every message it accepts lands in a Maildir we read."""

    def __init__(self, root: Path):
        self.port = free_port()
        self.maildir = root / "maildir"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            stdout=subprocess.DEVNULL, stderr=(root / "smtp.log").open("wb"))
        wait_until(lambda: listens(self.port), 15, message=f"the SMTP server on {self.port}")
        self._seen: dict[str, tuple] = {}  # Maildir key -> (date, key, parsed message)
        self._lock = threading.Lock()

    def emails(self) -> list[EmailMessage]:
        """Every message received, parsed, oldest first (what tools.demo's readers give)."""
        if not self.maildir.exists():
            return []
        with self._lock:
            box = mailbox.Maildir(str(self.maildir), create=False)
            for key in set(box.keys()) - self._seen.keys():
                stored = box.get_message(key)  # its date: when the Maildir received it
                self._seen[key] = (stored.get_date(), key, parse_email(stored.as_bytes()))
            return [message for _, _, message in sorted(self._seen.values(),
                                                         key=lambda item: item[:2])]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
