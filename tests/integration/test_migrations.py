"""Migrating an empty database yields exactly the declared schema, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billport.store.db import alembic_config, create_engine, migrate
from billport.store.tables import line_items, metadata


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


@pytest.mark.postgres
def test_line_item_documents_stay_inline_and_uncompressed_on_postgres(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            options = conn.execute(
                sa.text("SELECT reloptions FROM pg_class WHERE relname = 'line_items'")
            ).scalar()
            assert options == ["toast_tuple_target=8160"]
            doc = b'{"Total":1.00,"Name":"' + b"x" * 1500 + b'"}'
            big = b'{"Name":"' + b"y" * 20_000 + b'"}'
            for full in (doc, big):
                conn.execute(
                    line_items.insert().values(
                        tenant_id="t",
                        dataset=1,
                        invoice_id="G000000001",
                        billing_month=202610,
                        currency="USD",
                        customer_id="c",
                        charge_type="New",
                        total="1.00",
                        doc_full=full,
                        doc_basic=doc[:1100],
                    )
                )
            sizes = conn.execute(
                sa.text(
                    "SELECT pg_column_size(doc_full), octet_length(doc_full) "
                    "FROM line_items ORDER BY id"
                )
            ).all()
        # A ~3 KB row is stored as is (4-byte header); a row over a page is still toasted.
        assert sizes[0] == (len(doc) + 4, len(doc))
        assert sizes[1][0] < sizes[1][1] == len(big)
        command.downgrade(alembic_config(engine), "0003")
        with engine.connect() as conn:
            assert (
                conn.execute(
                    sa.text("SELECT reloptions FROM pg_class WHERE relname = 'line_items'")
                ).scalar()
                is None
            )
    finally:
        engine.dispose()
