"""The probes' own database connection: `/healthz` and `/readyz` answer under any load.

API work can hold every pooled connection (and SQLite's write lock) for seconds; a probe
that queued behind it would make a busy server look dead. So probes use one connection of
their own, outside the pool, with short timeouts: a probe that cannot get an answer within
about a second reports the database as unavailable rather than waiting.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

PROBE_TIMEOUT_SECONDS = 1.0
LIVENESS_SECONDS = 0.5  # how long a good ping stands for the database being reachable

log = logging.getLogger("billport.store")

_PING = sa.text("SELECT 1")
_PG_READ_ONLY = sa.text("SHOW transaction_read_only")


@dataclass(frozen=True)
class DatabaseState:
    """What a probe found: reachable at all, and able to take a write now."""

    reachable: bool
    writable: bool
    problem: str = ""


def probe_engine(engine: sa.Engine) -> sa.Engine:
    """A one-connection engine for ``engine``'s database (the same one, for in-memory SQLite)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return engine  # a second engine would open another, empty database
        probe = sa.create_engine(
            url,
            poolclass=sa.pool.StaticPool,  # one connection; the probe lock serialises its use
            connect_args={"check_same_thread": False, "timeout": PROBE_TIMEOUT_SECONDS},
        )
        # No other pragma matters to a probe: WAL is the file's own, the rest shape writes.
        sa.event.listen(probe, "connect", _short_busy_timeout)
        return probe
    return sa.create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=PROBE_TIMEOUT_SECONDS,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 2},
    )


def _short_busy_timeout(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"PRAGMA busy_timeout={int(PROBE_TIMEOUT_SECONDS * 1000)}")
    cursor.close()


class DatabaseProbe:
    """Answers "is the database there, and can it take a write?" one probe at a time."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = probe_engine(engine)
        self._own_engine = self.engine is not engine
        self._lock = threading.Lock()
        self._reachable_at = -LIVENESS_SECONDS  # monotonic time of the last good ping

    def recently_reachable(self) -> bool:
        """Whether a ping answered within ``LIVENESS_SECONDS`` (no I/O): a liveness probe
        polled many times a second then answers on the event loop, without a thread."""
        return time.monotonic() - self._reachable_at < LIVENESS_SECONDS

    def state(self, *, check_writes: bool) -> DatabaseState:
        found = self._probe(check_writes)
        if found.reachable:
            self._reachable_at = time.monotonic()
        return found

    def _probe(self, check_writes: bool) -> DatabaseState:
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    conn.execute(_PING)
                    if not check_writes:
                        return DatabaseState(True, True)
                    try:
                        problem = self._write_problem(conn)
                    except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
                        problem = _reason(exc)
            except sa.exc.SQLAlchemyError as exc:
                return DatabaseState(False, False, _reason(exc))
            return DatabaseState(True, not problem, problem)

    def _write_problem(self, conn: sa.Connection) -> str:
        if conn.dialect.name == "postgresql":
            read_only = conn.execute(_PG_READ_ONLY).scalar_one()
            return "the database is read-only" if read_only == "on" else ""
        # Take SQLite's write lock, write the header's user_version back unchanged and roll
        # back: fails when the database is read-only (the lock alone would not), or when a
        # writer has held the lock past the probe's short busy timeout.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")
            try:
                version = int(raw.execute("PRAGMA user_version").fetchone()[0])
                raw.execute(f"PRAGMA user_version = {version}")
            finally:
                raw.execute("ROLLBACK")
        return ""

    def dispose(self) -> None:
        if self._own_engine:
            self.engine.dispose()


def _reason(exc: Exception) -> str:
    """What went wrong in plain words; the driver's text (hosts, paths) goes to the log."""
    log.warning("database probe failed: %s", exc)
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "locked" in text or "busy" in text:
        return "the database is locked by a writer"
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "the database is read-only"
    if "disk" in text and ("full" in text or "i/o" in text):
        return "the database's disk is full or failing"
    return "the database cannot be reached"
