"""kill -9 a worker while it holds a part lease: the export still succeeds, every row once.

Two ``billport worker`` processes on PostgreSQL, a short lease and small parts. The test
freezes one worker (SIGSTOP) until it is caught holding a part lease, then SIGKILLs it;
the other worker takes the part over once the lease expires. A publishing export drops its
``export_parts`` rows, so a trigger the test installs keeps every lease of every part
(owner and attempt): the killed worker's part must have been leased again by the survivor.
"""

from __future__ import annotations

import gzip
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.runtime import Runtime
from billport.settings import load_settings
from billport.store.tables import export_parts
from billport.usecases import operations
from tests.support import exports as data
from tests.support.azurite import BlobBackend
from tests.support.blob_checks import leftovers, published
from tests.support.factory import opened
from tests.support.processes import bulk_lines, process_env, processes

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROWS = 100_000
PARTITION_ROWS = 4_000
# Every lease of a part (lease_next_partition is the only update that sets ``attempts``).
RECORD_LEASES = (
    "CREATE TABLE test_part_leases (operation_id text, part_index integer, lease_owner text, "
    "attempts integer, seen bigserial)",
    "CREATE FUNCTION test_record_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO test_part_leases (operation_id, part_index, lease_owner, attempts) "
    "VALUES (NEW.operation_id, NEW.part_index, NEW.lease_owner, NEW.attempts); "
    "RETURN NEW; END $$",
    "CREATE TRIGGER test_record_lease AFTER UPDATE OF attempts ON export_parts "
    "FOR EACH ROW EXECUTE FUNCTION test_record_lease()",
)


def held_by(engine: sa.Engine, worker: str) -> list[int]:
    """Parts whose live lease belongs to ``worker``."""
    query = sa.select(export_parts.c.part_index).where(
        export_parts.c.status == "running", export_parts.c.lease_owner.like(f"{worker}:%")
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def leases_of(engine: sa.Engine, operation_id: str, part_index: int) -> list[tuple[str, int]]:
    """(worker name, attempt) of every lease the part had, in order."""
    query = sa.text(
        "SELECT lease_owner, attempts FROM test_part_leases "
        "WHERE operation_id = :op AND part_index = :part ORDER BY seen"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"op": operation_id, "part": part_index}).all()
    return [(owner.split(":")[0], attempts) for owner, attempts in rows]


def test_a_killed_workers_part_is_redone_by_the_other(
    pg_url: str, tmp_path: Path, blob_backend: BlobBackend
) -> None:
    data_dir = tmp_path / "data"
    knobs = dict(
        partition_rows=PARTITION_ROWS,
        blob_rows=PARTITION_ROWS // 2,
        lease_seconds=2,
        worker_poll_seconds=0.2,
        worker_listen_seconds=1,
        **blob_backend.overrides,
    )
    settings = load_settings(environ={}, data_dir=data_dir, database_url=pg_url, **knobs)
    with opened(settings) as runtime:
        data.build_dataset(runtime, rows=0)
        with runtime.db.begin() as conn:
            bulk_lines(conn, data.TENANT, data.MODERN, ROWS)
            for statement in RECORD_LEASES:
                conn.execute(sa.text(statement))
        env = process_env(pg_url, data_dir, **knobs)
        with processes(tmp_path, env) as procs:
            victim = procs.start("w1", "worker", "--name", "w1")
            procs.start("w2", "worker", "--name", "w2")
            op = operations.request_export(
                runtime.db,
                runtime.clock,
                data.TENANT,
                Dataset.BILLED_RECONCILIATION,
                {"invoiceId": data.MODERN, "attributeSet": "full"},
            )
            killed_part = catch_and_kill(runtime.db.engine, victim.pid)
            victim.wait(10)
            view = wait_for_end(runtime, op.operation_id, lambda: procs.log("w2"))
        assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
        manifest = view.manifest
        assert manifest is not None and manifest.row_count == ROWS
        assert len(manifest.blobs) == 2 * (ROWS // PARTITION_ROWS)
        exported: list[bytes] = []
        for blob in manifest.blobs:
            body = b"".join(runtime.blobs.read(f"{manifest.root_path}/{blob.name}"))
            exported += gzip.decompress(body).split(b"\n")[:-1]
        stored = data.stored_docs(
            runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, invoice_id=data.MODERN
        )
        assert len(stored) == ROWS
        assert exported == stored  # every row exactly once, in id order
        # The killed worker's part was leased again, and finished, by the survivor.
        leases = leases_of(runtime.db.engine, op.operation_id, killed_part)
        owners = [owner for owner, _ in leases]
        assert "w1" in owners and owners[-1] == "w2", leases
        assert [attempt for _, attempt in leases] == list(range(1, len(leases) + 1)), leases
        assert leftovers(runtime.blobs) == []
        assert published(runtime.blobs, manifest.root_path) == sorted(
            b.name for b in manifest.blobs
        )


def catch_and_kill(engine: sa.Engine, pid: int) -> int:
    """Freeze the worker until it is seen holding a part lease, then SIGKILL it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.05)
        os.kill(pid, signal.SIGSTOP)
        held = held_by(engine, "w1")
        if held:
            os.kill(pid, signal.SIGKILL)
            return held[0]
        os.kill(pid, signal.SIGCONT)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("w1 was never caught holding a part lease (export too small?)")


def wait_for_end(
    runtime: Runtime, operation_id: str, log: Callable[[], str]
) -> operations.OperationView:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        view = operations.read_operation(runtime.db, data.TENANT, operation_id)
        if view.operation.status in (Status.SUCCEEDED, Status.FAILED):
            return view
        time.sleep(0.2)
    raise AssertionError(f"export did not finish; w2 log:\n{log()}")
