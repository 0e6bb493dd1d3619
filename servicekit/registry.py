"""The processes this installation runs, as they register themselves: the kit names none.

Each registers a package entry point in the group `jalon.services` (pyproject.toml):
`name = "package.module:Class"`, the class being the Nameko service called `name`. One that
owns a database keeps its Alembic history in a `migrations` folder beside that module, and its
tables in the `models` module there (servicekit.migrate, servicekit.alembic_env).
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

GROUP = "jalon.services"


@functools.cache  # installed once: the list cannot change while the process runs
def _entry_points() -> dict[str, EntryPoint]:
    # A source tree's own egg-info can list the group a second time: one entry per name.
    registered = {entry.name: entry for entry in entry_points(group=GROUP)}
    if not registered:  # else `migrate all` would quietly migrate nothing
        raise RuntimeError(f"no process registered in the {GROUP!r} entry points: install "
                           "the project (make setup, or pip install -e .)")
    return registered


def names() -> tuple[str, ...]:
    """Every registered process, sorted by name."""
    return tuple(sorted(_entry_points()))


def service_class(name: str) -> type:
    entry = _entry_points()[name]
    service = entry.load()
    if getattr(service, "name", None) != name:
        raise ValueError(f"{entry.value} is registered as {name!r} but is not named so")
    return service


def package(name: str) -> str:
    """The package of the process's module: where its models and migrations live."""
    return _entry_points()[name].module.rpartition(".")[0]


def migrations_folder(name: str) -> Path:
    spec = importlib.util.find_spec(package(name))
    return Path(spec.submodule_search_locations[0]) / "migrations"


def models(name: str):
    return importlib.import_module(f"{package(name)}.models")


def databases() -> tuple[str, ...]:
    """The registered processes that own a database (they have migrations)."""
    return tuple(name for name in names() if migrations_folder(name).is_dir())
