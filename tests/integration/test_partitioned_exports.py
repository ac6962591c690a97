"""Partitioned exports: parts leased independently, the last one publishes, faults are contained."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from billport.billing.datasets import AttributeSet, Dataset
from billport.billing.operations import Status
from billport.jobs.wakeup import Wakeup
from billport.jobs.worker import Worker, job_context
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import partitions as partition_store
from billport.store.manifests import ExportBlob
from billport.store.tables import export_parts, export_plans
from billport.usecases import operations
from tests.support import exports as data
from tests.support.factory import opened

ROWS = 10


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    # Parts of 3 rows, blobs of 2 rows: parts hold 3+3+3+1 rows in blobs of 2,1 | 2,1 | 2,1 | 1.
    with opened(settings, partition_rows=3, blob_rows=2, lease_seconds=30) as runtime:
        data.build_dataset(runtime, rows=ROWS)
        yield runtime


def status_of(runtime: Runtime, operation_id: str) -> operations.OperationView:
    return operations.read_operation(runtime.db, data.TENANT, operation_id)


def exported_lines(runtime: Runtime, view: operations.OperationView) -> list[bytes]:
    assert view.manifest is not None
    lines: list[bytes] = []
    for blob in view.manifest.blobs:
        path = runtime.settings.blob_dir / view.manifest.root_path / blob.name
        content = gzip.decompress(path.read_bytes())
        assert content.count(b"\n") == blob.rows
        lines += content.split(b"\n")[:-1]
    return lines


def stored(runtime: Runtime) -> list[bytes]:
    return data.stored_docs(
        runtime,
        Dataset.BILLED_RECONCILIATION,
        AttributeSet.FULL,
        tenant_id=data.TENANT,
        invoice_id=data.MODERN,
    )


def plan_rows(runtime: Runtime) -> tuple[int, int]:
    with runtime.db.connect() as conn:
        plans = conn.execute(sa.select(sa.func.count()).select_from(export_plans)).scalar_one()
        parts = conn.execute(sa.select(sa.func.count()).select_from(export_parts)).scalar_one()
    return plans, parts


def staging_entries(runtime: Runtime) -> list[str]:
    staging = runtime.settings.blob_dir / "_staging"
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def lease_part(runtime: Runtime, owner: str) -> partition_store.Partition:
    with runtime.db.begin() as conn:
        part = partition_store.lease_next_partition(
            conn, owner=owner, now=runtime.clock(), lease_seconds=30
        )
    assert part is not None
    return part


def test_a_large_export_is_split_into_parts_and_published_once(runtime: Runtime) -> None:
    operation_id = data.queue_export(runtime)
    worker = Worker(runtime, name="w")
    assert worker.run_once() is True  # plans only
    assert status_of(runtime, operation_id).operation.status is Status.RUNNING
    assert plan_rows(runtime) == (1, 4)
    assert Worker(runtime).run(once=True) == 4  # one job per part
    view = status_of(runtime, operation_id)
    assert view.operation.status is Status.SUCCEEDED
    assert view.operation.lease_owner is None
    assert view.manifest is not None and view.manifest.row_count == ROWS
    names = [b.name[:10] for b in view.manifest.blobs]
    assert names == [f"part-{i:05d}" for i in range(7)]
    assert [b.rows for b in view.manifest.blobs] == [2, 1, 2, 1, 2, 1, 1]
    assert exported_lines(runtime, view) == stored(runtime)  # every row once, in id order
    assert plan_rows(runtime) == (0, 0)
    assert staging_entries(runtime) == []


def test_an_export_at_the_threshold_keeps_the_single_job_path(settings: Settings) -> None:
    with opened(settings, partition_rows=ROWS, blob_rows=4) as runtime:
        data.build_dataset(runtime, rows=ROWS)
        operation_id = data.queue_export(runtime)
        assert Worker(runtime).run_once() is True
        view = status_of(runtime, operation_id)
        assert view.operation.status is Status.SUCCEEDED
        assert view.manifest is not None
        assert [b.rows for b in view.manifest.blobs] == [4, 4, 2]
        assert plan_rows(runtime) == (0, 0)


def test_an_unchanged_export_reuses_the_partitioned_manifest(runtime: Runtime) -> None:
    first = data.queue_export(runtime)
    Worker(runtime).run(once=True)
    second = data.queue_export(runtime)
    assert Worker(runtime).run(once=True) == 1  # no plan: the manifest is reused
    one, two = status_of(runtime, first), status_of(runtime, second)
    assert two.operation.status is Status.SUCCEEDED
    assert one.manifest is not None and two.manifest is not None
    assert two.manifest.manifest_id == one.manifest.manifest_id


def test_an_abandoned_part_is_redone_alone_and_its_leftovers_removed(runtime: Runtime) -> None:
    operation_id = data.queue_export(runtime)
    Worker(runtime).run_once()  # plan
    crashed = lease_part(runtime, "crashed-worker")
    with runtime.db.connect() as conn:
        plan = partition_store.get_plan(conn, operation_id)
    assert plan is not None
    # The crashed worker left a partial staged blob and one it published but never reported.
    partial = runtime.blobs.stage(crashed.staging_key, f"{plan.root_path}/part-00000-x")
    partial.stream.write(b"partial")
    partial.close()
    orphan = runtime.blobs.stage(crashed.staging_key, f"{plan.root_path}/part-00000-orphan")
    orphan.stream.write(b"published, never reported")
    orphan.close()
    runtime.blobs.publish(orphan)
    with runtime.db.begin() as conn:
        assert partition_store.record_partition_blobs(
            conn, crashed, owner="crashed-worker", blobs=[ExportBlob("part-00000-orphan", 0, 25)]
        )
    # The other parts are written while the crashed lease is still live.
    assert Worker(runtime).run(once=True) == 3
    assert status_of(runtime, operation_id).operation.status is Status.RUNNING
    start = runtime.clock()
    runtime.clock = lambda: start + timedelta(seconds=31)
    assert Worker(runtime).run(once=True) == 1  # only the abandoned part
    view = status_of(runtime, operation_id)
    assert view.operation.status is Status.SUCCEEDED
    assert exported_lines(runtime, view) == stored(runtime)
    published = runtime.settings.blob_dir / plan.root_path
    assert sorted(p.name for p in published.iterdir()) == sorted(
        b.name
        for b in view.manifest.blobs  # type: ignore[union-attr]
    )
    assert staging_entries(runtime) == []
    with runtime.db.begin() as conn:  # the crashed worker can no longer touch the part
        assert not partition_store.finish_partition(conn, crashed, owner="crashed-worker")


def test_a_part_that_keeps_failing_fails_the_export_cleanly(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billport.exports import ranges

    real = ranges.write_blobs

    def fail_part_one(*args: Any, **kwargs: Any) -> Any:
        if kwargs["first_blob"] == 2:  # part 1 (blobs from 2 on)
            raise OSError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(ranges, "write_blobs", fail_part_one)
    runtime.settings = runtime.settings.replace(export_processes=1)  # the in-process writer
    operation_id = data.queue_export(runtime)
    Worker(runtime).run(once=True)
    view = status_of(runtime, operation_id)
    assert view.operation.status is Status.FAILED
    assert view.operation.error_code == "500"
    assert "part 1" in (view.operation.error_message or "")
    assert view.operation.lease_owner is None
    assert plan_rows(runtime) == (0, 0)
    # Parts that did finish published blobs; none is left behind, nothing is staged.
    blob_files = [p for p in runtime.settings.blob_dir.rglob("*.json.gz")]
    assert blob_files == []
    assert staging_entries(runtime) == []


def test_a_part_running_when_its_export_fails_stops_without_publishing(
    runtime: Runtime,
) -> None:
    operation_id = data.queue_export(runtime)
    Worker(runtime).run_once()  # plan
    survivor = lease_part(runtime, "slow-worker")
    from billport.jobs.lease import Failure, LeaseLost
    from billport.jobs.partition_job import PartitionJob, fail_planned

    ctx = job_context(runtime)
    assert fail_planned(ctx, operation_id, Failure("500", "stop"))
    with pytest.raises(LeaseLost):
        PartitionJob(ctx, survivor, "slow-worker", lambda: False).run()
    assert list(runtime.settings.blob_dir.rglob("*.json.gz")) == []
    assert staging_entries(runtime) == []
    assert status_of(runtime, operation_id).operation.status is Status.FAILED


def test_a_stopping_worker_hands_its_part_back(runtime: Runtime) -> None:
    operation_id = data.queue_export(runtime)
    Worker(runtime).run_once()  # plan
    worker = Worker(runtime)
    worker.stopping.set()
    assert worker.run_once() is True
    with runtime.db.connect() as conn:
        parts = partition_store.list_partitions(conn, operation_id)
    assert [p.status for p in parts] == ["pending"] * 4
    assert [p.attempts for p in parts] == [1, 0, 0, 0]
    assert Worker(runtime).run(once=True) == 4
    view = status_of(runtime, operation_id)
    assert view.operation.status is Status.SUCCEEDED
    assert exported_lines(runtime, view) == stored(runtime)


def test_parts_finishing_together_publish_exactly_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billport.jobs import partition_job as part_jobs
    from billport.store.tables import manifests

    operation_id = data.queue_export(runtime)
    Worker(runtime).run_once()  # plan
    leased = [lease_part(runtime, f"w{i}") for i in range(4)]
    together = threading.Barrier(4, timeout=30)
    real_lock = part_jobs.op_store.lock_operation

    def lock_all_at_once(conn: sa.Connection, op_id: str) -> Any:
        together.wait()  # every part reaches "am I the last?" at the same moment
        return real_lock(conn, op_id)

    real_finish = part_jobs.partition_store.finish_partition

    def finish_slowly(*args: Any, **kwargs: Any) -> bool:
        done = real_finish(*args, **kwargs)
        time.sleep(0.2)  # widen the window between "I am done" and "are all done?"
        return done

    monkeypatch.setattr(part_jobs.op_store, "lock_operation", lock_all_at_once)
    monkeypatch.setattr(part_jobs.partition_store, "finish_partition", finish_slowly)
    errors: list[BaseException] = []

    def finish(part: partition_store.Partition) -> None:
        try:
            part_jobs.PartitionJob(
                job_context(runtime), part, part.lease_owner or "", lambda: False
            ).run()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(p,)) for p in leased]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    view = status_of(runtime, operation_id)
    assert view.operation.status is Status.SUCCEEDED
    with runtime.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(manifests)).scalar_one() == 1
    assert exported_lines(runtime, view) == stored(runtime)


@pytest.mark.postgres
def test_a_lost_database_connection_mid_export_is_retried(
    pg_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from billport.jobs import partition_job as part_jobs
    from billport.settings import load_settings
    from tests.conftest import PG_ADMIN_URL

    settings = load_settings(
        environ={},
        data_dir=tmp_path / "data",
        database_url=pg_url,
        now="2026-11-21T12:00:00Z",
        worker=False,
        partition_rows=3,
        blob_rows=2,
    )
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    real = part_jobs.export_rows.stream_chunks
    killed: list[int] = []

    def lose_the_connection_then_stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
        if not killed:  # once: terminate every backend of the worker's database
            database = sa.engine.make_url(pg_url).database
            with admin.connect() as conn:
                killed.extend(
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :db AND pid <> pg_backend_pid()"
                        ),
                        {"db": database},
                    ).scalars()
                )
        yield from real(*args, **kwargs)  # on the connection the worker checked out: dead

    monkeypatch.setattr(part_jobs.export_rows, "stream_chunks", lose_the_connection_then_stream)
    with opened(settings) as runtime:
        try:
            data.build_dataset(runtime, rows=ROWS)
            operation_id = data.queue_export(runtime)
            Worker(runtime).run(once=True)
            assert killed and all(killed)
            assert any("failed" in r.getMessage() for r in caplog.records)  # then retried
            view = status_of(runtime, operation_id)
            assert view.operation.status is Status.SUCCEEDED
            assert exported_lines(runtime, view) == stored(runtime)
            assert staging_entries(runtime) == []
        finally:
            admin.dispose()


@pytest.mark.postgres
def test_an_idle_worker_is_woken_by_a_queued_export(pg_url: str, tmp_path: Any) -> None:
    from billport.settings import load_settings

    settings = load_settings(
        environ={}, data_dir=tmp_path / "data", database_url=pg_url, worker_listen_seconds=60
    )
    with opened(settings) as runtime:
        stopping = threading.Event()
        wakeup = Wakeup(runtime.db, settings, stopping)
        try:
            wakeup._connection()  # listening before the export is queued
            waiter = threading.Thread(target=wakeup.wait)
            waiter.start()
            data.build_dataset(runtime, rows=1)
            data.queue_export(runtime)
            waiter.join(30)  # far below the 60 s it would wait without a notification
            woke = not waiter.is_alive()
            stopping.set()
            waiter.join(5)
            assert woke
        finally:
            wakeup.close()
