"""Export workers: lease a job, run it, repeat; stop cleanly on request or SIGTERM.

``serve`` runs one in a thread; ``billport worker`` runs one in the foreground, and
``--once`` drains the queue and exits (tests, cron).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from types import FrameType

from billport.exports.runner import ExportJob, Interrupted, LeaseLost
from billport.runtime import Services
from billport.store import operations as op_store

log = logging.getLogger("billport.worker")
MAX_ATTEMPTS = 3
INTERNAL_ERROR = "500"


class Worker:
    def __init__(self, services: Services, name: str | None = None) -> None:
        self.services = services
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """Lease and run one job; ``False`` when the queue is empty."""
        owner = f"{self.name}:{uuid.uuid4().hex[:12]}"
        settings = self.services.settings
        with self.services.db.begin() as conn:
            op = op_store.lease_next(
                conn, owner=owner, now=self.services.clock(), lease_seconds=settings.lease_seconds
            )
        if op is None:
            return False
        try:
            ExportJob(self.services, op, owner, self.stopping.is_set).run()
        except LeaseLost:
            log.warning("lost the lease on %s; another worker has it", op.operation_id)
        except Interrupted:
            self._release(op.operation_id, owner)
        except Exception as exc:
            log.exception("export %s failed", op.operation_id)
            self._retry_or_fail(op.operation_id, owner, op.attempts, exc)
        return True

    def _release(self, operation_id: str, owner: str) -> None:
        with self.services.db.begin() as conn:
            op_store.release_lease(conn, operation_id, owner=owner, now=self.services.clock())

    def _retry_or_fail(self, operation_id: str, owner: str, attempts: int, exc: Exception) -> None:
        """A transient error (lost connection, full disk) gets retried, then fails cleanly."""
        try:
            if attempts < MAX_ATTEMPTS:
                self._release(operation_id, owner)
                return
            with self.services.db.begin() as conn:
                op_store.finish_failed(
                    conn,
                    operation_id,
                    owner=owner,
                    code=INTERNAL_ERROR,
                    message=f"The export failed after {attempts} attempts: submit a new request.",
                    now=self.services.clock(),
                )
        except Exception:  # the database itself is gone: the lease will expire and be retaken
            log.exception("could not record the failure of %s", operation_id)

    def run(self, *, once: bool = False) -> int:
        """Process jobs until stopped (or, with ``once``, until the queue is empty)."""
        done = 0
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
                self.stopping.wait(self.services.settings.worker_poll_seconds)
        return done

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run, name=f"worker-{self.name}", daemon=True)
        self._thread.start()

    def stop_and_join(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)


def run_standalone(services: Services, *, once: bool, name: str | None) -> int:
    """The ``billport worker`` process: SIGTERM/SIGINT stop it between batches."""
    worker = Worker(services, name=name)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return worker.run(once=once)
