"""Business errors that cross RPC. Pure: domain modules raise these, the gateway maps them.

Each carries a stable machine-readable `code` and a French `message` (users read it). The
class says what kind of failure it is; the gateway maps the kind to an HTTP status in one
table (gateway/errors.py). Keep the constructor to (code, message, details): Nameko rebuilds
remote errors from their args.
"""
from __future__ import annotations


class JalonError(Exception):
    """Base of every expected failure. Not retried when raised by an event handler."""

    retryable = False

    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(code, message, details or {})
        self.code = code
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(JalonError):
    """The request or message is malformed or breaks a rule."""


class Unauthenticated(JalonError):
    """No valid credentials."""


class Forbidden(JalonError):
    """Authenticated, but not allowed to do this."""


class NotFound(JalonError):
    """The thing does not exist, or the caller may not know it does."""


class Conflict(JalonError):
    """The thing's state forbids this now (already certified, month locked, concurrent change)."""


class TooManyRequests(JalonError):
    """Too many attempts in too short a time (login, password reset): wait, then try again."""


class ServiceUnavailable(JalonError):
    """A dependency did not answer in time. Worth retrying."""

    retryable = True


ERROR_KINDS = (InvalidInput, Unauthenticated, Forbidden, NotFound, Conflict, TooManyRequests,
               ServiceUnavailable)
