"""Alembic, driven from code: one migration history per service, in the `migrations` folder
beside its registered module (servicekit/registry.py).

`python -m servicekit.migrate all` (or a service name) upgrades to head;
`python -m servicekit.migrate NAME --autogenerate "message"` writes a new revision.
"""
from __future__ import annotations

import argparse

from alembic import command
from alembic.config import Config

from servicekit import config, registry


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(registry.migrations_folder(service)))
    cfg.set_main_option("sqlalchemy.url", url or config.load().database_url(service))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    settings = config.load()
    if (url or settings.database_url(service)).startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(service, url), "head")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    services = registry.databases()
    parser.add_argument("name", choices=[*services, "all"])
    parser.add_argument("--autogenerate", metavar="MESSAGE")
    args = parser.parse_args()
    names = services if args.name == "all" else (args.name,)
    for name in names:
        if args.autogenerate:
            command.revision(alembic_config(name), message=args.autogenerate, autogenerate=True)
        else:
            upgrade(name)


if __name__ == "__main__":
    main()
