"""Request-log use cases: record calls, list recent calls, and the compliance report.

Recording must not put a database write on every API call (on SQLite every write takes the
one writer lock): :class:`RequestRecorder` buffers calls in memory and writes them in one
transaction every ``FLUSH_SECONDS`` from its own thread (or once ``FLUSH_ROWS`` wait).
Readers of the log flush this process's buffer first, so a process always sees its own
calls; another replica's appear within ``FLUSH_SECONDS``. The buffer is bounded: when the
database cannot keep up, the oldest unwritten calls are dropped (and counted), never the
request that is being answered.
"""

from __future__ import annotations

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
        self._rows: deque[LoggedRequest] = deque()
        self._lock = threading.Lock()  # guards _rows
        self._writing = threading.Lock()  # one flush at a time, in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, row: LoggedRequest) -> None:
        if self.keep <= 0:
            return
        with self._lock:
            if len(self._rows) >= MAX_BUFFERED:
                self._rows.popleft()
                self.dropped += 1
            self._rows.append(row)
            full = len(self._rows) >= FLUSH_ROWS
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Write every buffered call now; how many were written."""
        with self._writing:
            with self._lock:
                rows = list(self._rows)
                self._rows.clear()
            if rows:
                try:
                    with self.db.begin() as conn:
                        request_log.insert_requests(conn, rows, keep=self.keep)
                except BaseException:
                    self._requeue(rows)
                    raise
            return len(rows)

    def _requeue(self, rows: list[LoggedRequest]) -> None:
        """Put unwritten calls back in front, in order, within the bound."""
        with self._lock:
            self._rows.extendleft(reversed(rows))
            while len(self._rows) > MAX_BUFFERED:
                self._rows.popleft()
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


def compliance_report(db: Database, *, client: str | None = None) -> list[ClientReport]:
    """Per client: did it wait the ``Retry-After`` it was given before calling again?"""
    return compliance(recent_requests(db, client=client))
