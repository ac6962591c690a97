"""Exports written by several processes: same bytes as one process, and clean failures.

Every test runs on SQLite and PostgreSQL; the storage tests also on the local directory and
on Azurite. Children are killed, leases stolen and stops requested through the worker's own
hooks (its stop flag and the lease row), never by patching billport.
"""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.billing.scopes import Scope
from billport.exports.pool import ExportPool
from billport.exports.writer import write_blobs
from billport.jobs.export_job import ExportJob, resolve_scope
from billport.jobs.lease import Interrupted, LeaseLost
from billport.jobs.worker import Worker, job_context
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import export_rows
from billport.store import operations as op_store
from billport.store.export_rows import CHUNK_ROWS
from billport.store.tables import operations as operations_table
from billport.usecases import operations
from tests.support import exports as data
from tests.support.azurite import BlobBackend
from tests.support.blob_checks import leftovers
from tests.support.factory import opened

pytestmark = pytest.mark.slow  # each test builds 7,000 rows and starts export processes
ROWS = 7_000
PART_ROWS = 3_000  # not a multiple of CHUNK_ROWS: the children must cut chunks the same way


@pytest.fixture
def runtime(settings: Settings, blob_backend: BlobBackend) -> Iterator[Runtime]:
    changes = dict(now="", blob_rows=PART_ROWS, export_processes=2, **blob_backend.overrides)
    with opened(settings, **changes) as runtime:
        data.build_dataset(runtime, rows=ROWS)
        yield runtime


def published_everywhere(runtime: Runtime) -> list[str]:
    """Every published blob of the billed-reconciliation container, whatever its directory."""
    return [
        name
        for name in _all_names(runtime)
        if name.startswith("billedreconfastpath/") and "_staging" not in name
    ]


def _all_names(runtime: Runtime) -> list[str]:
    store = runtime.blobs
    root = getattr(store, "root", None)
    if root is not None:
        return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    return [b.name for b in store.container.list_blobs()]  # type: ignore[attr-defined]


def blob_bodies(runtime: Runtime, root: str, names: list[str]) -> list[bytes]:
    return [b"".join(runtime.blobs.read(f"{root}/{name}")) for name in names]


def in_process_bodies(
    runtime: Runtime,
    scope: Scope,
    ids: tuple[int, int] | None = None,
    blob_rows: int = PART_ROWS,
) -> list[bytes]:
    """What the in-process writer (``write_blobs`` over one stream) produces."""
    with runtime.db.connect() as conn:
        written = write_blobs(
            export_rows.stream_chunks(conn, scope, blob_rows=blob_rows, ids=ids),
            store=runtime.blobs,
            staging_key="expected",
            root="billedreconfastpath/expected",
            blob_rows=blob_rows,
            level=runtime.settings.gzip_level,
        )
    bodies = []
    for part in written:
        runtime.blobs.publish(part.staged)
        bodies += blob_bodies(runtime, "billedreconfastpath/expected", [part.name])
        runtime.blobs.delete_prefix(f"billedreconfastpath/expected/{part.name}")
    runtime.blobs.discard_staging("expected")
    return bodies


def test_blobs_written_by_two_processes_equal_the_in_process_output(runtime: Runtime) -> None:
    assert PART_ROWS % CHUNK_ROWS  # blobs end mid-chunk: the chunking restarts per blob
    operation_id = data.queue_export(runtime, attributeSet="full")
    worker = Worker(runtime)
    assert worker.run(once=True) == 1
    view = operations.read_operation(runtime.db, data.TENANT, operation_id)
    assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
    manifest = view.manifest
    assert manifest is not None and manifest.row_count == ROWS
    names = [b.name for b in manifest.blobs]
    assert [n[:10] for n in names] == ["part-00000", "part-00001", "part-00002"]
    assert [b.rows for b in manifest.blobs] == [3000, 3000, 1000]
    bodies = blob_bodies(runtime, manifest.root_path, names)
    scope = resolve_scope(runtime.db, view.operation)
    assert isinstance(scope, Scope)
    assert bodies == in_process_bodies(runtime, scope)  # byte for byte
    rows = [line for body in bodies for line in gzip.decompress(body).split(b"\n")[:-1]]
    stored = data.stored_docs(
        runtime, Dataset.BILLED_RECONCILIATION, AttributeSet.FULL, invoice_id=data.MODERN
    )
    assert rows == stored  # every row once, in id order
    assert [b.size for b in manifest.blobs] == [len(b) for b in bodies]
    assert leftovers(runtime.blobs) == []
    assert sorted(published_everywhere(runtime)) == sorted(
        f"{manifest.root_path}/{n}" for n in names
    )


def test_parts_of_a_partitioned_export_write_their_blobs_in_processes_byte_for_byte(
    runtime: Runtime,
) -> None:
    # Parts of 5,000 rows in blobs of 1,500: 1,500 x3 + 500 | 1,500 + 500.
    runtime.settings = runtime.settings.replace(partition_rows=5_000, blob_rows=1_500)
    operation_id = data.queue_export(runtime, attributeSet="full")
    assert Worker(runtime).run(once=True) == 3  # the plan, then two parts
    view = operations.read_operation(runtime.db, data.TENANT, operation_id)
    assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
    manifest = view.manifest
    assert manifest is not None
    assert [b.rows for b in manifest.blobs] == [1500, 1500, 1500, 500, 1500, 500]
    names = [b.name for b in manifest.blobs]
    assert [int(n[5:10]) for n in names] == [0, 1, 2, 3, 4, 5]
    scope = resolve_scope(runtime.db, view.operation)
    assert isinstance(scope, Scope)
    expected: list[bytes] = []
    with runtime.db.connect() as conn:
        stats = export_rows.scope_stats(conn, scope)
        starts = export_rows.partition_starts(conn, scope, stats.low, 5_000)
    for lo, hi in zip(starts, [*starts[1:], stats.high + 1], strict=True):
        expected += in_process_bodies(runtime, scope, (lo, hi), 1_500)
    assert blob_bodies(runtime, manifest.root_path, names) == expected
    assert leftovers(runtime.blobs) == []


class KillChildrenOnce(threading.Event):
    """A worker stop flag that SIGKILLs the export processes the first time it sees them."""

    def __init__(self, pool: ExportPool) -> None:
        super().__init__()
        self.pool, self.killed = pool, 0

    def is_set(self) -> bool:
        pids = self.pool.pids()
        if pids and not self.killed:
            for pid in pids:
                os.kill(pid, 9)
            self.killed = len(pids)
        return super().is_set()


def test_a_killed_export_process_fails_the_attempt_which_is_retried_cleanly(
    runtime: Runtime,
) -> None:
    operation_id = data.queue_export(runtime, attributeSet="full")
    worker = Worker(runtime)
    assert worker.pool is not None
    worker.stopping = stop_flag = KillChildrenOnce(worker.pool)
    assert worker.run(once=True) == 2  # the attempt the kill broke, then the retry
    assert stop_flag.killed >= 1
    view = operations.read_operation(runtime.db, data.TENANT, operation_id)
    assert view.operation.status is Status.SUCCEEDED, view.operation.error_message
    assert view.operation.attempts == 2
    manifest = view.manifest
    assert manifest is not None and manifest.row_count == ROWS
    assert leftovers(runtime.blobs) == []
    assert sorted(published_everywhere(runtime)) == sorted(
        f"{manifest.root_path}/{b.name}" for b in manifest.blobs
    )


def leased_job(runtime: Runtime, pool: ExportPool, stop: threading.Event) -> ExportJob:
    data.queue_export(runtime, attributeSet="full")
    with runtime.db.begin() as conn:
        op = op_store.lease_next(conn, owner="me", now=runtime.clock(), lease_seconds=30)
    assert op is not None
    return ExportJob(job_context(runtime, pool), op, "me", stop.is_set)


class StopWhenChildrenRun(threading.Event):
    """A stop request that arrives while the export processes are writing."""

    def __init__(self, pool: ExportPool) -> None:
        super().__init__()
        self.pool, self.children = pool, [0]

    def is_set(self) -> bool:
        if not super().is_set() and self.pool.pids():
            self.children = self.pool.pids()
            self.set()
        return super().is_set()


def test_a_stop_request_kills_the_children_and_leaves_nothing(runtime: Runtime) -> None:
    pool = ExportPool(2)
    stop = StopWhenChildrenRun(pool)
    job = leased_job(runtime, pool, stop)
    with pytest.raises(Interrupted):
        job.run()
    assert all(not _alive(pid) for pid in stop.children)
    assert pool.pids() == []
    assert leftovers(runtime.blobs) == []
    assert published_everywhere(runtime) == []
    pool.shutdown()


def test_a_lost_lease_kills_the_children_and_leaves_nothing(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.replace(lease_seconds=0.03)  # renew on every beat
    pool = ExportPool(2)

    class StealLease(threading.Event):
        def is_set(self) -> bool:
            if pool.pids():
                with runtime.db.begin() as conn:
                    conn.execute(sa.update(operations_table).values(lease_owner="thief"))
            return False

    job = leased_job(runtime, pool, StealLease())
    with pytest.raises(LeaseLost):
        job.run()
    assert pool.pids() == []
    assert leftovers(runtime.blobs) == []
    assert published_everywhere(runtime) == []
    pool.shutdown()


def test_a_pool_recovers_after_its_children_died(runtime: Runtime) -> None:
    pool = ExportPool(2)
    job = leased_job(runtime, pool, KillChildrenOnce(pool))
    with pytest.raises(BrokenProcessPool):
        job.run()
    assert leftovers(runtime.blobs) == []
    assert published_everywhere(runtime) == []
    again = ExportJob(job_context(runtime, pool), job.op, "me", threading.Event().is_set)
    again.run()  # a fresh pool, same lease
    view = operations.read_operation(runtime.db, data.TENANT, job.op.operation_id)
    assert view.operation.status is Status.SUCCEEDED
    assert view.manifest is not None and view.manifest.row_count == ROWS
    pool.shutdown()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
