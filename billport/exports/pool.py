"""A worker's export processes: write one export's blobs in several processes at once.

One pool per worker, started on first use and kept for the next export (starting processes
costs more than a small export). Children are spawned (a fresh interpreter), never forked:
``serve`` runs uvicorn and a worker thread, and forking a threaded process copies locks in
whatever state the other threads left them. While children write, the calling thread keeps
heartbeating. Any failure — a child's error, a child that died, a lost lease, a stop
request — kills every child before it is raised, so nothing is still writing to staging when
the caller discards it; the next export starts a fresh pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait

from billport.exports import blob_tasks
from billport.exports.blob_tasks import BlobTask
from billport.exports.writer import WrittenBlob

log = logging.getLogger("billport.worker")
POLL_SECONDS = 0.2  # how often the caller's heartbeat (and stop check) runs while children work
JOIN_SECONDS = 10.0


class ExportPool:
    """Up to ``processes`` children writing blobs; safe to share between a worker's jobs."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def write(self, tasks: Sequence[BlobTask], beat: Callable[[], None]) -> list[WrittenBlob]:
        """The blobs of ``tasks``, in task order; ``beat()`` runs every ``POLL_SECONDS``.

        ``beat`` may raise (lease lost, stopping): children are killed and the error raised.
        """
        executor = self._started()
        futures: list[Future[WrittenBlob]] = []
        try:
            futures = [executor.submit(blob_tasks.write_blob, task) for task in tasks]
            pending = set(futures)
            while pending:
                beat()
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # raises a child's error (or BrokenProcessPool) here
            return [future.result() for future in futures]
        except BaseException:
            self.kill()
            raise

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # Spawned, so the children are the worker's own: they die with it (see
                # child_started). A fork server would be their parent instead, and it lives
                # as long as any child holds its "alive" pipe — which every child does.
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=blob_tasks.child_started,
                    initargs=(os.getpid(),),
                )
            return self._executor

    def pids(self) -> list[int]:
        """Process ids of the running children (operations, tests)."""
        with self._lock:
            executor = self._executor
        processes = getattr(executor, "_processes", None) or {}  # see kill()
        return [child.pid for child in list(processes.values()) if child.pid is not None]

    def kill(self) -> None:
        """Kill every child now and wait until they are gone; the next write starts afresh."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        # Python 3.14 has ProcessPoolExecutor.terminate_workers(); before it, the processes
        # are only reachable through this attribute.
        children = list((getattr(executor, "_processes", None) or {}).values())
        for child in children:
            if child.is_alive():
                child.kill()
        for child in children:
            child.join(JOIN_SECONDS)
        executor.shutdown(wait=True, cancel_futures=True)
        log.info("export processes stopped (%d killed)", len(children))

    def shutdown(self) -> None:
        """Let the children finish their current task and exit (worker stop)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
