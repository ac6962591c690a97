"""Reads behind an export: scope checks, the data fingerprint, and the row stream.

Line items are immutable: a change is a delete plus an insert (a new ``id``), so
``count`` and ``max(id)`` over the scope's index are a complete data fingerprint.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from billport.exports.layout import Scope
from billport.store.tables import invoices, line_items

li = line_items.c


def invoice_commerce(
    conn: sa.Connection, tenant_id: str, invoice_id: str
) -> tuple[str, int] | None:
    """``(commerce, billing_month)`` of a tenant's invoice; ``None`` if it has none such."""
    query = sa.select(invoices.c.commerce, invoices.c.billing_period_start).where(
        invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    start = row.billing_period_start
    return row.commerce, start.year * 100 + start.month


def _scope_filter(scope: Scope) -> list[sa.ColumnElement[bool]]:
    where = [li.tenant_id == scope.tenant_id, li.dataset == scope.dataset.code]
    if scope.dataset.billed:
        where.append(li.invoice_id == scope.invoice_id)
    else:
        where += [li.billing_month == scope.billing_month, li.currency == scope.currency]
    return where


@dataclass(frozen=True)
class ScopeStats:
    count: int
    low: int  # smallest id (0 when empty)
    high: int  # largest id (0 when empty)

    @property
    def fingerprint(self) -> str:
        return f"{self.count}:{self.low}:{self.high}"


def scope_stats(conn: sa.Connection, scope: Scope) -> ScopeStats:
    """Row count and id range of the scope's current data, from the index alone."""
    query = sa.select(sa.func.count(), sa.func.min(li.id), sa.func.max(li.id)).where(
        *_scope_filter(scope)
    )
    count, low, high = conn.execute(query).one()
    return ScopeStats(int(count), int(low or 0), int(high or 0))


def fingerprint(conn: sa.Connection, scope: Scope) -> tuple[int, str]:
    """``(row count, fingerprint)`` of the scope's current data, from the index alone."""
    stats = scope_stats(conn, scope)
    return stats.count, stats.fingerprint


def partition_starts(
    conn: sa.Connection, scope: Scope, low: int, rows: int, below: int | None = None
) -> list[int]:
    """The first ``id`` of every run of ``rows`` rows of the scope, from ``low`` on.

    ``below`` stops the walk at that id (the blobs of one part of a partitioned export).

    Each step skips ``rows`` entries of the scope's index from the previous boundary, so
    planning reads the index once in total, never the documents.
    """
    starts = [low]
    while True:
        query = (
            sa.select(li.id)
            .where(*_scope_filter(scope), li.id >= starts[-1])
            .order_by(li.id)
            .offset(rows)
            .limit(1)
        )
        following = conn.execute(query).scalar()
        if following is None or (below is not None and following >= below):
            return starts
        starts.append(int(following))


IdRange = tuple[int, int]  # lo <= id < hi


def _scope_sql(
    scope: Scope, column: str, marker: str, ids: IdRange | None
) -> tuple[str, tuple[object, ...]]:
    if scope.dataset.billed:
        where = f"invoice_id = {marker}"
        params: tuple[object, ...] = (scope.invoice_id,)
    else:
        where = f"billing_month = {marker} AND currency = {marker}"
        params = (scope.billing_month, scope.currency)
    if ids is not None:
        where += f" AND id >= {marker} AND id < {marker}"
        params += ids
    sql = (
        f"SELECT {column} FROM line_items WHERE tenant_id = {marker} AND dataset = {marker} "
        f"AND {where} ORDER BY id"
    )
    return sql, (scope.tenant_id, scope.dataset.code, *params)


def stream_documents(
    conn: sa.Connection, scope: Scope, batch_rows: int, ids: IdRange | None = None
) -> Iterator[list[bytes]]:
    """Yield the scope's pre-rendered JSON documents in ``id`` order, in batches.

    ``ids`` limits the stream to one part of a partitioned export. Goes through the driver
    directly: one Python object per row instead of an ORM row keeps the read far below the
    cost of compressing the same bytes.
    """
    column = "doc_full" if scope.attribute_set.value == "full" else "doc_basic"
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        sql, params = _scope_sql(scope, column, "%s", ids)
        cursor = raw.cursor(name=f"export_{uuid.uuid4().hex}")
        cursor.itersize = batch_rows
    else:
        sql, params = _scope_sql(scope, column, "?", ids)
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(batch_rows)
            if not rows:
                return
            yield [row[0] for row in rows]
    finally:
        cursor.close()
