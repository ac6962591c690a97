"""Job leasing: one worker per job, takeover of expired leases, clean stops."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from billport.billing.operations import Status
from billport.errors import DatabaseUnavailable, StorageUnavailable
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from billport.store import operations as op_store
from billport.usecases import operations
from tests.support import exports as data
from tests.support.factory import opened


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    with opened(settings, blob_rows=2, lease_seconds=30) as runtime:
        data.build_dataset(runtime, rows=5)
        yield runtime


def lease(runtime: Runtime, owner: str) -> op_store.Operation | None:
    with runtime.db.begin() as conn:
        return op_store.lease_next(conn, owner=owner, now=runtime.clock(), lease_seconds=30)


def test_a_leased_job_is_not_leased_twice(runtime: Runtime) -> None:
    data.queue_export(runtime)
    assert lease(runtime, "a") is not None
    assert lease(runtime, "b") is None


def test_an_expired_lease_is_taken_over_and_every_row_exported_once(runtime: Runtime) -> None:
    operation_id = data.queue_export(runtime)
    crashed = lease(runtime, "crashed-worker")
    assert crashed is not None
    # The crashed worker left a staged, unpublished part behind.
    staged = runtime.blobs.stage(operation_id, "x/part-00000-dead.c000.json.gz")
    staged.stream.write(b"partial")
    staged.close()
    start = runtime.clock()
    runtime.clock = lambda: start + timedelta(seconds=31)
    assert Worker(runtime, name="rescuer").run(once=True) == 1
    view = operations.read_operation(runtime.db, data.TENANT, operation_id)
    assert view.operation.status is Status.SUCCEEDED
    assert view.operation.attempts == 2
    assert view.manifest is not None and view.manifest.row_count == 5
    assert not (runtime.settings.blob_dir / "_staging" / operation_id).exists()
    # The crashed worker cannot finish it any more.
    with runtime.db.begin() as conn:
        assert not op_store.finish_failed(
            conn,
            operation_id,
            owner=crashed.lease_owner or "",
            code="x",
            message="late",
            now=runtime.clock(),
        )
        assert not op_store.renew_lease(
            conn,
            operation_id,
            owner=crashed.lease_owner or "",
            now=runtime.clock(),
            lease_seconds=30,
        )


def test_a_stopping_worker_hands_the_job_back(runtime: Runtime) -> None:
    operation_id = data.queue_export(runtime)
    worker = Worker(runtime)
    worker.stopping.set()  # stop requested while the export runs: first batch boundary
    assert worker.run_once() is True
    view = operations.read_operation(runtime.db, data.TENANT, operation_id)
    assert view.operation.status is Status.NOT_STARTED
    assert view.operation.lease_owner is None
    assert Worker(runtime).run(once=True) == 1
    assert operations.read_operation(runtime.db, data.TENANT, operation_id).operation.status is (
        Status.SUCCEEDED
    )


def test_unexpected_errors_are_retried_then_fail_cleanly(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    operation_id = data.queue_export(runtime)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr("billport.exports.ranges.write_blobs", broken)
    runtime.settings = runtime.settings.replace(export_processes=1)  # the in-process writer
    assert Worker(runtime).run(once=True) == 3  # three attempts, then failed
    op = operations.read_operation(runtime.db, data.TENANT, operation_id).operation
    assert op.status is Status.FAILED
    assert op.error_code == "500"
    assert op.lease_owner is None


def test_once_drains_the_queue(runtime: Runtime) -> None:
    ids = [data.queue_export(runtime) for _ in range(3)]
    assert Worker(runtime).run(once=True) == 3
    for operation_id in ids:
        status = operations.read_operation(runtime.db, data.TENANT, operation_id).operation.status
        assert status is Status.SUCCEEDED


def test_an_export_whose_worker_dies_every_time_fails_after_the_cap(runtime: Runtime) -> None:
    """Killed workers never answer; the fourth lease finds three abandoned ones and fails it
    (the same cap as partitions) instead of leasing it forever."""
    from billport.jobs.worker import MAX_ATTEMPTS

    operation_id = data.queue_export(runtime)
    start = runtime.clock()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        runtime.clock = lambda n=attempt: start + timedelta(seconds=31 * n)
        died = lease(runtime, f"killed-{attempt}")
        assert died is not None and died.attempts == attempt
    runtime.clock = lambda: start + timedelta(seconds=31 * (MAX_ATTEMPTS + 1))
    assert Worker(runtime, name="survivor").run(once=True) == 1
    op = operations.read_operation(runtime.db, data.TENANT, operation_id).operation
    assert op.status is Status.FAILED
    assert op.error_code == "500"
    assert f"abandoned {MAX_ATTEMPTS} times" in (op.error_message or "")
    assert op.lease_owner is None
    assert lease(runtime, "anyone") is None  # never leased again


class RecordedWaits:
    """Stands in for a worker's ``stopping`` event: records each wait, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False

    def is_set(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("error", "waits"),
    [
        (DatabaseUnavailable("The database connection was lost; retry later."), [2.0, 4.0]),
        (StorageUnavailable("Blob storage is unavailable; retry later."), [2.0, 4.0]),
        (OSError("disk on fire"), []),
    ],
    ids=["database", "storage", "other"],
)
def test_transient_errors_are_retried_after_a_growing_wait(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, error: Exception, waits: list[float]
) -> None:
    operation_id = data.queue_export(runtime)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr("billport.exports.ranges.write_blobs", broken)
    runtime.settings = runtime.settings.replace(export_processes=1)
    worker = Worker(runtime)
    recorded = RecordedWaits()
    worker.stopping = recorded  # type: ignore[assignment]
    assert worker.run(once=True) == 3
    assert recorded.waits == waits  # after attempts 1 and 2; the third fails the export
    op = operations.read_operation(runtime.db, data.TENANT, operation_id).operation
    assert op.status is Status.FAILED


def test_the_worker_loop_backs_off_while_the_database_is_gone(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = Worker(runtime)
    recorded = RecordedWaits()
    worker.stopping = recorded  # type: ignore[assignment]
    calls = iter([DatabaseUnavailable("gone")] * 4 + [KeyboardInterrupt()])

    def run_once() -> bool:
        raise next(calls)

    monkeypatch.setattr(worker, "run_once", run_once)
    with pytest.raises(KeyboardInterrupt):
        worker.run()
    assert recorded.waits == [2.0, 4.0, 8.0, 16.0]
