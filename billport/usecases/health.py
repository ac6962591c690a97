"""Health: the server answers and its database is reachable."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from billport import __version__
from billport.store.db import Database


@dataclass(frozen=True)
class Health:
    status: str
    version: str
    database: str  # dialect: sqlite | postgresql


_PING = sa.text("SELECT 1")


def check_health(db: Database) -> Health:
    """``ok`` once the database answers; ``DatabaseUnavailable`` (503) when it does not."""
    with db.connect() as conn:
        conn.execute(_PING)
    return Health("ok", __version__, db.dialect)
