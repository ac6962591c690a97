"""Request-log use cases: record calls, list recent calls, and the compliance report.

Recording must not put a database write on every API call (on SQLite every write takes the
one writer lock): :class:`RequestRecorder` buffers calls in memory and writes them in one
transaction every ``FLUSH_SECONDS`` from its own thread (or once ``FLUSH_ROWS`` wait).
Readers of the log flush this process's buffer first, so a process always sees its own
calls; another replica's appear within ``FLUSH_SECONDS``. The buffer is bounded: when the
database cannot keep up, the oldest unwritten calls are dropped (and counted), never the
request that is being answered. Verified and unverified calls have a bound each, as they
have in the log, so unauthenticated floods cannot crowd out real calls here either.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque

from billport.sandbox.compliance import ClientReport, compliance
from billport.store import request_log
from billport.store.db import Database
from billport.store.request_log import LoggedRequest

log = logging.getLogger("billport.sandbox")
FLUSH_SECONDS = 0.2
FLUSH_ROWS = 500
MAX_BUFFERED = 20_000


class RequestRecorder:
    """Buffers logged calls and writes them in batches; ``keep`` rows stay in the log."""

    def __init__(self, db: Database, *, keep: int) -> None:
        self.db, self.keep = db, keep
        self.dropped = 0
        # [unverified, verified] calls waiting to be written, numbered in arrival order
        self._rows: tuple[deque[tuple[int, LoggedRequest]], ...] = (deque(), deque())
        self._arrived = itertools.count()
        self._lock = threading.Lock()  # guards _rows
        self._writing = threading.Lock()  # one flush at a time, in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, row: LoggedRequest) -> None:
        if self.keep <= 0:
            return
        with self._lock:
            bucket = self._rows[row.verified]
            if len(bucket) >= MAX_BUFFERED:
                bucket.popleft()
                self.dropped += 1
            bucket.append((next(self._arrived), row))
            full = len(bucket) >= FLUSH_ROWS
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write every buffered call now; how many were written."""
        with self._writing:
            with self._lock:
                numbered = sorted([*self._rows[0], *self._rows[1]], key=lambda n: n[0])
                for bucket in self._rows:
                    bucket.clear()
            rows = [row for _, row in numbered]
            if rows:
                try:
                    with self.db.begin() as conn:
                        request_log.insert_requests(conn, rows, keep=self.keep)
                except BaseException:
                    self._requeue(numbered)
                    raise
            return len(rows)

    def _requeue(self, numbered: list[tuple[int, LoggedRequest]]) -> None:
        """Put unwritten calls back in front, in order, within the bound."""
        with self._lock:
            for verified, bucket in enumerate(self._rows):
                bucket.extendleft(reversed([n for n in numbered if n[1].verified == verified]))
                while len(bucket) > MAX_BUFFERED:
                    bucket.popleft()
                    self.dropped += 1

    def start(self) -> None:
        if self.keep > 0 and self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="billport-request-log", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the log is a diagnostic: never let it take the server down
                log.exception("could not write the request log; retrying")

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("could not write the last calls of the request log")


def recent_requests(
    db: Database, *, limit: int | None = None, client: str | None = None
) -> list[LoggedRequest]:
    """The newest ``limit`` calls (every kept call when ``None``), oldest first."""
    with db.connect() as conn:
        return request_log.recent_requests(conn, limit=limit, client=client)


def compliance_report(
    db: Database, *, client: str | None = None, limit: int | None = None
) -> list[ClientReport]:
    """Per client: did it wait the ``Retry-After`` it was given before calling again?
    Over the newest ``limit`` calls (every kept call when ``None``).

    Only verified calls count: an unverified one proves no client made it."""
    return compliance(r for r in recent_requests(db, limit=limit, client=client) if r.verified)
