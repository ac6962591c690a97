"""Store reads and writes behind ``billport import`` (on the caller's connection, inside its
one transaction: an import is all-or-nothing)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.store.tables import invoices, line_items, partners

li = line_items.c
STREAM_ROWS = 2000
# Per statement (Connection.execution_options would change the connection for good).
_STREAMED = {"stream_results": True, "yield_per": STREAM_ROWS}


@dataclass(frozen=True)
class RowScope:
    """The unit an import replaces: a billed dataset's invoice, or an unbilled dataset's
    billing month and currency (what one Graph export covers)."""

    tenant_id: str
    dataset: Dataset
    invoice_id: str | None
    billing_month: int | None
    currency: str | None

    def where(self) -> list[sa.ColumnElement[bool]]:
        where = [li.tenant_id == self.tenant_id, li.dataset == self.dataset.code]
        if self.dataset.billed:
            return [*where, li.invoice_id == self.invoice_id]
        return [*where, li.billing_month == self.billing_month, li.currency == self.currency]


def lock_writers(conn: sa.Connection) -> None:
    """Keep other writers of ``line_items`` out until this import commits (readers go on).

    Rows above :func:`max_line_id` must all be this import's. SQLite's ``BEGIN IMMEDIATE``
    (``loading.bulk_transaction``) already holds the only write lock; PostgreSQL's SHARE ROW
    EXCLUSIVE conflicts with inserts and deletes, not with selects.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE line_items IN SHARE ROW EXCLUSIVE MODE")


def max_line_id(conn: sa.Connection) -> int:
    """The largest line item id so far (0 when none): rows above it are this import's."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(li.id), 0))).scalar_one())


def scope_digest(conn: sa.Connection, scope: RowScope, column: str, upto: int) -> tuple[int, str]:
    """Row count and SHA-256 of the scope's documents (``doc_full`` or ``doc_basic``) with
    ``id <= upto``, in id order, each followed by a newline; streamed."""
    digest = hashlib.sha256()
    count = 0
    query = sa.select(li[column]).where(*scope.where(), li.id <= upto).order_by(li.id)
    result = conn.execute(query, execution_options=_STREAMED)
    for (doc,) in result:
        digest.update(bytes(doc))
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def delete_rows(conn: sa.Connection, scope: RowScope, *, above: int, new: bool) -> int:
    """Delete the scope's rows of this import (``new``: ids above ``above``) or its older
    ones (ids up to ``above``); the count deleted."""
    bound = li.id > above if new else li.id <= above
    return conn.execute(line_items.delete().where(*scope.where(), bound)).rowcount or 0


def scope_total(conn: sa.Connection, scope: RowScope) -> Decimal:
    """The exact sum of the scope's stored ``total`` column (streamed, Decimal)."""
    query = sa.select(li.total).where(*scope.where())
    result = conn.execute(query, execution_options=_STREAMED)
    return sum((Decimal(total) for (total,) in result), Decimal("0"))


def invoice_exists(conn: sa.Connection, tenant_id: str, invoice_id: str) -> bool:
    query = sa.select(invoices.c.invoice_id).where(
        invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
    )
    return conn.execute(query).first() is not None


def invoice_month(conn: sa.Connection, tenant_id: str, invoice_id: str) -> int | None:
    """yyyymm of a stored invoice's billing period start, None when there is no such invoice."""
    query = sa.select(invoices.c.billing_period_start).where(
        invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
    )
    start = conn.execute(query).scalar()
    return None if start is None else start.year * 100 + start.month


def invoice_months(conn: sa.Connection, tenant_id: str) -> dict[str, int]:
    """yyyymm of every stored invoice's billing period start, by invoice id."""
    query = sa.select(invoices.c.invoice_id, invoices.c.billing_period_start).where(
        invoices.c.tenant_id == tenant_id
    )
    return {iid: start.year * 100 + start.month for iid, start in conn.execute(query)}


def set_invoice_total(conn: sa.Connection, tenant_id: str, invoice_id: str, total: Decimal) -> None:
    conn.execute(
        invoices.update()
        .where(invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id)
        .values(total_charges=total)
    )


def partner_exists(conn: sa.Connection, tenant_id: str) -> bool:
    query = sa.select(partners.c.tenant_id).where(partners.c.tenant_id == tenant_id)
    return conn.execute(query).first() is not None


def insert_partner(conn: sa.Connection, row: Mapping[str, Any]) -> None:
    conn.execute(partners.insert(), [dict(row)])


def any_default_partner(conn: sa.Connection) -> bool:
    query = sa.select(partners.c.tenant_id).where(partners.c.is_default.is_(True))
    return conn.execute(query).first() is not None


def invoice_month_of_rows(conn: sa.Connection, scope: RowScope) -> int:
    """The billing month the scope's rows were stored with (the first one's)."""
    query = sa.select(li.billing_month).where(*scope.where()).order_by(li.id).limit(1)
    return int(conn.execute(query).scalar_one())


def stored_invoice(conn: sa.Connection, tenant_id: str, invoice_id: str) -> dict[str, Any] | None:
    """A stored invoice's row (without its tenant), None when there is none."""
    query = sa.select(invoices).where(
        invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == invoice_id
    )
    found = conn.execute(query).mappings().first()
    return None if found is None else {k: v for k, v in found.items() if k != "tenant_id"}


def put_invoice(conn: sa.Connection, tenant_id: str, row: Mapping[str, Any]) -> None:
    """Insert or replace one invoice header (all its columns)."""
    conn.execute(
        invoices.delete().where(
            invoices.c.tenant_id == tenant_id, invoices.c.invoice_id == row["invoice_id"]
        )
    )
    conn.execute(invoices.insert(), [{**row, "tenant_id": tenant_id}])
