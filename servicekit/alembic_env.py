"""The body of every service's migrations/env.py: run Alembic against the service's metadata
(the `models` module beside its registered one, servicekit/registry.py)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from servicekit import registry
from servicekit.db import driver_url


def run() -> None:
    cfg = context.config
    metadata = registry.models(cfg.attributes["service"]).metadata
    connectable = create_engine(driver_url(cfg.get_main_option("sqlalchemy.url")),
                                poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
