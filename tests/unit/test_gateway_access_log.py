"""The gateway's access line (no server, no broker): one `http_request` line per request, with
the correlation id the response carries, the route template, the actor; and its metrics."""
from __future__ import annotations

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Response

from gateway import http
from gateway.http import UNMATCHED, GatewayServer, GatewayWsgiApp, note_actor


class Route:
    """A route provider as GatewayHttp is one: its template, and what it answers."""

    route = "/dossiers/{dossier_id}"

    def __init__(self, status: int, user_id: str | None = None):
        self.status, self.user_id = status, user_id

    def handle_request(self, request):
        if self.user_id:
            note_actor(request, self.user_id)
        return Response("{}", status=self.status, mimetype="application/json")


class Server:
    def __init__(self, provider: Route):
        self.provider = provider

    def make_url_map(self) -> Map:
        return Map([Rule("/dossiers/<dossier_id>", endpoint=self.provider, methods=["GET"])])


class Recorder:
    def __init__(self):
        self.lines: list[tuple[str, dict]] = []

    def info(self, event: str, **fields) -> None:
        self.lines.append((event, fields))


@pytest.fixture
def recorded(monkeypatch):
    """(access lines, metrics observations) of the requests a test makes."""
    lines, observed = Recorder(), []
    monkeypatch.setattr(http, "log", lines)
    monkeypatch.setattr(http, "observe_http", lambda *args: observed.append(args))
    monkeypatch.setenv("JALON_TRUSTED_PROXIES", "1")
    return lines.lines, observed


def client(status: int = 200, user_id: str | None = None) -> Client:
    return Client(GatewayWsgiApp(Server(Route(status, user_id))))


def test_a_request_is_logged_once_with_its_correlation_id_route_and_actor(recorded):
    lines, observed = recorded
    response = client(user_id="user-7").get(
        "/dossiers/d-42", headers={"X-Correlation-Id": "trace-me-1",
                                   "X-Forwarded-For": "198.51.100.9"})
    assert response.status_code == 200
    assert response.headers["X-Correlation-Id"] == "trace-me-1"
    [(event, fields)] = lines
    duration = fields.pop("duration_ms")
    assert event == "http_request" and duration >= 0
    assert fields == {"method": "GET", "route": "/dossiers/{dossier_id}", "path": "/dossiers/d-42",
                      "status": 200, "correlation_id": "trace-me-1", "ip": "198.51.100.9",
                      "user_id": "user-7"}
    [(route, method, status, seconds)] = observed
    assert (route, method, status) == ("/dossiers/{dossier_id}", "GET", 200) and seconds >= 0


def test_an_error_answer_is_logged_with_its_status_and_a_fresh_id_it_returns(recorded):
    lines, observed = recorded
    response = client(status=503).get("/dossiers/d-42")
    [(_, fields)] = lines
    assert (fields["status"], fields["user_id"]) == (503, None)
    assert fields["correlation_id"] == response.headers["X-Correlation-Id"] != ""
    assert observed[0][:3] == ("/dossiers/{dossier_id}", "GET", 503)


@pytest.mark.parametrize("method, path, status", [("GET", "/nowhere/42", 404),
                                                  ("DELETE", "/dossiers/d-42", 405)])
def test_a_request_that_matches_no_route_is_logged_as_unmatched(recorded, method, path, status):
    lines, observed = recorded
    response = client().open(path, method=method, headers={"X-Correlation-Id": "lost-1"})
    assert response.status_code == status
    [(_, fields)] = lines
    assert (fields["route"], fields["path"], fields["status"], fields["correlation_id"]) == \
        (UNMATCHED, path, status, "lost-1")
    assert observed[0][:3] == (UNMATCHED, method, status)  # the raw path is no metric label


def test_eventlets_own_access_line_is_off():
    import eventlet

    listener = eventlet.listen(("127.0.0.1", 0))
    try:
        server = GatewayServer().get_wsgi_server(listener, lambda environ, start: [])
        assert server.log_output is False
    finally:
        listener.close()
