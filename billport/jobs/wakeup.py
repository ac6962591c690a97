"""How an idle worker waits for work: PostgreSQL ``LISTEN``, or on SQLite a datagram socket
(``store/wakeups.py``) woken by whoever commits new work, with polling as the fallback.

Queuing an export (and planning its parts) sends ``NOTIFY billport_jobs`` in the same
transaction, so PostgreSQL delivers it only once the job is visible. A listening worker
wakes at once instead of after a poll interval; it still polls every
``worker_listen_seconds``, because an expired lease notifies nobody.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from billport.settings import Settings
from billport.store import wakeups
from billport.store.db import Database
from billport.store.operations import WAKE_CHANNEL

log = logging.getLogger("billport.worker")
STOP_CHECK_SECONDS = 0.5  # how quickly a listening worker notices a stop request


class Wakeup:
    """``wait()`` returns when work may be waiting, the timeout passes, or on stop."""

    def __init__(self, db: Database, settings: Settings, stopping: threading.Event) -> None:
        self.db, self.settings, self.stopping = db, settings, stopping
        self.listening = db.dialect == "postgresql"
        self._conn: Any = None
        self._socket: wakeups.Listener | None = None
        directory = db.wake_dir
        if directory is not None:
            try:
                self._socket = wakeups.Listener(directory)
            except OSError:  # e.g. a read-only directory: poll instead
                log.warning("cannot wait on %s; polling", directory, exc_info=True)

    def wait(self) -> None:
        if self._socket is not None:
            deadline = time.monotonic() + self.settings.worker_poll_seconds
            while not self.stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0 or self._socket.wait(min(left, STOP_CHECK_SECONDS)):
                    return
            return
        if not self.listening:
            self.stopping.wait(self.settings.worker_poll_seconds)
            return
        try:
            self._wait_for_notify(self.settings.worker_listen_seconds)
        except Exception:  # lost connection: poll this time, reconnect next time
            log.warning("LISTEN connection lost; polling until it is back", exc_info=True)
            self.close()
            self.stopping.wait(self.settings.worker_poll_seconds)

    def _wait_for_notify(self, timeout: float) -> None:
        conn = self._connection()
        deadline = time.monotonic() + timeout
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for _ in conn.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1):
                return

    def _connection(self) -> Any:
        """A dedicated autocommit connection outside the pool: it lives as long as we do."""
        if self._conn is None or self._conn.closed:
            engine = self.db.engine
            cargs, cparams = engine.dialect.create_connect_args(engine.url)
            conn = engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
            conn.autocommit = True
            conn.execute(f"LISTEN {WAKE_CHANNEL}")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing the LISTEN connection failed", exc_info=True)
            self._conn = None
