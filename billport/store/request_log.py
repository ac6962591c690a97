"""The request log: recent API calls of every replica, pruned to the newest N rows.

Verified calls (a valid token or SAS) and unverified ones are pruned separately, each to
the newest N of its kind, so a flood of unauthenticated calls cannot push real ones out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from billport.store.tables import request_log

rl = request_log.c


@dataclass(frozen=True)
class LoggedRequest:
    """One row of the request log (``id`` 0 until it is stored)."""

    id: int
    client: str
    tenant_id: str | None
    method: str
    path: str
    status: int  # 0: the sandbox dropped the connection
    received_at: datetime
    answered_at: datetime
    latency_ms: int
    delay_ms: int
    fault: str | None
    retry_after: int | None
    request_id: str
    verified: bool = True


def insert_requests(conn: sa.Connection, rows: Sequence[LoggedRequest], *, keep: int) -> None:
    """Append calls in one statement, then drop rows older than the newest ``keep``."""
    if not rows:
        return
    conn.execute(request_log.insert(), [_values(row) for row in rows])
    for verified in {row.verified for row in rows}:
        _prune(conn, verified, keep)


def _prune(conn: sa.Connection, verified: bool, keep: int) -> None:
    """Drop the rows of one kind older than its newest ``keep``."""
    oldest_kept = (
        sa.select(rl.id)
        .where(rl.verified == verified)
        .order_by(rl.id.desc())
        .offset(keep - 1)
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(request_log.delete().where(rl.verified == verified, rl.id < oldest_kept))


def _values(row: LoggedRequest) -> dict[str, object]:
    return {
        "received_at": row.received_at,
        "answered_at": row.answered_at,
        "client": row.client[:200],
        "tenant_id": row.tenant_id,
        "method": row.method[:10],
        "path": row.path[:1000],
        "status": row.status,
        "latency_ms": row.latency_ms,
        "delay_ms": row.delay_ms,
        "fault": row.fault,
        "retry_after": row.retry_after,
        "request_id": row.request_id[:36],
        "verified": row.verified,
    }


def _logged(r: sa.Row) -> LoggedRequest:  # type: ignore[type-arg]
    return LoggedRequest(
        id=r.id,
        client=r.client,
        tenant_id=r.tenant_id,
        method=r.method,
        path=r.path,
        status=r.status,
        received_at=r.received_at,
        answered_at=r.answered_at,
        latency_ms=r.latency_ms,
        delay_ms=r.delay_ms,
        fault=r.fault,
        retry_after=r.retry_after,
        request_id=r.request_id,
        verified=r.verified,
    )


def recent_requests(
    conn: sa.Connection, *, limit: int | None = None, client: str | None = None
) -> list[LoggedRequest]:
    """The newest ``limit`` calls (all kept calls when ``None``), oldest first."""
    query = sa.select(request_log).order_by(rl.id.desc())
    if client is not None:
        query = query.where(rl.client == client)
    if limit is not None:
        query = query.limit(limit)
    return [_logged(r) for r in reversed(conn.execute(query).all())]


def delete_requests(conn: sa.Connection) -> int:
    """Empty the log; returns how many rows it held."""
    return conn.execute(request_log.delete()).rowcount
