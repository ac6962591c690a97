"""Migrating an empty database yields exactly the declared schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billport.store.db import create_engine, migrate
from billport.store.tables import metadata


def test_migrated_schema_equals_declared_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # idempotent
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        engine.dispose()
