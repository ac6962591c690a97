"""Read-only views across every tenant, for the operator (the web console): what the store
holds, operations and logged calls page by page, invoices and an invoice's line documents.

Paging happens in SQL (``store/listings.py``); these functions check the paging values and
hand back typed records. Writes the console makes (scenarios, reset, seed) go through the
admin API's own use cases (``usecases/scenarios.py``, ``usecases/admin.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from billport.billing.datasets import Dataset
from billport.billing.operations import Status
from billport.errors import InvalidRequest, NotFound
from billport.store import listings
from billport.store import manifests as manifest_store
from billport.store import operations as op_store
from billport.store.db import Database
from billport.store.listings import InvoiceRow, OperationRow, Page, StoreCounts
from billport.store.manifests import Manifest
from billport.store.operations import Operation
from billport.store.request_log import LoggedRequest

MAX_PAGE = 200
STATUSES = tuple(s.value for s in Status)


def _paging(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"'limit' must be between 1 and {MAX_PAGE}.")
    if offset < 0:
        raise InvalidRequest("'offset' must not be negative.")


def store_counts(db: Database) -> StoreCounts:
    with db.connect() as conn:
        return listings.count_store(conn)


def list_operations(
    db: Database,
    *,
    tenant_id: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[OperationRow]:
    """Operations of every tenant (or one), newest first."""
    _paging(limit, offset)
    if status and status not in STATUSES:
        raise InvalidRequest(f"'status' must be one of {', '.join(STATUSES)}.")
    with db.connect() as conn:
        return listings.operations_page(
            conn, tenant_id=tenant_id, status=status, limit=limit, offset=offset
        )


@dataclass(frozen=True)
class OperationDetail:
    operation: Operation
    manifest: Manifest | None


def operation_detail(db: Database, operation_id: str) -> OperationDetail:
    """One operation of any tenant, with its manifest once it has one."""
    with db.connect() as conn:
        op = op_store.load_operation(conn, operation_id)
        if op is None:
            raise NotFound(f"Operation '{operation_id}' was not found.")
        manifest = None
        if op.manifest_id:
            manifest = manifest_store.get_manifest(conn, op.tenant_id, op.manifest_id)
    return OperationDetail(op, manifest)


def list_requests(
    db: Database,
    *,
    tenant_id: str | None = None,
    route: str | None = None,
    status: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[LoggedRequest]:
    """Logged calls newest first, filtered by tenant, path prefix and status."""
    _paging(limit, offset)
    with db.connect() as conn:
        return listings.requests_page(
            conn, tenant_id=tenant_id, route=route, status=status, limit=limit, offset=offset
        )


def list_invoices(
    db: Database,
    *,
    tenant_id: str | None = None,
    currency: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[InvoiceRow]:
    """Invoices of every tenant (or one), newest first."""
    _paging(limit, offset)
    with db.connect() as conn:
        return listings.invoices_page(
            conn,
            tenant_id=tenant_id,
            currency=currency,
            search=search,
            limit=limit,
            offset=offset,
        )


def tenant_ids(db: Database) -> list[str]:
    with db.connect() as conn:
        return listings.tenant_ids(conn)


def invoice_lines(db: Database, tenant_id: str, invoice_id: str) -> Iterator[dict[str, object]]:
    """The invoice's billed reconciliation lines as exported (full attribute set), streamed:
    what ``billport reconcile`` downloads, read from the store."""
    with db.connect() as conn:
        dataset = Dataset.BILLED_RECONCILIATION
        for document in listings.invoice_documents(conn, tenant_id, dataset, invoice_id):
            yield orjson.loads(document)


def invoice_lines_version(db: Database, tenant_id: str, invoice_id: str) -> tuple[int, int]:
    """What identifies the current lines of :func:`invoice_lines` (count and highest id)."""
    with db.connect() as conn:
        return listings.invoice_line_stats(
            conn, tenant_id, Dataset.BILLED_RECONCILIATION, invoice_id
        )
