"""Where a local server's store is, for commands that read it and must never create one.

``billport invoices``/``export``/``reconcile`` read development credentials from it,
``billport token`` signs with its keys and ``scenario``/``requests`` read its admin token. Run
in the wrong directory, opening the store would create an empty ``./billport-data`` (a new
SQLite file, fresh keys whose tokens no server accepts); instead these commands say where
they looked and to pass ``--data-dir`` of the server.
"""

from __future__ import annotations

from pathlib import Path

DATABASE_FILE = "billport.db"  # Settings.effective_database_url's default file
HINT = "pass --data-dir of the server"


def sqlite_file(data_dir: Path, database_url: str | None) -> Path | None:
    """The SQLite file the store is (None: another database, or an in-memory one)."""
    if not database_url:
        return data_dir / DATABASE_FILE
    if not database_url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    return Path(name) if name and name != ":memory:" else None


def missing_database(data_dir: Path, database_url: str | None) -> Path | None:
    """The store's SQLite file, absolute, when it does not exist; None when it does (or the
    store is not a SQLite file: a database server is never created by accident)."""
    path = sqlite_file(data_dir, database_url)
    if path is None or path.is_file():
        return None
    return path.absolute()


def no_store(path: Path, alternatives: str = "") -> str:
    """``no billport store at /abs/billport-data/billport.db: pass --data-dir of the server``."""
    tail = f", {alternatives}" if alternatives else ""
    return f"no billport store at {path}: {HINT}{tail}"
