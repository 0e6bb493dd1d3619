"""Every service has the same files in the same roles (docs/architecture.md, "Where a line
goes"): entrypoints in service.py, use cases in handlers.py, pure rules in domain, the only SQL
in models.py, other I/O in adapters.py. A reader who knows one service knows them all."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists())
REQUIRED = {"__init__.py", "service.py", "handlers.py", "models.py", "adapters.py"}
ALLOWED_DIRS = {"domain", "migrations", "templates", "__pycache__"}
MAX_SERVICE_LINES = 300
# SQL or a SQLAlchemy session at work ("session" alone is also a training session).
STORAGE = re.compile(r"\bselect\(|\b(uow|db|reading)\.session\b|"
                     r"\bsession\.(execute|get|add|add_all|scalar|scalars|query|delete|flush|merge)\(")
ROLE_AS_TEXT = re.compile(r"""role\b.*["'](funder_admin|funder_agent|organisation_user|beneficiary|employer)["']""")


def _sources(service: str, part: str) -> list[Path]:
    package = ROOT / "services" / service
    if part == "domain":
        folder = package / "domain"
        return sorted(folder.glob("*.py")) if folder.is_dir() else [package / "domain.py"]
    return [package / f"{part}.py"]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _code_lines(path: Path) -> list[str]:
    """The lines of code, docstrings and comments left out (they may name what they avoid)."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    return [line.split("#")[0] for number, line in enumerate(path.read_text().splitlines(), 1)
            if number not in docstrings]


def test_services_are_found():
    assert len(SERVICES) >= 6


@pytest.mark.parametrize("service", SERVICES)
def test_same_files_in_every_service(service):
    package = ROOT / "services" / service
    files = {p.name for p in package.iterdir() if p.is_file()}
    dirs = {p.name for p in package.iterdir() if p.is_dir()}
    assert REQUIRED <= files, f"services/{service} lacks {sorted(REQUIRED - files)}"
    has_domain = "domain.py" in files or (package / "domain" / "__init__.py").is_file()
    assert has_domain, f"services/{service} has no domain (domain.py or domain/)"
    extra = files - REQUIRED - {"domain.py"}
    assert not extra, f"services/{service}: {sorted(extra)} belong in domain, handlers or adapters"
    assert dirs <= ALLOWED_DIRS, f"services/{service}: unexpected folders {sorted(dirs - ALLOWED_DIRS)}"
    assert list((package / "migrations" / "versions").glob("*.py")), "no migration"


@pytest.mark.parametrize("service", SERVICES)
def test_entrypoints_are_few_lines(service):
    lines = len((ROOT / "services" / service / "service.py").read_text().splitlines())
    assert lines <= MAX_SERVICE_LINES, f"services/{service}/service.py has {lines} lines"


@pytest.mark.parametrize("part", ["service", "handlers", "domain"])
@pytest.mark.parametrize("service", SERVICES)
def test_no_sql_outside_models(service, part):
    for path in _sources(service, part):
        assert not any(module.startswith("sqlalchemy") for module in _imports(path)), path
        offending = [line.strip() for line in _code_lines(path) if STORAGE.search(line)]
        assert not offending, f"{path.relative_to(ROOT)}: {offending[:3]}"


@pytest.mark.parametrize("part", ["handlers", "domain"])
@pytest.mark.parametrize("service", SERVICES)
def test_use_cases_and_rules_know_no_nameko(service, part):
    for path in _sources(service, part):
        assert not any(module.split(".")[0] in {"nameko", "eventlet", "kombu"}
                       for module in _imports(path)), path


@pytest.mark.parametrize("service", SERVICES)
def test_every_use_case_has_fast_tests(service):
    """Each public function of handlers.py is called by name in tests/unit/<service>/."""
    handlers = ast.parse((ROOT / "services" / service / "handlers.py").read_text())
    use_cases = {node.name for node in handlers.body
                 if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    tests = " ".join(p.read_text() for p in (ROOT / "tests" / "unit" / service).glob("test_*.py"))
    untested = sorted(name for name in use_cases if f"{name}(" not in tests)
    assert not untested, f"services/{service}/handlers.py: no fast test calls {untested}"


@pytest.mark.parametrize("service", SERVICES)
def test_domain_uses_role_enums(service):
    for path in _sources(service, "domain") + _sources(service, "handlers"):
        quoted = [line.strip() for line in _code_lines(path) if ROLE_AS_TEXT.search(line)]
        assert not quoted, f"{path.relative_to(ROOT)} writes roles as strings: {quoted[:3]}"
