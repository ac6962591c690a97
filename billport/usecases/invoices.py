"""Partner Center invoices: list (filter + legacy-only paging) and get by id."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import sqlalchemy as sa

from billport.billing.invoices import (
    Invoice,
    PageRequest,
    Predicate,
    lower,
    parse_filter,
    parse_invoice_ref,
    parse_invoice_type,
)
from billport.errors import NotFound
from billport.store import invoices as store
from billport.store.db import Database


@dataclass(frozen=True)
class InvoicePage:
    """One response of the list: a page of legacy invoices, then every matching modern one."""

    items: list[Invoice]
    page: PageRequest
    filter_text: str | None  # as the client sent it, repeated in the links
    has_more: bool  # more legacy invoices after this page
    invoice_type: str | None = None  # Recurring | OneTime: only those (repeated in links)

    @property
    def next_page(self) -> PageRequest | None:
        if not self.has_more:
            return None
        return PageRequest(self.page.size, self.page.offset + self.page.size)


def _with_amendments(conn: sa.Connection, tenant_id: str, parents: list[Invoice]) -> list[Invoice]:
    by_parent = store.select_amendments(conn, tenant_id, (p.invoice_id for p in parents))
    return [
        dataclasses.replace(p, amendments=tuple(by_parent[p.invoice_id]))
        if p.invoice_id in by_parent
        else p
        for p in parents
    ]


def list_invoices(
    db: Database,
    tenant_id: str,
    *,
    size: int | None = None,
    offset: int | None = None,
    filter_text: str | None = None,
    invoice_type: str | None = None,
) -> InvoicePage:
    """Invoices of ``tenant_id``: ``size``/``offset`` page legacy ones; modern ones always all;
    ``invoice_type`` (``Recurring``/``OneTime``, any case) keeps only that type.

    Raises ``InvalidRequest``/``InvalidFilter`` for bad paging values, types or filters.
    """
    page = PageRequest.of(size, offset)
    kind = parse_invoice_type(invoice_type)
    filter_text = filter_text if filter_text and filter_text.strip() else None
    predicate: Predicate | None = lower(parse_filter(filter_text)) if filter_text else None
    with db.connect() as conn:
        # One extra row tells whether a next page exists without counting.
        legacy = store.select_legacy_page(
            conn, tenant_id, predicate, limit=page.size + 1, offset=page.offset, invoice_type=kind
        )
        modern = store.select_modern(conn, tenant_id, predicate, kind)
        items = _with_amendments(conn, tenant_id, legacy[: page.size] + modern)
    return InvoicePage(items, page, filter_text, len(legacy) > page.size, kind)


def get_invoice(db: Database, tenant_id: str, raw_id: str) -> Invoice:
    """One invoice by bare or type-prefixed id, with its amendments; ``NotFound`` otherwise."""
    ref = parse_invoice_ref(raw_id)
    with db.connect() as conn:
        invoice = store.select_invoice(conn, tenant_id, ref.invoice_id)
        if invoice is None or not ref.accepts(invoice):
            raise NotFound(f"Invoice '{raw_id}' was not found.")
        return _with_amendments(conn, tenant_id, [invoice])[0]
