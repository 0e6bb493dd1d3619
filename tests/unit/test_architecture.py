"""The architecture rules hold in code: import contracts (import-linter), services registered.

The import contracts live in pyproject.toml ([tool.importlinter]): services are independent,
neither services nor gateway import each other, domains import only contracts.common of ours
(and neither Nameko nor SQLAlchemy, not even through another module), handlers import neither
Nameko nor SQLAlchemy, servicekit/contracts know no service, contracts import nothing of ours
outside contracts, and only tests and bench import tools (nothing imports tests or bench).
The files of a service are checked by test_service_shape.py.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from servicekit import registry

ROOT = Path(__file__).resolve().parents[2]
SERVICE_NAMES = ("identity", "dossiers", "certification", "payments", "documents",
                 "notifications", "integration")


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_domains_may_import_no_contracts_module_but_common():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [pure] = [c for c in contracts["contracts"] if c["name"].startswith("Domains import only")]
    modules = {f"contracts.{p.stem}" for p in (ROOT / "contracts").iterdir()
               if p.suffix == ".py" and p.stem != "__init__"
               or (p / "__init__.py").is_file() and p.name != "common"}
    forbidden = {m for m in pure["forbidden_modules"] if m.startswith("contracts.")}
    assert forbidden == modules


def test_every_service_package_registers_itself():
    packages = {f"services.{p.name}" for p in (ROOT / "services").iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    assert {registry.package(name) for name in registry.databases()} == packages


def test_each_registered_name_runs_the_class_of_that_name():
    for name in registry.names():
        assert registry.service_class(name).name == name


def test_the_kit_names_no_service():
    # Plumbing knows no domain: services register themselves (servicekit/registry.py).
    word = re.compile(rf"\b({'|'.join(SERVICE_NAMES)})\b", re.IGNORECASE)
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "servicekit").rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if word.search(line)]
    assert not found, "\n".join(found)
