"""Sandbox resets: forget every export, or every row of billing data.

Which tables go is derived from the declared schema, so a table a later migration adds is
never forgotten: "the exports" are ``operations``, ``manifests`` and every table that
references them (export plans and partitions today); "all data" is every table but the
ones a reset keeps (scenarios, and the request log, which has its own delete). Rows are
deleted children first, so no foreign key is ever violated.
"""

from __future__ import annotations

import sqlalchemy as sa

from billport.store.tables import manifests, metadata, operations, request_log, scenarios

EXPORT_ROOTS = frozenset({operations, manifests})
KEPT_BY_RESETS = frozenset({scenarios, request_log})


def _referencing(roots: frozenset[sa.Table]) -> set[sa.Table]:
    """``roots`` and every table that references one of them, directly or through others."""
    found = set(roots)
    while True:
        more = {
            table
            for table in metadata.tables.values()
            if table not in found and any(fk.column.table in found for fk in table.foreign_keys)
        }
        if not more:
            return found
        found |= more


def export_tables() -> list[sa.Table]:
    """The tables that hold exports, children first."""
    chosen = _referencing(EXPORT_ROOTS)
    return [t for t in reversed(metadata.sorted_tables) if t in chosen]


def data_tables() -> list[sa.Table]:
    """Every table a full reset empties, children first."""
    return [t for t in reversed(metadata.sorted_tables) if t not in KEPT_BY_RESETS]


def delete_exports(conn: sa.Connection) -> tuple[int, int]:
    """Delete every export (so every queued job); returns the operation and manifest counts."""
    counts = {table.name: conn.execute(table.delete()).rowcount for table in export_tables()}
    return counts[operations.name], counts[manifests.name]


def delete_data(conn: sa.Connection) -> None:
    """Empty every table of billing data and exports (partners and their clients too)."""
    for table in data_tables():
        conn.execute(table.delete())
