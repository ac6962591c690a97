"""Replicas starting together migrate a fresh PostgreSQL database one at a time."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billport.store.db import create_engine, migrate
from billport.store.tables import metadata
from tests.conftest import PG_ADMIN_URL, _pg_url


@pytest.mark.postgres
def test_concurrent_start_ups_migrate_once(pg_template: str) -> None:
    name = f"billport_m_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))  # empty: not from the template
    engines = [create_engine(_pg_url(name)) for _ in range(3)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines), timeout=30)

    def start_up(engine: sa.Engine) -> None:
        try:
            start.wait()
            migrate(engine)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start_up, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        with engines[0].connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
