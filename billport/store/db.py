"""Engine creation, migrations and transactions for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from billport.errors import ConfigurationError, DatabaseUnavailable, StoreError
from billport.private_files import create_private_file, make_dirs, private_dir, tighten_all
from billport.settings import Settings
from billport.store import wakeups
from billport.store.probe import DatabaseProbe

if TYPE_CHECKING:  # alembic loads only to migrate: export processes never do
    from alembic.config import Config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Only takes effect on a new, empty file. Line items are ~3 KB each: 4 KiB pages waste a
    # third of each page; 32 KiB pages hold ten rows, make files 9% smaller than 16 KiB pages
    # did and seeding 5-10% faster, and export as fast (docs/performance.md, "Seeding").
    cursor.execute("PRAGMA page_size=32768")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass(frozen=True)
class PoolOptions:
    """The connection pool: per process, so size it for its threads (docs/deploy.md).

    A connection beyond ``size`` is closed when it is returned, so a pool smaller than the
    threads that use it opens and closes a connection per request under load (on SQLite
    with five ``PRAGMA`` statements each: a fifth of a busy server's time, measured).
    """

    size: int = 20
    max_overflow: int = 10
    recycle: int = 1800  # seconds; below server/proxy idle timeouts (PgBouncer, Azure LB)
    pre_ping: bool = True  # a connection killed while idle is replaced, not handed out
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> PoolOptions:
        return cls(
            size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            recycle=settings.db_pool_recycle,
            pre_ping=settings.db_pool_pre_ping,
            timeout=settings.db_pool_timeout,
        )


SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps next to the database


def private_database_file(path: Path) -> None:
    """Make the SQLite file ``path`` owner-only (``0600``) before SQLite opens it.

    A missing file is created empty (SQLite takes a zero-length file for a new database, so
    ``page_size`` still applies), its missing directories ``0700``. SQLite creates the
    ``-wal``, ``-shm`` and ``-journal`` files itself, each time they are needed (the last
    connection to close deletes the WAL and shm), and gives each exactly the mode of the
    database file (``robust_open`` ``fchmod``-s a new one to it, whatever the umask). So a
    ``0600`` database is enough for all of them, without touching the process-wide umask
    (other threads create files meanwhile) or chmod-ing after every connect. An existing
    database, and companions left behind, are tightened with a warning.
    """
    make_dirs(path.parent)
    create_private_file(path)
    tighten_all(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)


def create_engine(url: str, pool: PoolOptions | None = None) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            private_database_file(Path(path))
        pool = pool or PoolOptions()
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if path in (None, "", ":memory:") else {"pool_size": pool.size,
                                                          "max_overflow": pool.max_overflow}),
        )  # fmt: skip
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        pool = pool or PoolOptions()
        return sa.create_engine(
            url,
            pool_size=pool.size,
            max_overflow=pool.max_overflow,
            pool_recycle=pool.recycle,
            pool_pre_ping=pool.pre_ping,
            pool_timeout=pool.timeout,
        )
    raise ConfigurationError(
        f"unsupported database URL {url!r}: use sqlite:/// or postgresql+psycopg://"
    )


def alembic_config(engine: sa.Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("billport.store").joinpath("migrations"))
    )
    config.attributes["engine"] = engine
    return config


MIGRATION_LOCK = 0x62696C6C  # pg_advisory_lock key ("bill"): one migrating process at a time


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent).

    Every ``serve``/``worker`` migrates at start-up; on PostgreSQL an advisory lock makes
    replicas that start together take turns, so the later ones find the schema current.
    """
    from alembic import command

    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)
        return
    with engine.connect() as lock:
        lock.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            lock.commit()


# PostgreSQL states that say "not now" rather than "wrong request" (SQLSTATE classes 25,
# 53, 57): a read-only server (a standby, or default_transaction_read_only), a full disk,
# exhausted memory or connections, a shutdown in progress.
UNAVAILABLE_STATES = {
    "25006": "is read-only",
    "53100": "server's disk is full",
    "53200": "server is out of memory",
    "53300": "server has no free connections",
    "57P01": "server is shutting down",
    "57P02": "server is restarting",
    "57P03": "server is starting up",
}


@contextmanager
def translated_errors() -> Iterator[None]:
    """Driver errors become billport's: a database that cannot be reached (connection lost,
    server down, SQLite locked past its timeout) is :class:`DatabaseUnavailable` (retry
    later); any other database error is a :class:`StoreError`. The driver's error stays
    the ``__cause__`` for the log."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise DatabaseUnavailable("The database is unavailable; retry later.") from exc
    except sa.exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable("The database connection was lost; retry later.") from exc
        unavailable = UNAVAILABLE_STATES.get(getattr(exc.orig, "sqlstate", None) or "")
        if unavailable:
            raise DatabaseUnavailable(f"The database {unavailable}; retry later.") from exc
        raise StoreError(f"The database refused the request ({type(exc.orig).__name__}).") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"A database error occurred ({type(exc).__name__}).") from exc


class Database:
    """The store's handle: one engine, transactions on demand."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate_schema: bool = True) -> Database:
        if not settings.database_url:  # the default SQLite file lives in the data dir
            private_dir(settings.data_dir)
        engine = create_engine(settings.effective_database_url, PoolOptions.from_settings(settings))
        if migrate_schema:
            try:  # a server that is down is DatabaseUnavailable here too, not a traceback
                with translated_errors():
                    migrate(engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def wake_dir(self) -> Path | None:
        """Where idle SQLite workers wait for wake-ups (None: PostgreSQL, or in memory)."""
        if self.engine.dialect.name != "sqlite" or not wakeups.available():
            return None
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None
        return wakeups.wakeup_dir(Path(database).resolve())

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside one transaction, committed on success; workers it asked to
        wake (``operations.notify_workers``) are woken once the commit is done."""
        wake = False
        with translated_errors(), self.engine.begin() as conn:
            try:
                yield conn
            finally:
                wake = bool(conn.info.pop(wakeups.AFTER_COMMIT, False))
        directory = self.wake_dir if wake else None
        if directory is not None:
            wakeups.nudge(directory)

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        with translated_errors(), self.engine.connect() as conn:
            yield conn

    @cached_property
    def probe(self) -> DatabaseProbe:
        """The health probes' own connection (opened on first use)."""
        return DatabaseProbe(self.engine)

    def dispose(self) -> None:
        if "probe" in self.__dict__:
            self.probe.dispose()
        self.engine.dispose()
