"""PostgreSQL itself restarted under real billport processes (issue 18, item 7).

Each test runs a private cluster (tests/support/pg_cluster.py) it can stop and start: the
shared server on 5432 must never be restarted. An export caught ``running`` when the
database goes away is retried and succeeds with every row once, or fails with a clear
message — it never stays ``running``; while the database is down the server answers 503
with ``Retry-After`` (the API and ``/readyz``), and it is ready again once it is back. A
worker that finds the database gone waits (it stays alive, without spinning) and runs the
queued export once the database returns.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.runtime import Runtime
from billport.settings import load_settings
from billport.usecases import operations
from tests.support import exports as data
from tests.support.blob_checks import leftovers
from tests.support.factory import opened
from tests.support.pg_cluster import Cluster, private_cluster
from tests.support.processes import manifest_lines, process_env, processes

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
ROWS = 400
DOWN_SECONDS = 2.0
EXPORT = "/v1.0/reports/partners/billing/reconciliation/billed/export"
# A blob per row makes the export take seconds; a short lease brings a takeover soon after
# the database returns; export processes would each hold their own connections (not here).
KNOBS: dict[str, Any] = dict(lease_seconds=2, blob_rows=1, export_processes=1)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as running:
        yield running


@pytest.fixture
def runtime(cluster: Cluster, tmp_path: Path) -> Iterator[Runtime]:
    """The test's own view of the store on the private cluster, with ``ROWS`` rows."""
    settings = load_settings(
        environ={}, data_dir=tmp_path / "data", database_url=cluster.url, worker=False, **KNOBS
    )
    with opened(settings) as opened_runtime:
        data.build_dataset(opened_runtime, rows=ROWS)
        yield opened_runtime


def stored_lines(runtime: Runtime) -> list[bytes]:
    return data.stored_docs(
        runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, invoice_id=data.MODERN
    )


def check_finished(
    client: httpx.Client, runtime: Runtime, operation_id: str, body: dict[str, Any]
) -> None:
    """Succeeded with every stored row exactly once, or failed with a clear message."""
    if body["status"] == "failed":
        error = body["error"]
        assert error["code"] and "submit a new request" in error["message"], body
        assert "database" in error["message"].lower(), body
        return
    assert body["status"] == "succeeded", body
    lines = manifest_lines(client, body["resourceLocation"])
    stored = operations.read_operation(runtime.db, data.TENANT, operation_id).manifest
    assert stored is not None and stored.row_count == ROWS
    assert sorted(lines) == sorted(stored_lines(runtime))  # every row
    assert len(set(lines)) == len(lines) == ROWS  # once
    assert leftovers(runtime.blobs) == []


WRITERS = {  # who writes the blobs: the worker, its export processes, or partition jobs
    "in-worker": {},
    "export-processes": {"export_processes": 2},
    "partitioned": {"partition_rows": ROWS // 3},
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_an_export_running_when_postgres_restarts_finishes(
    cluster: Cluster, runtime: Runtime, tmp_path: Path, writer: str
) -> None:
    knobs = {**KNOBS, **WRITERS[writer]}
    env = process_env(cluster.url, runtime.settings.data_dir, **knobs)
    headers = data.graph_headers(runtime)
    with processes(tmp_path, env) as procs, httpx.Client(timeout=10) as client:
        base = procs.serve("serve", worker=True)
        posted = client.post(base + EXPORT, json={"invoiceId": data.MODERN}, headers=headers)
        assert posted.status_code == 202, posted.text
        poll = posted.headers["Location"]
        wait_for(lambda: len(leftovers(runtime.blobs)) >= 20, 30, "the export to be writing")
        assert client.get(poll, headers=headers).json()["status"] == "running"

        cluster.stop("fast")
        down_until = time.monotonic() + DOWN_SECONDS
        ready, polled = client.get(base + "/readyz"), client.get(poll, headers=headers)
        refused = client.post(base + EXPORT, json={"invoiceId": data.MODERN}, headers=headers)
        time.sleep(max(0.0, down_until - time.monotonic()))
        cluster.start()

        assert ready.status_code == 503, ready.text
        assert ready.headers["Retry-After"].isdigit()
        assert "database" in ready.json()["checks"]["database"]
        assert polled.status_code == 503, polled.text
        assert polled.headers["Retry-After"].isdigit()
        assert polled.json()["error"]["code"], polled.text
        assert refused.status_code == 503 and refused.headers["Retry-After"].isdigit()
        assert "database" in refused.json()["error"]["message"], refused.text  # nothing queued

        body: dict[str, Any] = {}

        def finished() -> bool:
            nonlocal body
            response = client.get(poll, headers=headers)
            body = response.json() if response.status_code == 200 else {"status": "?"}
            return body["status"] in {"succeeded", "failed"}

        wait_for(finished, 30, "the export to end after the restart")
        check_finished(client, runtime, poll.rsplit("/", 1)[-1], body)
        assert client.get(base + "/readyz").status_code == 200
        assert procs.started[0].poll() is None, procs.log("serve")


def test_a_worker_waits_out_a_stopped_postgres_and_runs_the_queued_export(
    cluster: Cluster, runtime: Runtime, tmp_path: Path
) -> None:
    knobs = {**KNOBS, "blob_rows": 100}  # quick once it runs: the wait is what is tested
    env = process_env(cluster.url, runtime.settings.data_dir, **knobs)
    with processes(tmp_path, env) as procs:
        worker = procs.start("worker", "worker", "--name", "w")
        wait_for(lambda: listening(runtime) or worker.poll() is not None, 20, "an idle worker")
        # Frozen, it cannot take the export before the database goes: once thawed it finds
        # the export's wake-up and no database (its LISTEN connection ended too).
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            operation_id = data.queue_export(runtime)
            runtime.db.dispose()  # the test's own connections end with the server anyway
            cluster.stop("fast")
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        log = tmp_path / "worker.log"
        wait_for(lambda: "worker loop error" in log.read_text(), 10, "the worker to see it")
        time.sleep(1.0)  # it must back off now (its next try is 2 s later), not spin or die
        assert worker.poll() is None, procs.log("worker")
        errors_while_down = log.read_text().count("worker loop error")
        cluster.start()

        wait_for(
            lambda: status_of(runtime, operation_id) in {Status.SUCCEEDED, Status.FAILED},
            30,
            "the worker to run the export after the restart",
        )
        view = operations.read_operation(runtime.db, data.TENANT, operation_id)
        assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
        assert view.operation.attempts == 1  # it never had the export while the server was down
        assert view.manifest is not None and view.manifest.row_count == ROWS
        assert worker.poll() is None, procs.log("worker")
        assert errors_while_down == 1, procs.log("worker")  # one failed try in that second


def status_of(runtime: Runtime, operation_id: str) -> Status:
    return operations.read_operation(runtime.db, data.TENANT, operation_id).operation.status


def listening(runtime: Runtime) -> bool:
    """Whether a worker holds its ``LISTEN`` connection (it is up, idle and waiting)."""
    with runtime.db.connect() as conn:
        count = conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
        ).scalar_one()
    return bool(count)


def test_a_worker_started_while_postgres_is_down_waits_for_it(
    cluster: Cluster, runtime: Runtime, tmp_path: Path
) -> None:
    env = process_env(cluster.url, runtime.settings.data_dir, **{**KNOBS, "blob_rows": 100})
    operation_id = data.queue_export(runtime)
    runtime.db.dispose()
    cluster.stop("fast")
    with processes(tmp_path, env) as procs:
        worker = procs.start("worker", "worker", "--name", "w")  # e.g. started with the database
        log = tmp_path / "worker.log"
        # It cannot open the store: it must say so and wait (2 s), not exit.
        wait_for(lambda: "retrying in" in log.read_text() or worker.poll() is not None, 20, "it")
        time.sleep(0.5)
        assert worker.poll() is None, procs.log("worker")
        assert log.read_text().count("retrying in") == 1, procs.log("worker")
        cluster.start()
        wait_for(
            lambda: status_of(runtime, operation_id) in {Status.SUCCEEDED, Status.FAILED},
            30,
            "the worker to run the export once the database is back",
        )
        assert status_of(runtime, operation_id) is Status.SUCCEEDED, procs.log("worker")
        assert worker.poll() is None, procs.log("worker")
        assert "The database is unavailable; retrying in 2 s" in log.read_text()
