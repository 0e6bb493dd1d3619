"""Schemathesis against the real stack's /openapi.json: no server error, no reply that breaks
the published schema, for an organisation user and for funder staff."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def run_schemathesis(base_url: str, token: str, cwd: Path) -> subprocess.CompletedProcess:
    # Every operation's documented example, the coverage phase's boundary values, then 3
    # fuzzed requests per operation: more doubles the suite's longest step for little more.
    command = [str(Path(sys.executable).parent / "schemathesis"), "run",
               f"{base_url}/openapi.json",
               "--checks", "not_a_server_error,response_schema_conformance",
               "--max-examples", "3", "--phases", "examples,coverage,fuzzing",
               # One worker: with two, hypothesis parses lambda sources from two threads at once
               # and CPython 3.11's ast.parse fails ("AST constructor recursion depth
               # mismatch"), a crash of the tool, not a finding.
               "--seed", "2", "--workers", "1", "--no-shrink",
               "-H", f"Authorization: Bearer {token}",
               # logout would revoke the very token the run uses
               "--exclude-path-regex", "^/(docs|asyncapi)", "--exclude-path", "/auth/logout",
               "--request-timeout", "15"]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=400,
                          env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.parametrize("who", ["organisation", "funder"])
def test_real_stack_conforms_to_its_openapi(stack, funder_admin, dossier, tmp_path, who):
    client = dossier["organisation"] if who == "organisation" else funder_admin
    token = client.session.headers["Authorization"].removeprefix("Bearer ")
    result = run_schemathesis(stack.base_url, token, tmp_path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
