"""`python -m tools.audit verify` against a fake gateway (HTTP, in a thread): its exit status
and what it prints, intact or broken."""
from __future__ import annotations

import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tools import audit

BROKEN = {"intact": False, "entries": 12, "head_position": 12,
          "message": "La chaîne du journal est rompue à la position 3 (entrée e-3) : le contenu "
                     "de l'entrée a été modifié.",
          "broken_at": {"entry_id": "e-3", "position": 3, "reason": "modifié"}}
INTACT = {"intact": True, "entries": 12, "head_position": 12, "broken_at": None,
          "message": "La chaîne du journal est intacte : 12 entrées vérifiées."}


@pytest.fixture
def gateway():
    answer = {"verify": INTACT}

    @Request.application
    def app(request):
        if request.path == "/auth/login":
            body = {"access_token": "t", "privacy_policy_pending": False,
                    "must_personalise": False}
        elif request.path == "/audit/verify" and request.headers.get("Authorization") == \
                "Bearer t":
            body = answer["verify"]
        else:
            return Response("{}", status=404, content_type="application/json")
        return Response(json.dumps(body), content_type="application/json")

    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield answer, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def run(url, monkeypatch, capsys):
    monkeypatch.setenv("JALON_AUDIT_PASSWORD", "x")
    status = audit.main(["verify", "--url", url, "--identifier", "admin"])
    return status, capsys.readouterr()


def test_an_intact_chain_exits_0(gateway, monkeypatch, capsys):
    _, url = gateway
    status, printed = run(url, monkeypatch, capsys)
    assert status == 0
    assert printed.out.strip() == "La chaîne du journal est intacte : 12 entrées vérifiées."


def test_a_broken_chain_exits_1_and_names_the_entry(gateway, monkeypatch, capsys):
    answer, url = gateway
    answer["verify"] = BROKEN
    status, printed = run(url, monkeypatch, capsys)
    assert status == 1
    assert "rompue à la position 3" in printed.out
    assert printed.out.strip().endswith("entrée : e-3, position : 3")


def test_an_unreachable_gateway_exits_2(monkeypatch, capsys):
    status, printed = run("http://127.0.0.1:9", monkeypatch, capsys)
    assert status == 2 and printed.err.startswith("Vérification impossible")
