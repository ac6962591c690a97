"""Export workers: lease a job, run it, repeat; stop cleanly on request or SIGTERM.

``serve`` runs one in a thread; ``billport worker`` runs one in the foreground, and
``--once`` drains the queue and exits (tests, cron). A job is a part of a partitioned
export (taken first, so started exports finish first) or an operation. Idle workers wait
on ``jobs/wakeup.py``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from types import FrameType

from billport.exports.pool import ExportPool
from billport.jobs.context import JobContext
from billport.jobs.export_job import ExportJob
from billport.jobs.lease import Failure, Interrupted, LeaseLost
from billport.jobs.partition_job import PartitionJob, fail_planned
from billport.jobs.wakeup import Wakeup
from billport.runtime import Runtime
from billport.sandbox.scenario import Scenario
from billport.store import operations as op_store
from billport.store import partitions as partition_store
from billport.store.partitions import Partition
from billport.usecases.scenarios import applied_scenario

log = logging.getLogger("billport.worker")
MAX_ATTEMPTS = 3
INTERNAL_ERROR = "500"


def job_context(runtime: Runtime, pool: ExportPool | None = None) -> JobContext:
    """What this process's jobs get: its stores, clock and settings, and its scenarios."""

    def scenario_for(tenant_id: str) -> Scenario:
        return applied_scenario(runtime.db, runtime.settings, tenant_id).scenario

    return JobContext(
        db=runtime.db,
        blobs=runtime.blobs,
        clock=runtime.clock,
        settings=runtime.settings,
        sas_key=runtime.keys.sas_key,
        scenario_for=scenario_for,
        pool=pool,
    )


class Worker:
    def __init__(self, runtime: Runtime, name: str | None = None) -> None:
        self.runtime = runtime
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        processes = runtime.settings.export_processes
        # Started on the first export that has more than one blob; see exports/pool.py.
        self.pool = ExportPool(processes) if processes > 1 else None
        self.ctx = job_context(runtime, self.pool)

    def run_once(self) -> bool:
        """Lease and run one job; ``False`` when the queue is empty."""
        return self._run_part() or self._run_operation()

    def _owner(self) -> str:
        return f"{self.name}:{uuid.uuid4().hex[:12]}"

    def _run_part(self) -> bool:
        owner = self._owner()
        settings = self.runtime.settings
        with self.runtime.db.begin() as conn:
            part = partition_store.lease_next_partition(
                conn, owner=owner, now=self.runtime.clock(), lease_seconds=settings.lease_seconds
            )
        if part is None:
            return False
        if part.attempts > MAX_ATTEMPTS:  # its workers keep dying (killed, out of memory)
            self._fail_part(part, f"part {part.part_index} was abandoned {MAX_ATTEMPTS} times")
            return True
        try:
            PartitionJob(self.ctx, part, owner, self.stopping.is_set).run()
        except LeaseLost:
            log.warning("lost part %s of %s", part.part_index, part.operation_id)
        except Interrupted:
            self._release_part(part, owner)
        except Exception as exc:
            log.exception("part %s of %s failed", part.part_index, part.operation_id)
            if part.attempts < MAX_ATTEMPTS:
                self._release_part(part, owner)
            else:
                self._fail_part(part, f"part {part.part_index} failed: {exc}")
        return True

    def _release_part(self, part: Partition, owner: str) -> None:
        try:
            with self.runtime.db.begin() as conn:
                partition_store.release_partition(conn, part, owner=owner)
                op_store.notify_workers(conn)
        except Exception:  # the database itself is gone: the lease will expire and be retaken
            log.exception("could not hand back part %s of %s", part.part_index, part.operation_id)

    def _fail_part(self, part: Partition, reason: str) -> None:
        message = f"The export failed ({reason}): submit a new request."
        try:
            fail_planned(self.ctx, part.operation_id, Failure(INTERNAL_ERROR, message))
        except Exception:
            log.exception("could not record the failure of %s", part.operation_id)

    def _run_operation(self) -> bool:
        owner = self._owner()
        settings = self.runtime.settings
        with self.runtime.db.begin() as conn:
            op = op_store.lease_next(
                conn, owner=owner, now=self.runtime.clock(), lease_seconds=settings.lease_seconds
            )
        if op is None:
            return False
        if op.attempts > MAX_ATTEMPTS:  # its workers keep dying (killed, out of memory)
            self._abandon(op.operation_id, owner, op.attempts - 1)
            return True
        try:
            ExportJob(self.ctx, op, owner, self.stopping.is_set).run()
        except LeaseLost:
            log.warning("lost the lease on %s; another worker has it", op.operation_id)
        except Interrupted:
            self._release(op.operation_id, owner)
        except Exception as exc:
            log.exception("export %s failed", op.operation_id)
            self._retry_or_fail(op.operation_id, owner, op.attempts, exc)
        return True

    def _release(self, operation_id: str, owner: str) -> None:
        with self.runtime.db.begin() as conn:
            op_store.release_lease(conn, operation_id, owner=owner, now=self.runtime.clock())
            op_store.notify_workers(conn)

    def _abandon(self, operation_id: str, owner: str, abandoned: int) -> None:
        """Fail an export whose earlier leases all ended without an answer, as parts do."""
        message = (
            f"The export was abandoned {abandoned} times (its workers stopped answering): "
            "submit a new request."
        )
        try:
            with self.runtime.db.begin() as conn:
                op_store.finish_failed(
                    conn,
                    operation_id,
                    owner=owner,
                    code=INTERNAL_ERROR,
                    message=message,
                    now=self.runtime.clock(),
                )
        except Exception:  # the database itself is gone: the lease will expire and be retaken
            log.exception("could not record the failure of %s", operation_id)

    def _retry_or_fail(self, operation_id: str, owner: str, attempts: int, exc: Exception) -> None:
        """A transient error (lost connection, full disk) gets retried, then fails cleanly."""
        try:
            if attempts < MAX_ATTEMPTS:
                self._release(operation_id, owner)
                return
            with self.runtime.db.begin() as conn:
                op_store.finish_failed(
                    conn,
                    operation_id,
                    owner=owner,
                    code=INTERNAL_ERROR,
                    message=f"The export failed after {attempts} attempts: submit a new request.",
                    now=self.runtime.clock(),
                )
        except Exception:  # the database itself is gone: the lease will expire and be retaken
            log.exception("could not record the failure of %s", operation_id)

    def run(self, *, once: bool = False) -> int:
        """Process jobs until stopped (or, with ``once``, until the queue is empty)."""
        done = 0
        wakeup = Wakeup(self.runtime.db, self.runtime.settings, self.stopping)
        try:
            while not self.stopping.is_set():
                try:
                    worked = self.run_once()
                except Exception:
                    log.exception("worker loop error")
                    worked = False
                done += worked
                if not worked:
                    if once:
                        break
                    wakeup.wait()
        finally:
            wakeup.close()
            self.close()
        return done

    def close(self) -> None:
        """Stop the export processes (they restart if the worker runs again)."""
        if self.pool is not None:
            self.pool.shutdown()

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"worker-{self.name}", daemon=True)
        self._thread.start()

    def stop_and_join(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close()


def run_standalone(runtime: Runtime, *, once: bool, name: str | None) -> int:
    """The ``billport worker`` process: SIGTERM/SIGINT stop it between batches."""
    worker = Worker(runtime, name=name)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return worker.run(once=once)
