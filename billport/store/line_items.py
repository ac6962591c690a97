"""Pages of line items for the Partner Center v1 line-item API: the rows exports stream.

Both reads walk the scope's ``(tenant_id, dataset, invoice_id | billing_month, currency, id)``
index in ``id`` order and return the stored full document of each row, the same bytes a
Graph export of the scope writes.
"""

from __future__ import annotations

import sqlalchemy as sa

from billport.billing.scopes import Scope
from billport.store.export_rows import scope_filter
from billport.store.tables import line_items

li = line_items.c
Page = list[tuple[int, bytes]]  # (id, doc_full) in id order


def highest_id(conn: sa.Connection, scope: Scope) -> int:
    """The largest id of the scope's rows now (0 when it has none): a seek's upper bound."""
    query = sa.select(sa.func.max(li.id)).where(*scope_filter(scope))
    return int(conn.execute(query).scalar() or 0)


def select_after(conn: sa.Connection, scope: Scope, *, after: int, high: int, limit: int) -> Page:
    """Up to ``limit`` rows with ``after < id <= high``, by id (the seek)."""
    query = (
        sa.select(li.id, li.doc_full)
        .where(*scope_filter(scope), li.id > after, li.id <= high)
        .order_by(li.id)
        .limit(limit)
    )
    return [(int(row.id), bytes(row.doc_full)) for row in conn.execute(query)]


def select_offset(conn: sa.Connection, scope: Scope, *, offset: int, limit: int) -> Page:
    """Up to ``limit`` rows from the ``offset``-th, by id (the path form's offset paging)."""
    query = (
        sa.select(li.id, li.doc_full)
        .where(*scope_filter(scope))
        .order_by(li.id)
        .offset(offset)
        .limit(limit)
    )
    return [(int(row.id), bytes(row.doc_full)) for row in conn.execute(query)]
