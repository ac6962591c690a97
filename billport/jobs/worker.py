"""Export workers: lease a job, run it, repeat; stop cleanly on request or SIGTERM.

``serve`` runs one in a thread; ``billport worker`` runs one in the foreground, and
``--once`` drains the queue and exits (tests, cron). A job is a part of a partitioned
export (taken first, so started exports finish first) or an operation. Idle workers wait
on ``jobs/wakeup.py``.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import uuid
from types import FrameType

from billport.errors import DatabaseUnavailable, ServiceUnavailable
from billport.exports.pool import ExportPool
from billport.jobs.context import JobContext
from billport.jobs.export_job import ExportJob
from billport.jobs.lease import Failure, Interrupted, LeaseLost
from billport.jobs.partition_job import PartitionJob, fail_planned
from billport.jobs.wakeup import Wakeup
from billport.runtime import Runtime, open_runtime
from billport.sandbox.scenario import Scenario
from billport.settings import Settings
from billport.store import operations as op_store
from billport.store import partitions as partition_store
from billport.store.partitions import Partition
from billport.usecases.scenarios import applied_scenario

log = logging.getLogger("billport.worker")
MAX_ATTEMPTS = 3
INTERNAL_ERROR = "500"
# A lost database connection or unreachable blob storage is usually over in seconds (a
# restart, a failover): the next attempt waits 2 s, then 4 s, instead of burning every
# attempt at once. The worker loop backs off the same way while the database is gone.
BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 30.0


def transient_cause(exc: BaseException) -> str | None:
    """What went wrong, in words a client may read, when a later attempt may succeed: an
    unreachable database or blob store, or a full disk; ``None`` for anything else."""
    seen: BaseException | None = exc
    while seen is not None:  # the writer wraps what its thread or process raised
        if isinstance(seen, ServiceUnavailable):
            return seen.message.removesuffix("; retry later.").removesuffix(".")
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return "Blob storage is full (no space left on device)"
        seen = seen.__cause__
    return None


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` transient failures in a row (1, 2, ...)."""
    return float(min(BACKOFF_SECONDS * 2 ** (failures - 1), MAX_BACKOFF_SECONDS))


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
    def __init__(
        self, runtime: Runtime, name: str | None = None, stopping: threading.Event | None = None
    ) -> None:
        self.runtime = runtime
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = stopping or threading.Event()
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
                self._back_off(exc, part.attempts)
                self._release_part(part, owner)
            else:
                cause = transient_cause(exc) or "an internal error; the server log has it"
                self._fail_part(part, f"part {part.part_index} failed: {cause}")
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
                self._back_off(exc, attempts)
                self._release(operation_id, owner)
                return
            with self.runtime.db.begin() as conn:
                op_store.finish_failed(
                    conn,
                    operation_id,
                    owner=owner,
                    code=INTERNAL_ERROR,
                    message=_failed_after(attempts, exc),
                    now=self.runtime.clock(),
                )
        except Exception:  # the database itself is gone: the lease will expire and be retaken
            log.exception("could not record the failure of %s", operation_id)

    def _back_off(self, exc: Exception, attempts: int) -> None:
        """Before a transient failure's retry, wait (holding the lease, which outlives the
        wait; a stop cuts it short). Other errors are retried at once."""
        cause = transient_cause(exc)
        if cause is not None:
            delay = backoff(attempts)
            log.warning("%s; retrying in %.0f s", cause, delay)
            self.stopping.wait(delay)

    def run(self, *, once: bool = False) -> int:
        """Process jobs until stopped (or, with ``once``, until the queue is empty)."""
        done = errors = 0
        wakeup = Wakeup(self.runtime.db, self.runtime.settings, self.stopping)
        try:
            while not self.stopping.is_set():
                try:
                    worked = self.run_once()
                    errors = 0
                except Exception:  # e.g. the database is gone: wait longer each time
                    errors += 1
                    log.exception("worker loop error (%d in a row)", errors)
                    if once:
                        break
                    self.stopping.wait(backoff(errors))
                    continue
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


def _failed_after(attempts: int, exc: Exception) -> str:
    cause = transient_cause(exc)
    why = f" ({cause})" if cause else ""  # other errors' details are for the log only
    return f"The export failed after {attempts} attempts{why}: submit a new request."


def open_when_reachable(settings: Settings, stopping: threading.Event) -> Runtime | None:
    """The worker's runtime once its database answers; ``None`` if stopped first.

    A worker started while the database is down (a restart, a failover, containers started
    together) waits with the loop's backoff rather than exiting with a traceback."""
    failures = 0
    while not stopping.is_set():
        try:
            return open_runtime(settings)
        except DatabaseUnavailable as exc:
            failures += 1
            delay = backoff(failures)
            log.warning("%s; retrying in %.0f s", exc.message.removesuffix("; retry later."), delay)
            stopping.wait(delay)
    return None


def run_standalone(settings: Settings, *, once: bool, name: str | None) -> int:
    """The ``billport worker`` process: SIGTERM/SIGINT stop it between batches (or while it
    waits for the database at start)."""
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # start-up migrations: not news
    # --once (cron, tests) reports a database that is down at once, as a clear error
    runtime = open_runtime(settings) if once else open_when_reachable(settings, stopping)
    if runtime is None:
        return 0
    try:
        return Worker(runtime, name=name, stopping=stopping).run(once=once)
    finally:
        runtime.db.dispose()
