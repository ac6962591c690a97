"""kill -9 a ``billport worker``: its export processes die with it, nothing is left running.

The worker's export processes outlive an export (the pool is kept for the next one), so
after one multi-blob export the worker has idle children; killing the worker must take them
down too — otherwise they would wait forever on a task queue nobody writes to.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from billport.billing.datasets import Dataset
from billport.billing.operations import Status
from billport.settings import load_settings
from billport.usecases import operations
from tests.support import exports as data
from tests.support.factory import opened
from tests.support.processes import process_env, processes

pytestmark = pytest.mark.slow
DEADLINE = 30.0


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        kids: list[int] = []
        try:
            for task in os.listdir(f"/proc/{current}/task"):  # each thread lists its own
                with open(f"/proc/{current}/task/{task}/children") as children:
                    kids += [int(child) for child in children.read().split()]
        except FileNotFoundError:
            continue
        found.update(kids)
        todo += kids
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.split()[1] == "Z" for line in status if line.startswith("State"))
    except FileNotFoundError:
        return False


def test_a_killed_workers_export_processes_die_with_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'billport.db'}"
    knobs = dict(blob_rows=300, export_processes=2, worker_poll_seconds=0.1)
    with opened(load_settings(environ={}, data_dir=data_dir, **knobs)) as runtime:
        data.build_dataset(runtime, rows=1_000)  # 4 blobs
        op = operations.request_export(
            runtime.db,
            runtime.clock,
            data.TENANT,
            Dataset.BILLED_RECONCILIATION,
            {"invoiceId": data.MODERN, "attributeSet": "full"},
        )
        with processes(tmp_path, process_env(url, data_dir, **knobs)) as procs:
            worker = procs.start("w", "worker", "--name", "w")
            deadline = time.monotonic() + DEADLINE
            view = operations.read_operation(runtime.db, data.TENANT, op.operation_id)
            while view.operation.status is not Status.SUCCEEDED and time.monotonic() < deadline:
                time.sleep(0.1)
                view = operations.read_operation(runtime.db, data.TENANT, op.operation_id)
            assert view.operation.status is Status.SUCCEEDED, procs.log("w")
            assert view.manifest is not None and len(view.manifest.blobs) == 4
            children = descendants(worker.pid)
            assert len(children) >= 2, procs.log("w")  # the export processes (+ resource tracker)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
            while any(alive(pid) for pid in children) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [pid for pid in children if alive(pid)] == []
