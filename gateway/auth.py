"""Who is calling: the bearer token, checked by identity, plus the client's IP address.

The gateway checks the roles a route declares (defence in depth); every service checks the
actor again, with its own rules on organisations and funders.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection

from contracts.common import Role
from gateway.errors import HttpProblem
from servicekit import config

# A token is opaque to the gateway; anything outside this shape is not worth an RPC.
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{1,512}$")
_IP_ENVIRON = "jalon.client_ip"


def _unauthenticated(code: str, detail: str) -> HttpProblem:
    return HttpProblem(401, code, detail, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(request) -> str:
    """The token of "Authorization: Bearer <token>", or a 401 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthenticated("missing_token", "Authentification requise.")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.match(token):
        raise _unauthenticated("invalid_token", "Jeton d'accès invalide.")
    return token


def client_ip(request, trusted_proxies: int | None = None) -> str | None:
    """The caller's address: with N trusted proxies in front (JALON_TRUSTED_PROXIES), the
    N-th X-Forwarded-For entry from the right (what our outermost proxy saw; entries further
    left are the client's to invent); with none, the socket's peer."""
    if trusted_proxies is None:
        trusted_proxies = config.load().trusted_proxies
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")
            if hop.strip()]
    forwarded = hops[-min(trusted_proxies, len(hops))] if trusted_proxies and hops else ""
    for candidate in (forwarded, request.remote_addr or ""):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def request_ip(request) -> str | None:
    """client_ip, worked out once per request: the actor and the access line both carry it."""
    environ = request.environ
    if _IP_ENVIRON not in environ:
        environ[_IP_ENVIRON] = client_ip(request)
    return environ[_IP_ENVIRON]


def authenticate(identity, request) -> dict:
    """The Actor (a JSON dict) the token belongs to, with the request's IP. Identity's reply
    is an Actor it dumped itself and every service parses the actor at its edge
    (servicekit.access.acting): it is not validated a second time here."""
    return {**identity.authenticate(bearer_token(request)), "ip": request_ip(request)}


def allowed_while_restricted(path: str) -> bool:
    """A user who has not finished its first login (personalise, then accept the privacy
    policy) reaches its account and the /auth/ routes only."""
    return path == "/me" or path.startswith("/auth/")


def require_unrestricted(actor: dict, path: str) -> None:
    if actor.get("restricted") and not allowed_while_restricted(path):
        raise HttpProblem(403, "personalisation_required",
                          "Personnalisez d'abord votre identifiant et votre mot de passe, "
                          "puis acceptez la politique de confidentialité.")


def require_role(actor: dict, roles: Collection[Role] | None) -> None:
    if roles and Role(actor["role"]) not in roles:
        raise HttpProblem(403, "forbidden_role", "Votre rôle ne permet pas cette action.")
