"""Each service's Alembic history, run from nothing, gives exactly the tables its models.py
declares: a column added to a model without its migration (or the other way) fails here, not
on a production database."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from servicekit import migrate, registry


@pytest.mark.parametrize("service", registry.databases())
def test_the_migrations_build_the_models(service, tmp_path):
    url = f"sqlite:///{tmp_path}/{service}.db"
    migrate.upgrade(service, url)
    metadata = registry.models(service).metadata
    with create_engine(url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
