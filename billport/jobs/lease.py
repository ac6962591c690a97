"""The lease protocol every job follows: renew while working, stop when told or outbid.

A worker leases a job (an operation or a partition) for ``lease_seconds``; the job calls
its :class:`Heartbeat` as it goes, which renews the lease every third of its length and
raises :class:`Interrupted` (the worker is stopping: hand the job back) or
:class:`LeaseLost` (another worker took it over: stop without publishing). A job that
cannot succeed ends with a :class:`Failure`, the ``failedOperation`` clients see.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from billport.clock import Clock
from billport.exports.blob_tasks import BlobTask
from billport.exports.pool import ExportPool
from billport.exports.writer import WrittenBlob
from billport.store.db import Database


class LeaseLost(RuntimeError):
    """Another worker took the job over; stop without publishing."""


class Interrupted(RuntimeError):
    """The worker is stopping; the job goes back to the queue."""


@dataclass(frozen=True)
class Failure:
    """Why an export failed, as its operation reports it (``error.code``/``message``)."""

    code: str
    message: str


Renew = Callable[[sa.Connection, datetime, float], bool]


class Heartbeat:
    """Renew a lease every third of its length; notice a stop request or a lost lease.

    Called as ``write_blobs``'s ``on_batch`` (with the rows so far); ``force`` renews now.
    ``renew(conn, now, lease_seconds)`` extends the lease, ``False`` once it is lost.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        lease_seconds: float,
        should_stop: Callable[[], bool],
        renew: Renew,
        job_id: str,
    ) -> None:
        self.db, self.clock, self.lease_seconds = db, clock, lease_seconds
        self.should_stop, self.renew, self.job_id = should_stop, renew, job_id
        self._last = time.monotonic()

    def __call__(self, _rows: int = 0, force: bool = False) -> None:
        if self.should_stop():
            raise Interrupted("worker stopping")
        if not force and time.monotonic() - self._last < self.lease_seconds / 3:
            return
        with self.db.begin() as conn:
            held = self.renew(conn, self.clock(), self.lease_seconds)
        if not held:
            raise LeaseLost(self.job_id)
        self._last = time.monotonic()


def run_in_pool(
    pool: ExportPool,
    tasks: Sequence[BlobTask],
    beat: Callable[[], None],
    should_stop: Callable[[], bool],
) -> list[WrittenBlob]:
    """The tasks' blobs; a child killed by the signal that stops the worker is a stop."""
    try:
        return pool.write(tasks, beat)
    except BrokenProcessPool:
        if should_stop():  # SIGTERM to the process group reached the children first
            raise Interrupted("worker stopping") from None
        raise
