"""Shared fixtures: every database test runs on a fresh SQLite file *and* a fresh PostgreSQL db.

PostgreSQL databases are cloned from a template migrated once per session (procrastinate's
trick), so a test pays for ``CREATE DATABASE ... TEMPLATE`` instead of a full migration.
Set ``BILLPORT_TEST_POSTGRES=0`` to skip PostgreSQL locally; CI always runs it.

A test that needs a Runtime, the app or a live server over these settings opens them with
tests/support/factory.py (``opened``, ``app_client``, ``live_server``), never by hand.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from billport.settings import Settings, load_settings
from billport.store.db import Database, create_engine, migrate

PG_ADMIN_URL = os.environ.get(
    "BILLPORT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PG_ENABLED = os.environ.get("BILLPORT_TEST_POSTGRES", "1") != "0"
TEMPLATE = f"billport_tpl_{os.getpid()}"
# Azurite (session) and the local/Azure `blob_backend` matrix live in their own module.
pytest_plugins = ["tests.support.azurite"]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return str(sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_ENABLED:
        pytest.skip("PostgreSQL tests disabled (BILLPORT_TEST_POSTGRES=0)")
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEMPLATE}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{TEMPLATE}"'))
    engine = create_engine(_pg_url(TEMPLATE))
    migrate(engine)
    engine.dispose()
    yield TEMPLATE
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    template = request.getfixturevalue("pg_template")
    name = f"billport_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Parametrises a test over a fresh SQLite file and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'billport.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test: its own data dir, the parametrised database, a pinned clock."""
    return load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=database_url,
        now="2026-11-21T12:00:00Z",
        worker=False,
        allowed_hosts="localhost,127.0.0.1,::1,testserver",  # TestClient's host
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database.from_settings(settings)
    yield db
    db.dispose()
