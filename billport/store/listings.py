"""Paged listings and counts across tenants, for the operator's web console.

Every listing is paged in SQL (``LIMIT``/``OFFSET`` on an indexed order, plus one
``COUNT``), so a store with 100k operations or logged requests costs a page what it costs
with ten. Nothing here loads a table whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

import sqlalchemy as sa

from billport.billing.datasets import Dataset
from billport.store.manifests import decode_manifest_blobs
from billport.store.operations import PARTITIONS_OWNER, Operation, _operation
from billport.store.request_log import LoggedRequest, _logged
from billport.store.tables import (
    export_parts,
    invoices,
    line_items,
    manifests,
    operations,
    partners,
    request_log,
)

ops, mf, rl, inv, li = operations.c, manifests.c, request_log.c, invoices.c, line_items.c
T = TypeVar("T")
DOCUMENT_BATCH = 2_000  # line documents read per statement by invoice_documents


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the number of rows of the whole (filtered) listing."""

    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None


@dataclass(frozen=True)
class OperationRow:
    """An operation with what its manifest says (rows, blobs, bytes) once it has one."""

    operation: Operation
    rows: int | None
    blobs: int | None
    size_bytes: int | None


@dataclass(frozen=True)
class StoreCounts:
    tenants: int
    invoices: int
    line_items: dict[Dataset, int]
    operations: dict[str, int]  # by status
    workers: list[str]  # lease holders now (operations and partitions)


def count_store(conn: sa.Connection) -> StoreCounts:
    """How much the store holds: one aggregate statement per table."""
    tenants = conn.execute(sa.select(sa.func.count()).select_from(partners)).scalar_one()
    invoice_count = conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar_one()
    by_dataset = conn.execute(sa.select(li.dataset, sa.func.count()).group_by(li.dataset)).all()
    by_status = conn.execute(sa.select(ops.status, sa.func.count()).group_by(ops.status)).all()
    return StoreCounts(
        tenants=int(tenants),
        invoices=int(invoice_count),
        line_items={Dataset.from_code(code): int(n) for code, n in by_dataset},
        operations={status: int(n) for status, n in by_status},
        workers=_lease_holders(conn),
    )


def _lease_holders(conn: sa.Connection) -> list[str]:
    """Worker names (the lease token without its random suffix) holding a lease now."""
    owners = sa.union(
        sa.select(ops.lease_owner.label("owner")).where(ops.lease_owner.is_not(None)),
        sa.select(export_parts.c.lease_owner).where(export_parts.c.lease_owner.is_not(None)),
    )
    names = {
        str(owner).rsplit(":", 1)[0]
        for (owner,) in conn.execute(owners)
        if owner and owner != PARTITIONS_OWNER
    }
    return sorted(names)


def _operation_filters(tenant_id: str | None, status: str | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if tenant_id:
        where.append(ops.tenant_id == tenant_id)
    if status:
        where.append(ops.status == status)
    return where


def operations_page(
    conn: sa.Connection,
    *,
    tenant_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> Page[OperationRow]:
    """Operations newest first, with their manifest's counts (one joined page statement)."""
    where = _operation_filters(tenant_id, status)
    total = conn.execute(sa.select(sa.func.count()).select_from(operations).where(*where))
    query = (
        sa.select(operations, mf.row_count, mf.size_bytes, mf.blobs.label("manifest_blobs"))
        .select_from(operations.outerjoin(manifests, mf.manifest_id == ops.manifest_id))
        .where(*where)
        .order_by(ops.created_at.desc(), ops.operation_id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        OperationRow(
            _operation(row),
            row.row_count,
            len(decode_manifest_blobs(row.manifest_blobs)) if row.manifest_blobs else None,
            row.size_bytes,
        )
        for row in conn.execute(query)
    ]
    return Page(items, int(total.scalar_one()), offset, limit)


def _request_filters(
    tenant_id: str | None, route: str | None, status: int | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if tenant_id:
        where.append(rl.tenant_id == tenant_id)
    if route:
        escaped = route.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(rl.path.like(f"{escaped}%", escape="\\"))
    if status is not None:
        where.append(rl.status == status)
    return where


def requests_page(
    conn: sa.Connection,
    *,
    tenant_id: str | None,
    route: str | None,
    status: int | None,
    limit: int,
    offset: int,
) -> Page[LoggedRequest]:
    """Logged calls newest first; ``route`` is a path prefix."""
    where = _request_filters(tenant_id, route, status)
    total = conn.execute(sa.select(sa.func.count()).select_from(request_log).where(*where))
    query = sa.select(request_log).where(*where).order_by(rl.id.desc()).limit(limit).offset(offset)
    items = [_logged(row) for row in conn.execute(query)]
    return Page(items, int(total.scalar_one()), offset, limit)


@dataclass(frozen=True)
class InvoiceRow:
    tenant_id: str
    invoice_id: str
    invoice_date: datetime
    total_charges: Decimal
    currency_code: str
    document_type: str
    invoice_type: str
    commerce: str


def _invoice_filters(
    tenant_id: str | None, currency: str | None, search: str | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if tenant_id:
        where.append(inv.tenant_id == tenant_id)
    if currency:
        where.append(inv.currency_code == currency.upper())
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(inv.invoice_id.like(f"{escaped}%", escape="\\"))
    return where


def invoices_page(
    conn: sa.Connection,
    *,
    tenant_id: str | None,
    currency: str | None,
    search: str | None,
    limit: int,
    offset: int,
) -> Page[InvoiceRow]:
    """Invoices of every tenant, newest first; ``search`` is an invoice id prefix."""
    where = _invoice_filters(tenant_id, currency, search)
    total = conn.execute(sa.select(sa.func.count()).select_from(invoices).where(*where))
    query = (
        sa.select(
            inv.tenant_id,
            inv.invoice_id,
            inv.invoice_date,
            inv.total_charges,
            inv.currency_code,
            inv.document_type,
            inv.invoice_type,
            inv.commerce,
        )
        .where(*where)
        .order_by(inv.invoice_date.desc(), inv.tenant_id, inv.invoice_id)
        .limit(limit)
        .offset(offset)
    )
    items = [InvoiceRow(**row._mapping) for row in conn.execute(query)]
    return Page(items, int(total.scalar_one()), offset, limit)


def tenant_ids(conn: sa.Connection, limit: int = 200) -> list[str]:
    """Partner tenant ids (for filter choices), in id order."""
    query = sa.select(partners.c.tenant_id).order_by(partners.c.tenant_id).limit(limit)
    return [str(t) for t in conn.execute(query).scalars()]


def invoice_line_stats(
    conn: sa.Connection, tenant_id: str, dataset: Dataset, invoice_id: str
) -> tuple[int, int]:
    """``(count, max id)`` of an invoice's lines of ``dataset``: line items are immutable
    (a change is a delete plus an insert), so this pair changes whenever the lines do."""
    query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(li.id), 0)).where(
        li.tenant_id == tenant_id, li.dataset == dataset.source.code, li.invoice_id == invoice_id
    )
    count, highest = conn.execute(query).one()
    return int(count), int(highest)


def invoice_documents(
    conn: sa.Connection, tenant_id: str, dataset: Dataset, invoice_id: str
) -> Iterator[bytes]:
    """The stored full documents of an invoice's lines of ``dataset``, in id order, read
    ``DOCUMENT_BATCH`` at a time by seeking on the scope's index."""
    after = 0
    while True:
        query = (
            sa.select(li.id, li.doc_full)
            .where(
                li.tenant_id == tenant_id,
                li.dataset == dataset.source.code,
                li.invoice_id == invoice_id,
                li.id > after,
            )
            .order_by(li.id)
            .limit(DOCUMENT_BATCH)
        )
        batch = conn.execute(query).all()
        for row in batch:
            yield bytes(row.doc_full)
        if len(batch) < DOCUMENT_BATCH:
            return
        after = int(batch[-1].id)
