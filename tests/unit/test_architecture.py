"""The architecture rules hold in code: import contracts (import-linter) and one service shape.

The import contracts live in pyproject.toml ([tool.importlinter]): services are independent,
neither services nor gateway import each other, domains import neither Nameko nor SQLAlchemy
(not even through another module), and servicekit/contracts know no service.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from servicekit.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SHAPE_FILES = ("__init__.py", "service.py", "domain.py", "models.py", "migrations/env.py")


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_service_package_is_listed_in_config():
    packages = {p.name for p in (ROOT / "services").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_the_common_shape(service):
    package = ROOT / "services" / service
    missing = [name for name in SHAPE_FILES if not (package / name).is_file()]
    assert not missing, f"services/{service} lacks {missing}"
    revisions = list((package / "migrations" / "versions").glob("*.py"))
    assert revisions, f"services/{service}/migrations/versions has no revision"
