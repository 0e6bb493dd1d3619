"""Logs keep ids, not personal data: every structlog event of the code base is read from its
source, its fields checked against the names that carry people's data, and listed in
docs/security.md with what it carries."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "servicekit", "gateway", "contracts", "tools")
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}

# Field names that would carry personal data (emails, names, addresses, bank details, phones,
# identifiers people choose, file names people write).
PERSONAL = {"email", "to", "recipient", "recipients", "name", "first_name", "last_name",
            "beneficiary", "employer", "address", "iban", "bic", "phone", "identifier",
            "filename", "password", "token", "otp"}
# Security needs the caller's address on these events only (throttling, refused logins, the
# gateway's access line).
ADDRESS_NEEDED = {"http_request", "login_refused", "login_succeeded", "login_throttled",
                  "password_reset_throttled", "signup_throttled"}


def log_events() -> dict[str, set[str]]:
    """event name -> the field names it is logged with, anywhere in the code."""
    events: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if _is_log_call(node) and node.args and isinstance(node.args[0], ast.Constant):
                    events[node.args[0].value].update(k.arg for k in node.keywords if k.arg)
    return events


def _is_log_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in LEVELS and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"log", "logger"})


def test_no_log_event_carries_personal_data():
    leaks = {event: sorted(fields & PERSONAL) for event, fields in log_events().items()
             if fields & PERSONAL}
    assert leaks == {}


def test_addresses_are_logged_only_where_security_needs_them():
    with_address = {event for event, fields in log_events().items() if "ip" in fields}
    assert with_address <= ADDRESS_NEEDED


def documented_events() -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "docs/security.md").read_text(
        encoding="utf-8"), flags=re.MULTILINE))


def test_every_log_event_is_documented():
    assert set(log_events()) - documented_events() == set()


def test_every_documented_log_event_is_still_logged():
    assert documented_events() - set(log_events()) == set()
