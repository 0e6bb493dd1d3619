"""tools.stack helpers and tools.demo against a fake gateway (HTTP, in a thread). The demo's
whole run, twice (idempotent), is in tests/e2e/test_demo.py against the real stack."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import date

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from servicekit import registry
from tools import demo
from tools.stack import gateway_url, tail, unhealthy_parts

ALL_OK = {"status": "ok", "services": {name: {"status": "ok", "database": "ok"} for name in
                                        registry.names() if name != "gateway"}}


def test_health_all_ok():
    assert unhealthy_parts(ALL_OK) == []
    as_list = {"services": [{"service": k, **v} for k, v in ALL_OK["services"].items()]}
    assert unhealthy_parts(as_list) == []


def test_health_names_what_is_down():
    body = json.loads(json.dumps(ALL_OK))
    body["services"]["documents"] = {"status": "unavailable"}
    del body["services"]["payments"]
    assert unhealthy_parts(body) == ["documents", "payments"]
    assert unhealthy_parts(None) == ["gateway"]
    assert unhealthy_parts({"status": "degraded"}) == ["gateway"]


def test_gateway_url_reaches_any_address_on_loopback():
    assert gateway_url("0.0.0.0:8000") == "http://127.0.0.1:8000"
    assert gateway_url("127.0.0.1:18080") == "http://127.0.0.1:18080"


def test_tail_keeps_the_end_of_a_log(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("\n".join(str(i) for i in range(100)))
    assert tail(log, 3) == "97\n98\n99"
    assert "no log" in tail(tmp_path / "missing.log")


def test_months_back_crosses_years():
    assert demo.months_back(date(2026, 2, 14), 3) == date(2025, 11, 1)
    assert demo.months_back(date(2026, 12, 31), 0) == date(2026, 12, 1)


class FakeGateway:
    """Just enough of the gateway's routes for the demo, with the same status codes."""

    def __init__(self):
        self.users = {}  # identifier -> (password, organisation_id)
        self.tokens = {}
        self.created: list[str] = []
        self.dossiers: list[dict] = []
        self.documents: dict[str, dict] = {}

    def add_user(self, user: dict, organisation_id: str | None = None) -> None:
        self.users[user["identifier"]] = (user["password"], organisation_id)

    def __call__(self, environ, start_response):
        request = Request(environ)
        status, body = self.route(request.method, request.path, request)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

    def route(self, method, path, request):
        if (method, path) == ("POST", "/auth/login"):
            return self.login(request.get_json())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return 401, {"code": "unauthenticated"}
        if (method, path) == ("GET", "/me"):
            return 200, {"organisation": {"id": self.users[self.tokens[token]][1]}}
        if (method, path) == ("GET", "/dossiers"):
            return 200, {"items": self.dossiers}
        if method == "POST" and path in ("/organisations", "/beneficiaries", "/employers",
                                         "/dossiers"):
            return self.create(path, request.get_json())
        if path.startswith("/documents"):
            return self.document_route(method, path, request, self.tokens[token])
        return 404, {"code": "not_found"}

    def document_route(self, method, path, request, identifier):
        if (method, path) == ("GET", "/documents"):
            return 200, list(self.documents.values())
        if (method, path) == ("POST", "/documents"):
            document_id = str(uuid.uuid4())
            by_funder = identifier == demo.ADMIN.identifier
            self.documents[document_id] = {
                "id": document_id, **request.form, "filename": request.files["file"].filename,
                "size": len(request.files["file"].read()),
                "status": "deposited_by_funder" if by_funder else "deposited"}
            return 201, {"document_id": document_id}
        document = self.documents[path.split("/")[2]]
        if method == "POST" and path.endswith("/check"):
            document["status"] = "checked"
        elif method == "POST" and path.endswith("/reject"):
            document.update(status="rejected", **request.get_json())
        return 200, document

    def login(self, credentials):
        password, _ = self.users.get(credentials["identifier"], (None, None))
        if password != credentials["password"]:
            return 401, {"code": "invalid_credentials"}
        token = uuid.uuid4().hex
        self.tokens[token] = credentials["identifier"]
        return 200, {"access_token": token}

    def create(self, path, payload):
        record = {**payload, "id": str(uuid.uuid4())}
        self.created.append(path)
        if path == "/organisations":
            self.add_user(payload["user"], record["id"])
        if path == "/dossiers":
            self.dossiers.append(record)
        return 201, record


@pytest.fixture
def fake_gateway():
    fake = FakeGateway()
    server = make_server("127.0.0.1", 0, fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_demo_explains_a_failing_call(fake_gateway):
    _, url = fake_gateway
    with pytest.raises(demo.DemoError, match="admin.demo cannot log in"):
        demo.load(url, lambda: False, lambda: [], date(2026, 3, 10))


def test_instructions_cover_the_core_flow():
    text = demo.instructions(demo.DemoData("http://127.0.0.1:8000", "d-1", "2026-02"))
    for fragment in ("/auth/login", "/certificates/$MONTH/hours", "/certify", "/documents",
                     "/content", "/payment-lock", demo.ORGANISATION_USER.identifier,
                     "http://127.0.0.1:8000/signup?funder=opco-demo", "admin.opco.demo"):
        assert fragment in text


def test_a_service_dies_with_its_launcher(tmp_path):
    """kill -9 of the launcher must not leave services running against the broker."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    launcher = tmp_path / "launcher.py"
    launcher.write_text(
        "import subprocess, sys, time\n"
        "from tools.stack import die_with_parent\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],\n"
        "                         preexec_fn=die_with_parent)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n")
    root = str(Path(__file__).resolve().parents[2])
    parent = subprocess.Popen([sys.executable, str(launcher)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": root})
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()

    def running() -> bool:
        stat = Path(f"/proc/{child}/stat")
        return stat.exists() and stat.read_text().split()[2] != "Z"

    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()
