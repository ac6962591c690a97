"""Scenarios of the sandbox: the server-wide one (scope ``*``) and per-tenant overrides.

The server-wide row with a NULL document means "the scenario from settings"; it exists so
its draw counter has a home. Writes are upserts, so any replica may be the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from billport.store.tables import scenarios

sc = scenarios.c
SERVER_SCOPE = "*"


@dataclass(frozen=True)
class StoredScenario:
    scope: str
    document: str | None  # JSON text; None: fall back (to settings, or to the server-wide one)
    draws: int


def _insert(conn: sa.Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(scenarios)


def get_scenarios(conn: sa.Connection, scopes: list[str]) -> dict[str, StoredScenario]:
    """The stored rows among ``scopes`` (typically a tenant id and ``*``)."""
    rows = conn.execute(sa.select(scenarios).where(sc.scope.in_(scopes)))
    return {r.scope: StoredScenario(r.scope, r.document, r.draws) for r in rows}


def list_tenant_scopes(conn: sa.Connection) -> list[str]:
    """Tenants that have their own scenario."""
    query = sa.select(sc.scope).where(sc.scope != SERVER_SCOPE, sc.document.is_not(None))
    return list(conn.execute(query.order_by(sc.scope)).scalars())


def put_scenario(conn: sa.Connection, scope: str, document: str | None, now: datetime) -> None:
    """Store (or clear, with ``None``) the scenario of ``scope``; its draws restart at 0."""
    statement = _insert(conn).values(scope=scope, document=document, draws=0, updated_at=now)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[sc.scope], set_={"document": document, "draws": 0, "updated_at": now}
        )
    )


def delete_tenant_scenarios(conn: sa.Connection) -> int:
    """Drop every per-tenant scenario; returns how many there were."""
    return conn.execute(scenarios.delete().where(sc.scope != SERVER_SCOPE)).rowcount


def delete_scenario(conn: sa.Connection, scope: str) -> bool:
    """Drop one tenant's scenario."""
    return conn.execute(scenarios.delete().where(sc.scope == scope)).rowcount == 1


def next_draw(conn: sa.Connection, scope: str, now: datetime) -> int:
    """Atomically take the next draw number (1, 2, ...) of ``scope``'s scenario."""
    statement = _insert(conn).values(scope=scope, document=None, draws=1, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[sc.scope], set_={"draws": sc.draws + 1}
    ).returning(sc.draws)
    return int(conn.execute(statement).scalar_one())
