"""`/healthz` and `/readyz` on a real database: what each reports, and that neither waits."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from billport.runtime import Runtime
from billport.settings import Settings
from billport.store.db import Database
from billport.store.probe import DatabaseProbe
from billport.usecases import health
from tests.support import exports as data
from tests.support.factory import app_client, opened


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[TestClient, Runtime]]:
    with opened(settings) as runtime, app_client(runtime) as client:
        yield client, runtime


def test_a_working_server_is_ready(served: tuple[TestClient, Runtime]) -> None:
    client, runtime = served
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["blob storage"] == "ok"
    if runtime.db.dialect == "sqlite":
        assert body["checks"]["database disk"] == "ok"
    assert client.get("/healthz").json()["status"] == "ok"


def test_a_full_disk_makes_the_server_not_ready(
    served: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = served
    monkeypatch.setattr(health, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has free
    response = client.get("/readyz")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == "not ready"
    assert "MiB free under" in body["checks"]["blob storage"]
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_a_sqlite_writer_holding_the_lock_is_reported_promptly(
    served: tuple[TestClient, Runtime],
) -> None:
    client, runtime = served
    if runtime.db.dialect != "sqlite":
        pytest.skip("SQLite's write lock")
    writer = sqlite3.connect(runtime.db.engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = client.get("/readyz")
        waited = time.monotonic() - started
        alive = client.get("/healthz")  # readers go on under WAL
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "the database is locked by a writer"
    assert waited < 5  # the probe's own busy timeout, not the API's 30 s
    assert alive.status_code == 200
    assert client.get("/readyz").status_code == 200  # ready again once the writer is done


@pytest.mark.postgres
def test_a_read_only_postgresql_is_reported(settings: Settings) -> None:
    if not settings.effective_database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's read-only transactions")
    url = sa.engine.make_url(settings.effective_database_url).update_query_dict(
        {"options": "-c default_transaction_read_only=on"}
    )
    engine = sa.create_engine(url)
    probe = DatabaseProbe(engine)
    try:
        state = probe.state(check_writes=True)
        assert (state.reachable, state.writable) == (True, False)
        assert state.problem == "the database is read-only"
        assert probe.state(check_writes=False).writable  # liveness does not ask for writes
    finally:
        probe.dispose()
        engine.dispose()


def test_healthz_answers_while_every_pooled_connection_is_busy(
    served: tuple[TestClient, Runtime],
) -> None:
    client, runtime = served
    pool = runtime.db.engine.pool
    held = [
        runtime.db.engine.connect() for _ in range(pool.size() + getattr(pool, "_max_overflow", 0))
    ]
    try:
        started = time.monotonic()
        response = client.get("/healthz")
        waited = time.monotonic() - started
    finally:
        for conn in held:
            conn.close()
    assert response.status_code == 200
    assert waited < 5  # the API's pool timeout is 30 s


def read_only(settings: Settings) -> Database:
    """The test's database, opened so that it refuses every write."""
    url = sa.engine.make_url(settings.effective_database_url)
    if url.get_backend_name() == "postgresql":
        url = url.update_query_dict({"options": "-c default_transaction_read_only=on"})
        return Database(sa.create_engine(url))
    uri = f"sqlite:///file:{url.database}?mode=ro&uri=true"
    return Database(sa.create_engine(uri))


def test_a_read_only_database_is_a_503_with_retry_after(
    served: tuple[TestClient, Runtime], settings: Settings
) -> None:
    client, runtime = served
    data.build_dataset(runtime)
    headers = data.graph_headers(runtime)
    working, runtime.db = runtime.db, read_only(settings)
    try:
        posted = client.post(
            "/v1.0/reports/partners/billing/reconciliation/billed/export",
            json={"invoiceId": data.MODERN},
            headers=headers,
        )
        ready = client.get("/readyz")
    finally:
        runtime.db.dispose()
        runtime.db = working
    assert posted.status_code == 503, posted.text
    assert posted.json()["error"]["code"] == "serviceNotAvailable"
    assert int(posted.headers["retry-after"]) >= 1
    assert "Traceback" not in posted.text
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "the database is read-only"


def test_a_recent_ping_answers_liveness_without_io(
    served: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = served
    fresh = Database(runtime.db.engine)
    assert health.recent_health(fresh) is None  # never pinged: the probe must run
    fresh.probe.dispose()
    assert client.get("/healthz").status_code == 200
    assert health.recent_health(runtime.db) is not None  # that ping stands for a moment
    monkeypatch.setattr("billport.store.probe.LIVENESS_SECONDS", 0.0)
    assert health.recent_health(runtime.db) is None  # and no longer
