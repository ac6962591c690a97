"""Health (the server answers, its database is reachable) and readiness (it can do work).

Both use the database's probe connection (billport.store.probe), so they answer within
about a second whatever load the API is under.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from billport import __version__
from billport.errors import DatabaseUnavailable
from billport.runtime import Runtime
from billport.store.db import Database

MIN_FREE_BYTES = 64 * 1024 * 1024  # below this an export's blobs or a seed would not fit


@dataclass(frozen=True)
class Health:
    status: str
    version: str
    database: str  # dialect: sqlite | postgresql


@dataclass(frozen=True)
class Readiness:
    """``checks`` maps each dependency to ``ok`` or what is wrong with it, in plain words."""

    ready: bool
    version: str
    checks: dict[str, str] = field(default_factory=dict)


def recent_health(db: Database) -> Health | None:
    """``ok`` without I/O when the database answered a ping a moment ago, else ``None``."""
    return Health("ok", __version__, db.dialect) if db.probe.recently_reachable() else None


def check_health(db: Database) -> Health:
    """``ok`` once the database answers; ``DatabaseUnavailable`` (503) when it does not."""
    state = db.probe.state(check_writes=False)
    if not state.reachable:
        raise DatabaseUnavailable(f"The database is unavailable: {state.problem}; retry later.")
    return Health("ok", __version__, db.dialect)


def check_readiness(runtime: Runtime) -> Readiness:
    """Ready when the database takes a write now and the local disk has room."""
    state = runtime.db.probe.state(check_writes=True)
    checks = {"database": "ok" if state.writable else state.problem or "unavailable"}
    for name, path in _local_paths(runtime).items():
        checks[name] = _disk_problem(path) or "ok"
    return Readiness(all(v == "ok" for v in checks.values()), __version__, checks)


def _local_paths(runtime: Runtime) -> dict[str, Path]:
    """The local directories billport writes to: blobs and a SQLite database."""
    paths: dict[str, Path] = {}
    root = getattr(runtime.blobs, "root", None)
    if isinstance(root, Path):
        paths["blob storage"] = root
    database = runtime.db.engine.url.database
    if runtime.db.dialect == "sqlite" and database and database != ":memory:":
        paths["database disk"] = Path(database).parent
    return paths


def _disk_problem(path: Path) -> str:
    try:
        free = shutil.disk_usage(path).free
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if free < MIN_FREE_BYTES:
        return f"{free // (1024 * 1024)} MiB free under {path}, below {MIN_FREE_BYTES >> 20} MiB"
    return ""
