"""Sandbox reset: forget every export (operations and manifests)."""

from __future__ import annotations

import sqlalchemy as sa

from billport.store.tables import manifests, operations


def delete_exports(conn: sa.Connection) -> tuple[int, int]:
    """Delete every operation (so every queued job) and manifest; returns both counts."""
    ops = conn.execute(operations.delete()).rowcount
    published = conn.execute(manifests.delete()).rowcount
    return ops, published
