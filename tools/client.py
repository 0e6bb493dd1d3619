"""The gateway as a person's browser calls it, for the end-to-end and fault tests, the bench
and the demo: one HTTP client remembering a session's bearer token, the first login of an
account (its secrets read from the emails), and a funder bootstrapped by the ops-only RPC."""
from __future__ import annotations

import re
import warnings
from email.message import EmailMessage
from typing import Callable

import requests

from contracts.identity import NewFunder
from contracts.jobs import FINISHED
from tools.waiting import wait_until

MailReader = Callable[[], list[EmailMessage]]  # the emails sent so far, oldest first
PROVISIONAL_PASSWORD = re.compile(r"Mot de passe provisoire : (\S+)")
LINK_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9._~-]+)")


class HttpError(RuntimeError):
    """An answer whose status the caller did not expect; says the problem+json body."""

    def __init__(self, method: str, path: str, response: requests.Response):
        super().__init__(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        self.status_code = response.status_code


class Client:
    """The gateway's HTTP API, as one user (the bearer `token`) or anonymous; `timeout`:
    seconds per request. Not shared between green threads: a requests.Session is not safe."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **options) -> requests.Response:
        """`options`: requests' arguments (json, params, data and files of an upload…)."""
        options.setdefault("timeout", self.timeout)
        return self.session.request(method.upper(), self.base_url + path, **options)

    def get(self, path: str, **options) -> requests.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options) -> requests.Response:
        return self.request("POST", path, **options)

    def put(self, path: str, **options) -> requests.Response:
        return self.request("PUT", path, **options)

    def patch(self, path: str, **options) -> requests.Response:
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options) -> requests.Response:
        return self.request("DELETE", path, **options)

    def call(self, method: str, path: str, token: str | None = None, json=None,
             ok=(200, 201), **options) -> requests.Response:
        """The answer, HttpError unless its status is in `ok`; `token`: another user's session
        than this client's (the demo acts as several users through one client)."""
        if token:
            options["headers"] = {"Authorization": f"Bearer {token}"}
        response = self.request(method, path, json=json, **options)
        if response.status_code not in ok:
            raise HttpError(method, path, response)
        return response

    def finished_job(self, submitted: requests.Response, token: str | None = None,
                     timeout: float = 180) -> dict:
        """A job (docs/jobs.md) followed from an answer that gave it (its submission's 202 or
        200, a cancellation's; HttpError otherwise) until it is over: its last GET
        /jobs/{job_id}, items included."""
        if submitted.status_code not in (200, 202):
            raise HttpError("POST", submitted.request.path_url, submitted)
        location = f"/jobs/{submitted.json()['id']}"

        def over() -> dict | None:
            job = self.call("GET", location, token, ok=(200,)).json()
            return job if job["status"] in FINISHED else None
        return wait_until(over, timeout=timeout, interval=0.25, message=f"{location} over")

    def login(self, identifier: str, password: str) -> Client:
        """A client of a new session (HttpError 401 when refused); an account created with
        its password (a bootstrapped funder administrator) accepts the privacy policy at its
        first login."""
        session = self.call("POST", "/auth/login", ok=(200,),
                            json={"identifier": identifier, "password": password}).json()
        client = Client(self.base_url, session["access_token"], self.timeout)
        if session["privacy_policy_pending"] and not session["must_personalise"]:
            client.accept_privacy_policy()
        return client

    def accept_privacy_policy(self) -> None:
        # The version identity asks for; imported here, as identity's settings bring eventlet.
        from services.identity.adapters import load_settings

        version = load_settings().privacy_policy_version
        self.call("POST", "/auth/privacy-policy", json={"version": version})

    def first_login(self, identifier: str, provisional: str, new_identifier: str,
                    password: str, read: MailReader, confirmations_seen: int = 0) -> Client:
        """Log in with the emailed provisional password, personalise (a new identifier waits
        for the emailed link), accept the privacy policy: a client of that session."""
        session = self.call("POST", "/auth/login", ok=(200,),
                            json={"identifier": identifier, "password": provisional}).json()
        if not session["must_personalise"]:
            raise RuntimeError(f"{identifier}: the provisional password opens no first login")
        client = Client(self.base_url, session["access_token"], self.timeout)
        me = client.call("POST", "/auth/personalise", json={
            "new_identifier": new_identifier, "current_password": provisional,
            "new_password": password, "new_password_confirmation": password}).json()
        if me.get("pending_identifier"):
            text = wait_for_email(read, me["user"]["email"], "Confirmez votre nouvel identifiant",
                                  skip=confirmations_seen)
            self.call("POST", "/auth/confirm-identifier", ok=(200, 204),
                      json={"token": link_token(text)})
        client.accept_privacy_policy()
        return client


def bootstrap_funder(amqp_uri: str, base_url: str, funder: NewFunder) -> Client:
    """The funder and its administrator (kept when a run before this one created them);
    a client of the administrator's session."""
    create_funder(amqp_uri, funder)
    return Client(base_url).login(funder.admin.identifier, funder.admin.password)


def create_funder(amqp_uri: str, funder: NewFunder) -> bool:
    """The funder and its administrator by the ops-only RPC; False when they already exist."""
    # Imported here: only this step needs Nameko, and servicekit.rpc registers our error
    # classes so that a remote Conflict comes back as a Conflict with its code.
    warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")
    from nameko.standalone.rpc import ClusterRpcProxy

    import servicekit.rpc  # noqa: F401  (registers the error classes)
    from contracts.common.errors import Conflict

    with ClusterRpcProxy({"AMQP_URI": amqp_uri, "serializer": "json"}, timeout=30) as rpc:
        try:
            rpc.identity.bootstrap_funder(funder.model_dump(mode="json"))
        except Conflict as exc:
            if exc.code != "funder_exists":
                raise
            return False
    return True


# ---- emails: where the secrets of a first login arrive ------------------------------------

def wait_for_email(read: MailReader, to: str, subject_starts: str, timeout: float = 30,
                   skip: int = 0) -> str:
    """The text of the latest email to `to` whose subject starts so, once more than `skip`
    of them exist (emails are delivered a moment after the request that caused them)."""
    def found() -> list[EmailMessage]:
        matching = [message for message in read() if message["To"] == to
                    and str(message["Subject"]).startswith(subject_starts)]
        return matching if len(matching) > skip else []

    latest = wait_until(found, timeout, interval=0.2,
                        message=f"an email « {subject_starts} » to {to}")[-1]
    return latest.get_body(preferencelist=("plain",)).get_content()


def provisional_password(read: MailReader, to: str, skip: int = 0) -> str:
    text = wait_for_email(read, to, "Vos identifiants de connexion", skip=skip)
    return PROVISIONAL_PASSWORD.search(text).group(1)


def link_token(text: str) -> str:
    return LINK_TOKEN.search(text).group(1)
